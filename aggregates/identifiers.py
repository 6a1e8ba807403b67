"""Chinese identifiers: parse, validate, and say exactly which part is wrong.

Covers the electronic certificate identifier (GB/T 36904 as implemented by the certificate platforms),
the citizen ID number (GB 11643), the unified social credit code (GB 32100) and administrative division
codes (GB/T 2260). Pure stdlib and no I/O, so every layer shares one definition of "valid".
"""

import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Self

ALPHANUMERIC = string.digits + string.ascii_uppercase
# GB 32100 leaves out I, O, S, V and Z so they cannot be misread as 1, 0, 5, U and 2.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
REGISTRATION_AUTHORITIES = "123456789ANY"
# Central-government bodies register under the national code, which GB/T 2260 itself does not list.
NATIONAL_DIVISION = "100000"
PROVINCE_CODES = frozenset(
    f"{code:02d}"
    for low, high in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71), (81, 82))
    for code in range(low, high + 1)
)

_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Where a 港澳台居民居住证's GB 11643 number starts: Hong Kong, Macao, Taiwan (the 2018 rules).
RESIDENCE_PERMIT_PREFIXES = ("810000", "820000", "830000")
_CITIZEN_ID_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))
_CITIZEN_ID_CHECK_CHARS = "10X98765432"
_EARLIEST_BIRTH_DATE = date(1900, 1, 1)
_CERTIFICATE = "certificate_identifier"


# Says neither the expected nor the given character: messages travel into problem details and logs, and an
# ID number's check character is part of personal data.
_CHECK_MISMATCH = "the check character does not match the rest (a typing error?)"


class InvalidIdentifier(ValueError):
    """Carries which part is wrong, so a caller (CLI, REST problem pointer) can say so."""

    def __init__(self, kind: str, part: str, message: str) -> None:
        # args mirror the constructor so copy and pickle can rebuild the exception.
        super().__init__(kind, part, message)
        self.kind = kind
        self.part = part
        self.message = message

    def __str__(self) -> str:
        return f"invalid {self.kind}: {self.part}: {self.message}"


def _normalise(value: str) -> str:
    return value.strip().upper()


def _only(value: str, alphabet: str) -> bool:
    # Explicit alphabets, because str.isdigit() also accepts full-width and other Unicode digits.
    return all(char in alphabet for char in value)


def mod37_36_check_char(data: str) -> str:
    """ISO 7064 MOD 37,36 (hybrid) check char over 0-9A-Z.

    It catches every single substitution, but not every adjacent transposition: swapping two characters
    whose values are cyclically consecutive (e.g. "HI" and "IH") goes unnoticed at one of the 36 running
    states, i.e. 1 in 630 swaps of different characters.
    """
    p = 36
    for char in data:
        value = ALPHANUMERIC.find(char)
        if value < 0:
            raise ValueError("a character is not one of 0-9A-Z")  # never the character: it may be anything
        s = (p + value) % 36 or 36
        p = 2 * s % 37
    return ALPHANUMERIC[(37 - p) % 36]


def citizen_id_check_char(first17: str) -> str:
    """GB 11643 MOD 11-2 check char for the first 17 digits of a citizen ID."""
    if len(first17) != 17 or not _only(first17, string.digits):
        raise ValueError("expected exactly 17 digits")
    total = sum(int(char) * weight for char, weight in zip(first17, _CITIZEN_ID_WEIGHTS, strict=True))
    return _CITIZEN_ID_CHECK_CHARS[total % 11]


def credit_code_check_char(first17: str) -> str:
    """GB 32100 check char for the first 17 characters of a unified social credit code."""
    if len(first17) != 17 or not _only(first17, CREDIT_CODE_ALPHABET):
        raise ValueError(f"expected exactly 17 characters from {CREDIT_CODE_ALPHABET}")
    total = sum(
        CREDIT_CODE_ALPHABET.index(char) * weight
        for char, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def validate_division_code(value: str) -> str:
    """A GB/T 2260 administrative division code, normalised. Only the province level is checked."""
    code = _normalise(value)
    if len(code) != 6:
        raise InvalidIdentifier("division_code", "length", f"expected 6 digits, got {len(code)} characters")
    if not _only(code, string.digits):
        raise InvalidIdentifier("division_code", "characters", "expected digits only")
    if code[:2] not in PROVINCE_CODES:
        raise InvalidIdentifier("division_code", "province", "its first two digits name no province")
    return code


def validate_province(value: str) -> str:
    """A province-level GB/T 2260 code (a province, autonomous region, municipality or SAR): "310000".

    The ONE check of a province code (tokens, settings, issuers, transfer destinations). Surrounding
    whitespace is forgiven; anything else must be six digits ending in 0000 of a real province-level division.
    """
    code = value.strip()
    if len(code) != 6 or not _only(code, string.digits):
        raise InvalidIdentifier("province_code", "format", "expected six digits, e.g. 310000")
    if code[2:] != "0000":
        raise InvalidIdentifier("province_code", "level", "expected a province-level code ending in 0000")
    if code[:2] not in PROVINCE_CODES:
        raise InvalidIdentifier("province_code", "province", "its first two digits name no province")
    return code


def province_of(division_code: str) -> str:
    """The province-level division containing a division: "320583" -> "320000"."""
    return validate_division_code(division_code)[:2] + "0000"


def _birth_date(yyyymmdd: str) -> date | None:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return None


def validate_citizen_id(value: str, today: date | None = None) -> str:
    """An 18-character GB 11643 citizen ID, normalised (upper-case X).

    A 港澳台居民居住证 number (810000, 820000 or 830000) is accepted too: it is a GB 11643 number, and
    platforms record it as one; 830000 (Taiwan) is no province code, but it is that permit's prefix.
    """
    code = _eighteen("citizen_id", value)
    if code[:6] not in RESIDENCE_PERMIT_PREFIXES:
        try:
            validate_division_code(code[:6])
        except InvalidIdentifier as e:
            raise InvalidIdentifier("citizen_id", "division", e.message) from e
    _check_digit_and_birth("citizen_id", code, code[6:14], today)
    return code


def _check_digit_and_birth(kind: str, code: str, birth: str, today: date | None) -> None:
    """The 18-digit GB 11643 shape shared by citizen IDs, residence permits and the new 永居证."""
    born = _birth_date(birth)
    latest = date.today() if today is None else today
    if born is None or not _EARLIEST_BIRTH_DATE <= born <= latest:
        raise InvalidIdentifier(
            kind, "birth_date", f"digits 7-14 must be a birth date from 19000101 to {latest:%Y%m%d}"
        )
    if code[17] != citizen_id_check_char(code[:17]):
        raise InvalidIdentifier(kind, "check_char", _CHECK_MISMATCH)


def _eighteen(kind: str, value: str) -> str:
    code = _normalise(value)
    if len(code) != 18:
        raise InvalidIdentifier(kind, "length", f"expected 18 characters, got {len(code)}")
    if not (_only(code[:17], string.digits) and code[17] in string.digits + "X"):
        raise InvalidIdentifier(kind, "characters", "expected 17 digits then a digit or X")
    return code


def validate_residence_permit(value: str, today: date | None = None) -> str:
    """港澳台居民居住证: a GB 11643 number starting 810000 (HK), 820000 (Macao) or 830000 (Taiwan)."""
    code = _eighteen("residence_permit", value)
    if code[:6] not in RESIDENCE_PERMIT_PREFIXES:
        raise InvalidIdentifier(
            "residence_permit", "division", f"must start with one of {', '.join(RESIDENCE_PERMIT_PREFIXES)}"
        )
    _check_digit_and_birth("residence_permit", code, code[6:14], today)
    return code


def validate_foreign_permanent_residence(value: str, today: date | None = None) -> str:
    """外国人永久居留身份证: the 2023 form (18 digits: 9, the accepting province's two digits, a 3-digit
    nationality code, the birth date, a serial, the GB 11643 check digit) or the 2017 form (15 characters:
    a 3-letter ISO 3166 nationality code, 12 digits; its check digit's rule is not public, so only the shape
    is checked)."""
    code = _normalise(value)
    if len(code) == 15:
        if not (_only(code[:3], string.ascii_uppercase) and _only(code[3:], string.digits)):
            raise InvalidIdentifier(
                "permanent_residence", "characters", "the 15-character form is 3 letters then 12 digits"
            )
        if _birth_date(("19" if code[5:7] > "30" else "20") + code[5:11]) is None:
            raise InvalidIdentifier(
                "permanent_residence", "birth_date", "characters 6-11 must be a YYMMDD date"
            )
        return code
    code = _eighteen("permanent_residence", value)
    if code[0] != "9" or code[1:3] not in PROVINCE_CODES:
        raise InvalidIdentifier(
            "permanent_residence", "prefix", "the 18-digit form starts with 9 and a province's two digits"
        )
    _check_digit_and_birth("permanent_residence", code, code[6:14], today)
    return code


def validate_credit_code(value: str) -> str:
    """An 18-character GB 32100 unified social credit code, normalised."""
    code = _normalise(value)
    if len(code) != 18:
        raise InvalidIdentifier("credit_code", "length", f"expected 18 characters, got {len(code)}")
    if not _only(code, CREDIT_CODE_ALPHABET):
        raise InvalidIdentifier(
            "credit_code", "characters", f"expected characters from {CREDIT_CODE_ALPHABET} (no I, O, S, V, Z)"
        )
    if code[0] not in REGISTRATION_AUTHORITIES:
        raise InvalidIdentifier(
            "credit_code", "registration_authority", f"{code[0]} is not one of {REGISTRATION_AUTHORITIES}"
        )
    if code[2:8] != NATIONAL_DIVISION:
        try:
            validate_division_code(code[2:8])
        except InvalidIdentifier as e:
            raise InvalidIdentifier("credit_code", "division", e.message) from e
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier("credit_code", "check_char", _CHECK_MISMATCH)
    return code


def _pattern(kind: str, pattern: str, shape: str) -> Callable[[str], str]:
    """A number with no check digit: only its shape (ASCII letters and digits) can be checked."""
    compiled = re.compile(pattern)

    def validate(value: str) -> str:
        code = _normalise(value)
        if not compiled.fullmatch(code):
            raise InvalidIdentifier(kind, "format", f"expected {shape}")
        return code

    return validate


@dataclass(frozen=True, slots=True)
class HolderIdKind:
    """One type of holder ID (持证主体代码类型): its code, its name and the rule its numbers follow."""

    code: str
    name: str
    rule: str
    validate: Callable[[str], str]


# The holder ID types, declared once: the certificate's holder_id_type enum, the REST schemas and the table in
# docs/certificates.md derive from (or are held to) this. Codes follow GA/T 517 (常用证件代码) as used by
# certificate platforms for GB/T 36903's 持证主体代码类型, and 001 for the credit code (verify: the sources in
# seeds/ give no code list).
HOLDER_ID_KINDS: tuple[HolderIdKind, ...] = (
    HolderIdKind(
        "111", "居民身份证", "GB 11643: 18 digits (last may be X), mod 11-2 check", validate_citizen_id
    ),
    HolderIdKind(
        "114",
        "中国人民解放军军官证",
        "letters or 1-6 Chinese characters, then 6-12 digits (no check digit)",
        _pattern("officer_card", r"(?:[A-Z]{1,4}|[\u4e00-\u9fff]{1,6})?[0-9]{6,12}号?", "6-12 digits"),
    ),
    HolderIdKind(
        "154",
        "港澳台居民居住证",
        "GB 11643: 18 digits starting 810000, 820000 or 830000, mod 11-2 check",
        validate_residence_permit,
    ),
    HolderIdKind(
        "414",
        "普通护照",
        "5-17 letters and digits, at least one digit (no check digit in the number)",
        _pattern("passport", r"(?=[A-Z]*[0-9])[A-Z0-9]{5,17}", "5 to 17 letters and digits"),
    ),
    HolderIdKind(
        "511",
        "台湾居民来往大陆通行证",
        "8 digits (card) or 10 digits (booklet)",
        _pattern("taiwan_permit", r"[0-9]{8}|[0-9]{10}", "8 or 10 digits"),
    ),
    HolderIdKind(
        "516",
        "港澳居民来往内地通行证",
        "H (Hong Kong) or M (Macao), then 8 or 10 digits",
        _pattern("hk_macao_permit", r"[HM](?:[0-9]{8}|[0-9]{10})", "H or M then 8 or 10 digits"),
    ),
    HolderIdKind(
        "553",
        "外国人永久居留身份证",
        "18 digits starting 9 with the mod 11-2 check (2023 form), or 3 letters + 12 digits (2017 form)",
        validate_foreign_permanent_residence,
    ),
    HolderIdKind("001", "统一社会信用代码", "GB 32100: 18 characters, mod 31 check", validate_credit_code),
)


def _validate_certificate_parts(type_code: str, issuer_code: str, serial: str, version: int) -> None:
    # The type code's credit-code half is checked for shape only: type codes in use do not all carry a
    # valid GB 32100 check char, and the identifier's own check char covers it anyway.
    if not (
        len(type_code) == 21
        and _only(type_code[:18], CREDIT_CODE_ALPHABET)
        and _only(type_code[18:], string.digits)
    ):
        raise InvalidIdentifier(
            _CERTIFICATE, "type_code", "expected the defining authority's 18-character credit code + 3 digits"
        )
    try:
        validate_credit_code(issuer_code)
    except InvalidIdentifier as e:
        raise InvalidIdentifier(_CERTIFICATE, "issuer_code", f"{e.part}: {e.message}") from e
    if not (1 <= len(serial) <= 32 and _only(serial, ALPHANUMERIC)):
        raise InvalidIdentifier(_CERTIFICATE, "serial", "expected 1 to 32 characters from 0-9A-Z")
    if not 1 <= version <= 999:
        raise InvalidIdentifier(_CERTIFICATE, "version", f"expected 1 to 999, got {version}")


@dataclass(frozen=True, slots=True)
class CertificateIdentifier:
    """A GB/T 36904 electronic certificate identifier; every instance is valid (checked on creation)."""

    type_code: str
    issuer_code: str
    serial: str
    version: int
    check_char: str

    PREFIX: ClassVar[str] = "1.2.156.3005.2"

    def __post_init__(self) -> None:
        _validate_certificate_parts(self.type_code, self.issuer_code, self.serial, self.version)
        expected = mod37_36_check_char(self._checked_data())
        if self.check_char != expected:
            raise InvalidIdentifier(_CERTIFICATE, "check_char", _CHECK_MISMATCH)

    def _checked_data(self) -> str:
        return f"{self.type_code}{self.issuer_code}{self.serial}{self.version:03d}"

    @property
    def issuing_province(self) -> str | None:
        """The province of the issuing authority: its credit code carries its division (GB 32100 §4.3).
        None for a central body (division 100000), which issues through a province the identifier does not
        name."""
        division = self.issuer_code[2:8]
        if division == NATIONAL_DIVISION or division[:2] not in PROVINCE_CODES:
            return None
        return province_of(division)

    @classmethod
    def parse(cls, value: str) -> Self:
        """Parse the dotted form; surrounding whitespace and letter case are forgiven, nothing else."""
        text = _normalise(value)
        head = cls.PREFIX + "."
        if not text.startswith(head):
            raise InvalidIdentifier(_CERTIFICATE, "prefix", f"expected to start with {head}")
        parts = text[len(head) :].split(".")
        if len(parts) != 5:
            raise InvalidIdentifier(
                _CERTIFICATE,
                "format",
                f"expected 5 dot-separated parts after {cls.PREFIX}: "
                "type code, issuer code, serial, version, check char",
            )
        type_code, issuer_code, serial, version, check_char = parts
        if not (len(version) == 3 and _only(version, string.digits)):
            raise InvalidIdentifier(_CERTIFICATE, "version", "expected 3 digits 001-999")
        return cls(type_code, issuer_code, serial, int(version), check_char)

    @classmethod
    def build(cls, type_code: str, issuer_code: str, serial: str, version: int = 1) -> Self:
        """Validate the parts and compute the check char."""
        type_code, issuer_code, serial = _normalise(type_code), _normalise(issuer_code), _normalise(serial)
        # Validate before computing, so a bad part is reported as itself rather than as a check char.
        _validate_certificate_parts(type_code, issuer_code, serial, version)
        check_char = mod37_36_check_char(f"{type_code}{issuer_code}{serial}{version:03d}")
        return cls(type_code, issuer_code, serial, version, check_char)

    def next_version(self) -> Self:
        """The same certificate's next version (e.g. after a change), with a new check char."""
        return self.build(self.type_code, self.issuer_code, self.serial, self.version + 1)

    def __str__(self) -> str:
        return (
            f"{self.PREFIX}.{self.type_code}.{self.issuer_code}."
            f"{self.serial}.{self.version:03d}.{self.check_char}"
        )


@dataclass(frozen=True, slots=True)
class IdentifierReport:
    """What :func:`classify` made of a string, valid or not."""

    kind: str  # "certificate_identifier" | "citizen_id" | "credit_code" | "unknown"
    valid: bool
    normalised: str
    problem: InvalidIdentifier | None
    details: dict[str, str]


def _certificate_details(text: str) -> dict[str, str]:
    identifier = CertificateIdentifier.parse(text)
    return {
        "type_code": identifier.type_code,
        "issuer_code": identifier.issuer_code,
        "serial": identifier.serial,
        "version": f"{identifier.version:03d}",
    }


def _citizen_details(text: str, today: date | None) -> dict[str, str]:
    code = validate_citizen_id(text, today)
    return {
        "division": code[:6],
        "birth_date": f"{code[6:10]}-{code[10:12]}-{code[12:14]}",
        "sex": "male" if int(code[16]) % 2 else "female",
    }


def _credit_details(text: str) -> dict[str, str]:
    code = validate_credit_code(text)
    return {"registration_authority": code[0], "division": code[2:8]}


def _report(kind: str, text: str, details: Callable[[], dict[str, str]]) -> IdentifierReport:
    try:
        found = details()
    except InvalidIdentifier as problem:
        return IdentifierReport(kind, False, text, problem, {})
    return IdentifierReport(kind, True, text, None, found)


def classify(value: str, today: date | None = None) -> IdentifierReport:
    """Guess the kind of identifier from its shape, then validate it as that kind."""
    text = _normalise(value)
    # Only certificate identifiers contain dots, whether or not the 1.2.156 prefix is intact.
    if "." in text:
        return _report(_CERTIFICATE, text, lambda: _certificate_details(text))
    if len(text) == 18 and _only(text[:17], string.digits) and text[6:8] in ("19", "20"):
        citizen = _report("citizen_id", text, lambda: _citizen_details(text, today))
        if citizen.valid:
            return citizen
        # An all-digit credit code can have the shape of a citizen ID; prefer whichever actually validates.
        credit = _report("credit_code", text, lambda: _credit_details(text))
        return credit if credit.valid else citizen
    if len(text) == 18:
        return _report("credit_code", text, lambda: _credit_details(text))
    problem = InvalidIdentifier(
        "unknown",
        "format",
        f"expected a certificate identifier ({CertificateIdentifier.PREFIX}.…), "
        "an 18-character citizen ID or an 18-character unified social credit code",
    )
    return IdentifierReport("unknown", False, text, problem, {})
