"""Settings: defaults < TOML < environment < --province, validated with messages that name the setting."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from node.clock import node_clock
from node.settings import Settings, SettingsError, load_settings
from node.store.application import utc_now
from simulators.sample_data import credit_code


def test_defaults_place_everything_under_the_data_dir() -> None:
    settings = load_settings(province="310000", environ={})
    assert (settings.store, settings.http_port, settings.grpc_port) == ("sqlite", 8080, 50051)
    assert settings.sqlite_path == Path("var/310000/events.sqlite3")
    assert settings.signing_key == Path("var/310000/signing.key")
    assert settings.token_public_key == Path("var/token-issuer.pub")
    assert settings.master_key == Path("var/310000/master.key")
    assert settings.eventsourcing_env() == {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": "var/310000/events.sqlite3",
        "TONGBAN_MASTER_KEY": "var/310000/master.key",
        "TONGBAN_PROVINCE": "310000",
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
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_DEADLINE_WARNING_DAYS": "-1"}, "deadline_warning_days"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_RECTIFICATION_DAYS": "0"}, "rectification_days"),
        (
            {"TONGBAN_PROVINCE": "310000", "TONGBAN_DEADLINE_CHECK_INTERVAL_S": "0"},
            "deadline_check_interval_s",
        ),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_POSTGRES_URL": "mysql://x"}, "postgres_url"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_POSTGRES_SCHEMA": "x; drop"}, "postgres_schema"),
        ({"TONGBAN_PROVINCE": "190000"}, "province"),  # the right shape, but no such province
        ({"TONGBAN_PROVINCE": "320100"}, "province"),  # a city
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_LOG_LEVEL": "verbose"}, "log_level"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_MAX_BODY_BYTES": "0"}, "max_body_bytes"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_MAX_BODY_BYTES": "-1"}, "max_body_bytes"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_RATE_LIMIT_PER_S": "-1"}, "rate_limit_per_s"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_RATE_LIMIT_PER_S": "inf"}, "rate_limit_per_s"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_RATE_LIMIT_BURST": "0"}, "rate_limit_burst"),
        (
            {"TONGBAN_PROVINCE": "310000", "TONGBAN_FEDERATION_PEER_CONCURRENCY": "0"},
            "federation_peer_concurrency",
        ),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_WORKER_THREADS": "0"}, "worker_threads"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_CRASH_POINTS": "commit:0.5"}, "crash_points"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_SHUTDOWN_GRACE_S": "nan"}, "shutdown_grace_s"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_SHUTDOWN_GRACE_S": "inf"}, "shutdown_grace_s"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_SHUTDOWN_GRACE_S": "-1"}, "shutdown_grace_s"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_WITNESS_INTERVAL_S": "0"}, "witness_interval_s"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_LEASE_RETRY_S": "0"}, "lease_retry_s"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_PROJECTION_BATCH_EVENTS": "0"}, "projection_batch_events"),
        (
            {"TONGBAN_PROVINCE": "310000", "TONGBAN_TRANSPARENCY_BATCH_EVENTS": "100001"},
            "transparency_batch_events must be 1..100000",
        ),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_TIMER_BATCH_EVENTS": "-5"}, "timer_batch_events"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_RELIANCE_BATCH_EVENTS": "many"}, "reliance_batch_events"),
        (
            {"TONGBAN_PROVINCE": "310000", "TONGBAN_FEDERATION_BATCH_EVENTS": "2001"},
            "federation_batch_events must be 1..2000",
        ),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_HTTP_MAX_IN_FLIGHT": "0"}, "http_max_in_flight must be 1"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_GRPC_MAX_IN_FLIGHT": "-1"}, "grpc_max_in_flight must be 1"),
        (
            {"TONGBAN_PROVINCE": "310000", "TONGBAN_OVERLOAD_RETRY_AFTER_S": "0"},
            "overload_retry_after_s must be 1..3600",
        ),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_TIME_ORIGIN": "2026-11-23 09:00"}, "time_origin"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_TIME_ORIGIN": "monday"}, "time_origin"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_TIME_SCALE": "0"}, "time_scale"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_PEER_ENDPOINTS": "320000:127.0.0.1"}, "peer_endpoints"),
        ({"TONGBAN_PROVINCE": "310000", "TONGBAN_PEER_ENDPOINTS": "32=127.0.0.1:5"}, "peer_endpoints"),
        (
            {"TONGBAN_PROVINCE": "310000", "TONGBAN_POSTGRES_URL": "postgresql://u@h/db?sslmode=require"},
            "unsupported query parameter.*sslmode",
        ),
        (
            {"TONGBAN_PROVINCE": "310000", "TONGBAN_POSTGRES_URL": "postgresql://u@h:port/db"},
            "postgres_url has an invalid port",
        ),
    ],
)
def test_bad_settings_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=environ)


def test_shared_ports_are_for_processes_of_one_postgresql_schema_only() -> None:
    with pytest.raises(SettingsError, match="share_ports needs postgres_url"):
        load_settings(province="310000", environ={"TONGBAN_SHARE_PORTS": "true"})
    postgres = {"TONGBAN_POSTGRES_URL": "postgresql://tb@db.local/tongban"}
    assert not load_settings(province="310000", environ=postgres).share_ports
    assert load_settings(province="310000", environ={**postgres, "TONGBAN_SHARE_PORTS": "true"}).share_ports


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('province = "310000"\nhttp_prot = 1\n')
    with pytest.raises(SettingsError, match="http_prot"):
        load_settings(config_file=config, environ={})


@pytest.mark.parametrize(
    ("toml", "name"),
    [
        ("http_port = [8080]", "http_port"),
        ("http_port = 80.5", "http_port"),
        ("http_port = true", "http_port"),
        ("shutdown_grace_s = [1]", "shutdown_grace_s"),
        ("log_level = 5", "log_level"),
        ("postgres_url = {host = 'x'}", "postgres_url"),
        ("data_dir = 7", "data_dir"),
        ("retired_public_keys = [1]", "retired_public_keys"),
        ("province = 310000", "province"),
    ],
)
def test_wrongly_typed_toml_values_are_named(tmp_path: Path, toml: str, name: str) -> None:
    config = tmp_path / "node.toml"
    config.write_text(('province = "310000"\n' if not toml.startswith("province") else "") + toml + "\n")
    with pytest.raises(SettingsError, match=name):
        load_settings(config_file=config, environ={})


def test_log_level_is_validated_and_case_insensitive() -> None:
    assert load_settings(province="310000", environ={"TONGBAN_LOG_LEVEL": "WARNING"}).log_level == "WARNING"
    with pytest.raises(SettingsError, match="log_level must be one of debug, info, warning, error"):
        load_settings(province="310000", environ={"TONGBAN_LOG_LEVEL": "trace"})


def test_zero_grace_is_allowed() -> None:
    assert load_settings(province="310000", environ={"TONGBAN_SHUTDOWN_GRACE_S": "0"}).shutdown_grace_s == 0


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql://tb:s%40cret@db.local:6543/tongban", "s%40cret"),
        ("postgresql://tb:hunter2@db.local/tongban", "hunter2"),
        ("postgresql://tb:a:b:c@db.local/tongban", "a:b:c"),  # ":" inside the password
        ("postgresql://tb:p@ss@db.local/tongban", "p@ss"),  # an "@" that should have been %40
    ],
)
def test_describe_masks_the_whole_password(url: str, password: str) -> None:
    shown = load_settings(province="310000", environ={"TONGBAN_POSTGRES_URL": url}).describe()
    assert password not in str(shown)
    assert shown["postgres_url"].startswith("postgresql://tb:***@")


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql://tb:pa/ss@db.local/tongban", "pa/ss"),  # "/" ends the host part for a URL parser
        ("postgresql://tb:pa?ss@db.local/tongban", "pa?ss"),
        ("postgresql://tb:s3cret@db.local/s3cret", "s3cret"),  # the password also names the database
    ],
)
def test_describe_masks_a_password_even_where_a_url_parser_would_not_find_it(url: str, password: str) -> None:
    """describe() is what the node logs at start: it must hide the password whatever the URL looks like."""
    shown = Settings(province="310000", postgres_url=url).describe()["postgres_url"]
    userinfo, _, rest = shown.rpartition("@")
    assert (userinfo, rest) == ("postgresql://tb:***", url.rpartition("@")[2])
    assert f":{password}@" not in shown


@pytest.mark.parametrize(
    "url", ["postgresql://tb:pa/ss@db/x", "postgresql://tb:pa?ss@db/x", "postgresql://tb:pa#ss@db/x"]
)
def test_a_password_that_splits_the_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(SettingsError, match="percent-encode") as refused:
        load_settings(province="310000", environ={"TONGBAN_POSTGRES_URL": url})
    assert "ss" not in str(refused.value).replace("postgres_url", "").replace("password", "")


def test_retired_public_keys_come_from_a_toml_list_or_the_environment(tmp_path: Path) -> None:
    assert load_settings(province="310000", environ={}).retired_public_keys == ()
    config = tmp_path / "node.toml"
    config.write_text('province = "310000"\nretired_public_keys = ["keys/2024.pub", "/srv/keys/2025.pub"]\n')
    from_file = load_settings(config_file=config, environ={})
    assert from_file.retired_public_keys == (Path("keys/2024.pub"), Path("/srv/keys/2025.pub"))
    from_env = load_settings(
        config_file=config,
        environ={"TONGBAN_RETIRED_PUBLIC_KEYS": os.pathsep.join(["/a/old.pub", "", "/b/older.pub"])},
    )
    assert from_env.retired_public_keys == (Path("/a/old.pub"), Path("/b/older.pub"))
    assert from_env.describe()["retired_public_keys"] == ["/a/old.pub", "/b/older.pub"]


def test_case_settings_and_calendar_files(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        'province = "320000"\ncalendar_files = ["/etc/tongban/2027.toml"]\nrectification_days = 10\n'
        "deadline_warning_days = 2\ndeadline_check_interval_s = 5\n"
    )
    settings = load_settings(config_file=config, environ={})
    assert settings.calendar_files == (Path("/etc/tongban/2027.toml"),)
    assert (
        settings.rectification_days,
        settings.deadline_warning_days,
        settings.deadline_check_interval_s,
    ) == (
        10,
        2,
        5.0,
    )
    from_env = load_settings(province="320000", environ={"TONGBAN_CALENDAR_FILES": "/a.toml:/b.toml"})
    assert from_env.calendar_files == (Path("/a.toml"), Path("/b.toml"))


def test_the_log_followers_batch_sizes_come_from_the_settings(tmp_path: Path) -> None:
    defaults = load_settings(province="310000", environ={})
    assert (
        defaults.projection_batch_events,
        defaults.transparency_batch_events,
        defaults.timer_batch_events,
        defaults.reliance_batch_events,
    ) == (2000, 5000, 500, 500)  # the sizes each follower had before they were settings
    config = tmp_path / "node.toml"
    config.write_text("projection_batch_events = 100\ntimer_batch_events = 50\n")
    settings = load_settings(
        province="310000", config_file=config, environ={"TONGBAN_TIMER_BATCH_EVENTS": "7"}
    )
    assert (settings.projection_batch_events, settings.timer_batch_events) == (100, 7)


def test_peer_endpoints_override_the_manifest_per_province() -> None:
    environ = {
        "TONGBAN_PROVINCE": "310000",
        "TONGBAN_PEER_ENDPOINTS": "320000=127.0.0.1:7001, 340000=gw:7002",
    }
    assert load_settings(environ=environ).peer_endpoint_overrides == {
        "320000": "127.0.0.1:7001",
        "340000": "gw:7002",
    }
    assert load_settings(environ={"TONGBAN_PROVINCE": "310000"}).peer_endpoint_overrides == {}


def test_extra_issuers_are_credit_codes_from_a_list_or_the_environment() -> None:
    ministry, other = credit_code("100000", 5), credit_code("110000", 6)
    environ = {"TONGBAN_PROVINCE": "310000", "TONGBAN_EXTRA_ISSUERS": f"{ministry}, {other},"}
    assert load_settings(environ=environ).listed_issuers == {ministry, other}
    assert load_settings(environ={"TONGBAN_PROVINCE": "310000"}).listed_issuers == frozenset()
    broken = ministry[:-1] + ("0" if ministry[-1] != "0" else "1")  # a wrong check character
    with pytest.raises(SettingsError, match="extra_issuers"):
        load_settings(environ={**environ, "TONGBAN_EXTRA_ISSUERS": broken})


def test_simulated_time_runs_from_its_origin_at_its_scale() -> None:
    anchor = time.time() - 10  # ten real seconds ago
    environ = {
        "TONGBAN_PROVINCE": "310000",
        "TONGBAN_TIME_ORIGIN": "2026-11-23T09:00:00+08:00",
        "TONGBAN_TIME_ANCHOR": str(anchor),
        "TONGBAN_TIME_SCALE": "3600",
    }
    now = node_clock(load_settings(environ=environ))()
    hours = (now - datetime.fromisoformat("2026-11-23T09:00:00+08:00")).total_seconds() / 3600
    assert 10 <= hours < 11  # ten real seconds are ten simulated hours (and the moment this test took)
    assert node_clock(load_settings(environ={"TONGBAN_PROVINCE": "310000"})) is utc_now
