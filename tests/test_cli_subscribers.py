"""`tgdigest subscribers export|import`: an operator's backup and migration, as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.storage import subscribers as subs
from bot.storage.db import open_db


def run(*args: str, db: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TGDIGEST_", "TELEGRAM_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(db), *args],
        capture_output=True, text=True, cwd=db.parent, env=env, timeout=60, input=stdin,
    )


def populate(path: Path) -> None:
    db = open_db(path)
    try:
        subs.register(db, 1, username="alice")
        subs.add_subscription(db, 1, "oil OR gas")
        subs.add_subscription(db, 1, "pipeline", urgent=True, silent=True)
        subs.set_timezone(db, 1, "Asia/Tokyo")
        subs.add_mute(db, 1, "channel", 5001, "@wire0")
        subs.register(db, 2)
        subs.add_subscription(db, 2, "BRICS", urgent=True)
    finally:
        db.close()


def test_export_then_import_moves_every_subscriber(tmp_path: Path) -> None:
    old, new = tmp_path / "old.sqlite", tmp_path / "new.sqlite"
    populate(old)
    exported = run("subscribers", "export", "--output", str(tmp_path / "backup.json"), db=old)
    assert exported.returncode == 0, exported.stderr
    assert "2 subscribers, 3 subscriptions exported" in exported.stderr
    imported = run("subscribers", "import", str(tmp_path / "backup.json"), db=new)
    assert imported.returncode == 0, imported.stderr
    assert "2 subscribers (2 new): 3 subscriptions added" in imported.stderr
    again = run("subscribers", "export", db=new)
    before, after = json.loads((tmp_path / "backup.json").read_text()), json.loads(again.stdout)
    assert after["subscribers"] == before["subscribers"]
    one = run("subscribers", "export", "--chat", "2", db=new)
    assert [e["chat_id"] for e in json.loads(one.stdout)["subscribers"]] == [2]


def test_a_bad_file_is_one_line_and_imports_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "t.sqlite"
    populate(db_path)
    document = json.loads(run("subscribers", "export", db=db_path).stdout)
    document["subscribers"][1]["subscriptions"].append({"query": "oil)", "mode": "digest"})
    document["subscribers"][0]["settings"]["timezone"] = "Europe/Paris"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    for args, needle in [
        (("subscribers", "import", str(bad)), "subscribers[1].subscriptions[1].query"),
        (("subscribers", "import", "-"), "not JSON"),
        (("subscribers", "import", str(tmp_path / "missing.json")), "cannot read"),
    ]:
        proc = run(*args, db=db_path, stdin="{not json")
        assert proc.returncode == 1 and needle in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    db = open_db(db_path)
    try:
        assert subs.get_subscriber(db, 1).timezone == "Asia/Tokyo"  # type: ignore[union-attr]
        assert [s.query for s in subs.list_subscriptions(db, 2)] == ["BRICS"]
    finally:
        db.close()
