"""The offline commands: check-id, keys, token."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.auth import Role, TokenVerifier
from node.cli.main import main

EXAMPLE = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"


@pytest.mark.parametrize(
    ("value", "code", "expected"),
    [
        (EXAMPLE, 0, ["kind: certificate_identifier", "serial: 2430599", "valid"]),
        (EXAMPLE[:-1] + "G", 1, ["kind: certificate_identifier", "INVALID check_char"]),
        (EXAMPLE.replace(".001.", ".01."), 1, ["INVALID version"]),
        ("11010519491231002X", 0, ["kind: citizen_id", "sex: female", "valid"]),
        ("11010519491231002Y", 1, ["kind: citizen_id", "INVALID"]),
        ("91350100M000100Y43", 0, ["kind: credit_code", "valid"]),
        ("91350100M000100Y44", 1, ["kind: credit_code", "INVALID check_char"]),
        ("hello", 1, ["kind: unknown", "INVALID"]),
    ],
)
def test_check_id_says_what_kind_and_which_part_is_wrong(
    value: str, code: int, expected: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-id", value]) == code
    out = capsys.readouterr().out
    for text in expected:
        assert text in out


def test_keys_then_token_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "issuer.key"
    assert main(["keys", "--out", str(key)]) == 0
    assert key.stat().st_mode & 0o777 == 0o600
    assert main(["keys", "--out", str(key)]) == 1  # never overwrites a key
    capsys.readouterr()
    args = ["token", "--key", str(key), "--province", "330000", "--office", "ZJ01", "--operator", "op-9"]
    assert main([*args, "--role", "auditor"]) == 0
    token = capsys.readouterr().out.strip()
    principal = TokenVerifier.from_pem_file(key.with_suffix(".pub")).verify(f"Bearer {token}")
    assert (principal.province, principal.office_code, principal.operator_id, principal.role) == (
        "330000",
        "ZJ01",
        "op-9",
        Role.AUDITOR,
    )
