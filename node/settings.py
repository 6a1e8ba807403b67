"""One frozen Settings object, from defaults < TOML file < ``TONGBAN_*`` environment variables.

Every key is documented in docs/configuration.md. A TOML key is the env name without the
``TONGBAN_`` prefix, in lower case: ``http_port = 8080`` or ``TONGBAN_HTTP_PORT=8080``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from aggregates.identifiers import InvalidIdentifier, validate_credit_code, validate_province
from credentials.status_list import MAX_ENTRIES, MIN_ENTRIES
from node import crash_points

PROVINCES = {"310000": "上海", "320000": "江苏", "330000": "浙江", "340000": "安徽"}
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("auto", "json", "console")
# A follower's batch is held in memory, and a read model's is one transaction: the bound keeps a typo from
# making the first catch-up of a large log one transaction over all of it. A peer caps a replication batch.
RANGES = {
    "projection_batch_events": (1, 100_000),
    "transparency_batch_events": (1, 100_000),
    "timer_batch_events": (1, 100_000),
    "reliance_batch_events": (1, 100_000),
    "federation_batch_events": (1, 2000),
    # Past its limit of work in flight a node sheds requests (node/overload.py); 0 would shed everything.
    "http_max_in_flight": (1, 1_000_000),
    "grpc_max_in_flight": (1, 1_000_000),
    "overload_retry_after_s": (1, 3600),
}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    province: str
    data_dir: Path = Path("var")
    postgres_url: str = ""
    postgres_schema: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    signing_key: Path = Path()
    # The master key that wraps every person's data key (node/store/master_key.py); made on first start if
    # missing.
    master_key: Path = Path()
    token_public_key: Path = Path()
    log_format: str = "auto"
    log_level: str = "info"
    shutdown_grace_s: float = 10.0
    max_body_bytes: int = 1_048_576
    # REST requests per second each authenticated principal may make, and the burst above that rate (a token
    # bucket per province, office, operator and role); excess gets 429 with Retry-After. 0: no limit.
    rate_limit_per_s: float = 5000.0
    rate_limit_burst: int = 10_000
    # Overload (node/overload.py): REST requests, and unary calls on each gRPC port, that the node works on at
    # once. Past the limit a request is shed before it does anything: REST answers 429 and gRPC
    # RESOURCE_EXHAUSTED, both saying to retry after overload_retry_after_s. Health, readiness and metrics
    # are never shed. The bound keeps every queue behind the handlers bounded too (the worker threads' queue,
    # group commit's waiting saves, forwarded commands waiting for replication), so the latency of what is
    # acknowledged stays bounded instead of growing with the backlog.
    http_max_in_flight: int = 512
    grpc_max_in_flight: int = 512
    overload_retry_after_s: int = 1
    # Public keys (PEM) of signing keys this node used before a rotation: certificates they signed still
    # verify. TOML: a list of paths; environment: paths separated by os.pathsep (":" on Linux).
    retired_public_keys: tuple[Path, ...] = ()
    # Operator calendar files (TOML, docs/calendar-example.toml): years the chinesecalendar package lacks.
    calendar_files: tuple[Path, ...] = ()
    deadline_warning_days: int = 3
    rectification_days: int = 15
    deadline_check_interval_s: float = 60.0
    # How often the followers of the log that need no hurry (revocation flags) catch up.
    follow_interval_s: float = 1.0
    # Events each follower of the node's log reads at a time (infra/log_follower.py). A read model's or the
    # transparency tree's batch is also one transaction of the view store, rows and position together.
    projection_batch_events: int = 2000
    transparency_batch_events: int = 5000
    timer_batch_events: int = 500
    reliance_batch_events: int = 500
    # Federation (mutual TLS only): the directory `tongban pki` wrote (ca.pem, manifest.json, manifest.pub,
    # <province>/node.key and node.pem). Empty: this node serves no federation port.
    federation_dir: str = ""
    federation_host: str = "127.0.0.1"
    federation_port: int = 50052
    # How often the node re-reads manifest.json from federation_dir (a newer signed one is adopted).
    manifest_refresh_s: float = 300.0
    # How often this node witnesses every peer's transparency log (fetch its head, check, cosign).
    witness_interval_s: float = 30.0
    # Simulated time (for `tongban simulate`): when time_origin is set, the node's clock reads
    # time_origin + (now - time_anchor) * time_scale, so weeks of working days pass in minutes and the
    # deadline timer fires for real. time_anchor: Unix seconds shared by every node of a run (0: at start).
    time_origin: str = ""
    time_anchor: float = 0.0
    time_scale: float = 1.0
    # PostgreSQL: how often a standby process tries to take the worker lease, and the holder checks it.
    lease_retry_s: float = 2.0
    # PostgreSQL: every listener (REST, gRPC, federation) binds with SO_REUSEPORT, so several node processes
    # with the same settings on one schema share the ports and the kernel spreads connections over them. Off,
    # a second process on a port in use fails to start instead of silently taking part of its traffic.
    share_ports: bool = False
    # Saves arriving together share one transaction (node/store/group_commit.py); off: one transaction per
    # save.
    group_commit: bool = True
    # Threads that run the synchronous store calls of requests, streams and workers. They mostly wait on the
    # store, and group commit can only batch the saves of commands running at once: Python's default (CPU
    # count + 4) would cap a batch at six here.
    worker_threads: int = 64
    # Forced crash points for the chaos suite (node/crash_points.py), e.g. "reply:0.01,apply:0.05"; never
    # in production.
    crash_points: str = ""
    # Where this node reaches a peer instead of the manifest's endpoint, e.g. through an egress gateway or the
    # simulator's link proxies: "320000=10.0.0.7:50052,330000=..." (TLS still expects that province's node).
    peer_endpoints: str = ""
    # Events per replication batch a peer is asked for (the peer caps it at 2000).
    federation_batch_events: int = 500
    # Calls one peer province may have in flight on the federation port (streams included); excess calls are
    # refused with RESOURCE_EXHAUSTED.
    federation_peer_concurrency: int = 32
    # Credit codes (统一社会信用代码) of issuers registered outside this province that issue certificates
    # through this node, e.g. a central body (division 100000): "11100000000013338W,...". Any other issuer
    # must be registered in this province (docs/domain.md, "Issuing rules and effective status").
    extra_issuers: str = ""
    # Holder credentials (亮证, docs/credentials.md): how long one lasts before the wallet refreshes it (never
    # past its certificate's validity); the status list's entries (at least 131,072, a multiple of 4: herd
    # privacy), how long a verifier may keep a list (ttl) and how often the node looks whether to sign again.
    credential_lifetime_days: int = 7
    status_list_entries: int = 131_072
    status_list_ttl_s: int = 3600
    status_list_interval_s: float = 5.0

    @property
    def store(self) -> str:
        return "postgres" if self.postgres_url else "sqlite"

    @property
    def listed_issuers(self) -> frozenset[str]:
        """``extra_issuers`` as a set of credit codes."""
        return frozenset(code.strip() for code in self.extra_issuers.split(",") if code.strip())

    @property
    def peer_endpoint_overrides(self) -> dict[str, str]:
        """``peer_endpoints`` as province -> host:port."""
        pairs = (item.split("=", 1) for item in self.peer_endpoints.split(",") if item.strip())
        return {province.strip(): endpoint.strip() for province, endpoint in pairs}

    @property
    def node_dir(self) -> Path:
        return self.data_dir / self.province

    @property
    def sqlite_path(self) -> Path:
        return self.node_dir / "events.sqlite3"

    def eventsourcing_env(self) -> dict[str, str]:
        """The store settings, passed to eventsourcing explicitly rather than through os.environ, with the
        master key and province that sealing personal fields in the store needs
        (node/store/application.py)."""
        sealing = {"TONGBAN_MASTER_KEY": str(self.master_key), "TONGBAN_PROVINCE": self.province}
        if not self.postgres_url:
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                **sealing,
            }
        url = urlsplit(self.postgres_url)
        return {
            **sealing,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_SCHEMA": self.postgres_schema or f"tongban_{self.province}",
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            # No ping before each use of a pooled connection: it costs a round trip per store call, and
            # eventsourcing's recorder retries a call that meets a connection broken by a server restart.
            "POSTGRES_PRE_PING": "n",
        }

    def describe(self) -> dict[str, Any]:
        """Settings safe to log: the PostgreSQL password is masked."""
        shown: dict[str, Any] = {f.name: str(getattr(self, f.name)) for f in fields(self)}
        shown["retired_public_keys"] = [str(path) for path in self.retired_public_keys]
        shown["calendar_files"] = [str(path) for path in self.calendar_files]
        if self.postgres_url:
            shown["postgres_url"] = mask_password(self.postgres_url)
        return shown


def mask_password(url: str) -> str:
    """``scheme://user:***@host...``: everything between the user's ":" and the LAST "@" is hidden.

    Taking the last "@" (not the end of the host part) also hides a password holding "/", "?", "#" or "@"
    that was not percent-encoded, which a URL parser would split elsewhere.
    """
    scheme, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return url
    userinfo, _, host_and_path = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host_and_path}"


def load_settings(
    *, province: str | None = None, config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge defaults, the TOML file and the environment; validate; resolve relative paths."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            values.update(tomllib.loads(config_file.read_text()))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise SettingsError(f"cannot read config file {config_file}: {e}") from None
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise SettingsError(f"unknown setting(s) in {config_file}: {', '.join(unknown)}")
    for name in known:
        env_value = environ.get(f"TONGBAN_{name.upper()}")
        if env_value is not None:
            values[name] = env_value
    if province is not None:
        values["province"] = province
    return _validated(values)


def _validated(values: dict[str, Any]) -> Settings:
    raw_province = values.get("province", "")
    try:
        province = validate_province(raw_province if isinstance(raw_province, str) else "")
    except InvalidIdentifier as e:
        raise SettingsError(
            f"province must be a province-level code such as 310000 (--province): {e.message}"
        ) from None
    defaults = Settings(province=province)
    converted: dict[str, Any] = {"province": province}
    for f in fields(Settings):
        if f.name == "province" or f.name not in values:
            continue
        raw = values[f.name]
        try:
            converted[f.name] = _converted(f.name, getattr(defaults, f.name), raw)
        except (ValueError, TypeError):
            raise SettingsError(f"setting {f.name} has an invalid value {_shown(f.name, raw)}") from None
    settings = dataclasses.replace(defaults, **converted)
    _check(settings)
    node_dir = settings.data_dir / province
    return dataclasses.replace(
        settings,
        signing_key=settings.signing_key if values.get("signing_key") else node_dir / "signing.key",
        master_key=settings.master_key if values.get("master_key") else node_dir / "master.key",
        token_public_key=(
            settings.token_public_key
            if values.get("token_public_key")
            else settings.data_dir / "token-issuer.pub"
        ),
    )


def _converted(name: str, default: Any, raw: Any) -> Any:
    """One value from TOML (typed) or the environment (a string), as the type of its default."""
    if isinstance(raw, bool) and not isinstance(default, bool):
        raise TypeError(f"{name} is not a boolean setting")
    if isinstance(default, tuple):  # a list of paths
        if isinstance(raw, str):
            return tuple(Path(part) for part in raw.split(os.pathsep) if part)
        if not isinstance(raw, list) or not all(isinstance(part, str) and part for part in raw):
            raise TypeError(f"{name} must be a list of paths")
        return tuple(Path(part) for part in raw)
    if isinstance(default, bool):
        return str(raw).lower() in ("1", "true", "yes", "y")
    if isinstance(default, int):
        if isinstance(raw, float) or not isinstance(raw, int | str):
            raise TypeError(f"{name} must be an integer")
        return int(raw)
    if isinstance(default, float):
        if not isinstance(raw, int | float | str):
            raise TypeError(f"{name} must be a number")
        return float(raw)
    if not isinstance(raw, str):
        raise TypeError(f"{name} must be a string")
    return Path(raw) if isinstance(default, Path) else raw


def _shown(name: str, raw: Any) -> str:
    if name == "postgres_url":
        return repr(mask_password(raw)) if isinstance(raw, str) else "(not a string)"
    return repr(raw)


def _check(settings: Settings) -> None:
    for port_name in ("http_port", "grpc_port", "federation_port"):
        if not 0 <= getattr(settings, port_name) <= 65535:
            raise SettingsError(f"{port_name} must be 0..65535 (0 lets the OS pick)")
    if settings.log_format not in LOG_FORMATS:
        raise SettingsError(f"log_format must be one of {', '.join(LOG_FORMATS)}")
    if settings.log_level.lower() not in LOG_LEVELS:
        raise SettingsError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    if not 0 <= settings.deadline_warning_days <= 60:
        raise SettingsError("deadline_warning_days must be 0..60 working days")
    if not 1 <= settings.rectification_days <= 60:
        raise SettingsError("rectification_days must be 1..60 working days")
    if not (math.isfinite(settings.deadline_check_interval_s) and settings.deadline_check_interval_s > 0):
        raise SettingsError("deadline_check_interval_s must be a positive number of seconds")
    if not (math.isfinite(settings.manifest_refresh_s) and settings.manifest_refresh_s > 0):
        raise SettingsError("manifest_refresh_s must be a positive number of seconds")
    for item in filter(str.strip, settings.peer_endpoints.split(",")):
        if not re.fullmatch(r"\s*[1-8][0-9]0000=[^\s=,:]+:[0-9]{1,5}\s*", item):
            raise SettingsError(
                f"peer_endpoints: {item!r} is not province=host:port (e.g. 320000=127.0.0.1:50052)"
            )
    _check_extra_issuers(settings)
    _check_credentials(settings)
    if settings.time_origin:
        try:
            origin = datetime.fromisoformat(settings.time_origin)
        except ValueError:
            origin = None
        if origin is None or origin.tzinfo is None:
            raise SettingsError("time_origin must be an ISO 8601 date-time with an offset")
    if not (math.isfinite(settings.time_scale) and settings.time_scale > 0):
        raise SettingsError("time_scale must be a positive number")
    for interval in ("lease_retry_s", "witness_interval_s", "follow_interval_s", "status_list_interval_s"):
        seconds = getattr(settings, interval)
        if not (math.isfinite(seconds) and seconds > 0):
            raise SettingsError(f"{interval} must be a positive number of seconds")
    _check_ranges(settings)
    if not (math.isfinite(settings.rate_limit_per_s) and settings.rate_limit_per_s >= 0):
        raise SettingsError("rate_limit_per_s must be a finite number of requests per second, 0 or more")
    if settings.rate_limit_burst < 1:
        raise SettingsError("rate_limit_burst must be at least 1 request")
    _check_crash_points(settings.crash_points)
    if settings.worker_threads < 1:
        raise SettingsError("worker_threads must be at least 1 thread")
    if settings.federation_peer_concurrency < 1:
        raise SettingsError("federation_peer_concurrency must be at least 1 call")
    if settings.max_body_bytes <= 0:
        raise SettingsError("max_body_bytes must be a positive number of bytes")
    if not (math.isfinite(settings.shutdown_grace_s) and settings.shutdown_grace_s >= 0):
        raise SettingsError("shutdown_grace_s must be a finite number of seconds, 0 or more")
    if settings.postgres_url:
        _check_postgres_url(settings.postgres_url)
    elif settings.share_ports:
        raise SettingsError(
            "share_ports needs postgres_url: a SQLite store is served by one process, on ports of its own"
        )
    if settings.postgres_schema and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", settings.postgres_schema):
        raise SettingsError("postgres_schema must be a lower-case SQL identifier")


def _check_credentials(settings: Settings) -> None:
    if not 1 <= settings.credential_lifetime_days <= 365:
        raise SettingsError("credential_lifetime_days must be 1 to 365 days")
    entries = settings.status_list_entries
    if not (MIN_ENTRIES <= entries <= MAX_ENTRIES and entries % 4 == 0):
        raise SettingsError(
            f"status_list_entries must be a multiple of 4 from {MIN_ENTRIES} to {MAX_ENTRIES}"
        )
    if not 60 <= settings.status_list_ttl_s <= 86_400:
        raise SettingsError("status_list_ttl_s must be 60 to 86400 seconds")


def _check_extra_issuers(settings: Settings) -> None:
    for code in settings.listed_issuers:
        try:
            validate_credit_code(code)
        except InvalidIdentifier as e:
            raise SettingsError(
                f"extra_issuers: {code!r} is not a unified social credit code ({e.message})"
            ) from None


def _check_ranges(settings: Settings) -> None:
    for name, (low, high) in RANGES.items():
        if not low <= getattr(settings, name) <= high:
            raise SettingsError(f"{name} must be {low}..{high}")


def _check_crash_points(spec: str) -> None:
    try:
        crash_points.parse(spec)
    except crash_points.CrashPointsError as e:
        raise SettingsError(str(e)) from None


def _check_postgres_url(value: str) -> None:
    """Refuse what eventsourcing_env() would silently drop or misread; never repeat the password."""
    url = urlsplit(value)
    if url.scheme not in ("postgresql", "postgres"):
        raise SettingsError("postgres_url must start with postgresql://")
    if "@" in url.path + url.query + url.fragment:
        # A "/", "?" or "#" in the password split the URL before its "@": say so without quoting any part.
        raise SettingsError(
            "postgres_url cannot be parsed: percent-encode / ? # @ in the user name and password (e.g. %2F)"
        )
    if url.query:
        names = sorted({name for name, _ in parse_qsl(url.query, keep_blank_values=True)}) or [url.query]
        raise SettingsError(
            f"postgres_url has unsupported query parameter(s): {', '.join(names)}; "
            "the node connects with host, port, user, password and database name only"
        )
    if url.fragment:
        raise SettingsError("postgres_url must not have a #fragment")
    try:
        url.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise SettingsError("postgres_url has an invalid port") from None
