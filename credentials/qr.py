"""A presentation as a QR code, like 随申码, and its compact form.

A typical presentation (an ID card credential of seven claims, two of them shown, with key binding) is about
1,600 characters. As text, that needs a version 29–30 QR code at error level L: past version 25, which a
handheld scanner reads badly. The compact form packs the same presentation into bytes: each base64url segment
of the issuer JWT, the disclosures and the key-binding JWT as the bytes it encodes, length-prefixed, then
DEFLATE. That is about 40% smaller and fits version 22–24 at level L. The trade-off: only a reader that knows
this form (the verifier kit, ``expand``) reads it, where any SD-JWT tool reads the text form. The expansion
gives back the exact text, so every signature and digest is checked over the characters the issuer and the
device signed.

Sizes are measured by ``tests/unit/test_presentation_qr.py`` and reported in ``docs/credentials.md``.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import segno

from credentials.jose import Invalid, b64url, unb64url

COMPACT_MAGIC = b"TB1"  # the form and its version: a reader refuses any other
MAX_EXPANDED = 16 * 1024  # no presentation is larger: a bound on what a scanned code may inflate to
HANDHELD_MAX_VERSION = 25
ERROR_LEVEL = "L"  # a phone screen shown at a desk is clean: more capacity beats more correction


def compact(presentation: str) -> bytes:
    """The compact form; raises ValueError if the text is not a presentation of canonical base64url."""
    parts = presentation.split("~")
    body = bytearray(_varint(len(parts)))
    for part in parts:
        segments = part.split(".") if part else []
        body += _varint(len(segments))
        for segment in segments:
            raw = unb64url(segment)
            if b64url(raw) != segment:
                raise ValueError("a segment is not canonical base64url: its compact form would differ")
            body += _varint(len(raw)) + raw
    return COMPACT_MAGIC + zlib.compress(bytes(body), 9)


def expand(data: bytes) -> str:
    """The exact text of a compact presentation; raises :class:`Invalid` for anything else."""
    if not data.startswith(COMPACT_MAGIC):
        raise Invalid("NOT_A_COMPACT_PRESENTATION")
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(data[len(COMPACT_MAGIC) :], MAX_EXPANDED + 1)
    except zlib.error:
        raise Invalid("NOT_A_COMPACT_PRESENTATION") from None
    if not inflater.eof or len(body) > MAX_EXPANDED:
        raise Invalid("NOT_A_COMPACT_PRESENTATION")
    reader = _Reader(body)
    parts = []
    for _ in range(reader.varint()):
        segments = [b64url(reader.take(reader.varint())) for _ in range(reader.varint())]
        parts.append(".".join(segments))
    if not reader.done():
        raise Invalid("NOT_A_COMPACT_PRESENTATION")
    return "~".join(parts)


def qr_code(content: str | bytes) -> segno.QRCode:
    """The smallest QR code (never a Micro QR) that holds ``content`` at :data:`ERROR_LEVEL`."""
    return segno.make(content, error=ERROR_LEVEL, boost_error=False, micro=False)


def save_png(code: segno.QRCode, path: Path) -> None:
    code.save(str(path), kind="png", scale=4, border=4)


def terminal_text(code: segno.QRCode) -> str:
    """The code drawn with block characters, two modules per character cell, for a terminal."""
    rows = [[bool(m) for m in row] for row in code.matrix]
    size, border = len(rows), 2
    light = [False] * (size + 2 * border)
    padded = [light] * border + [[False] * border + r + [False] * border for r in rows] + [light] * border
    if len(padded) % 2:
        padded.append(light)
    glyphs = {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}
    return "\n".join(
        "".join(glyphs[(top, bottom)] for top, bottom in zip(padded[y], padded[y + 1], strict=True))
        for y in range(0, len(padded), 2)
    )


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def varint(self) -> int:
        value = shift = 0
        while True:
            if self._at >= len(self._data) or shift > 28:
                raise Invalid("NOT_A_COMPACT_PRESENTATION")
            byte = self._data[self._at]
            self._at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def take(self, count: int) -> bytes:
        if self._at + count > len(self._data):
            raise Invalid("NOT_A_COMPACT_PRESENTATION")
        chunk = self._data[self._at : self._at + count]
        self._at += count
        return chunk

    def done(self) -> bool:
        return self._at == len(self._data)
