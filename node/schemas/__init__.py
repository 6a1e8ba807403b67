"""The JSON Schemas of what crosses the node's edge: request bodies, forwarded commands' arguments and the
answers the API documents. REST validates with them and publishes them; the case commands declare theirs.

May import: aggregates only, so every layer of node/ can use them.
"""
