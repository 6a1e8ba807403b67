"""One frozen Settings object, from defaults < TOML file < ``TONGBAN_*`` environment variables.

Every key is documented in README.md ("Configuration"). A TOML key is the env name without the
``TONGBAN_`` prefix, in lower case: ``http_port = 8080`` or ``TONGBAN_HTTP_PORT=8080``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

PROVINCES = {"310000": "上海", "320000": "江苏", "330000": "浙江", "340000": "安徽"}
_PROVINCE = re.compile(r"^[1-8][0-9]0000$")


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
    token_public_key: Path = Path()
    log_format: str = "auto"
    log_level: str = "info"
    shutdown_grace_s: float = 10.0
    max_body_bytes: int = 1_048_576

    @property
    def store(self) -> str:
        return "postgres" if self.postgres_url else "sqlite"

    @property
    def node_dir(self) -> Path:
        return self.data_dir / self.province

    @property
    def sqlite_path(self) -> Path:
        return self.node_dir / "events.sqlite3"

    def eventsourcing_env(self) -> dict[str, str]:
        """The store settings, passed to eventsourcing explicitly rather than through os.environ."""
        if not self.postgres_url:
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(self.sqlite_path)}
        url = urlsplit(self.postgres_url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_SCHEMA": self.postgres_schema or f"tongban_{self.province}",
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_PRE_PING": "y",
        }

    def describe(self) -> dict[str, Any]:
        """Settings safe to log: the PostgreSQL password is masked."""
        shown = {f.name: str(getattr(self, f.name)) for f in fields(self)}
        if self.postgres_url:
            url = urlsplit(self.postgres_url)
            if url.password:
                shown["postgres_url"] = self.postgres_url.replace(f":{url.password}@", ":***@")
        return shown


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
    province = str(values.get("province", ""))
    if not _PROVINCE.match(province):
        raise SettingsError("province must be a six-digit province code such as 310000 (--province)")
    defaults = Settings(province=province)
    converted: dict[str, Any] = {"province": province}
    for f in fields(Settings):
        if f.name == "province" or f.name not in values:
            continue
        default = getattr(defaults, f.name)
        raw = values[f.name]
        try:
            if isinstance(default, bool):
                converted[f.name] = str(raw).lower() in ("1", "true", "yes", "y")
            elif isinstance(default, int):
                converted[f.name] = int(raw)
            elif isinstance(default, float):
                converted[f.name] = float(raw)
            elif isinstance(default, Path):
                converted[f.name] = Path(str(raw))
            else:
                converted[f.name] = str(raw)
        except ValueError:
            raise SettingsError(f"setting {f.name} has an invalid value {raw!r}") from None
    settings = dataclasses.replace(defaults, **converted)
    for port_name in ("http_port", "grpc_port"):
        if not 0 <= getattr(settings, port_name) <= 65535:
            raise SettingsError(f"{port_name} must be 0..65535 (0 lets the OS pick)")
    if settings.log_format not in ("auto", "json", "console"):
        raise SettingsError("log_format must be auto, json or console")
    if settings.postgres_url and urlsplit(settings.postgres_url).scheme not in ("postgresql", "postgres"):
        raise SettingsError("postgres_url must start with postgresql://")
    if settings.postgres_schema and not re.match(r"^[a-z_][a-z0-9_]{0,62}$", settings.postgres_schema):
        raise SettingsError("postgres_schema must be a lower-case SQL identifier")
    node_dir = settings.data_dir / province
    return dataclasses.replace(
        settings,
        signing_key=settings.signing_key if values.get("signing_key") else node_dir / "signing.key",
        token_public_key=(
            settings.token_public_key
            if values.get("token_public_key")
            else settings.data_dir / "token-issuer.pub"
        ),
    )
