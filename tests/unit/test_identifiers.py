"""Identifier parsing and validation: real-format examples, exhaustive and property-based error detection."""

import copy
import string
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from aggregates.identifiers import (
    ALPHANUMERIC,
    CREDIT_CODE_ALPHABET,
    PROVINCE_CODES,
    REGISTRATION_AUTHORITIES,
    CertificateIdentifier,
    InvalidIdentifier,
    citizen_id_check_char,
    classify,
    credit_code_check_char,
    mod37_36_check_char,
    province_of,
    validate_citizen_id,
    validate_credit_code,
    validate_division_code,
)

WORKED_EXAMPLE = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
TYPE_CODE = "11100000000013338W032"
ISSUER = "11220000013544541J"
CITIZEN_SAMPLE = "11010519491231002X"  # the GB 11643 sample
CREDIT_SAMPLE = "91350100M000100Y43"
TODAY = date(2025, 6, 30)
GB_T_2260_PROVINCES = {
    *("11", "12", "13", "14", "15"),  # North
    *("21", "22", "23"),  # Northeast
    *("31", "32", "33", "34", "35", "36", "37"),  # East
    *("41", "42", "43", "44", "45", "46"),  # Central and South
    *("50", "51", "52", "53", "54"),  # Southwest
    *("61", "62", "63", "64", "65"),  # Northwest
    *("71", "81", "82"),  # Taiwan, Hong Kong, Macao
}


def with_citizen_check(first17: str) -> str:
    return first17 + citizen_id_check_char(first17)


def with_credit_check(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


def swap(text: str, i: int) -> str:
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def substitute(text: str, i: int, char: str) -> str:
    return text[:i] + char + text[i + 1 :]


def parses(value: str) -> bool:
    try:
        CertificateIdentifier.parse(value)
    except InvalidIdentifier:
        return False
    return True


def different_char(alphabet: str, original: str) -> st.SearchStrategy[str]:
    return st.sampled_from([char for char in alphabet if char != original])


division_codes = st.builds(
    str.__add__, st.sampled_from(sorted(PROVINCE_CODES)), st.text(string.digits, min_size=4, max_size=4)
)


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    return with_credit_check(
        draw(st.sampled_from(REGISTRATION_AUTHORITIES))
        + draw(st.sampled_from(CREDIT_CODE_ALPHABET))
        + draw(division_codes)
        + draw(st.text(CREDIT_CODE_ALPHABET, min_size=9, max_size=9))
    )


@st.composite
def citizen_ids(draw: st.DrawFn) -> str:
    born = draw(st.dates(date(1900, 1, 1), TODAY))
    return with_citizen_check(
        draw(division_codes) + born.strftime("%Y%m%d") + draw(st.text(string.digits, min_size=3, max_size=3))
    )


type_codes = st.builds(
    str.__add__,
    st.text(CREDIT_CODE_ALPHABET, min_size=18, max_size=18),
    st.text(string.digits, min_size=3, max_size=3),
)
serials = st.text(ALPHANUMERIC, min_size=1, max_size=32)
versions = st.integers(1, 999)
certificates = st.builds(CertificateIdentifier.build, type_codes, credit_codes(), serials, versions)


def test_alphabets_and_provinces_match_the_standards() -> None:
    assert len(CREDIT_CODE_ALPHABET) == 31
    assert not set("IOSVZ") & set(CREDIT_CODE_ALPHABET)
    assert PROVINCE_CODES == GB_T_2260_PROVINCES


# --- certificate identifier: the worked example ---------------------------------------------------------


def test_worked_example_validates() -> None:
    identifier = CertificateIdentifier.parse(WORKED_EXAMPLE)
    assert identifier == CertificateIdentifier(TYPE_CODE, ISSUER, "2430599", 1, "F")
    assert mod37_36_check_char(TYPE_CODE + ISSUER + "2430599" + "001") == "F"


def test_worked_example_round_trips_through_str() -> None:
    assert str(CertificateIdentifier.parse(WORKED_EXAMPLE)) == WORKED_EXAMPLE


def test_build_from_the_worked_example_parts_reproduces_it() -> None:
    built = CertificateIdentifier.build(TYPE_CODE, ISSUER, "2430599")
    assert built == CertificateIdentifier.parse(WORKED_EXAMPLE)
    assert str(built) == WORKED_EXAMPLE


def test_parse_forgives_surrounding_whitespace_and_case_only() -> None:
    assert CertificateIdentifier.parse(f" \t{WORKED_EXAMPLE.lower()}\n") == CertificateIdentifier.parse(
        WORKED_EXAMPLE
    )
    with pytest.raises(InvalidIdentifier):
        CertificateIdentifier.parse(WORKED_EXAMPLE.replace(".", ". ", 1))


def test_the_type_code_authority_and_the_issuer_are_valid_credit_codes() -> None:
    # The type code's authority half is only shape-checked, but in the worked example it is valid too;
    # it carries the national division 100000 that central-government bodies use.
    assert validate_credit_code(TYPE_CODE[:18]) == TYPE_CODE[:18]
    assert validate_credit_code(ISSUER) == ISSUER


def test_the_type_code_authority_is_only_shape_checked() -> None:
    assert credit_code_check_char(TYPE_CODE[:17]) != "X"
    built = CertificateIdentifier.build(TYPE_CODE[:17] + "X" + TYPE_CODE[18:], ISSUER, "2430599")
    assert parses(str(built))


def test_every_single_character_change_of_the_worked_example_is_rejected() -> None:
    accepted = []
    rejected = 0
    for i, original in enumerate(WORKED_EXAMPLE):
        for char in ALPHANUMERIC + ".":
            if char == original:
                continue
            candidate = substitute(WORKED_EXAMPLE, i, char)
            try:
                CertificateIdentifier.parse(candidate)
            except InvalidIdentifier:
                rejected += 1
            else:
                accepted.append(candidate)
    assert accepted == []
    assert rejected == len(WORKED_EXAMPLE) * 36


def test_every_adjacent_transposition_in_the_worked_example_is_rejected() -> None:
    swaps = [i for i in range(len(WORKED_EXAMPLE) - 1) if WORKED_EXAMPLE[i] != WORKED_EXAMPLE[i + 1]]
    assert [swap(WORKED_EXAMPLE, i) for i in swaps if parses(swap(WORKED_EXAMPLE, i))] == []


# --- certificate identifier: properties -----------------------------------------------------------------


@given(type_codes, credit_codes(), serials, versions)
def test_built_identifiers_round_trip_through_str_and_parse(
    type_code: str, issuer: str, serial: str, version: int
) -> None:
    built = CertificateIdentifier.build(type_code, issuer, serial, version)
    assert (built.type_code, built.issuer_code, built.serial, built.version) == (
        type_code,
        issuer,
        serial,
        version,
    )
    assert CertificateIdentifier.parse(str(built)) == built
    assert str(CertificateIdentifier.parse(str(built))) == str(built)


@given(certificates, st.data())
def test_any_single_substitution_is_rejected(identifier: CertificateIdentifier, data: st.DataObject) -> None:
    text = str(identifier)
    i = data.draw(st.integers(0, len(text) - 1), label="position")
    char = data.draw(different_char(ALPHANUMERIC, text[i]), label="replacement")
    with pytest.raises(InvalidIdentifier):
        CertificateIdentifier.parse(substitute(text, i, char))


def _cyclically_consecutive(a: str, b: str) -> bool:
    return (ALPHANUMERIC.index(a) - ALPHANUMERIC.index(b)) % 36 in (1, 35)


def test_mod37_36_transposition_blind_spot_is_exactly_one_consecutive_pair_per_state() -> None:
    # One leading character drives the check into each of its 36 running states, and every later step
    # is a bijection, so these prefixes cover all lengths. The hybrid system misses exactly one swap of
    # cyclically consecutive values per state: 36 of the 36 * 630 swaps of different characters.
    missed = [
        (lead, a, b)
        for lead in ALPHANUMERIC
        for a in ALPHANUMERIC
        for b in ALPHANUMERIC
        if a < b and mod37_36_check_char(lead + a + b) == mod37_36_check_char(lead + b + a)
    ]
    assert len({mod37_36_check_char(lead) for lead in ALPHANUMERIC}) == 36
    assert len(missed) == 36
    assert all(_cyclically_consecutive(a, b) for _, a, b in missed)
    assert mod37_36_check_char("JHI") == mod37_36_check_char("JIH")


@given(st.text(ALPHANUMERIC, min_size=2, max_size=60), st.data())
def test_mod37_36_detects_non_consecutive_adjacent_transpositions(
    data_part: str, data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(data_part) - 2), label="position")
    assume(data_part[i] != data_part[i + 1] and not _cyclically_consecutive(data_part[i], data_part[i + 1]))
    assert mod37_36_check_char(swap(data_part, i)) != mod37_36_check_char(data_part)


def test_a_consecutive_value_swap_slips_through_for_exactly_one_preceding_state() -> None:
    # The certificate format inherits the MOD 37,36 blind spot: "01" -> "10" in the serial goes unnoticed
    # for exactly one of the 36 characters before it.
    slipping = [
        lead
        for lead in ALPHANUMERIC
        if CertificateIdentifier.build(TYPE_CODE, ISSUER, lead + "01").check_char
        == CertificateIdentifier.build(TYPE_CODE, ISSUER, lead + "10").check_char
    ]
    assert len(slipping) == 1


@given(certificates, st.data())
def test_adjacent_transpositions_in_the_checked_part_are_rejected(
    identifier: CertificateIdentifier, data: st.DataObject
) -> None:
    text = str(identifier)
    start = len(CertificateIdentifier.PREFIX) + 1
    i = data.draw(st.integers(start, len(text) - 2), label="position")
    a, b = text[i], text[i + 1]
    assume(a != b and not ("." not in (a, b) and _cyclically_consecutive(a, b)))
    with pytest.raises(InvalidIdentifier):
        CertificateIdentifier.parse(swap(text, i))


# --- certificate identifier: errors name the part --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "part"),
    [
        (WORKED_EXAMPLE[:-1] + "G", "check_char"),
        (WORKED_EXAMPLE[:-1], "check_char"),
        (WORKED_EXAMPLE + "F", "check_char"),
        (WORKED_EXAMPLE.replace(".001.", ".1000."), "version"),
        (WORKED_EXAMPLE.replace(".001.", ".01."), "version"),
        (WORKED_EXAMPLE.replace(".001.", ".000."), "version"),
        (WORKED_EXAMPLE.replace(".001.", ".00A."), "version"),
        (WORKED_EXAMPLE.replace("1.2.156.3005.2", "1.2.156.3005.3"), "prefix"),
        (WORKED_EXAMPLE.replace("1.2.156.", "1.2.158."), "prefix"),
        (WORKED_EXAMPLE[len("1.2.156.3005.2.") :], "prefix"),
        (WORKED_EXAMPLE.replace(TYPE_CODE, TYPE_CODE[:-1]), "type_code"),
        (WORKED_EXAMPLE.replace(TYPE_CODE, "I" + TYPE_CODE[1:]), "type_code"),
        (WORKED_EXAMPLE.replace(TYPE_CODE, TYPE_CODE[:-1] + "A"), "type_code"),
        (WORKED_EXAMPLE.replace(ISSUER, ISSUER[:-1] + "K"), "issuer_code"),
        (WORKED_EXAMPLE.replace(ISSUER, ISSUER[:-1]), "issuer_code"),
        (WORKED_EXAMPLE.replace(ISSUER, "B" + ISSUER[1:]), "issuer_code"),
        (WORKED_EXAMPLE.replace(".2430599.", ".."), "serial"),
        (WORKED_EXAMPLE.replace(".2430599.", "." + "9" * 33 + "."), "serial"),
        (WORKED_EXAMPLE.replace(".2430599.", ".243-599."), "serial"),
        (WORKED_EXAMPLE.replace(".2430599.", ".2430599.7."), "format"),
        (WORKED_EXAMPLE.replace(".2430599.", "."), "format"),
        ("", "prefix"),
    ],
)
def test_parse_names_the_wrong_part(value: str, part: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        CertificateIdentifier.parse(value)
    assert (caught.value.kind, caught.value.part) == ("certificate_identifier", part)


@pytest.mark.parametrize(
    ("type_code", "issuer", "serial", "version", "part"),
    [
        (TYPE_CODE + "1", ISSUER, "1", 1, "type_code"),
        (TYPE_CODE, "91350100M000100Y44", "1", 1, "issuer_code"),
        (TYPE_CODE, ISSUER, "", 1, "serial"),
        (TYPE_CODE, ISSUER, "A" * 33, 1, "serial"),
        (TYPE_CODE, ISSUER, "1", 0, "version"),
        (TYPE_CODE, ISSUER, "1", 1000, "version"),
    ],
)
def test_build_names_the_wrong_part(
    type_code: str, issuer: str, serial: str, version: int, part: str
) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        CertificateIdentifier.build(type_code, issuer, serial, version)
    assert caught.value.part == part


def test_build_normalises_case_and_whitespace() -> None:
    assert CertificateIdentifier.build(f" {TYPE_CODE.lower()}", ISSUER.lower(), "2430599 ") == (
        CertificateIdentifier.parse(WORKED_EXAMPLE)
    )


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        CertificateIdentifier(TYPE_CODE, ISSUER, "2430599", 1, "G")
    assert caught.value.part == "check_char"


def test_next_version_increments_and_recomputes_the_check_char() -> None:
    second = CertificateIdentifier.parse(WORKED_EXAMPLE).next_version()
    assert second.version == 2
    assert second.check_char == mod37_36_check_char(TYPE_CODE + ISSUER + "2430599" + "002")
    assert str(second).startswith("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.002.")
    assert CertificateIdentifier.parse(str(second)) == second


def test_next_version_stops_at_999() -> None:
    last = CertificateIdentifier.build(TYPE_CODE, ISSUER, "2430599", 998).next_version()
    assert str(last).split(".")[-2] == "999"
    with pytest.raises(InvalidIdentifier) as caught:
        last.next_version()
    assert caught.value.part == "version"


def test_invalid_identifier_is_a_value_error_that_says_where() -> None:
    error = InvalidIdentifier("citizen_id", "check_char", "expected X, got 1")
    assert isinstance(error, ValueError)
    assert (error.kind, error.part, error.message) == ("citizen_id", "check_char", "expected X, got 1")
    assert str(error) == "invalid citizen_id: check_char: expected X, got 1"
    copied = copy.copy(error)
    assert (copied.kind, copied.part, copied.message, str(copied)) == (
        error.kind,
        error.part,
        error.message,
        str(error),
    )


def test_mod37_36_refuses_characters_outside_its_alphabet() -> None:
    with pytest.raises(ValueError, match="0-9A-Z"):
        mod37_36_check_char("ab")


# --- citizen ID ------------------------------------------------------------------------------------------


def test_the_gb_11643_sample_validates() -> None:
    assert citizen_id_check_char(CITIZEN_SAMPLE[:17]) == "X"
    assert validate_citizen_id(CITIZEN_SAMPLE) == CITIZEN_SAMPLE
    assert validate_citizen_id(" 11010519491231002x ") == CITIZEN_SAMPLE


def test_birth_date_range_includes_its_ends() -> None:
    assert validate_citizen_id(with_citizen_check("11010519000101001"), TODAY)
    assert validate_citizen_id(with_citizen_check(f"110105{TODAY:%Y%m%d}001"), TODAY)


@pytest.mark.parametrize(
    ("value", "part"),
    [
        (CITIZEN_SAMPLE[:-1], "length"),
        (CITIZEN_SAMPLE + "1", "length"),
        ("1101051949123100A2", "characters"),
        ("11010519491231002Y", "characters"),
        ("１１0105194912310021", "characters"),  # full-width digits pass str.isdigit() but are not valid
        (with_citizen_check("99010519491231002"), "division"),
        (with_citizen_check("11010519491332002"), "birth_date"),
        (with_citizen_check("11010518991231002"), "birth_date"),
        (with_citizen_check(f"110105{TODAY + timedelta(days=1):%Y%m%d}002"), "birth_date"),
        ("110105194912310021", "check_char"),
    ],
)
def test_citizen_id_errors_name_the_part(value: str, part: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_citizen_id(value, TODAY)
    assert (caught.value.kind, caught.value.part) == ("citizen_id", part)


@given(citizen_ids())
def test_generated_citizen_ids_validate(code: str) -> None:
    assert validate_citizen_id(code, TODAY) == code


@given(citizen_ids(), st.data())
def test_any_single_substitution_in_a_citizen_id_is_rejected(code: str, data: st.DataObject) -> None:
    # Even when the change leaves a plausible division and birth date, the check char catches it.
    i = data.draw(st.integers(0, 17), label="position")
    char = data.draw(different_char(string.digits + "X", code[i]), label="replacement")
    with pytest.raises(InvalidIdentifier):
        validate_citizen_id(substitute(code, i, char), TODAY)


# --- unified social credit code --------------------------------------------------------------------------


def test_a_published_credit_code_validates() -> None:
    assert credit_code_check_char(CREDIT_SAMPLE[:17]) == "3"
    assert validate_credit_code(f" {CREDIT_SAMPLE.lower()} ") == CREDIT_SAMPLE


@pytest.mark.parametrize(
    ("value", "part"),
    [
        (CREDIT_SAMPLE[:-1], "length"),
        ("91350100M000100I43", "characters"),
        (with_credit_check("B1350100M000100Y4"), "registration_authority"),
        (with_credit_check("91990100M000100Y4"), "division"),
        (with_credit_check("9135A100M000100Y4"), "division"),
        ("91350100M000100Y44", "check_char"),
    ],
)
def test_credit_code_errors_name_the_part(value: str, part: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_credit_code(value)
    assert (caught.value.kind, caught.value.part) == ("credit_code", part)


@given(credit_codes())
def test_generated_credit_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code


@given(credit_codes(), st.data())
def test_any_single_substitution_in_a_credit_code_is_rejected(code: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, 17), label="position")
    char = data.draw(different_char(ALPHANUMERIC, code[i]), label="replacement")
    with pytest.raises(InvalidIdentifier):
        validate_credit_code(substitute(code, i, char))


def test_check_char_functions_refuse_malformed_input() -> None:
    with pytest.raises(ValueError, match="17 digits"):
        citizen_id_check_char("1101051949123100")
    with pytest.raises(ValueError, match="17 characters"):
        credit_code_check_char("91350100M000100I4")


# --- division codes --------------------------------------------------------------------------------------


def test_division_codes() -> None:
    assert validate_division_code(" 320583 ") == "320583"
    assert province_of("320583") == "320000"
    assert province_of("820000") == "820000"


@pytest.mark.parametrize(
    ("value", "part"),
    [("32058", "length"), ("32058A", "characters"), ("990000", "province"), ("100000", "province")],
)
def test_division_code_errors_name_the_part(value: str, part: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_division_code(value)
    assert (caught.value.kind, caught.value.part) == ("division_code", part)


# --- classify --------------------------------------------------------------------------------------------


def test_classify_certificate_identifier() -> None:
    report = classify(f"  {WORKED_EXAMPLE.lower()} ")
    assert (report.kind, report.valid, report.normalised, report.problem) == (
        "certificate_identifier",
        True,
        WORKED_EXAMPLE,
        None,
    )
    assert report.details == {
        "type_code": TYPE_CODE,
        "issuer_code": ISSUER,
        "serial": "2430599",
        "version": "001",
    }


def test_classify_broken_certificate_identifier_says_why() -> None:
    report = classify("1.2.156.3005.9.X")
    assert (report.kind, report.valid, report.details) == ("certificate_identifier", False, {})
    assert report.problem is not None
    assert report.problem.part == "prefix"


def test_classify_citizen_ids() -> None:
    female = classify(CITIZEN_SAMPLE, TODAY)
    assert (female.kind, female.valid, female.problem) == ("citizen_id", True, None)
    assert female.details == {"division": "110105", "birth_date": "1949-12-31", "sex": "female"}
    assert not classify(with_citizen_check("32058320010229001"), TODAY).valid  # 2001 was no leap year
    male = classify(with_citizen_check("32058320000229001"), TODAY)
    assert male.details == {"division": "320583", "birth_date": "2000-02-29", "sex": "male"}


def test_classify_invalid_citizen_id_reports_the_citizen_id_problem() -> None:
    report = classify("110105194912310021", TODAY)
    assert (report.kind, report.valid) == ("citizen_id", False)
    assert report.problem is not None
    assert report.problem.part == "check_char"


def test_classify_credit_codes() -> None:
    report = classify(CREDIT_SAMPLE)
    assert (report.kind, report.valid) == ("credit_code", True)
    assert report.details == {"registration_authority": "9", "division": "350100"}
    broken = classify("ABCDEFGHJKLMNPQRTU")
    assert (broken.kind, broken.valid) == ("credit_code", False)


def test_classify_prefers_a_valid_credit_code_with_the_shape_of_a_citizen_id() -> None:
    code = with_credit_check("91110119123456789")
    assert code[6:8] == "19"
    report = classify(code, TODAY)
    assert (report.kind, report.valid, report.details) == (
        "credit_code",
        True,
        {"registration_authority": "9", "division": "110119"},
    )


@pytest.mark.parametrize("value", ["", "   ", "hello", "1101051949123100", "9" * 19])
def test_classify_unknown_shapes(value: str) -> None:
    report = classify(value)
    assert (report.kind, report.valid, report.details) == ("unknown", False, {})
    assert report.problem is not None
    assert (report.problem.kind, report.problem.part) == ("unknown", "format")
    assert "citizen ID" in report.problem.message
