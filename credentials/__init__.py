"""Holder credentials and what checks them offline (亮证): the formats, below the node, the wallet and the
verifier kit, which all use them and which it never imports.

- ``jose``: compact JWS made with a signer that never hands out its key (the node's signer interface), checked
  with PyJWT;
- ``sd_jwt``: SD-JWT (RFC 9901): issuing with one salted disclosure per claim, presenting a chosen subset
  with a key-binding JWT, and verifying both;
- ``status_list``: the IETF Token Status List, 2 bits per credential, compressed and signed;
- ``requests`` and ``policy``: a verifier's signed request and the scenarios that bound what it may ask;
- ``check``: the offline verdict (ACCEPT, ACCEPT_STALE or REFUSE with a reason);
- ``qr``: a presentation as a QR code, and its compact form.

It imports the standard library, PyJWT and ``cryptography`` only.
"""
