"""The GB/T 36903 holder ID types (持证主体代码类型): each validated by its own rule, declared once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aggregates.certificate import HOLDER_ID_TYPES, validate_holder_id
from aggregates.errors import InvalidField
from aggregates.identifiers import HOLDER_ID_KINDS, citizen_id_check_char, credit_code_check_char
from node.schemas.common import CONTENT_PROPERTIES

DOCS = Path(__file__).parents[2] / "docs" / "domain.md"


def _with_check(first17: str) -> str:
    return first17 + citizen_id_check_char(first17)


VALID = {
    "111": _with_check("11010519491231002"),
    "114": "南字第12345678号",
    "154": _with_check("83000019900307001"),
    "414": "E12345678",
    "511": "12345678",
    "516": "H12345678",
    "553": _with_check("93115619900307001"),
    "001": "91310000MA1FL7JQ2" + credit_code_check_char("91310000MA1FL7JQ2"),
}


def test_every_declared_type_has_a_valid_example_and_they_all_validate() -> None:
    assert set(VALID) == set(HOLDER_ID_TYPES)
    for code, number in VALID.items():
        assert validate_holder_id(code, number) == number.upper()


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_residence_permits_of_hong_kong_macao_and_taiwan_are_all_accepted(prefix: str) -> None:
    number = _with_check(prefix + "19900307001")
    assert validate_holder_id("154", number) == number
    # also as a GB 11643 number under 111, where platforms record them: Taiwan's 830000 like the others
    assert validate_holder_id("111", number) == number


def test_a_residence_permit_must_start_with_a_hong_kong_macao_or_taiwan_prefix() -> None:
    with pytest.raises(InvalidField, match="must start with one of"):
        validate_holder_id("154", VALID["111"])


@pytest.mark.parametrize("code", ["111", "154", "553"])
def test_gb_11643_forms_check_their_check_digit(code: str) -> None:
    number = VALID[code]
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(InvalidField, match="check character does not match"):
        validate_holder_id(code, wrong)


def test_the_new_permanent_residence_card_starts_with_9_and_a_province() -> None:
    with pytest.raises(InvalidField, match="starts with 9"):
        validate_holder_id("553", _with_check("83115619900307001"))
    with pytest.raises(InvalidField, match="starts with 9"):
        validate_holder_id("553", _with_check("99915619900307001"))


def test_the_old_permanent_residence_card_is_three_letters_and_twelve_digits() -> None:
    assert validate_holder_id("553", "usa319003070110") == "USA319003070110"
    with pytest.raises(InvalidField, match="3 letters then 12 digits"):
        validate_holder_id("553", "US1319003070110")
    with pytest.raises(InvalidField, match="YYMMDD"):
        validate_holder_id("553", "USA319013070110")


@pytest.mark.parametrize(
    ("code", "number"),
    [
        ("414", "ABCDEFGH"),  # no digit
        ("414", "E1234"[:4]),
        ("511", "1234567"),
        ("516", "A12345678"),
        ("516", "H1234567"),
        ("114", "12345"),
        ("001", "91310000MA1FL7JQ2I"),
    ],
)
def test_numbers_breaking_their_types_rule_are_refused(code: str, number: str) -> None:
    with pytest.raises(InvalidField) as refused:
        validate_holder_id(code, number)
    assert refused.value.field == "holder_id"
    assert number not in str(refused.value)


@pytest.mark.parametrize("code", sorted(VALID))
def test_only_ascii_digits_count(code: str) -> None:
    # full-width digits are digits to str.isdigit() and to regex \d, never to a holder ID
    full_width = VALID[code].translate({ord(d): ord(d) - ord("0") + ord("０") for d in "0123456789"})
    with pytest.raises(InvalidField):
        validate_holder_id(code, full_width)


@pytest.mark.parametrize("code", sorted(VALID))
def test_no_refusal_repeats_the_number(code: str) -> None:
    number = VALID[code]
    broken = number[:-1] + "-"
    with pytest.raises(InvalidField) as refused:
        validate_holder_id(code, broken)
    assert broken[:-1] not in str(refused.value)


def test_an_unknown_type_is_refused_naming_the_declared_codes() -> None:
    with pytest.raises(InvalidField, match="must be one of 111, 114") as refused:
        validate_holder_id("999", VALID["111"])
    assert refused.value.field == "holder_id_type"


def test_the_schema_and_the_docs_derive_from_the_declaration() -> None:
    assert CONTENT_PROPERTIES["holder_id_type"]["enum"] == [kind.code for kind in HOLDER_ID_KINDS]
    documented = re.findall(r"^\| `([0-9]{3})` \| ([^|]+?) \|", DOCS.read_text(), re.MULTILINE)
    assert documented == [(kind.code, kind.name) for kind in HOLDER_ID_KINDS]
