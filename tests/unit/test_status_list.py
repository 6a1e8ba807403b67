"""The Token Status List: 2-bit entries that survive compression and signing; lists a verifier refuses."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials.jose import DeviceKey, Invalid, b64url, unb64url
from credentials.status_list import MIN_ENTRIES, CredentialStatus, StatusList, StatusListToken

NODE = DeviceKey.generate()


@given(st.dictionaries(st.integers(0, MIN_ENTRIES - 1), st.sampled_from(CredentialStatus), max_size=50))
def test_entries_read_back_after_encoding(changes: dict[int, CredentialStatus]) -> None:
    entries = StatusList(MIN_ENTRIES)
    for index, status in changes.items():
        entries[index] = status
    decoded = StatusList.decode(2, entries.encoded())
    assert decoded.size == MIN_ENTRIES
    assert decoded.not_valid() == {i: s for i, s in changes.items() if s is not CredentialStatus.VALID}
    for index in {*changes, 0, MIN_ENTRIES - 1}:
        assert decoded[index] == changes.get(index, CredentialStatus.VALID)


def test_the_layout_is_the_drafts_least_significant_bits_first() -> None:
    entries = StatusList(8)
    entries[0], entries[1] = CredentialStatus.INVALID, CredentialStatus.SUSPENDED
    entries[5] = CredentialStatus.INVALID
    assert zlib.decompress(unb64url(entries.encoded())) == bytes([0b00001001, 0b00000100])


def test_a_signed_list_verifies_with_its_key_and_only_with_it() -> None:
    entries = StatusList(MIN_ENTRIES)
    entries[7] = CredentialStatus.SUSPENDED
    token = StatusListToken.sign("urn:tongban:310000:status", entries, at=100, ttl=3600, signer=NODE)
    checked = StatusListToken.verify(token.token, NODE.private_key.public_key())
    assert (checked.uri, checked.issued_at, checked.ttl) == ("urn:tongban:310000:status", 100, 3600)
    assert checked.entries[7] is CredentialStatus.SUSPENDED
    with pytest.raises(Invalid) as refused:
        StatusListToken.verify(token.token, DeviceKey.generate().private_key.public_key())
    assert refused.value.code == "SIGNATURE_INVALID"


@pytest.mark.parametrize(
    ("bits", "lst"),
    [
        (1, b64url(zlib.compress(b"\0" * 16))),  # another width than this federation's
        (2, b64url(b"not deflate")),
        (2, b64url(zlib.compress(b"\0" * 16))[:-4]),  # truncated
        (2, b64url(zlib.compress(b""))),
        (2, b64url(zlib.compress(b"\0" * (1 << 23)))),  # inflates beyond the bound: a bomb
    ],
)
def test_a_malformed_list_is_refused(bits: int, lst: str) -> None:
    with pytest.raises(Invalid) as refused:
        StatusList.decode(bits, lst)
    assert refused.value.code == "STATUS_LIST_MALFORMED"


def test_an_entry_outside_the_list_is_an_error() -> None:
    with pytest.raises(IndexError):
        StatusList(8)[8]
