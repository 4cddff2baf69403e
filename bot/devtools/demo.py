"""`make demo`: the real service on bundled sample data, with no credentials and no network.

It runs the same commands an operator would: `tgdigest import` of two sample channels, then
`tgdigest run --no-fetch` (the real service: bot loop, digests, housekeeping) against a
loopback Bot API sandbox that stands in for Telegram. A demo user talks to the bot through
the sandbox (/start, /subscribe, /digest, then the buttons under the digest) and the terminal
shows what they would see, buttons drawn as ``[ ⚙ Settings ]`` under each message.

The sample posts are from July 2025; the demo moves their dates so the newest is an hour
old (a copy in the demo's data directory), so the digest window has something to show.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from bot.core.buttons import from_markup, render_keyboard
from bot.core.clock import utcnow
from bot.devtools.sandbox import Sandbox, SentMessage

DEMO_DIR = Path("data/demo")
CONFIG = Path("config/demo.toml")
CHAT_ID = 424242
TOKEN = "123456:demo-token-for-the-local-sandbox-only"
CHANNELS = (("sample_channel_export.json", "mfa_russia"), ("repost_channel_export.json", "worlddesk_demo"))


def _tty() -> bool:
    return sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def bold(text: str) -> str:
    return f"\033[1m{text}\033[0m" if _tty() else text


def dim(text: str) -> str:
    return f"\033[2m{text}\033[0m" if _tty() else text


def telegram_html_to_terminal(text: str) -> str:
    """Show a Telegram HTML message readably: bold kept, links as 'text <url>'."""
    text = re.sub(r'<a href="([^"]*)">(.*?)</a>', lambda m: f"{m.group(2)} <{html.unescape(m.group(1))}>", text, flags=re.S)
    text = re.sub(r"<b>(.*?)</b>", lambda m: bold(m.group(1)), text, flags=re.S)
    text = re.sub(r"</?(?:i|u|s|code|pre|blockquote|tg-spoiler)[^>]*>", "", text)
    return html.unescape(text)


def newest_stamp(source: Path) -> int:
    data = json.loads(source.read_text(encoding="utf-8"))
    return max(int(m["date_unixtime"]) for m in data["messages"] if "date_unixtime" in m)


def rebase_export(source: Path, target: Path, *, shift: int) -> None:
    """Copy an export with every date moved by ``shift`` seconds."""
    data = json.loads(source.read_text(encoding="utf-8"))
    for m in data["messages"]:
        for key in ("date", "edited"):
            if f"{key}_unixtime" in m:
                moved = int(m[f"{key}_unixtime"]) + shift
                m[f"{key}_unixtime"] = str(moved)
                m[key] = datetime.fromtimestamp(moved, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def tgdigest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bot", "--config", str(CONFIG), "--db", str(DEMO_DIR / "tgdigest.sqlite"), *args]
    print(dim("$ tgdigest " + " ".join(args)))
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"demo failed: tgdigest {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def wait_for_replies(sandbox: Sandbox, count: int, *, timeout: float = 20.0) -> list[str]:
    try:
        return [m.text for m in sandbox.wait_for_sent(count, chat_id=CHAT_ID, timeout=timeout)]
    except TimeoutError:
        raise SystemExit(f"demo failed: the bot sent {len(sandbox.sent_to(CHAT_ID))} messages, expected {count}") from None


def show(message: SentMessage) -> None:
    """A message as the user sees it, with its buttons drawn under it."""
    print(dim("─" * 72))
    print(telegram_html_to_terminal(message.text))
    buttons = from_markup(message.reply_markup)
    if buttons:
        print(render_keyboard(buttons))


def say(sandbox: Sandbox, text: str, expect: int = 1, *, until_buttons: bool = False) -> list[SentMessage]:
    """Type ``text``; show the replies (``until_buttons``: all parts, up to the one with buttons)."""
    before = len(sandbox.sent_to(CHAT_ID))
    print()
    print(bold(f"👤 you → bot: {text}"))
    sandbox.send_user_message(CHAT_ID, text, username="demo_user", first_name="Demo")
    wait_for_replies(sandbox, before + expect)
    deadline = time.monotonic() + 20
    while until_buttons and not sandbox.sent_to(CHAT_ID)[-1].buttons and time.monotonic() < deadline:
        time.sleep(0.02)
    replies = sandbox.sent_to(CHAT_ID)[before:]
    for reply in replies:
        show(reply)
    return replies


def press(sandbox: Sandbox, message: SentMessage, label: str, *, timeout: float = 20.0) -> SentMessage:
    """Press a button under ``message``; show the answer and the message it changed or sent."""
    print()
    print(bold(f"👤 you press [ {label} ]"))
    before = len(sandbox.sent_to(CHAT_ID))
    answered = len(sandbox.answers)
    sandbox.press(CHAT_ID, message, label)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = sandbox.message(CHAT_ID, message.message_id)
        new = sandbox.sent_to(CHAT_ID)[before:]
        if len(sandbox.answers) > answered and (new or (now is not None and now.edits > message.edits)):
            notice = sandbox.answers[-1].text
            if notice:
                print(dim(f"(Telegram shows: {notice})"))
            shown = new[-1] if new else now
            assert shown is not None
            show(shown)
            return shown
        time.sleep(0.02)
    raise SystemExit(f"demo failed: pressing {label!r} changed nothing")


def main() -> None:
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    (DEMO_DIR / "exports").mkdir(parents=True)
    newest = utcnow().replace(microsecond=0) - timedelta(hours=1)
    data = resources.files("bot") / "samples"
    print(bold("1. Import two sample channels (Telegram Desktop exports)"))
    with resources.as_file(data) as data_dir:
        # One shift for all channels, so who posted first stays true.
        shift = int(newest.timestamp()) - max(newest_stamp(data_dir / name) for name, _ in CHANNELS)
        for name, username in CHANNELS:
            target = DEMO_DIR / "exports" / name
            rebase_export(data_dir / name, target, shift=shift)
            print(tgdigest("import", str(target), "--channel", f"@{username}").stdout.strip())
    print()
    print(bold("2. The stories they fold into (every post appears twice in the sample channel)"))
    out = tgdigest("search", "Lavrov OR BRICS OR Trump", "--limit", "6").stdout
    print(out.rstrip())

    print()
    print(bold("3. Start the service (tgdigest run --no-fetch) against a local Bot API sandbox"))
    with Sandbox(token=TOKEN) as sandbox:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BOT_API_URL": sandbox.base_url,
               "TGDIGEST_LOG_LEVEL": "WARNING"}
        command = [sys.executable, "-m", "bot", "--config", str(CONFIG), "--db", str(DEMO_DIR / "tgdigest.sqlite"),
                   "run", "--no-fetch"]
        print(dim("$ tgdigest run --no-fetch"))
        service = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            say(sandbox, "/start")
            say(sandbox, "/subscribe BRICS")
            say(sandbox, '/subscribe "Kuala Lumpur" -#RussiaUSA')
            say(sandbox, "/subscribe Trump OR Rubio")
            say(sandbox, "/list")
            digest = say(sandbox, "/digest", until_buttons=True)[-1]
            settings = press(sandbox, digest, "⚙ Settings")
            press(sandbox, settings, "+1 h")
        finally:
            service.send_signal(signal.SIGTERM)
            try:
                _, err = service.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                service.kill()
                _, err = service.communicate()
            if service.returncode not in (0, -signal.SIGTERM):
                print(err, file=sys.stderr)
                raise SystemExit(f"demo failed: the service exited with {service.returncode}")
    print()
    print(dim("─" * 72))
    db = DEMO_DIR / "tgdigest.sqlite"
    print(bold("Done."), f"The service stopped cleanly. Everything is in {db}:")
    print(f"  .venv/bin/sqlite-utils tables {db} --counts")
    print(f"  .venv/bin/sqlite-utils {db} \"select story_id, count(*) from posts group by story_id\" --table")
    print(f"  datasette {db}        (if you have datasette)")
    print()
    print(bold("Next steps for real use"))
    print("  1. Create a bot with @BotFather; export TELEGRAM_BOT_TOKEN=...")
    print("  2. Get API credentials at https://my.telegram.org; export TELEGRAM_API_ID=... TELEGRAM_API_HASH=...")
    print("  3. tgdigest login            (once: phone, code, 2FA; the session stays in data/)")
    print("  4. cp config/config.example.toml config/config.toml and add [[channels]] and [[categories]]")
    print("  5. tgdigest run              (or: docker compose up -d, see the README)")


if __name__ == "__main__":
    main()
