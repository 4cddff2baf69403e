"""Config loading: defaults, every problem reported at once, secrets only from the env."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import (
    Config,
    load_config,
    parse_hhmm,
    resolve_config_path,
    resolve_db_path,
    secrets_from_env,
)
from bot.core.handles import HandleError, parse_handle
from bot.errors import ConfigError

ROOT = Path(__file__).parent.parent


def test_empty_file_is_valid_and_all_defaults(tmp_path: Path) -> None:
    """An empty config file gives the same config as no file."""
    path = tmp_path / "c.toml"
    path.write_text("")
    assert load_config(path, env={}).collect == Config().collect
    assert load_config(None, env={}).digest.default_time == "09:00"


def test_example_config_documents_every_default() -> None:
    """config.example.toml loads and equals the built-in defaults (so it stays true)."""
    example = load_config(ROOT / "config" / "config.example.toml", env={})
    defaults = Config()
    for section in ("collect", "web", "dedupe", "query", "bot", "digest", "service"):
        assert getattr(example, section) == getattr(defaults, section), section


def test_example_config_names_every_key() -> None:
    """Every option of every section appears in config.example.toml."""
    import dataclasses

    text = (ROOT / "config" / "config.example.toml").read_text()
    for section in ("collect", "web", "dedupe", "query", "bot", "digest", "service"):
        assert f"[{section}]" in text
        for f in dataclasses.fields(getattr(Config(), section)):
            assert f"\n{f.name} = " in text, f"{section}.{f.name} missing from the example"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Unknown keys, wrong types, bad zones, bad handles and bad category queries all appear."""
    path = tmp_path / "c.toml"
    path.write_text(
        '[bot]\nadmin = [1]\nmax_subscriptions = "x"\n'
        '[digest]\ndefault_timezone = "Mars/Base"\ndefault_time = "25:99"\n'
        '[[channels]]\nhandle = "not a handle!"\n'
        '[[categories]]\nname = "X"\nquery = "(a"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    text = "\n".join(err.value.problems)
    assert len(err.value.problems) == 6
    for needle in ("bot.admin: unknown key", "bot.max_subscriptions: must be a whole number",
                   "Mars/Base", "default_time", "channels[0].handle", "categories[0].query"):
        assert needle in text
    assert all(p.startswith(str(path)) for p in err.value.problems)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    """A syntax error is one problem that names the file."""
    path = tmp_path / "c.toml"
    path.write_text("x = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, env={})


def test_admins_merge_from_environment(tmp_path: Path) -> None:
    """TGDIGEST_ADMINS adds to [bot] admins; junk in it is a config problem."""
    path = tmp_path / "c.toml"
    path.write_text("[bot]\nadmins = [1]\n")
    assert load_config(path, env={"TGDIGEST_ADMINS": "2, 3"}).bot.admins == (1, 2, 3)
    with pytest.raises(ConfigError, match="TGDIGEST_ADMINS"):
        load_config(path, env={"TGDIGEST_ADMINS": "abc"})


def test_paths_follow_option_then_env_then_default(tmp_path: Path) -> None:
    """--config/--db win over the environment, which wins over the defaults."""
    assert resolve_db_path("x.sqlite", env={"TGDIGEST_DB": "y"}) == Path("x.sqlite")
    assert resolve_db_path(None, env={"TGDIGEST_DB": "y"}) == Path("y")
    assert resolve_db_path(None, env={}) == Path("data/tgdigest.sqlite")
    assert resolve_config_path(None, env={"TGDIGEST_CONFIG": "c.toml"}) == Path("c.toml")


def test_secrets_come_from_env_and_never_show_in_repr() -> None:
    """Secrets read from the environment; their repr says set/unset, never the value."""
    secrets = secrets_from_env({"TELEGRAM_API_ID": "123", "TELEGRAM_API_HASH": "deadbeefcafe",
                                "TELEGRAM_BOT_TOKEN": "1:secret-token-value"})
    assert secrets.api_id == 123 and secrets.has_telegram_api
    assert "deadbeefcafe" not in repr(secrets) and "secret-token-value" not in repr(secrets)
    with pytest.raises(ConfigError, match="TELEGRAM_API_ID"):
        secrets_from_env({"TELEGRAM_API_ID": "abc"})


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("@mfa_russia", "username", "mfa_russia"),
        ("https://t.me/mfa_russia", "username", "mfa_russia"),
        ("t.me/s/mfa_russia", "username", "mfa_russia"),
        ("https://t.me/+AbCdEfGh1234", "invite", "AbCdEfGh1234"),
        ("https://t.me/joinchat/AbCdEfGh1234", "invite", "AbCdEfGh1234"),
        ("-1001113692283", "id", "1113692283"),
        ("1113692283", "id", "1113692283"),
    ],
)
def test_handles_in_every_accepted_form(text: str, kind: str, value: str) -> None:
    """Each documented handle form parses to its kind and canonical value."""
    handle = parse_handle(text)
    assert (handle.kind, handle.value) == (kind, value)


@pytest.mark.parametrize("text", ["", "a b", "@ab", "https://example.com/x", "t.me/+a", "-5"])
def test_bad_handles_are_rejected(text: str) -> None:
    """Anything else is a HandleError that lists the accepted forms."""
    with pytest.raises(HandleError):
        parse_handle(text)


@pytest.mark.parametrize(("text", "expected"), [("9:30", (9, 30)), ("23:59", (23, 59)), ("25:99", None),
                                                ("9", None), ("ab:cd", None), ("-1:30", None)])
def test_parse_hhmm(text: str, expected: tuple[int, int] | None) -> None:
    """Only real times of day parse."""
    assert parse_hhmm(text) == expected


def test_unknown_stemming_language_is_a_config_problem(tmp_path: Path) -> None:
    """[query] language must be a snowball language; the error lists the valid ones."""
    path = tmp_path / "c.toml"
    path.write_text('[query]\nlanguage = "klingon"\n')
    with pytest.raises(ConfigError, match="unknown stemming language 'klingon'.*russian"):
        load_config(path, env={})


# --- [telegram]: which MTProto server (issue 12) -------------------------------------------


def _rsa_pem(tmp_path: Path, *, pkcs1: bool = True) -> Path:
    import rsa

    public, _ = rsa.newkeys(512)
    path = tmp_path / ("server.pem" if pkcs1 else "server-x509.pem")
    path.write_bytes(public.save_pkcs1() if pkcs1 else _x509(public))
    return path


def _x509(public: object) -> bytes:
    """The same key as an X.509 SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY", as openssl writes)."""
    import base64

    from pyasn1.codec.der import encoder
    from pyasn1.type import univ
    from rsa.asn1 import OpenSSLPubKey, PubKeyHeader

    info = OpenSSLPubKey()
    header = PubKeyHeader()
    header["oid"] = univ.ObjectIdentifier("1.2.840.113549.1.1.1")
    info["header"] = header
    info["key"] = univ.BitString.fromOctetString(public.save_pkcs1(format="DER"))  # type: ignore[attr-defined]
    body = base64.encodebytes(encoder.encode(info)).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n".encode()


def test_server_settings_load(tmp_path: Path) -> None:
    """server, dc_id and public_key_file (PKCS#1 or X.509 PEM) are accepted as written."""
    key = _rsa_pem(tmp_path)
    path = tmp_path / "c.toml"
    path.write_text(f'[telegram]\nserver = "127.0.0.1:4430"\ndc_id = 3\npublic_key_file = "{key}"\n')
    telegram = load_config(path, env={}).telegram
    assert telegram.server_address() == ("127.0.0.1", 4430) and telegram.dc_id == 3
    path.write_text(f'[telegram]\nserver = "[::1]:443"\npublic_key_file = "{_rsa_pem(tmp_path, pkcs1=False)}"\n')
    assert load_config(path, env={}).telegram.server_address() == ("::1", 443)
    path.write_text("[telegram]\ntest_servers = true\n")
    assert load_config(path, env={}).telegram.test_servers is True


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('server = "no port here"', "telegram.server: 'no port here' is not HOST:PORT"),
        ('server = "127.0.0.1:70000"', "with a port from 1 to 65535"),
        ('server = "127.0.0.1:"', "is not HOST:PORT"),
        ('server = ":443"', "is not HOST:PORT"),
        ("dc_id = 0", "telegram.dc_id: 0 is not a data centre (1 to 5)"),
        ("dc_id = 9", "telegram.dc_id: 9 is not a data centre"),
        ('public_key_file = "missing.pem"', "telegram.public_key_file: cannot read missing.pem"),
        ('server = "127.0.0.1:443"\ntest_servers = true', "either server or test_servers"),
        ("test_servers = true\ndc_id = 5", "test servers are DCs 1 to 3"),
        ('server = 443', "telegram.server: must be a string"),
    ],
)
def test_bad_server_settings_are_config_errors(tmp_path: Path, toml: str, expected: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[telegram]\n{toml}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert any(expected in problem for problem in err.value.problems), err.value.problems


def test_a_key_file_that_is_not_a_pem_rsa_key_is_refused(tmp_path: Path) -> None:
    not_a_key = tmp_path / "key.pem"
    not_a_key.write_text("-----BEGIN RSA PUBLIC KEY-----\nbm90IGEga2V5\n-----END RSA PUBLIC KEY-----\n")
    path = tmp_path / "c.toml"
    path.write_text(f'[telegram]\npublic_key_file = "{not_a_key}"\n')
    with pytest.raises(ConfigError, match="is not a PEM RSA public key"):
        load_config(path, env={})


def test_server_settings_from_the_environment_win(tmp_path: Path) -> None:
    """TELEGRAM_SERVER, TELEGRAM_DC_ID, TELEGRAM_PUBLIC_KEY_FILE, TELEGRAM_TEST_SERVERS override
    [telegram]; wrong values are reported like the file's."""
    key = _rsa_pem(tmp_path)
    path = tmp_path / "c.toml"
    path.write_text('[telegram]\nserver = "10.0.0.1:443"\n')
    env = {"TELEGRAM_SERVER": "127.0.0.1:4430", "TELEGRAM_DC_ID": "4", "TELEGRAM_PUBLIC_KEY_FILE": str(key)}
    telegram = load_config(path, env=env).telegram
    assert (telegram.server, telegram.dc_id, telegram.public_key_file) == ("127.0.0.1:4430", 4, str(key))
    assert load_config(None, env={"TELEGRAM_TEST_SERVERS": "true"}).telegram.test_servers is True
    with pytest.raises(ConfigError) as err:
        load_config(None, env={"TELEGRAM_SERVER": "no port here", "TELEGRAM_DC_ID": "two"})
    assert len(err.value.problems) == 2


def test_account_sessions_from_the_environment() -> None:
    """TELEGRAM_SESSION_<NAME> is account name's string session; secret, so redacted."""
    secrets = secrets_from_env({"TELEGRAM_SESSION": "s-default", "TELEGRAM_SESSION_SECOND": "s-second"})
    assert secrets.session_string("default") == "s-default"
    assert secrets.session_string("second") == "s-second"
    assert secrets.session_accounts() == ["default", "second"]
    assert "s-second" in secrets.values() and "s-second" not in repr(secrets)
    with pytest.raises(ConfigError, match="not an account name"):
        secrets_from_env({"TELEGRAM_SESSION_NOT-OK": "x"})


def test_channel_account_names_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[channels]]\nhandle = "@alpha_news"\naccount = "Bad Name"\n')
    with pytest.raises(ConfigError, match="channels\\[0\\].account: 'Bad Name' is not an account name"):
        load_config(path, env={})


def test_negative_retention_and_subscriptions_are_refused_all_at_once(tmp_path: Path) -> None:
    """A negative retention (which would delete every post) and other out-of-range numbers are all reported."""
    path = tmp_path / "c.toml"
    path.write_text(
        "[service]\nretention_days = -1\n[bot]\nmax_subscriptions = -1\nper_chat_rate = 0\n"
        "[collect]\npage_size = 500\n[dedupe]\nsimilarity = 1.5\n"
        '[[channels]]\nhandle = "@some_channel"\ninterval = -5\nsource = "carrier pigeon"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    problems = err.value.problems
    expected = ["service.retention_days: -1.0 is out of range (must be > 0)",
                "bot.max_subscriptions: -1 is out of range (must be >= 1)",
                "bot.per_chat_rate: 0.0 is out of range (must be > 0)",
                "collect.page_size: 500 is out of range (must be 1 to 100)",
                "dedupe.similarity: 1.5 is out of range (must be > 0, <= 1)",
                "channels[0].interval: -5.0 is out of range (must be > 0)",
                'channels[0].source: must be "telethon" or "web"']
    assert len(problems) == len(expected)
    for needle in expected:
        assert any(needle in p for p in problems), needle


def test_every_numeric_setting_declares_a_range_that_the_defaults_satisfy() -> None:
    """No number in any section goes unchecked, and every default lies inside its range."""
    import dataclasses

    from bot.config import ChannelConfig

    for section in (*(getattr(Config(), name) for name in (*SECTIONS, "telegram")), ChannelConfig("@x")):
        for f in dataclasses.fields(section):
            if f.type in ("int", "float", "int | None", "float | None"):
                assert "range" in f.metadata, f"{type(section).__name__}.{f.name} has no range"
                value = getattr(section, f.name)
                assert value is None or f.metadata["range"].contains(value), f.name


SECTIONS = ("collect", "web", "dedupe", "query", "bot", "digest", "service")


def test_example_and_docs_state_the_same_ranges_as_the_checker() -> None:
    """config.example.toml's comment and docs/configuration.md's row of each key show its declared range."""
    from bot.config import declared_limits

    example = (ROOT / "config" / "config.example.toml").read_text().splitlines()
    docs = (ROOT / "docs" / "configuration.md").read_text().splitlines()
    for name in SECTIONS:
        for key, text in declared_limits(getattr(Config(), name)).items():
            in_section = _section_lines(example, name)
            line = next(line for line in in_section if line.startswith(f"{key} = "))
            assert f"({text})" in line.split("#", 1)[1], f"[{name}] {key}: example comment lacks ({text})"
            rows = [row for row in docs if f"`{key}`" in row and f"`{text}`" in row]
            assert rows, f"docs/configuration.md has no row for {name}.{key} with range `{text}`"


def _section_lines(lines: list[str], section: str) -> list[str]:
    start = lines.index(next(line for line in lines if line.startswith(f"[{section}]")))
    out = []
    for line in lines[start + 1:]:
        if line.startswith("["):
            break
        out.append(line)
    return out


def test_retention_housekeeping_refuses_a_non_positive_period(tmp_path: Path) -> None:
    """Even called directly, housekeeping never turns a bad retention into deleting every post."""
    from datetime import UTC, datetime

    from bot.app import delete_expired_posts
    from bot.storage.db import open_db

    db = open_db(tmp_path / "t.sqlite")
    with pytest.raises(ConfigError, match="retention_days"):
        delete_expired_posts(db, now=datetime.now(UTC), retention_days=-1)
