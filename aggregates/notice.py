"""The written notices of a case (文书): what a party is handed, rendered once, stored, hashed and signed.

A notice documents one decision event of the case (受理, 不予受理, 补正, 延期, 准予 or 不予许可). It is
rendered by the node that records the decision, in the same record, and stored as rendered: its bytes, their
SHA-256 and the node's signature travel with the case to every party. A later change of template renders new
notices only: what was issued, and its signature, never change.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from aggregates.errors import InvalidField


class NoticeKind(StrEnum):
    """The kinds of 文书, with the article each one serves."""

    ACCEPTANCE = "ACCEPTANCE"  # 受理通知书 (行政许可法 第32条第二款: 出具加盖专用印章和注明日期的书面凭证)
    REFUSAL = "REFUSAL"  # 不予受理决定书 (第32条第一款, 第38条第二款)
    SUPPLEMENT = "SUPPLEMENT"  # 补正材料告知书 (第32条第一款第四项: 一次性告知)
    EXTENSION = "EXTENSION"  # 延期告知书 (第42条: 将延长期限的理由告知申请人)
    PERMISSION = "PERMISSION"  # 准予行政许可决定书 (第38条第一款)
    DENIAL = "DENIAL"  # 不予行政许可决定书 (第38条第二款)
    # 补正逾期驳回决定书: a handler's reasoned decision on a supplement lapsed after acceptance (第38条)
    SUPPLEMENT_TIMEOUT = "SUPPLEMENT_TIMEOUT"


TITLES: dict[NoticeKind, str] = {
    NoticeKind.ACCEPTANCE: "受理通知书",
    NoticeKind.REFUSAL: "不予受理决定书",
    NoticeKind.SUPPLEMENT: "补正材料告知书",
    NoticeKind.EXTENSION: "延期告知书",
    NoticeKind.PERMISSION: "准予行政许可决定书",
    NoticeKind.DENIAL: "不予行政许可决定书",
    NoticeKind.SUPPLEMENT_TIMEOUT: "补正逾期驳回决定书",
}

NOTICE_NO = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,127}")
MAX_CONTENT_CHARS = 64 * 1024  # a notice is a page or two; the federation's event limit is far above


def sha256_hex(content: str) -> str:
    """The digest a notice is known by: SHA-256 over its UTF-8 bytes, as served."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def notice_number(case_no: str, kind: str, sequence: int) -> str:
    """文书编号: the case number, the kind and the kind's count on the case (a second 补正 is ``-2``)."""
    return f"{case_no}-{kind}-{sequence}"


@dataclass(frozen=True)
class SignedNotice:
    """A rendered notice, its digest and the node's signature over its bytes, and what it documents: the
    event recorded right after it in the same record (``documents_version``, ``documents_event``)."""

    kind: str
    notice_no: str
    documents_version: int
    documents_event: str
    media_type: str
    template: str
    template_version: str
    content: str
    sha256: str
    signature: str  # base64
    signature_algorithm: str
    key_id: str

    def __post_init__(self) -> None:
        if self.kind not in NoticeKind.__members__:
            raise InvalidField("kind", f"must be one of {', '.join(NoticeKind)}")
        if not NOTICE_NO.fullmatch(self.notice_no):
            raise InvalidField("notice_no", "must be letters, digits, '-', '_' or '.' (at most 128)")
        if not 0 < len(self.content) <= MAX_CONTENT_CHARS:
            raise InvalidField("content", f"must be 1 to {MAX_CONTENT_CHARS} characters")
        if self.sha256 != sha256_hex(self.content):
            raise InvalidField("sha256", "is not the SHA-256 of the content")
        if not self.signature or not self.key_id:
            raise InvalidField("signature", "a notice is issued signed")

    def event_fields(self) -> dict[str, Any]:
        return asdict(self)
