"""Configuration: a TOML file (every key optional) plus secrets from the environment.

``load_config`` checks the whole file and raises one ``ConfigError`` listing every
problem (file, key, reason), so an operator fixes them all in one go. Nothing here reads
globals at import; ``main()`` calls ``load_config`` and passes the result down.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from bot.core.handles import HandleError, parse_handle
from bot.core.models import SECTIONS
from bot.errors import ConfigError, QueryError

DEFAULT_CONFIG_PATH = Path("config/config.toml")
DEFAULT_DB_PATH = Path("data/tgdigest.sqlite")
DEFAULT_ACCOUNT = "default"
ACCOUNT_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
# TELEGRAM_SESSION_<NAME>: the string session of reading account NAME (see .env.example)
SESSION_ENV_PREFIX = "TELEGRAM_SESSION" + "_"
# Telegram's test data centres (https://core.telegram.org/api/auth#test-accounts).
TEST_DCS = {1: "149.154.175.10", 2: "149.154.167.40", 3: "149.154.175.117"}
TEST_PORT = 443
# [telegram] keys that may also come from the environment (the environment wins).
TELEGRAM_ENV = {
    "server": "TELEGRAM_SERVER",
    "dc_id": "TELEGRAM_DC_ID",
    "public_key_file": "TELEGRAM_PUBLIC_KEY_FILE",
    "test_servers": "TELEGRAM_TEST_SERVERS",
}


def account_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a reading account (None: it can)."""
    if ACCOUNT_NAME.match(name):
        return None
    return f"{name!r} is not an account name (1-32 lowercase letters, digits or _)"


def parse_server(text: str) -> tuple[str, int] | None:
    """``"HOST:PORT"`` or ``"[IPv6]:PORT"`` → (host, port); None if it is not that."""
    value = text.strip()
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or not rest.startswith(":"):
            return None
        port_text = rest[1:]
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep or ":" in host:
            return None
    if not host or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        return None
    return host, int(port_text)


def read_public_key(path: Path) -> bytes:
    """The PEM RSA public key at ``path`` in PKCS#1 form (what Telethon's key list takes);
    accepts "RSA PUBLIC KEY" (PKCS#1, as Telegram publishes them) and "PUBLIC KEY" (X.509).
    Raises ValueError saying what is wrong."""
    import rsa  # telethon's own RSA dependency

    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        if b"-----BEGIN RSA PUBLIC KEY-----" in data:
            key = rsa.PublicKey.load_pkcs1(data)
        elif b"-----BEGIN PUBLIC KEY-----" in data:
            key = rsa.PublicKey.load_pkcs1_openssl_pem(data)
        else:
            raise ValueError("no PEM block")
    except Exception:  # noqa: BLE001 - rsa/pyasn1 raise many types for bad input
        raise ValueError(f"{path} is not a PEM RSA public key (-----BEGIN RSA PUBLIC KEY-----)") from None
    return bytes(key.save_pkcs1())


@dataclass(frozen=True, slots=True)
class Range:
    """The values a numeric setting accepts, declared once on its field.

    The checker, the comments in ``config.example.toml`` and the table in
    ``docs/configuration.md`` all show ``text`` (a test keeps them equal).
    """

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False

    def contains(self, value: float) -> bool:
        too_low = self.minimum is not None and (
            value < self.minimum or (self.exclusive_minimum and value == self.minimum)
        )
        if too_low:
            return False
        return self.maximum is None or value <= self.maximum

    @property
    def text(self) -> str:
        low = None if self.minimum is None else f"{self.minimum:g}"
        high = None if self.maximum is None else f"{self.maximum:g}"
        if low is not None and high is not None:
            return f"> {low}, <= {high}" if self.exclusive_minimum else f"{low} to {high}"
        if low is not None:
            return f"> {low}" if self.exclusive_minimum else f">= {low}"
        return f"<= {high}"


def ranged(default: Any, *, minimum: float | None = None, maximum: float | None = None,
           above: float | None = None, message: str | None = None) -> Any:
    """A dataclass field whose value must lie in a range: ``minimum``/``maximum`` inclusive,
    ``above`` exclusive (``above=0``: greater than 0). ``message`` replaces the checker's
    "is out of range (must be ...)" after the value."""
    if above is not None:
        allowed = Range(minimum=above, maximum=maximum, exclusive_minimum=True)
    else:
        allowed = Range(minimum=minimum, maximum=maximum)
    metadata: dict[str, Any] = {"range": allowed}
    if message is not None:
        metadata["message"] = message
    return field(default=default, metadata=metadata)


def one_of(default: Any, *choices: str) -> Any:
    """A string field that must be one of ``choices`` (None is always allowed as "unset")."""
    return field(default=default, metadata={"choices": choices})


@dataclass(frozen=True, slots=True)
class CollectConfig:
    interval: float = ranged(10.0, above=0)  # minutes between collection passes
    jitter: int = ranged(30, minimum=0)  # seconds of random delay added to each pass
    misfire_grace: int = ranged(300, minimum=1)  # seconds a late pass may still run (APScheduler's default is 1)
    backfill: int = ranged(50, minimum=0)  # posts taken from a channel the first time it is seen
    edit_window_hours: float = ranged(24.0, minimum=0)  # recent posts re-read for edits
    edit_ids_per_poll: int = ranged(100, minimum=0)  # at most this many recent ids re-read per channel and pass
    flood_sleep_threshold: int = ranged(60, minimum=0)  # flood waits up to this many seconds are slept inline
    page_size: int = ranged(100, minimum=1, maximum=100)  # Telegram returns at most 100 per request
    max_channels_per_account: int = ranged(450, minimum=1)  # new channels go to another account past this (Telegram caps at 500)
    request_interval: float = ranged(0.0, minimum=0)  # seconds between the requests one account starts (its own pace)


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """Which MTProto server the reading accounts talk to (default: Telegram's production DCs)."""

    server: str | None = None  # "HOST:PORT" of a self-hosted or proxied MTProto server
    dc_id: int | None = ranged(None, minimum=1, maximum=5, message="is not a data centre (1 to 5)")  # the data centre id the server answers as (default 2)
    public_key_file: str | None = None  # the server's RSA public key (PEM)
    test_servers: bool = False  # Telegram's test DCs (separate accounts, test phone numbers)

    def server_address(self) -> tuple[str, int] | None:
        """``server`` as (host, port); None when unset or malformed (load_config reports it)."""
        return parse_server(self.server) if self.server else None


@dataclass(frozen=True, slots=True)
class WebConfig:
    base_url: str = "https://t.me"
    request_interval: float = ranged(2.0, minimum=0)  # seconds between page requests (politeness)
    max_retries: int = ranged(3, minimum=0)
    timeout: float = ranged(20.0, above=0)


@dataclass(frozen=True, slots=True)
class DedupeConfig:
    window_days: float = ranged(7.0, above=0)  # only posts this close in time can join one story
    similarity: float = ranged(0.7, above=0, maximum=1)  # shingle Jaccard above which two posts tell the same story


@dataclass(frozen=True, slots=True)
class QueryConfig:
    stemming: bool = False  # opt-in snowball stemming for every query
    language: str = "english"
    max_length: int = ranged(200, minimum=1)
    max_terms: int = ranged(20, minimum=1)


@dataclass(frozen=True, slots=True)
class BotConfig:
    admins: tuple[int, ...] = ()
    max_subscriptions: int = ranged(50, minimum=1)
    # Messages in any 1-second window over all chats: one under Telegram's ~30/s, so request
    # latency jitter cannot make Telegram count 31 in one of its seconds.
    global_rate: float = ranged(29.0, above=0)
    per_chat_rate: float = ranged(1.0, above=0)  # messages per second to one chat
    poll_timeout: int = ranged(30, minimum=0, maximum=300)  # getUpdates long-poll seconds
    max_retries: int = ranged(5, minimum=0)
    # Telegram's paid broadcast (``allow_paid_broadcast``, billed in Stars): digest parts go
    # out at up to ``paid_broadcast_rate`` messages/s instead of ``global_rate``.
    paid_broadcast: bool = False
    paid_broadcast_rate: float = ranged(1000.0, above=0, maximum=1000)  # Telegram allows at most 1000


@dataclass(frozen=True, slots=True)
class DigestConfig:
    default_time: str = "09:00"
    default_timezone: str = "UTC"
    first_lookback_hours: float = ranged(24.0, minimum=0)
    snippet_length: int = ranged(250, minimum=0, maximum=3000)  # a digest message holds 4096 characters
    tick_seconds: int = ranged(60, minimum=1)
    max_stories: int = ranged(100, minimum=1)  # per digest; the rest are counted, not listed


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    retention_days: float = ranged(30.0, above=0)  # 0 or less would delete every post
    heartbeat_seconds: int = ranged(30, minimum=1)
    health_max_age: int = ranged(180, minimum=1)  # heartbeat older than this: unhealthy
    channel_stuck_hours: float = ranged(6.0, above=0)  # a channel not polled successfully this long: unhealthy


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    handle: str
    title: str | None = None
    interval: float | None = ranged(None, above=0)  # minutes; None: [collect] interval
    backfill: int | None = ranged(None, minimum=0)
    source: str | None = one_of(None, "telethon", "web")  # None: telethon when credentials exist
    account: str | None = None  # the reading account that must read it (private channels: the one that joined)


@dataclass(frozen=True, slots=True)
class CategoryConfig:
    name: str
    query: str


@dataclass(frozen=True, slots=True)
class Config:
    collect: CollectConfig = field(default_factory=CollectConfig)
    web: WebConfig = field(default_factory=WebConfig)
    dedupe: DedupeConfig = field(default_factory=DedupeConfig)
    query: QueryConfig = field(default_factory=QueryConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    channels: tuple[ChannelConfig, ...] = ()
    categories: tuple[CategoryConfig, ...] = ()
    # ``[categories] builtin``: the built-in news sections (bot.stories.sections); None: on
    # exactly when no custom categories are configured.
    builtin_categories: bool | None = None
    source_path: Path | None = None

    def category_names(self) -> list[str]:
        return [c.name for c in self.categories]

    def section_order(self) -> list[str]:
        """The headings a digest groups stories under, in order: the custom categories,
        then the built-in sections when on ("Other" is added last by the digest)."""
        return self.category_names() + (list(SECTIONS) if self.builtin_sections else [])

    @property
    def builtin_sections(self) -> bool:
        """Whether posts are sorted into the built-in sections."""
        if self.builtin_categories is None:
            return not self.categories
        return self.builtin_categories


@dataclass(frozen=True)
class Secrets:
    """Credentials, from the environment only. ``repr`` never shows a value."""

    api_id: int | None = None
    api_hash: str | None = None
    session: str | None = None
    bot_token: str | None = None
    bot_api_url: str = "https://api.telegram.org"
    # TELEGRAM_SESSION_<NAME> string sessions of further reading accounts, as (name, value)
    account_sessions: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        shown = {f.name: ("set" if getattr(self, f.name) else "unset") for f in fields(self)}
        shown["bot_api_url"] = self.bot_api_url
        return f"Secrets({shown})"

    def session_string(self, account: str = DEFAULT_ACCOUNT) -> str | None:
        """The string session of ``account`` from the environment, if any."""
        if account == DEFAULT_ACCOUNT and self.session:
            return self.session
        return dict(self.account_sessions).get(account)

    def session_accounts(self) -> list[str]:
        """Accounts with a string session in the environment."""
        names = [DEFAULT_ACCOUNT] if self.session else []
        return list(dict.fromkeys(names + [name for name, _ in self.account_sessions]))

    @property
    def has_telegram_api(self) -> bool:
        return bool(self.api_id and self.api_hash)

    def values(self) -> list[str]:
        """Every secret string, for the log redaction filter."""
        extra = [value for _, value in self.account_sessions]
        return [v for v in (self.api_hash, self.session, self.bot_token, *extra) if v]


def secrets_from_env(env: Mapping[str, str] | None = None) -> Secrets:
    env = os.environ if env is None else env
    api_id_raw = env.get("TELEGRAM_API_ID", "").strip()
    api_id: int | None = None
    if api_id_raw:
        if not api_id_raw.isdigit():
            raise ConfigError("TELEGRAM_API_ID: must be the number shown on my.telegram.org")
        api_id = int(api_id_raw)
    account_sessions = []
    for key, value in sorted(env.items()):
        if key.startswith(SESSION_ENV_PREFIX) and value:
            name = key[len(SESSION_ENV_PREFIX):].lower()
            if account_name_problem(name):
                raise ConfigError(f"{key}: {account_name_problem(name)}")
            account_sessions.append((name, value))
    return Secrets(
        account_sessions=tuple(account_sessions),
        api_id=api_id,
        api_hash=env.get("TELEGRAM_API_HASH") or None,
        session=env.get("TELEGRAM_SESSION") or None,
        bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        bot_api_url=(env.get("TELEGRAM_BOT_API_URL") or "https://api.telegram.org").rstrip("/"),
    )


def resolve_config_path(cli_path: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """``--config``, else ``$TGDIGEST_CONFIG``, else ``config/config.toml`` if present."""
    env = os.environ if env is None else env
    if cli_path:
        return Path(cli_path)
    if env.get("TGDIGEST_CONFIG"):
        return Path(env["TGDIGEST_CONFIG"])
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None


def resolve_db_path(cli_path: str | None, env: Mapping[str, str] | None = None) -> Path:
    """``--db``, else ``$TGDIGEST_DB``, else ``data/tgdigest.sqlite``."""
    env = os.environ if env is None else env
    if cli_path:
        return Path(cli_path)
    if env.get("TGDIGEST_DB"):
        return Path(env["TGDIGEST_DB"])
    return DEFAULT_DB_PATH


def load_config(path: Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``path`` (None: all defaults); raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    label = str(path) if path else "<defaults>"
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{label}: file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{label}: cannot read: {e}") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{label}: not valid TOML: {e}") from None
    problems: list[str] = []
    raw = _with_telegram_env(raw, env, problems)
    builtin = _split_categories_table(raw, label, problems)
    config: Config | None = _build(Config, raw, label, "", problems)
    if config is not None and builtin is not None:
        config = dataclasses.replace(config, builtin_categories=builtin)
    if env.get("TGDIGEST_ADMINS"):
        admins: list[int] = []
        for part in env["TGDIGEST_ADMINS"].replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                admins.append(int(part))
            except ValueError:
                problems.append(f"TGDIGEST_ADMINS: {part!r} is not a chat id (a whole number)")
        if config is not None:
            merged = tuple(dict.fromkeys(config.bot.admins + tuple(admins)))
            config = dataclasses.replace(config, bot=dataclasses.replace(config.bot, admins=merged))
    if config is not None:
        _check_semantics(config, label, problems)
    if problems:
        raise ConfigError(problems)
    assert config is not None
    return dataclasses.replace(config, source_path=path)


def _with_telegram_env(raw: dict[str, Any], env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """``TELEGRAM_SERVER`` & co. override the ``[telegram]`` table (containers set env, not files)."""
    section = raw.get("telegram", {})
    if not isinstance(section, dict):
        return raw
    section = dict(section)
    for key, name in TELEGRAM_ENV.items():
        value = env.get(name, "").strip()
        if not value:
            continue
        if key == "dc_id":
            if not value.lstrip("-").isdigit():
                problems.append(f"{name}: {value!r} is not a data centre number")
                continue
            section[key] = int(value)
        elif key == "test_servers":
            if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                problems.append(f"{name}: {value!r} is not true or false")
                continue
            section[key] = value.lower() in ("1", "true", "yes")
        else:
            section[key] = value
    return {**raw, "telegram": section} if section else raw



def _check_semantics(config: Config, label: str, problems: list[str]) -> None:
    from bot.query.parser import parse_query, stemming_languages  # the query module owns the language

    if config.query.language not in stemming_languages():
        problems.append(
            f"{label}: query.language: unknown stemming language {config.query.language!r} "
            f"(one of: {', '.join(stemming_languages())})"
        )

    for key, tz in (("digest.default_timezone", config.digest.default_timezone),):
        if not valid_timezone(tz):
            problems.append(f"{label}: {key}: unknown time zone {tz!r} (use an IANA name like Europe/Berlin)")
    if parse_hhmm(config.digest.default_time) is None:
        problems.append(f"{label}: digest.default_time: {config.digest.default_time!r} is not HH:MM")
    if not config.web.base_url.startswith(("http://", "https://")):
        problems.append(f"{label}: web.base_url: must start with http:// or https://")
    _check_declared_limits(config, label, "", problems)
    if config.service.health_max_age <= config.service.heartbeat_seconds:
        problems.append(
            f"{label}: service.health_max_age: must be more than service.heartbeat_seconds "
            f"({config.service.heartbeat_seconds}), or a healthy service reads as unhealthy"
        )
    _check_telegram(config.telegram, label, problems)
    seen_handles: set[str] = set()
    for i, channel in enumerate(config.channels):
        key = f"channels[{i}].handle"
        try:
            handle = parse_handle(channel.handle)
        except HandleError as e:
            problems.append(f"{label}: {key}: {e}")
            continue
        if str(handle) in seen_handles:
            problems.append(f"{label}: {key}: {channel.handle!r} is listed twice")
        seen_handles.add(str(handle))
        if channel.source == "web" and handle.kind != "username":
            problems.append(f"{label}: channels[{i}].source: the web preview only reads public @name channels")
        if channel.account is not None:
            problem = account_name_problem(channel.account)
            if problem:
                problems.append(f"{label}: channels[{i}].account: {problem}")
            if channel.source == "web":
                problems.append(f"{label}: channels[{i}].account: the web preview reads without an account")
    names: set[str] = set()
    for i, category in enumerate(config.categories):
        if not category.name.strip():
            problems.append(f"{label}: categories[{i}].name: must not be empty")
        if category.name.casefold() == "other":
            problems.append(f"{label}: categories[{i}].name: \"Other\" is reserved for stories with no category")
        if config.builtin_sections and category.name.casefold() in _section_names():
            problems.append(
                f"{label}: categories[{i}].name: {category.name!r} is a built-in section; "
                "rename it or set [categories] builtin = false"
            )
        if category.name.casefold() in names:
            problems.append(f"{label}: categories[{i}].name: {category.name!r} is defined twice")
        names.add(category.name.casefold())
        try:
            parse_query(
                category.query,
                max_length=max(config.query.max_length, 1000),
                max_terms=max(config.query.max_terms, 100),
                stemming=config.query.stemming,
                language=config.query.language if config.query.language in stemming_languages() else "english",
            )
        except QueryError as e:
            problems.append(f"{label}: categories[{i}].query: {e}")


def _check_declared_limits(obj: Any, label: str, prefix: str, problems: list[str]) -> None:
    """Check every field's declared ``Range``/choices, recursing into sections and lists."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if hasattr(value, "__dataclass_fields__"):
            _check_declared_limits(value, label, f"{key}.", problems)
        elif isinstance(value, tuple) and value and hasattr(value[0], "__dataclass_fields__"):
            for i, item in enumerate(value):
                _check_declared_limits(item, label, f"{key}[{i}].", problems)
        elif value is None:
            continue
        elif "range" in f.metadata and not f.metadata["range"].contains(value):
            reason = f.metadata.get("message") or f"is out of range (must be {f.metadata['range'].text})"
            problems.append(f"{label}: {key}: {value!r} {reason}")
        elif "choices" in f.metadata and value not in f.metadata["choices"]:
            quoted = " or ".join(f'"{c}"' for c in f.metadata["choices"])
            problems.append(f"{label}: {key}: must be {quoted}, not {value!r}")


def declared_limits(section: Any) -> dict[str, str]:
    """``{key: "> 0"}`` for every ranged or enumerated field of a section (docs and tests)."""
    limits: dict[str, str] = {}
    for f in fields(section):
        if "range" in f.metadata:
            limits[f.name] = f.metadata["range"].text
        elif "choices" in f.metadata:
            limits[f.name] = " or ".join(f'"{c}"' for c in f.metadata["choices"])
    return limits


def _check_telegram(telegram: TelegramConfig, label: str, problems: list[str]) -> None:
    where = f"{label}: telegram"
    if telegram.server is not None and parse_server(telegram.server) is None:
        problems.append(
            f"{where}.server: {telegram.server!r} is not HOST:PORT with a port from 1 to 65535 "
            f"(e.g. \"127.0.0.1:4430\" or \"[::1]:443\")"
        )
    if telegram.test_servers:
        if telegram.server is not None:
            problems.append(f"{where}.test_servers: give either server or test_servers, not both")
        if telegram.dc_id is not None and telegram.dc_id not in TEST_DCS:
            problems.append(f"{where}.dc_id: Telegram's test servers are DCs 1 to 3")
    if telegram.public_key_file is not None:
        try:
            read_public_key(Path(telegram.public_key_file))
        except ValueError as e:
            problems.append(f"{where}.public_key_file: {e}")


def _section_names() -> frozenset[str]:
    return frozenset(name.casefold() for name in SECTIONS)


def valid_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_hhmm(text: str) -> tuple[int, int] | None:
    """``"9:30"`` → (9, 30); anything not a real time of day → None."""
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() and 1 <= len(p) <= 2 for p in parts):
        return None
    hour, minute = int(parts[0]), int(parts[1])
    if hour > 23 or minute > 59:
        return None
    return hour, minute


# --- generic, type-driven validation -------------------------------------------------

# Config fields that are not TOML keys of their own: set by load_config itself.
_NOT_KEYS = frozenset({"source_path", "builtin_categories"})


def _split_categories_table(raw: dict[str, Any], label: str, problems: list[str]) -> bool | None:
    """``[categories]`` as a table: ``builtin = true|false`` and, optionally, the custom
    categories as ``[[categories.custom]]`` (TOML cannot also have ``[[categories]]`` then).
    Rewrites ``raw["categories"]`` to the list form; returns ``builtin`` (None: not set)."""
    table = raw.get("categories")
    if not isinstance(table, dict):
        return None
    for key in table:
        if key not in ("builtin", "custom"):
            problems.append(f"{label}: categories.{key}: unknown key (known: builtin, custom)")
    builtin = table.get("builtin")
    if builtin is not None and not isinstance(builtin, bool):
        problems.append(f"{label}: categories.builtin: must be true or false, not {builtin!r}")
        builtin = None
    raw["categories"] = table.get("custom", [])
    return builtin


def _build(cls: type, raw: Any, label: str, prefix: str, problems: list[str]) -> Any:
    if not isinstance(raw, dict):
        problems.append(f"{label}: {prefix.rstrip('.') or 'top level'}: must be a table")
        return None
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.name not in _NOT_KEYS}
    for key in raw:
        if key not in known:
            problems.append(f"{label}: {prefix}{key}: unknown key (known: {', '.join(sorted(known))})")
    # A bad value is reported and replaced by its default, so the checks after this one
    # still run and the operator sees every problem at once.
    values: dict[str, Any] = {}
    ok = True
    for f in fields(cls):
        if f.name not in raw or f.name in _NOT_KEYS:
            continue
        value = _coerce(hints[f.name], raw[f.name], label, f"{prefix}{f.name}", problems)
        if value is _INVALID:
            if f.default is MISSING and f.default_factory is MISSING:
                ok = False
        else:
            values[f.name] = value
    missing = [
        f.name for f in fields(cls)
        if f.name not in raw
        and f.default is MISSING and f.default_factory is MISSING
    ]
    for name in missing:
        problems.append(f"{label}: {prefix}{name}: required")
        ok = False
    return cls(**values) if ok else None


_INVALID = object()


def _coerce(hint: Any, value: Any, label: str, key: str, problems: list[str]) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)][0]
        return _coerce(inner, value, label, key, problems)
    if origin is tuple:
        item_type = args[0]
        if not isinstance(value, list):
            problems.append(f"{label}: {key}: must be a list")
            return _INVALID
        items = []
        for i, item in enumerate(value):
            if hasattr(item_type, "__dataclass_fields__"):
                built = _build(item_type, item, label, f"{key}[{i}].", problems)
                if built is not None:
                    items.append(built)
            else:
                coerced = _coerce(item_type, item, label, f"{key}[{i}]", problems)
                if coerced is _INVALID:
                    return _INVALID
                items.append(coerced)
        return tuple(items)
    if hasattr(hint, "__dataclass_fields__"):
        built = _build(hint, value, label, f"{key}.", problems)
        return _INVALID if built is None else built
    if hint is bool:
        if isinstance(value, bool):
            return value
        problems.append(f"{label}: {key}: must be true or false, not {value!r}")
        return _INVALID
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        problems.append(f"{label}: {key}: must be a whole number, not {value!r}")
        return _INVALID
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        problems.append(f"{label}: {key}: must be a number, not {value!r}")
        return _INVALID
    if hint is str:
        if isinstance(value, str):
            return value
        problems.append(f"{label}: {key}: must be a string, not {value!r}")
        return _INVALID
    raise TypeError(f"config field {key} has unsupported type {hint!r}")  # a bug in this module
