"""Below both federation/ and projections/: what each needs and neither owns. The RFC 6962 Merkle tree
(transparency_tree), the read models' SQL store (view_store) and the one follower of a node's log that every
reader of it runs on (log_follower). It imports nothing of tongban's."""
