"""Below both federation/ and projections/: what each needs and neither owns. The RFC 6962 Merkle tree
(transparency_tree) and the read models' SQL store (view_store). It imports nothing of tongban's."""
