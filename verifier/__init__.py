"""The offline verifier kit (亮证核验) for police handhelds and hotel desks: a library, ``tongban verifier``.

It keeps, in one directory, what checking needs without a network: the federation's signed manifest (every
province's signing keys, retired ones included), every province's last status list, the scenario policies and
the registered verifiers, all synced from its own province's node; its own signing key for requests; the
nonces it has seen; and a record of each check, uploaded to its node on the next sync.

May import: credentials, and federation's manifest format (``federation.pki``); never node.
"""
