"""A presentation as a real QR code: rendered, read back by a QR reader (zxing-cpp), and checked; the compact
form gives back the exact text and fits a handheld's QR version, which the text form does not."""

from __future__ import annotations

import zlib

import pytest
import segno
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st

from credentials import qr, sd_jwt
from credentials.jose import DeviceKey, Invalid, b64url

ISSUER, DEVICE = DeviceKey.generate(), DeviceKey.generate()
# An ID card credential as a node issues one: the type's claims, selectively disclosable, and the clear ones.
CLAIMS = {
    "name": "中华人民共和国居民身份证",
    "number": "340104199001011234",
    "issuer_name": "合肥市公安局蜀山分局",
    "issue_date": "2020-01-01",
    "holder_name": "赵敏",
    "holder_id_type": "111",
    "holder_id": "11010519491231002X",
}
CLEAR = {
    "iss": "urn:tongban:340000",
    "jti": "Zx8kq2Vw3m9Tt1YbQ0aP1w",
    "vct": "11100000000013338W001",
    "cnf": {"jwk": DEVICE.jwk},
    "status": {"status_list": {"idx": 123456, "uri": "urn:tongban:340000:status"}},
    "iat": 1_800_000_000,
    "exp": 1_800_086_400,
    "valid_from": "2020-01-01",
    "valid_to": "2040-01-01",
}


def typical() -> str:
    """A hotel check-in: name and ID number shown, bound to the desk's nonce."""
    credential = sd_jwt.issue(CLAIMS, CLEAR, ISSUER)
    return sd_jwt.present(
        credential,
        ["holder_name", "holder_id"],
        DEVICE,
        nonce="k3J9d0Qz1mX8vB2nT5yW7g",
        audience="hotel-desk-1",
        at=1,
    )


def read_back(code: segno.QRCode) -> bytes:
    """What a QR reader sees in the rendered code (4 pixels a module, a quiet zone of 4)."""
    matrix, scale, border = [list(row) for row in code.matrix], 4, 4
    size = len(matrix) + 2 * border
    pixels = bytearray()
    for y in range(size):
        row = bytearray()
        for x in range(size):
            inside = border <= y < size - border and border <= x < size - border
            dark = inside and matrix[y - border][x - border]
            row += (b"\x00" if dark else b"\xff") * scale
        pixels += bytes(row) * scale
    found = zxingcpp.read_barcode(memoryview(bytes(pixels)).cast("B", (size * scale, size * scale)))
    assert found is not None, "no QR code read"
    return bytes(found.bytes)


def test_the_text_form_needs_more_than_a_handheld_reads_and_the_compact_form_fits() -> None:
    text = typical()
    as_text, packed = qr.qr_code(text), qr.qr_code(qr.compact(text))
    print(
        f"text {len(text)} B: version {as_text.version}-{as_text.error}; compact {len(qr.compact(text))} B: "
        f"version {packed.version}-{packed.error}"
    )
    assert int(as_text.version) > qr.HANDHELD_MAX_VERSION  # never a Micro QR (an "M" version) here
    assert int(packed.version) <= qr.HANDHELD_MAX_VERSION
    assert len(qr.compact(text)) < 0.7 * len(text)


def test_both_forms_read_back_from_a_real_code_to_a_presentation_that_verifies() -> None:
    text = typical()
    assert read_back(qr.qr_code(text)).decode() == text
    scanned = qr.expand(read_back(qr.qr_code(qr.compact(text))))
    assert scanned == text
    shown = sd_jwt.verify_presentation(scanned, ISSUER.private_key.public_key())
    assert shown.disclosed == {"holder_name": "赵敏", "holder_id": "11010519491231002X"}


def test_the_terminal_drawing_has_the_codes_modules() -> None:
    code = qr.qr_code(qr.compact(typical()))
    lines = qr.terminal_text(code).splitlines()
    size = code.symbol_size(scale=1, border=2)[0]
    assert len(lines) == (size + 1) // 2
    assert {len(line) for line in lines} == {size}


segment = st.binary(max_size=80).map(b64url)


@given(st.lists(st.lists(segment, min_size=1, max_size=3).map(".".join), min_size=1, max_size=6))
def test_the_compact_form_gives_back_the_exact_text(parts: list[str]) -> None:
    text = "~".join(parts)
    assert qr.expand(qr.compact(text)) == text


@pytest.mark.parametrize(
    "data",
    [
        b"not compact",
        qr.COMPACT_MAGIC + b"\x00garbage",
        qr.COMPACT_MAGIC + zlib.compress(b"\x05\x01"),  # five parts announced, one begun
        qr.COMPACT_MAGIC + zlib.compress(b"\x00" * (qr.MAX_EXPANDED + 1)),  # inflates beyond the bound
        qr.COMPACT_MAGIC + zlib.compress(b"\x00extra"),  # bytes after the last part
    ],
)
def test_anything_else_is_refused(data: bytes) -> None:
    with pytest.raises(Invalid) as refused:
        qr.expand(data)
    assert refused.value.code == "NOT_A_COMPACT_PRESENTATION"


def test_text_that_would_not_come_back_the_same_is_never_compacted() -> None:
    with pytest.raises(ValueError, match="canonical"):
        qr.compact("QR")  # "QR" decodes to one byte that encodes as "QQ"
