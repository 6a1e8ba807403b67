"""The certificate types a node may issue (电子证照目录, GB/T 36902), declared once.

Each type says who defines it (制证单位 in GB/T 36903's words, the 定义机构 whose credit code begins the type
code), what kind of holder it may have and its validity rules. Issuing refuses a type not declared here; the
sample catalogue, the sample certificates and the docs derive from it.

The type codes are ILLUSTRATIVE (the definer's credit code + a 3-digit serial, as GB/T 36904 builds them):
a deployment replaces them with the national catalogue's codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class HolderKind(StrEnum):
    """Whom a certificate is issued to (持证主体类别)."""

    PERSON = "PERSON"  # 自然人
    ORGANISATION = "ORGANISATION"  # 法人和其他组织


def holder_kind(holder_id_type: str) -> HolderKind:
    """The kind of holder an id type names: organisation codes begin with 0 (001 is the unified social credit
    code), the codes of personal documents do not (111 is the citizen ID number) (verify)."""
    return HolderKind.ORGANISATION if holder_id_type.startswith("0") else HolderKind.PERSON


# The metadata a holder credential may disclose, one claim at a time (SD-JWT, docs/credentials.md): what a
# verifier may ask to see. The validity window and the type travel in the clear: every check needs them.
CREDENTIAL_CLAIMS = (
    "name",
    "number",
    "issuer_name",
    "issue_date",
    "holder_name",
    "holder_id_type",
    "holder_id",
)


@dataclass(frozen=True, slots=True)
class CertificateType:
    code: str
    name: str
    definer: str
    holder_kinds: frozenset[HolderKind]
    # The validity may begin before the issue date: a business licence's 营业期限 runs from the founding date
    # (成立日期) although the licence is issued, or issued again, later.
    starts_before_issue: bool = False
    # The validity may have no end (长期): valid_to may be left out.
    open_ended: bool = True
    # The claims its holder credential discloses one at a time (亮证), among CREDENTIAL_CLAIMS: the scenarios
    # may ask only these of it (aggregates/credential_scenarios.py).
    claims: tuple[str, ...] = CREDENTIAL_CLAIMS


ID_CARD = "11100000000013338W001"
DRIVING_LICENCE = "11100000000013338W032"
VEHICLE_LICENCE = "11100000000013338W033"

_PERSON = frozenset({HolderKind.PERSON})
_ORGANISATION = frozenset({HolderKind.ORGANISATION})

CERTIFICATE_TYPES: tuple[CertificateType, ...] = (
    CertificateType(ID_CARD, "居民身份证", "公安部", _PERSON),
    CertificateType("11100000000013338W002", "居民户口簿", "公安部", _PERSON),
    CertificateType(DRIVING_LICENCE, "机动车驾驶证", "公安部", _PERSON),
    CertificateType(VEHICLE_LICENCE, "机动车行驶证", "公安部", _PERSON | _ORGANISATION),
    CertificateType("11100000000013338W041", "居住证", "公安部", _PERSON, open_ended=False),
    CertificateType("111000000000130123001", "结婚证", "民政部", _PERSON),
    CertificateType(
        "11100000000014527B001", "营业执照", "市场监管总局", _ORGANISATION, starts_before_issue=True
    ),
    CertificateType("11100000000013251K001", "出生医学证明", "国家卫生健康委", _PERSON),
    CertificateType("111000000000131257001", "社会保障卡", "人力资源社会保障部", _PERSON),
    CertificateType("111000000000131257002", "就业创业证", "人力资源社会保障部", _PERSON),
    CertificateType("111000000000135678001", "道路运输从业人员从业资格证", "交通运输部", _PERSON),
    CertificateType("111000000000135678002", "道路运输经营许可证", "交通运输部", _ORGANISATION),
    CertificateType("11100000000013672F001", "学历证书（毕业证书）", "教育部", _PERSON),
    CertificateType("11100000000013672F002", "学位证书", "教育部", _PERSON),
)
_BY_CODE = {certificate_type.code: certificate_type for certificate_type in CERTIFICATE_TYPES}


def certificate_type(code: str) -> CertificateType | None:
    """The declared type of that code, or None."""
    return _BY_CODE.get(code)
