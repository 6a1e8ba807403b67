"""The reference wallet (``tongban wallet``): a holder's device key and credentials, and presentations.

It keeps, in one directory, the device key (mode 600; it never leaves the device), each credential the
holder's platform obtained for it, and the registered verifiers and scenario policies it synced, so that it
refuses a request whose signature or scope does not check before it shows anything.

May import: credentials only; never node or federation.
"""
