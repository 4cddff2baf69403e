"""The CLI contract, run as a real subprocess: import, posts, search, errors as one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def run(*args: str, tmp_path: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TGDIGEST_", "TELEGRAM_"))}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "t.sqlite"), *args],
        capture_output=True, text=True, cwd=tmp_path, env=full_env, timeout=60,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def demo_config(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text((ROOT / "config" / "demo.toml").read_text())
    return path


def test_import_prints_one_line_summary(tmp_path: Path, sample_export: Path) -> None:
    """import ends with posts new/updated/duplicate, stories and seconds; twice changes nothing."""
    first = run("import", str(sample_export), "--channel", "@mfa_russia", tmp_path=tmp_path)
    assert "24 posts (24 new, 0 updated, 0 unchanged, 12 duplicate), 12 new stories" in first.stdout
    second = run("import", str(sample_export), tmp_path=tmp_path)
    assert "24 posts (0 new, 0 updated, 24 unchanged, 0 duplicate), 0 new stories" in second.stdout


def test_posts_json_contract(tmp_path: Path, sample_export: Path, demo_config: Path) -> None:
    """posts --format json gives the documented object shape."""
    run("--config", str(demo_config), "import", str(sample_export), "--channel", "mfa_russia", tmp_path=tmp_path)
    out = run("--config", str(demo_config), "posts", "--format", "json", "--channel", "@mfa_russia",
              "--since", "2025-07-10", tmp_path=tmp_path)
    posts = json.loads(out.stdout)
    assert posts and all(p["date"] >= "2025-07-10" for p in posts)
    first = posts[0]
    for key, kind in [("channel_id", int), ("channel", str), ("message_id", int), ("date", str), ("text", str),
                      ("hashtags", list), ("categories", list), ("story_id", int), ("url", str)]:
        assert isinstance(first[key], kind), key
    assert first["channel_id"] == 1113692283 and first["channel"] == "mfa_russia"
    assert first["url"] == f"https://t.me/mfa_russia/{first['message_id']}"
    assert first["date"].endswith("+00:00")


def test_search_json_one_row_per_story(tmp_path: Path, sample_export: Path, repost_export: Path) -> None:
    """search returns each story once, newest first, representative post first."""
    run("import", str(sample_export), "--channel", "mfa_russia", tmp_path=tmp_path)
    run("import", str(repost_export), "--channel", "worlddesk_demo", tmp_path=tmp_path)
    out = run("search", "BRICS", "--format", "json", tmp_path=tmp_path)
    stories = json.loads(out.stdout)
    ids = [s["story_id"] for s in stories]
    assert len(ids) == len(set(ids)) >= 3
    dates = [s["posts"][0]["date"] for s in stories]
    assert dates == sorted(dates, reverse=True)
    multi = [s for s in stories if len(s["posts"]) > 1]
    assert multi and all(s["posts"][0]["date"] <= p["date"] for s in multi for p in s["posts"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["search", '"unbalanced'], "quote"),
        (["search", ""], "empty"),
        (["posts", "--since", "last tuesday"], "not a date"),
        (["posts", "--channel", "@nobody_here"], "no channel"),
        (["import", "missing.json"], "no such file"),
    ],
)
def test_user_mistakes_are_one_line_no_traceback(tmp_path: Path, args: list[str], needle: str) -> None:
    """Each mistake exits non-zero with one clear line and no traceback."""
    proc = run(*args, tmp_path=tmp_path, check=False)
    assert proc.returncode != 0
    assert needle in proc.stderr.lower()
    assert "Traceback" not in proc.stderr


def test_bad_export_keeps_stored_data(tmp_path: Path, sample_export: Path) -> None:
    """A broken export fails with a clear error and loses none of what was stored before."""
    run("import", str(sample_export), tmp_path=tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x", "type": "public_channel", "id": 5, "messages": [{"id": 1, "type": "mess')
    proc = run("import", str(broken), tmp_path=tmp_path, check=False)
    assert proc.returncode == 1 and "not valid JSON" in proc.stderr and "Traceback" not in proc.stderr
    out = run("posts", "--format", "json", tmp_path=tmp_path)
    assert len(json.loads(out.stdout)) == 24


def test_bad_config_lists_every_problem(tmp_path: Path) -> None:
    """A broken config prints each problem on its own line and starts nothing."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[digest]\ndefault_timezone = "Nowhere/City"\n[bot]\nmax_subscriptions = "many"\n')
    proc = run("--config", str(bad), "posts", tmp_path=tmp_path, check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and all(str(bad) in line for line in lines)
    assert not (tmp_path / "t.sqlite").exists(), "nothing was started or created"


def test_every_command_is_in_the_cli_docs() -> None:
    """Each CLI command is documented in docs/cli.md (as sqlite-utils does for its CLI)."""
    from bot.cli import cli

    page = (ROOT / "docs" / "cli.md").read_text()
    missing = [name for name in cli.commands if f"tgdigest {name}" not in page]
    assert not missing, f"commands missing from docs/cli.md: {missing}"


def test_username_of_another_channel_is_refused(tmp_path: Path, sample_export: Path, repost_export: Path) -> None:
    """--channel naming a username another channel already has is one clear error; nothing changes."""
    run("import", str(sample_export), "--channel", "@mfa_russia", tmp_path=tmp_path)
    proc = run("import", str(repost_export), "--channel", "@mfa_russia", tmp_path=tmp_path, check=False)
    assert proc.returncode == 1 and "already the username of channel 1113692283" in proc.stderr
    assert "Traceback" not in proc.stderr
    out = run("posts", "--format", "json", tmp_path=tmp_path)
    assert {p["channel_id"] for p in json.loads(out.stdout)} == {1113692283}


def test_database_that_cannot_be_created_or_read_is_one_line(tmp_path: Path) -> None:
    """A --db under a file, or a file that is not SQLite, is a one-line error, not a traceback."""
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_text("this is not a database" * 100)
    for db_path, needle in ((blocker / "sub" / "t.sqlite", "cannot create the database"),
                            (garbage, "cannot open the database")):
        proc = subprocess.run([sys.executable, "-m", "bot", "--db", str(db_path), "posts"],
                              capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert proc.returncode == 1 and needle in proc.stderr and "Traceback" not in proc.stderr
    assert garbage.read_text().startswith("this is not a database"), "the file is left as it was"


def test_check_config_rejects_bad_server_values(tmp_path: Path) -> None:
    """check-config names a bad [telegram] server in one line per problem, no traceback."""
    config = tmp_path / "c.toml"
    config.write_text('[telegram]\nserver = "no port here"\ndc_id = 9\n')
    proc = run("--config", str(config), "check-config", tmp_path=tmp_path, check=False)
    assert proc.returncode == 1
    assert "telegram.server: 'no port here' is not HOST:PORT" in proc.stderr
    assert "telegram.dc_id: 9 is not a data centre" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run("check-config", tmp_path=tmp_path, check=False, env={"TELEGRAM_SERVER": "127.0.0.1:99999"})
    assert proc.returncode == 1 and "port from 1 to 65535" in proc.stderr


def test_accounts_json_is_an_empty_list_without_accounts(tmp_path: Path) -> None:
    """accounts --format json prints [] when no account exists; a session file makes one."""
    assert json.loads(run("accounts", "--format", "json", tmp_path=tmp_path).stdout) == []
    (tmp_path / "tgdigest-second.session").write_bytes(b"")
    rows = json.loads(run("accounts", "--format", "json", tmp_path=tmp_path).stdout)
    assert [(r["name"], r["session"], r["channels"]) for r in rows] == [("second", "file", 0)]
    rows = json.loads(
        run("accounts", "--format", "json", tmp_path=tmp_path, env={"TELEGRAM_SESSION": "x"}).stdout
    )
    assert [(r["name"], r["session"]) for r in rows] == [("default", "string"), ("second", "file")]


def test_logout_removes_the_account_session_file(tmp_path: Path) -> None:
    """logout --account NAME deletes that account's session only and marks it logged out."""
    (tmp_path / "tgdigest.session").write_bytes(b"keep")
    (tmp_path / "tgdigest-second.session").write_bytes(b"x")
    out = run("logout", "--account", "second", tmp_path=tmp_path)
    assert "account second logged out" in out.stdout
    assert not (tmp_path / "tgdigest-second.session").exists()
    assert (tmp_path / "tgdigest.session").read_bytes() == b"keep"
    proc = run("logout", "--account", "second", tmp_path=tmp_path, check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "has no session" in proc.stderr
    bad = run("login", "--account", "Not Valid", tmp_path=tmp_path, check=False)
    assert bad.returncode == 2 and "is not an account name" in bad.stderr


def test_story_explains_why_each_post_joined(tmp_path: Path, sample_export: Path, repost_export: Path) -> None:
    """story ID lists the posts, the first without a reason and each later one with its kind;
    --format json gives the documented shape; an unknown id is one line."""
    run("import", str(sample_export), "--channel", "@mfa_russia", tmp_path=tmp_path)
    run("import", str(repost_export), "--channel", "@worlddesk_demo", tmp_path=tmp_path)
    posts = json.loads(run("posts", "--format", "json", tmp_path=tmp_path).stdout)
    reposted = next(p for p in posts if p["channel"] == "worlddesk_demo" and p["message_id"] == 504)
    shape = json.loads(run("story", str(reposted["story_id"]), "--format", "json", tmp_path=tmp_path).stdout)
    assert shape["story_id"] == reposted["story_id"] and shape["channels"] == 2
    assert shape["posts"][0]["joined"] is None
    joined = {(p["channel"], p["message_id"]): p["joined"] for p in shape["posts"][1:]}
    assert joined[("worlddesk_demo", 504)]["kind"] == "repost"
    assert joined[("worlddesk_demo", 504)]["matched"] == {"channel_id": 1113692283, "message_id": 10}
    assert all(j is not None and j["kind"] and j["label"] for j in joined.values())
    text = run("story", str(reposted["story_id"]), tmp_path=tmp_path).stdout
    assert "started the story" in text and "repost (same text; other emoji, credit or links)" in text
    missing = run("story", "99999", tmp_path=tmp_path, check=False)
    assert missing.returncode == 1 and missing.stderr.strip().count("\n") == 0
    assert "no story 99999" in missing.stderr and "Traceback" not in missing.stderr


def test_story_stored_before_reasons_were_kept_says_so(tmp_path: Path, sample_export: Path) -> None:
    """Posts without a recorded reason (an older database) are not all shown as starters."""
    import sqlite3

    run("import", str(sample_export), "--channel", "@mfa_russia", tmp_path=tmp_path)
    with sqlite3.connect(tmp_path / "t.sqlite") as conn:
        conn.execute("DELETE FROM post_joins")
    text = run("story", "1", tmp_path=tmp_path).stdout
    assert "no reason recorded" in text and "started the story" not in text


def test_database_errors_name_the_database_file(tmp_path: Path, sample_export: Path) -> None:
    """A database another process holds locked fails in one line that names the file."""
    import sqlite3

    run("import", str(sample_export), tmp_path=tmp_path)
    holder = sqlite3.connect(tmp_path / "t.sqlite")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        proc = run("recategorise", tmp_path=tmp_path, check=False)
    finally:
        holder.rollback()
        holder.close()
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "t.sqlite") in lines[0] and "locked" in lines[0], proc.stderr


def test_read_only_database_error_names_the_path_and_the_fix(tmp_path: Path) -> None:
    """The read-only error (as SQLite raises it) becomes a line naming the file and what to check."""
    import sqlite3

    from bot.cli import database_error_line

    path = tmp_path / "ro.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as err:
        reader.execute("INSERT INTO t VALUES (1)")
    line = database_error_line(path, err.value)
    assert line.startswith(f"{path}: ") and "readonly" in line and "write access" in line
