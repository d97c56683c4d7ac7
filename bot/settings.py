"""Settings read once from the environment, checked at start-up with specific errors."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_ORG_FILE = PACKAGE_DIR / "demo" / "organisation.toml"


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{key} must be positive, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the application is configured with."""

    database_url: str
    secret_keys: tuple[str, ...]
    org_file: Path
    instance_dir: Path
    public_url: str | None = None
    conversation_expiry_days: int = 7
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        """Return whether the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from `env` (default: the process environment).

        For the embedded default a secret key file is generated in the instance folder on
        first run (mode 0600). A production database without REPORTBOT_SECRET_KEY is an
        error rather than a silent fallback.
        """
        env = os.environ if env is None else env
        instance = Path(env.get("REPORTBOT_INSTANCE_DIR") or Path.cwd() / "instance")
        url = env.get("REPORTBOT_DATABASE_URL") or f"sqlite:///{instance / 'reportbot.sqlite'}"
        if url.startswith("postgres://"):
            raise ConfigError("REPORTBOT_DATABASE_URL: use postgresql+psycopg://, "
                              "not postgres://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        raw_keys = env.get("REPORTBOT_SECRET_KEY")
        if raw_keys:
            keys = tuple(k.strip() for k in raw_keys.split(",") if k.strip())
        elif url.startswith("sqlite"):
            keys = _instance_keys(instance)
        else:
            raise ConfigError("REPORTBOT_SECRET_KEY must be set when the database is not the "
                              "embedded SQLite default")
        for key in keys:
            if len(key) < 32:
                raise ConfigError("REPORTBOT_SECRET_KEY: each key must be at least 32 "
                                  "characters")
        org_file = Path(env.get("REPORTBOT_ORG_FILE") or DEMO_ORG_FILE)
        if not org_file.is_file():
            raise ConfigError(f"REPORTBOT_ORG_FILE: no such file: {org_file}")
        public_url = (env.get("REPORTBOT_PUBLIC_URL") or "").rstrip("/") or None
        if public_url and not public_url.startswith(("http://", "https://")):
            raise ConfigError("REPORTBOT_PUBLIC_URL must start with http:// or https://")
        return cls(
            database_url=url,
            secret_keys=keys,
            org_file=org_file,
            instance_dir=instance,
            public_url=public_url,
            conversation_expiry_days=_int(env, "REPORTBOT_CONVERSATION_EXPIRY_DAYS", 7),
            extra={k: v for k, v in env.items() if k.startswith(("TWILIO_", "TELEGRAM_",
                                                                  "REPORTBOT_"))},
        )


def instance_key_file(instance: Path) -> Path:
    """Return the embedded default's key file: one key per line, the first encrypts."""
    return instance / "secret.key"


def _instance_keys(instance: Path) -> tuple[str, ...]:
    """Return the instance's secret keys, creating the file (mode 0600) on first run."""
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = instance_key_file(instance)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"{path} is readable by others (mode {oct(mode)}); chmod 600 it")
    # Several lines during a key rotation (`reportbot keys add`): the first encrypts.
    keys = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    if not keys:
        raise ConfigError(f"{path} is empty; restore the key kept with your backups")
    return keys
