"""Settings: defaults < TOML < environment < --province, validated with messages that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.settings import SettingsError, load_settings


def test_defaults_place_everything_under_the_data_dir() -> None:
    settings = load_settings(province="310000", environ={})
    assert (settings.store, settings.http_port, settings.grpc_port) == ("sqlite", 8080, 50051)
    assert settings.sqlite_path == Path("var/310000/events.sqlite3")
    assert settings.signing_key == Path("var/310000/signing.key")
    assert settings.token_public_key == Path("var/token-issuer.pub")
    assert settings.eventsourcing_env() == {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": "var/310000/events.sqlite3",
    }


def test_environment_wins_over_the_file_and_province_flag_wins_over_both(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('province = "320000"\nhttp_port = 9000\ngrpc_port = 9001\ndata_dir = "/srv/tongban"\n')
    settings = load_settings(
        province="330000",
        config_file=config,
        environ={"TONGBAN_HTTP_PORT": "9100", "TONGBAN_PROVINCE": "340000"},
    )
    assert (settings.province, settings.http_port, settings.grpc_port) == ("330000", 9100, 9001)
    assert settings.sqlite_path == Path("/srv/tongban/330000/events.sqlite3")


def test_postgres_url_becomes_explicit_eventsourcing_settings() -> None:
    settings = load_settings(
        province="310000", environ={"TONGBAN_POSTGRES_URL": "postgresql://tb:s%40cret@db.local:6543/tongban"}
    )
    env = settings.eventsourcing_env()
    assert settings.store == "postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.local",
        "6543",
        "tongban",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_SCHEMA"]) == (
        "tb",
        "s@cret",
        "tongban_310000",
    )
    assert "POSTGRES_ENABLE_DB_FUNCTIONS" not in env  # it loses events for concurrent readers
    assert "s%40cret" not in str(settings.describe())


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "province"),
        ({"TONGBAN_PROVINCE": "31000"}, "province"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_HTTP_PORT": "http"}, "http_port"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_GRPC_PORT": "70000"}, "grpc_port"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_LOG_FORMAT": "xml"}, "log_format"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_POSTGRES_URL": "mysql://x"}, "postgres_url"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_POSTGRES_SCHEMA": "x; drop"}, "postgres_schema"),
    ],
)
def test_bad_settings_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=environ)


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('province = "310000"\nhttp_prot = 1\n')
    with pytest.raises(SettingsError, match="http_prot"):
        load_settings(config_file=config, environ={})
