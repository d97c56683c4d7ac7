"""Settings: one typed model read from the environment, every problem reported at once.

Each field is named by its environment variable. `Settings.from_env()` validates them all
together and raises one `ConfigError` listing every problem, one line each, starting with
the variable's name. A channel is either fully configured or refused with the missing
setting named: a Twilio token without the account SID, or a Telegram token without the
webhook secret, never starts half-working.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, NonNegativeInt, PositiveInt, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_ORG_FILE = PACKAGE_DIR / "demo" / "organisation.toml"
DEFAULT_TWILIO_API = "https://api.twilio.com"
_PREFIXES = ("REPORTBOT_", "TWILIO_", "TELEGRAM_")
# Variables with our prefixes that belong to someone else (the twilio library reads these).
_NOT_OURS = frozenset({"TWILIO_EDGE", "TWILIO_REGION", "TWILIO_API_KEY", "TWILIO_API_SECRET"})
_SECRET_FIELDS = ("REPORTBOT_SECRET_KEY", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN",
                  "TELEGRAM_WEBHOOK_SECRET", "REPORTBOT_SMTP_PASSWORD")
_TELEGRAM_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$")
_TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


@dataclass(frozen=True)
class TwilioSettings:
    """SMS and WhatsApp through Twilio, complete or absent."""

    auth_token: str
    account_sid: str
    public_url: str
    sms_from: str | None
    whatsapp_from: str | None
    api_base_url: str
    whatsapp_templates: Mapping[str, str]
    rate_limit: int
    media_max_bytes: int
    voice_number: str | None = None  # the phone line's number, when calls are answered


@dataclass(frozen=True)
class TelegramSettings:
    """The Telegram bot, complete or absent."""

    bot_token: str
    webhook_secret: str
    api_base_url: str | None
    max_file_bytes: int
    rate_limit: int = 30  # messages per chat per minute


@dataclass(frozen=True)
class WebChatSettings:
    """The web chat's limits: new sessions per client address, messages per session."""

    sessions_per_hour: int = 20
    messages_per_minute: int = 30
    max_file_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class SmtpSettings:
    """E-mail for staff notifications, complete or absent."""

    host: str
    port: int
    sender: str
    starttls: bool
    user: str | None
    password: str | None


def _url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must start with http:// or https://, got {value!r}")
    return value


class Settings(BaseSettings):
    """Everything the application is configured with, named by environment variable."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=True,
                                      env_ignore_empty=True, populate_by_name=True)

    instance_dir: Path = Field(default_factory=lambda: Path.cwd() / "instance",
                               alias="REPORTBOT_INSTANCE_DIR")
    database_url: str = Field("", alias="REPORTBOT_DATABASE_URL")
    secret_key: str | None = Field(None, alias="REPORTBOT_SECRET_KEY", repr=False)
    org_file: Path = Field(DEMO_ORG_FILE, alias="REPORTBOT_ORG_FILE")
    public_url: str | None = Field(None, alias="REPORTBOT_PUBLIC_URL")
    conversation_expiry_days: PositiveInt = Field(7, alias="REPORTBOT_CONVERSATION_EXPIRY_DAYS")
    debug: bool = Field(False, alias="REPORTBOT_DEBUG")
    webchat_max_file_bytes: PositiveInt = Field(10 * 1024 * 1024,
                                                alias="REPORTBOT_WEBCHAT_MAX_FILE_BYTES")

    twilio_auth_token: str | None = Field(None, alias="TWILIO_AUTH_TOKEN", repr=False)
    twilio_account_sid: str | None = Field(None, alias="TWILIO_ACCOUNT_SID")
    twilio_sms_from: str | None = Field(None, alias="TWILIO_SMS_FROM")
    twilio_whatsapp_from: str | None = Field(None, alias="TWILIO_WHATSAPP_FROM")
    twilio_whatsapp_templates: str | None = Field(None, alias="TWILIO_WHATSAPP_TEMPLATES")
    twilio_rate_limit: PositiveInt = Field(30, alias="TWILIO_RATE_LIMIT_PER_MINUTE")
    twilio_media_max_bytes: PositiveInt = Field(10 * 1024 * 1024,
                                                alias="TWILIO_MEDIA_MAX_BYTES")
    twilio_api_base_url: str = Field(DEFAULT_TWILIO_API, alias="TWILIO_API_BASE_URL")
    twilio_voice_number: str | None = Field(None, alias="TWILIO_VOICE_NUMBER")

    telegram_bot_token: str | None = Field(None, alias="TELEGRAM_BOT_TOKEN", repr=False)
    telegram_webhook_secret: str | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET",
                                                repr=False)
    telegram_api_base_url: str | None = Field(None, alias="TELEGRAM_API_BASE_URL")
    telegram_max_file_bytes: PositiveInt = Field(20 * 1024 * 1024,
                                                 alias="TELEGRAM_MAX_FILE_BYTES")
    telegram_rate_limit: PositiveInt = Field(30, alias="TELEGRAM_RATE_LIMIT_PER_MINUTE")

    # Web chat limits: new sessions per client address an hour, messages per session a minute.
    webchat_sessions_per_hour: PositiveInt = Field(
        20, alias="REPORTBOT_WEBCHAT_SESSIONS_PER_HOUR")
    webchat_messages_per_minute: PositiveInt = Field(
        30, alias="REPORTBOT_WEBCHAT_MESSAGES_PER_MINUTE")
    # Staff alerts of new high-priority cases: at most one per target in this many minutes.
    alert_window_minutes: PositiveInt = Field(5, alias="REPORTBOT_ALERT_WINDOW_MINUTES")

    smtp_host: str | None = Field(None, alias="REPORTBOT_SMTP_HOST")
    smtp_port: int = Field(25, alias="REPORTBOT_SMTP_PORT", ge=1, le=65535)
    smtp_from: str | None = Field(None, alias="REPORTBOT_SMTP_FROM")
    smtp_starttls: bool = Field(False, alias="REPORTBOT_SMTP_STARTTLS")
    smtp_user: str | None = Field(None, alias="REPORTBOT_SMTP_USER")
    smtp_password: str | None = Field(None, alias="REPORTBOT_SMTP_PASSWORD", repr=False)

    duty_emails: str = Field("", alias="REPORTBOT_DUTY_EMAILS")
    manager_emails: str = Field("", alias="REPORTBOT_MANAGER_EMAILS")
    repairs_emails: str = Field("", alias="REPORTBOT_REPAIRS_EMAIL")

    argon2_time_cost: PositiveInt | None = Field(None, alias="REPORTBOT_ARGON2_TIME_COST")
    argon2_memory_cost: PositiveInt | None = Field(None, alias="REPORTBOT_ARGON2_MEMORY_COST")
    argon2_parallelism: PositiveInt | None = Field(None, alias="REPORTBOT_ARGON2_PARALLELISM")

    # Console sessions end after this much inactivity, and this long after sign-in anyway.
    idle_timeout_minutes: PositiveInt = Field(30, alias="REPORTBOT_IDLE_TIMEOUT_MINUTES")
    session_max_hours: PositiveInt = Field(12, alias="REPORTBOT_SESSION_MAX_HOURS")
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto; 0 trusts none.
    trusted_proxies: NonNegativeInt = Field(0, alias="REPORTBOT_TRUSTED_PROXIES")
    # /metrics answers only "Authorization: Bearer <this>"; unset, there is no /metrics.
    metrics_token: str | None = Field(None, alias="REPORTBOT_METRICS_TOKEN", repr=False,
                                      min_length=24)

    # ---- field checks ---------------------------------------------------------------

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        if value.startswith("postgres://"):
            raise ValueError("use postgresql+psycopg://, not postgres://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://"):]
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL like sqlite:///path or "
                             "postgresql+psycopg://user@host/db") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"expected sqlite or postgresql, got {url.get_backend_name()}")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        keys = [k.strip() for k in value.split(",") if k.strip()]
        if not keys:
            raise ValueError("give at least one key")
        if any(len(k) < 32 for k in keys):
            raise ValueError("each key must be at least 32 characters")
        return ",".join(keys)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return _url(value)

    @field_validator("twilio_api_base_url")
    @classmethod
    def _twilio_api(cls, value: str) -> str:
        return _url(value) or DEFAULT_TWILIO_API

    @field_validator("telegram_api_base_url")
    @classmethod
    def _telegram_api(cls, value: str | None) -> str | None:
        return _url(value)

    @field_validator("twilio_whatsapp_from")
    @classmethod
    def _whatsapp_from(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value if value.startswith("whatsapp:") else f"whatsapp:{value}"

    @field_validator("twilio_whatsapp_templates")
    @classmethod
    def _templates(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValueError('expected JSON like {"en": "HX..."}') from None
        if not isinstance(parsed, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and v.startswith("HX")
                for k, v in parsed.items()):
            raise ValueError('expected language codes mapped to template ContentSids, like '
                             '{"en": "HX..."}')
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _telegram_token(cls, value: str | None) -> str | None:
        if value is not None and not _TELEGRAM_TOKEN.match(value.strip()):
            raise ValueError("does not look like a bot token from BotFather "
                             "(digits, a colon, then letters)")
        return value.strip() if value else value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: str | None) -> str | None:
        if value is not None and not _TELEGRAM_SECRET.match(value.strip()):
            raise ValueError("must be 16-256 characters of A-Z, a-z, 0-9, _ and -")
        return value.strip() if value else value

    # ---- derived values -------------------------------------------------------------

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """Return the keys: the first seals, all open (rotation)."""
        return tuple((self.secret_key or "").split(","))

    @property
    def is_sqlite(self) -> bool:
        """Return whether the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    @property
    def twilio(self) -> TwilioSettings | None:
        """Return the Twilio settings, or None when SMS/WhatsApp is off."""
        if not self.twilio_auth_token:
            return None
        return TwilioSettings(
            auth_token=self.twilio_auth_token.strip(),
            account_sid=(self.twilio_account_sid or "").strip(),
            public_url=self.public_url or "",
            sms_from=self.twilio_sms_from,
            whatsapp_from=self.twilio_whatsapp_from,
            api_base_url=self.twilio_api_base_url,
            whatsapp_templates=json.loads(self.twilio_whatsapp_templates or "{}"),
            rate_limit=self.twilio_rate_limit,
            media_max_bytes=self.twilio_media_max_bytes,
            voice_number=self.twilio_voice_number,
        )

    @property
    def telegram(self) -> TelegramSettings | None:
        """Return the Telegram settings, or None when Telegram is off."""
        if not self.telegram_bot_token:
            return None
        return TelegramSettings(self.telegram_bot_token, self.telegram_webhook_secret or "",
                                self.telegram_api_base_url, self.telegram_max_file_bytes,
                                self.telegram_rate_limit)

    @property
    def webchat(self) -> WebChatSettings:
        """Return the web chat's limits."""
        return WebChatSettings(self.webchat_sessions_per_hour,
                               self.webchat_messages_per_minute, self.webchat_max_file_bytes)

    @property
    def smtp(self) -> SmtpSettings | None:
        """Return the e-mail settings, or None when staff e-mail is off."""
        if not self.smtp_host:
            return None
        return SmtpSettings(self.smtp_host.strip(), self.smtp_port, self.smtp_from or "",
                            self.smtp_starttls, self.smtp_user, self.smtp_password)

    def emails(self, which: str) -> list[str]:
        """Return the addresses in REPORTBOT_{DUTY,MANAGER}_EMAILS or REPAIRS_EMAIL."""
        raw = {"duty": self.duty_emails, "managers": self.manager_emails,
               "repairs": self.repairs_emails}[which]
        return [a.strip() for a in raw.split(",") if a.strip()]

    # ---- loading --------------------------------------------------------------------

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check the settings from `env` (default: the process environment).

        For the embedded default a secret key file is generated in the instance folder on
        first run (mode 0600). Every problem is reported at once in one `ConfigError`.
        """
        source = dict(os.environ if env is None else env)
        problems = _unknown_names(source)
        settings = None
        try:
            settings = cls() if env is None else cls.model_validate(
                {k: v for k, v in source.items() if v != ""})
        except ValidationError as exc:
            problems += [_describe(error) for error in exc.errors(include_url=False)]
        problems += cls._incomplete(source)
        if problems or settings is None:
            raise ConfigError(*problems)
        return settings._with_defaults()

    @staticmethod
    def _incomplete(env: Mapping[str, str]) -> list[str]:
        """Return the settings a configured channel or service still needs."""
        def has(name: str) -> bool:
            return bool(env.get(name, "").strip())

        problems = []
        if has("TWILIO_AUTH_TOKEN"):
            why = "required when TWILIO_AUTH_TOKEN is set"
            if not has("REPORTBOT_PUBLIC_URL"):
                problems.append(f"REPORTBOT_PUBLIC_URL: {why} (Twilio signs the public "
                                "URL it calls)")
            if not has("TWILIO_ACCOUNT_SID"):
                problems.append(f"TWILIO_ACCOUNT_SID: {why} (outbound messages, photos "
                                "and staff SMS need it)")
            if not (has("TWILIO_SMS_FROM") or has("TWILIO_WHATSAPP_FROM")
                    or has("TWILIO_VOICE_NUMBER")):
                problems.append(f"TWILIO_SMS_FROM: {why} (or TWILIO_WHATSAPP_FROM for "
                                "WhatsApp only, or TWILIO_VOICE_NUMBER for the phone line "
                                "only): the number messages are sent from")
        elif has("TWILIO_ACCOUNT_SID") or has("TWILIO_SMS_FROM") or \
                has("TWILIO_WHATSAPP_FROM") or has("TWILIO_VOICE_NUMBER"):
            problems.append("TWILIO_AUTH_TOKEN: required when other TWILIO_ settings are set")
        if has("TELEGRAM_BOT_TOKEN") and not has("TELEGRAM_WEBHOOK_SECRET"):
            problems.append("TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_BOT_TOKEN is "
                            "set (16-256 characters of A-Z, a-z, 0-9, _ and -)")
        if not has("TELEGRAM_BOT_TOKEN") and has("TELEGRAM_WEBHOOK_SECRET"):
            problems.append("TELEGRAM_BOT_TOKEN: required when TELEGRAM_WEBHOOK_SECRET is set")
        if has("REPORTBOT_SMTP_HOST") and not has("REPORTBOT_SMTP_FROM"):
            problems.append("REPORTBOT_SMTP_FROM: required when REPORTBOT_SMTP_HOST is set")
        if has("REPORTBOT_SMTP_USER") != has("REPORTBOT_SMTP_PASSWORD"):
            problems.append("REPORTBOT_SMTP_PASSWORD: REPORTBOT_SMTP_USER and "
                            "REPORTBOT_SMTP_PASSWORD go together")
        url = env.get("REPORTBOT_DATABASE_URL", "").strip()
        if url and not url.startswith("sqlite") and not has("REPORTBOT_SECRET_KEY"):
            problems.append("REPORTBOT_SECRET_KEY: required when the database is not the "
                            "embedded SQLite default")
        org_file = Path(env.get("REPORTBOT_ORG_FILE") or DEMO_ORG_FILE)
        if not org_file.is_file():
            problems.append(f"REPORTBOT_ORG_FILE: no such file: {org_file}")
        return problems

    def _with_defaults(self) -> Settings:
        url = self.database_url or f"sqlite:///{self.instance_dir / 'reportbot.sqlite'}"
        key = self.secret_key or _instance_keys(self.instance_dir)
        return self.model_copy(update={"database_url": url, "secret_key": key})


def _unknown_names(env: Mapping[str, str]) -> list[str]:
    """Name every REPORTBOT_ variable we do not know, with the closest known one."""
    known = [f.alias for f in Settings.model_fields.values() if f.alias]
    problems = []
    for name in sorted(env):
        if not name.startswith(_PREFIXES) or name in known or name in _NOT_OURS:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        if close:
            problems.append(f"{name}: unknown setting; did you mean {close[0]}?")
        elif name.startswith("REPORTBOT_"):
            problems.append(f"{name}: unknown setting")
    return problems


_FRIENDLY = {
    "int_parsing": "expected a whole number",
    "greater_than": "must be positive",
    "bool_parsing": "expected 1 or 0 (true or false)",
    "less_than_equal": "too large",
    "greater_than_equal": "too small",
}


def _describe(error: Mapping[str, Any]) -> str:
    """Return one line for one validation error: the variable, what is wrong, the value."""
    name = ".".join(str(part) for part in error["loc"]) or "settings"
    kind = error["type"]
    if kind == "value_error":
        message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
    else:
        message = _FRIENDLY.get(kind, error["msg"])
    shown = "" if name in _SECRET_FIELDS or kind == "value_error" else \
        f", got {error['input']!r}"
    return f"{name}: {message}{shown}"


def instance_key_file(instance: Path) -> Path:
    """Return the embedded default's key file: one key per line, the first encrypts."""
    return instance / "secret.key"


def _instance_keys(instance: Path) -> str:
    """Return the instance's secret keys, comma-joined, creating the file on first run.

    The file (mode 0600) holds one key per line; several during a key rotation
    (`reportbot keys add`), the first of which encrypts.
    """
    path = instance_key_file(instance)
    try:
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        mode = stat.S_IMODE(path.stat().st_mode)
        keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise ConfigError(f"REPORTBOT_INSTANCE_DIR: cannot create the secret key in "
                          f"{instance} ({exc.strerror})") from None
    if mode & 0o077:
        raise ConfigError(f"REPORTBOT_INSTANCE_DIR: {path} is readable by others (mode "
                          f"{oct(mode)}); chmod 600 it")
    if not keys:
        raise ConfigError(f"REPORTBOT_INSTANCE_DIR: {path} is empty; restore the key kept "
                          "with your backups")
    return ",".join(keys)
