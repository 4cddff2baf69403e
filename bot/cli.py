"""The ``tgdigest`` command line: the only place that prints or exits.

Library code raises ``bot.errors.TgdigestError`` subclasses; the group below turns them into
one line on stderr and exit status 1, so a user mistake never shows a traceback.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot import __version__
from bot.config import Config, Secrets, load_config, resolve_config_path, resolve_db_path, secrets_from_env
from bot.core.clock import parse_instant, utcnow
from bot.core.text import shorten
from bot.errors import ConfigError, TgdigestError

if TYPE_CHECKING:
    from sqlite_utils import Database

# --- plumbing -----------------------------------------------------------------------------


@dataclass
class AppContext:
    """What every command needs, loaded on first use (``--help`` loads nothing)."""

    config_option: str | None
    db_option: str | None
    _config: Config | None = None
    _db: Database | None = None
    _secrets: Secrets | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(resolve_config_path(self.config_option))
        return self._config

    @property
    def db_path(self) -> Path:
        return resolve_db_path(self.db_option)

    @property
    def data_dir(self) -> Path:
        return self.db_path.parent

    @property
    def secrets(self) -> Secrets:
        if self._secrets is None:
            self._secrets = secrets_from_env()
        return self._secrets

    @property
    def db(self) -> Database:
        if self._db is None:
            from bot.storage.db import open_db

            try:
                self._db = open_db(self.db_path)
            except sqlite3.DatabaseError as e:
                raise TgdigestError(f"{self.db_path}: cannot open the database: {e}") from None
            except OSError as e:
                raise TgdigestError(f"{self.db_path}: cannot create the database: {e.strerror or e}") from None
            self.closers.append(self._db.close)
        return self._db


class _Group(click.Group):
    """Turns our errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as e:
            for problem in e.problems:
                click.echo(f"Error: {problem}", err=True)
            ctx.exit(1)
        except TgdigestError as e:
            raise click.ClickException(str(e)) from None
        except sqlite3.DatabaseError as e:
            app = ctx.obj
            path = app.db_path if isinstance(app, AppContext) else None
            raise click.ClickException(database_error_line(path, e)) from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        finally:
            app = ctx.obj
            if isinstance(app, AppContext):
                for close in reversed(app.closers):
                    close()


def database_error_line(path: Path | None, error: sqlite3.DatabaseError) -> str:
    """One line for a database error: which file, what SQLite said, what to check."""
    where = f"{path}: " if path is not None else ""
    message = str(error)
    hint = ""
    if "readonly" in message or "read-only" in message:
        hint = " (tgdigest needs write access to the file and to its directory, for the -wal and -shm files)"
    elif "locked" in message:
        hint = " (another process holds it: a running `tgdigest run`, or a tool with it open)"
    return f"{where}database error: {message}{hint}"


pass_app = click.make_pass_decorator(AppContext)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tgdigest")
@click.option("--config", "config_path", metavar="PATH", help="Config file (else $TGDIGEST_CONFIG, else config/config.toml if present).")
@click.option("--db", "db_path", metavar="PATH", help="SQLite database (else $TGDIGEST_DB, else data/tgdigest.sqlite).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None) -> None:
    """tgdigest: watch Telegram channels, fold repeats into stories, send daily digests."""
    import os

    from bot.ops.logs import configure_logging

    ctx.obj = AppContext(config_option=config_path, db_option=db_path)
    # Checked before any command starts, so a bad config never half-runs anything.
    _ = ctx.obj.config
    configure_logging(
        level=os.environ.get("TGDIGEST_LOG_LEVEL", "INFO"),
        fmt=os.environ.get("TGDIGEST_LOG_FORMAT", "text"),
        secrets=ctx.obj.secrets.values(),
    )


def main() -> None:
    cli(prog_name="tgdigest")


# --- option parsing helpers ------------------------------------------------------------

_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")


def parse_since(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """``2025-07-01``, ``2025-07-01T12:00``, ``2025-07-01T12:00+03:00`` or ``24h``/``7d``/``2w``."""
    if text is None:
        return None
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount),
                 "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]
        return (now or utcnow()) - delta
    try:
        return parse_instant(value)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date: use 2025-07-01, 2025-07-01T12:00 or a span like 24h, 7d"
        ) from None


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# --- ingest commands -------------------------------------------------------------------


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--channel", "username", metavar="@NAME", help="Public username of the exported channel, for t.me links (exports do not record it).")
@click.option("--batch-size", default=1000, show_default=True, help="Posts stored per transaction.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes reading and preparing large exports (default: cores - 1, 1 to 4).")
@pass_app
def import_cmd(
    app: AppContext, files: tuple[Path, ...], username: str | None, batch_size: int, workers: int | None
) -> None:
    """Import Telegram Desktop channel exports (result.json, machine-readable JSON).

    Streams the file, so exports of hundreds of MB are fine. Importing the same export
    twice changes nothing; edited posts are updated in place.
    """
    from bot.collect.importer import import_exports
    from bot.core.handles import HandleError, parse_handle
    from bot.storage.ingest import Ingestor

    if username is not None:
        try:
            handle = parse_handle(username)
        except HandleError as e:
            raise click.BadParameter(str(e), param_hint="--channel") from None
        if handle.kind != "username":
            raise click.BadParameter("give the channel's public @username", param_hint="--channel")
        username = handle.value
    ingestor = Ingestor(app.db, app.config)
    ingestor.ensure_categories_current()
    failed = 0
    total = sum(path.stat().st_size for path in files if path.exists())
    show_bar = sys.stderr.isatty() and total > 1 << 20
    with click.progressbar(length=total, label="importing", file=sys.stderr, hidden=not show_bar) as bar:
        done = [0]

        def progress(position: int) -> None:
            bar.update(position - done[0])
            done[0] = position

        for report in import_exports(list(files), ingestor, username=username, batch_size=batch_size,
                                     on_progress=progress, workers=workers):
            if show_bar:
                click.echo(err=True)  # keep the summary lines off the bar's line
            if report.error:
                failed += 1
                click.echo(f"Error: {report.error}", err=True)
            for problem in report.problems[:20]:
                click.echo(f"warning: {problem}", err=True)
            if len(report.problems) > 20:
                click.echo(f"warning: … and {len(report.problems) - 20} more messages skipped", err=True)
            result = report.result
            click.echo(
                f"{report.path}: {result.total} posts ({result.new} new, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.duplicate} duplicate), "
                f"{result.stories_new} new stories, {len(report.problems)} skipped, in {report.seconds:.2f} s"
            )
    if failed:
        sys.exit(1)


@cli.command("posts")
@click.option("--since", metavar="DATE", help="Only posts from this date/time (UTC) or span (24h, 7d).")
@click.option("--channel", metavar="X", help="Only this channel (@username, title or id).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many posts (oldest first).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def posts_cmd(app: AppContext, since: str | None, channel: str | None, limit: int | None, fmt: str) -> None:
    """List stored posts, oldest first."""
    from bot.storage.store import Store, post_to_json

    store = Store(app.db)
    channel_id = None
    if channel is not None:
        channel_id = store.find_channel_id(channel)
        if channel_id is None:
            raise TgdigestError(f"no channel {channel!r} in the database (see `tgdigest channels`)")
    rows = store.posts(since=parse_since(since), channel_id=channel_id, limit=limit)
    if fmt == "json":
        _echo_json([post_to_json(sp) for sp in rows])
        return
    for sp in rows:
        p = sp.post
        cats = ",".join(sp.categories) or "-"
        click.echo(
            f"{p.date:%Y-%m-%d %H:%M}  {shorten(p.channel_username or p.channel_title or str(p.channel_id), 18):18}  "
            f"{p.message_id:>7}  story {sp.story_id:<6} {shorten(cats, 20):20}  {shorten(p.text or f'[{p.media_kind}]', 70)}"
        )
    click.echo(f"{len(rows)} posts", err=True)


@cli.command("search")
@click.argument("query")
@click.option("--since", metavar="DATE", help="Only stories from this date/time (UTC) or span (24h, 7d).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def search_cmd(app: AppContext, query: str, since: str | None, limit: int, fmt: str) -> None:
    """Stories matching QUERY (the query language), newest first, each once."""
    from bot.query.parser import parse_query
    from bot.storage.store import Store, story_to_json

    config = app.config
    parsed = parse_query(
        query,
        max_length=config.query.max_length,
        max_terms=config.query.max_terms,
        stemming=config.query.stemming,
        language=config.query.language,
    )
    stories = Store(app.db).search(parsed, since=parse_since(since), limit=limit)
    if fmt == "json":
        _echo_json([story_to_json(s) for s in stories])
        return
    for story in stories:
        rep = story.representative.post
        cats = ", ".join(story.categories) or "Other"
        others = len(story.posts) - 1
        click.echo(f"{rep.date:%Y-%m-%d %H:%M}  [{cats}]  {shorten(rep.text or f'[{rep.media_kind}]', 90)}")
        click.echo(f"    {rep.url}" + (f"  (+{others} more post{'s' if others > 1 else ''})" if others else ""))
    click.echo(f"{len(stories)} stories", err=True)


@cli.command("story")
@click.argument("story_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def story_cmd(app: AppContext, story_id: int, fmt: str) -> None:
    """One story: its posts and, for each post after the first, why it joined."""
    from bot.storage.explain import explain_story, explanation_to_json

    explained = explain_story(app.db, story_id)
    if explained is None:
        raise TgdigestError(f"no story {story_id} in the database (see `tgdigest search` or `tgdigest posts`)")
    if fmt == "json":
        _echo_json(explanation_to_json(explained))
        return
    story = explained.story
    channels = len({sp.post.channel_id for sp in story.posts})
    posts = len(story.posts)
    click.echo(
        f"Story {story.id}: {posts} post{'s' if posts != 1 else ''} from {channels} "
        f"channel{'s' if channels != 1 else ''}; categories: {', '.join(story.categories) or 'Other'}"
    )
    # One post has no join reason: the one that started the story. More than one: the story
    # was stored before join reasons were kept.
    unexplained = sum(1 for sp in story.posts if sp.post.key not in explained.joins)
    for sp in story.posts:
        p = sp.post
        name = f"@{p.channel_username}" if p.channel_username else (p.channel_title or str(p.channel_id))
        reason = explained.joins.get(p.key)
        if reason is None:
            why = "started the story" if unexplained == 1 else "no reason recorded (stored before reasons were kept)"
        else:
            why = reason.label
            if reason.kind in ("similar", "containment", "rewrite") and reason.score is not None:
                why += f", score {reason.score:.2f}"
            shared = [*reason.shared_entities, *reason.shared_numbers]
            if shared:
                why += f", shared: {', '.join(shared)}"
            if reason.matched is not None:
                why += f", of post {reason.matched[0]}/{reason.matched[1]}"
        click.echo(f"  {p.date:%Y-%m-%d %H:%M}  {name}/{p.message_id}  {why}")
        click.echo(f"      {shorten(p.text or f'[{p.media_kind}]', 100)}")
    for link in explained.links:
        click.echo(f"  linked to story {link.other(story.id)}: {link.reason}")


@cli.command("recategorise")
@pass_app
def recategorise_cmd(app: AppContext) -> None:
    """Re-evaluate every stored post: language, news or not, built-in section, configured categories."""
    from bot.storage.ingest import Ingestor

    changed = Ingestor(app.db, app.config).recategorise()
    click.echo(f"recategorised: {changed} stories changed")


@cli.command("run")
@click.option("--no-fetch", is_flag=True, help="Run the bot and digests without reading Telegram (posts come from imports).")
@pass_app
def run_cmd(app: AppContext, no_fetch: bool) -> None:
    """Run the service: collection, the bot, digests and alerts, until SIGTERM/Ctrl-C."""
    from bot.app import run_forever

    run_forever(app.config, app.secrets, app.db_path, fetch=not no_fetch)


@cli.command("check-config")
@pass_app
def check_config_cmd(app: AppContext) -> None:
    """Validate the configuration and say which file was read."""
    config = app.config
    source = config.source_path or "(no file: defaults)"
    click.echo(
        f"{source}: OK ({len(config.channels)} channels, {len(config.categories)} categories, "
        f"database {app.db_path})"
    )



@cli.command("health")
@click.pass_context
def health_cmd(ctx: click.Context) -> None:
    """Exit 0 if the service is healthy, else 1 with the reasons (the container HEALTHCHECK)."""
    from bot.ops.health import check_health

    app: AppContext = ctx.obj
    service = app.config.service
    report = check_health(
        app.db,
        now=utcnow(),
        max_age_s=service.health_max_age,
        channel_stuck_hours=service.channel_stuck_hours,
    )
    click.echo(str(report), err=not report.ok)
    if not report.ok:
        ctx.exit(1)


@cli.command("stats")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def stats_cmd(app: AppContext, fmt: str) -> None:
    """Counts (channels, posts, stories, subscribers, pending parts, send errors) and per-channel lag."""
    from bot.ops.health import collect_stats, format_stats

    stats = collect_stats(app.db)
    if fmt == "json":
        _echo_json(stats)
    else:
        for line in format_stats(stats):
            click.echo(line)


# --- live collection (bot.collect.collector, bot.sources.login) ----------------------------------------


def _account_option(value: str) -> str:
    from bot.config import account_name_problem

    name = value.strip()
    problem = account_name_problem(name)
    if problem:
        raise click.BadParameter(problem, param_hint="--account")
    return name


ACCOUNT_OPTION = click.option(
    "--account", default="default", show_default=True, metavar="NAME",
    callback=lambda ctx, param, value: _account_option(value),
    help="The reading account (each has its own session; channels are spread over accounts).",
)


@cli.command("login")
@click.option("--string-session", is_flag=True, help="Print a session string for TELEGRAM_SESSION instead of writing a session file.")
@ACCOUNT_OPTION
@pass_app
def login_cmd(app: AppContext, string_session: bool, account: str) -> None:
    """Log in to Telegram once (phone, code, 2FA password); the service never prompts.

    With --string-session only the session string goes to stdout (prompts and Telethon's
    banner go to stderr), so `$(tgdigest login --string-session)` captures it cleanly.
    """
    import asyncio

    from bot.sources.login import login
    from bot.sources.telethon_source import session_env_name

    result = asyncio.run(
        login(
            app.secrets,
            data_dir=app.data_dir,
            phone=lambda: click.prompt("Phone number (international format, e.g. +4915...)", err=True),
            code=lambda: click.prompt("Login code Telegram sent you", err=True),
            password=lambda: click.prompt("Two-step verification password", hide_input=True, err=True),
            string_session=string_session,
            account=account,
            telegram=app.config.telegram,
        )
    )
    click.echo(f"Logged in as {result.user} (account {account}).", err=True)
    if result.session_string:
        click.echo(f"Set this as {session_env_name(account)} (keep it secret, it is your account):", err=True)
        click.echo(result.session_string)
    else:
        click.echo(f"Session saved to {result.session_path} (mode 0600).", err=True)


@cli.command("logout")
@ACCOUNT_OPTION
@pass_app
def logout_cmd(app: AppContext, account: str) -> None:
    """Forget a reading account's session; its public channels are read by the other accounts."""
    from bot.collect.accounts import record_logged_out
    from bot.sources.login import logout

    result = logout(app.secrets, data_dir=app.data_dir, account=account)
    record_logged_out(app.db, account, "logged out with `tgdigest logout`", utcnow())
    for path in result.removed:
        click.echo(f"removed {path}", err=True)
    if result.env_name:
        click.echo(f"{result.env_name} is still set in the environment: remove it there too.", err=True)
    click.echo(f"account {account} logged out; restart `tgdigest run` so its channels move to the other accounts")


@cli.command("accounts")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def accounts_cmd(app: AppContext, fmt: str) -> None:
    """List the reading accounts: channels, flood state, last success, errors."""
    from bot.collect.accounts import list_accounts
    from bot.sources.telethon_source import known_sessions

    rows = list_accounts(
        app.db,
        sessions=known_sessions(app.secrets, app.data_dir),
        configured=[c.account for c in app.config.channels if c.account],
        now=utcnow(),
    )
    if fmt == "json":
        _echo_json(rows)
        return
    for row in rows:
        state = row["state"] + (f" until {row['flood_until']}" if row["flood_until"] else "")
        click.echo(
            f"{row['name']:16}  {row['channels']:>4} channels  {state:32}  session {row['session'] or '-'}"
            f"  last success {row['last_success_at'] or 'never'}"
        )
        if row["channels_with_errors"]:
            click.echo(f"    {row['channels_with_errors']} channels with errors (see `tgdigest channels`)")
        if row["last_error"]:
            click.echo(f"    last error: {row['last_error']}")
    if not rows:
        click.echo("no reading accounts: run `tgdigest login` (or `tgdigest login --account NAME`)", err=True)
    else:
        click.echo(f"{len(rows)} accounts", err=True)


@cli.command("channels")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def channels_cmd(app: AppContext, fmt: str) -> None:
    """List watched channels: id, username, title, account, last post id, last poll, last error, next poll."""
    from bot.collect.collector import list_channels, sync_configured_channels

    sync_configured_channels(app.db, app.config)
    rows = list_channels(app.db)
    if fmt == "json":
        _echo_json(rows)
        return
    for row in rows:
        name = row["title"] or (f"@{row['username']}" if row["username"] else row["handle"])
        ident = row["id"] if row["id"] is not None else "(not resolved yet)"
        state = "" if row["active"] else "  [inactive]"
        account = f"  account {row['account']}{' (pinned)' if row['pinned'] else ''}" if row["account"] else ""
        click.echo(
            f"{shorten(str(name), 40):40}  {ident}  @{row['username'] or '-'}  {row['source'] or '-'}{account}{state}"
        )
        click.echo(
            f"    last post {row['last_message_id']}, last poll {row['last_poll_at'] or 'never'}"
            + (f", next poll not before {row['next_poll_at']}" if row["next_poll_at"] else "")
        )
        if row["last_error"]:
            click.echo(f"    error: {row['last_error']}")
    click.echo(f"{len(rows)} channels", err=True)


@cli.command("fetch")
@click.option("--channel", metavar="X", help="Only this channel (@username, link, id or title).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def fetch_cmd(app: AppContext, channel: str | None, fmt: str) -> None:
    """Run one collection pass now and print what it got."""
    import asyncio

    from bot.collect.collector import fetch, summarize

    report = asyncio.run(fetch(app.db, app.config, app.secrets, data_dir=app.data_dir, only=channel))
    if fmt == "json":
        _echo_json(summarize(report))
        return
    for item in report.channels:
        if item.error:
            click.echo(f"{item.name}: error: {item.error}")
        elif item.skipped:
            click.echo(f"{item.name}: skipped ({item.skipped})")
        elif item.resolved:
            click.echo(f"{item.name}: resolved (id {item.channel_id})")
        else:
            by = f", account {item.account}" if item.account else ""
            click.echo(f"{item.name}: {item.new} new, {item.updated} updated (last post {item.cursor}{by})")
    click.echo(f"{report.new} new posts, {report.updated} updated, {len(report.errors)} errors", err=True)


@cli.command("bot")
@pass_app
def bot_cmd(app: AppContext) -> None:
    """Run the subscriber bot alone (long polling and commands) until Ctrl-C."""
    import asyncio

    from bot.ops.lock import acquire_lock
    from bot.telegram.updates import run_bot

    # Two pollers on one bot make Telegram answer 409 Conflict: one owner per data directory.
    with acquire_lock(app.data_dir):
        asyncio.run(run_bot(app.config, app.secrets, app.db_path))


@cli.command("digest")
@click.option("--chat", "chat_id", type=int, required=True, help="The subscriber's chat id.")
@click.option("--dry-run", is_flag=True, help="Print the digest without sending it or marking anything.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def digest_cmd(app: AppContext, chat_id: int, dry_run: bool, fmt: str) -> None:
    """Build one subscriber's digest of what is new now; send it unless --dry-run."""
    from bot.app import run_digest_command
    from bot.core.text import visible_text
    from bot.digests.delivery import digest_to_json

    built = run_digest_command(app.db, app.config, app.secrets, chat_id=chat_id, dry_run=dry_run)
    if fmt == "json":
        _echo_json(digest_to_json(built))
    elif built.empty:
        click.echo(built.nothing_new_text())
    else:
        for number, message in enumerate(built.messages, 1):
            click.echo(f"--- message {number}/{len(built.messages)} ---")
            click.echo(visible_text(message))
    action = "not sent (dry run)" if dry_run or built.empty else "sent"
    stories, parts = len(built.selection.stories), len(built.messages)
    click.echo(
        f"{stories} {'story' if stories == 1 else 'stories'} in {parts} {'message' if parts == 1 else 'messages'}, {action}",
        err=True,
    )


@cli.group("subscribers")
def subscribers_group() -> None:
    """Back up, move or restore subscribers: their subscriptions, settings and mutes as JSON."""


@subscribers_group.command("export")
@click.option("--chat", "chat_ids", type=int, multiple=True, help="Only this chat (repeatable); default: everyone.")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, writable=True, allow_dash=True), default="-",
              show_default=True, help="File to write (- for stdout).")
@pass_app
def subscribers_export_cmd(app: AppContext, chat_ids: tuple[int, ...], output: str) -> None:
    """Write every subscriber (or --chat) as one JSON document `subscribers import` reads."""
    from bot.storage.subscriber_data import all_subscribers_document

    document = all_subscribers_document(app.db, chat_ids=list(chat_ids) if chat_ids else None)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output == "-":
        click.echo(text, nl=False)
    else:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as e:
            raise TgdigestError(f"{output}: cannot write: {e.strerror or e}") from None
    entries = document["subscribers"]
    count = sum(len(e["subscriptions"]) for e in entries)
    click.echo(f"{len(entries)} subscribers, {count} subscriptions exported", err=True)


@subscribers_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@pass_app
def subscribers_import_cmd(app: AppContext, file: str) -> None:
    """Merge a `subscribers export` file into this database (one transaction: all or nothing)."""
    from bot.storage.subscriber_data import import_all, parse_all
    from bot.telegram.commands import parse_subscription

    try:
        raw = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TgdigestError(f"{file}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as e:
        raise TgdigestError(f"{file}: not JSON (line {e.lineno}: {e.msg})") from None

    def check(text: str) -> object:
        return parse_subscription(text, app.config.query)

    try:
        entries = parse_all(document, check_query=check)
    except TgdigestError as e:
        raise TgdigestError(f"{file}: {e}; nothing was imported") from None
    report = import_all(
        app.db, entries, limit=app.config.bot.max_subscriptions,
        default_time=app.config.digest.default_time, default_timezone=app.config.digest.default_timezone,
    )
    click.echo(
        f"{report.subscribers} subscribers ({report.created} new): {report.added} subscriptions added, "
        f"{report.changed_mode} changed mode, {report.unchanged} already there; {report.mutes_added} mutes added",
        err=True,
    )
