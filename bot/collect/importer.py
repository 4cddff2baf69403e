"""Import Telegram Desktop exports: the pipeline behind `tgdigest import`.

A large export is read and prepared (JSON streaming, normalise, hash, categorise: no
database needed) in a worker process while this process dedupes and stores the batches it
receives, so both cores work. Small files are imported in-process: starting a worker costs
more than it saves. Either way the same ``Ingestor`` stores the same batches, one
transaction each, and the result is identical. The worker dies with this process (also
under SIGKILL), and the resource tracker ``spawn`` starts ends with the worker, so nothing
of a killed import outlives it; importing again completes it (re-imported posts are
unchanged, never doubled).

One bad message never loses the rest: it is reported as an ``ImportProblem``. A file that
is not an export (or breaks off) is reported on the ``FileImport`` after everything read
before the break has been stored.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from operator import attrgetter
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.core.models import Post
from bot.errors import ExportBrokenOff, ImportFormatError
from bot.sources.export import ExportHeader, ImportProblem, read_export
from bot.storage.ingest import Ingestor, IngestResult, Prepared, prepare
from bot.stories.categorise import Categoriser
from bot.stories.dedupe import Fingerprint

PARALLEL_MIN_BYTES = 4 << 20  # below this a worker process costs more than it saves
_QUEUE_DEPTH = 16  # events in flight (mostly batches, ~1 MB each): bounds memory, keeps both cores busy


@dataclass(slots=True)
class FileImport:
    """What importing one file did."""

    path: Path
    result: IngestResult = field(default_factory=IngestResult)
    problems: list[ImportProblem] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None  # the file broke off here; what came before it is stored


def import_exports(
    paths: Sequence[Path],
    ingestor: Ingestor,
    *,
    username: str | None = None,
    batch_size: int = 1000,
    on_progress: Callable[[int], None] | None = None,
    parallel: bool | None = None,
) -> Iterator[FileImport]:
    """Import export files in order, yielding each file's report as it completes.

    ``on_progress`` gets the bytes read so far over all files. ``parallel=None`` uses a
    worker process when the files add up to ``PARALLEL_MIN_BYTES`` or more. A file that is
    not an export, or breaks off, sets ``error`` on its report (what came before the break
    is stored) and the next file is imported.
    """
    sizes = []
    for path in paths:
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            sizes.append(0)
    if parallel is None:
        parallel = sum(sizes) >= PARALLEL_MIN_BYTES
    source = _events_in_worker if parallel else _events
    done_before = 0
    report: FileImport | None = None
    started = time.perf_counter()
    for kind, payload in source(list(paths), ingestor.config, username=username, batch_size=batch_size):
        if kind == "start":
            report = FileImport(path=paths[payload])
            started = time.perf_counter()
            done_before = sum(sizes[:payload])
            continue
        assert report is not None  # every file's events come after its "start"
        if kind == "batch":
            try:
                report.result.add(ingestor.ingest_prepared(payload))
            except ImportFormatError as e:  # e.g. a username that belongs to another channel
                report.error = report.error or str(e)
        elif kind == "problem":
            if not payload.skipped:
                report.problems.append(payload)
        elif kind == "progress":
            if on_progress is not None:
                on_progress(done_before + payload)
        elif kind in ("error", "broken", "end"):
            if kind == "error":
                report.error = report.error or payload
            elif kind == "broken":
                report.error = report.error or f"{payload}; {report.result.total} messages before it were stored"
            report.seconds = time.perf_counter() - started
            yield report


def import_export(path: Path, ingestor: Ingestor, **options: Any) -> FileImport:
    """Import one export file (see ``import_exports``)."""
    return next(import_exports([path], ingestor, **options))


Event = tuple[str, Any]


def _file_events(path: Path, categoriser: Categoriser, *, username: str | None, batch_size: int) -> Iterator[Event]:
    """Events of one file: ("batch", [Prepared]), ("problem", ImportProblem), ("progress", bytes).

    Progress is reported once per batch: the queue to the parent is bounded by events, and
    a flood of small progress events would leave no room for batches to queue up ahead.
    """
    batch: list[Prepared] = []
    progress: list[int] = []
    try:
        for item in read_export(path, username=username, on_progress=progress.append):
            if isinstance(item, Post):
                batch.append(prepare(item, categoriser))
                if len(batch) >= batch_size:
                    yield "batch", batch
                    batch = []
                    if progress:
                        yield "progress", progress[-1]
                        progress.clear()
            elif isinstance(item, ImportProblem):
                yield "problem", item
            elif not isinstance(item, ExportHeader):
                raise TypeError(f"unexpected item from the export reader: {item!r}")  # a bug
    except ExportBrokenOff:
        # Every message read completely before the break is stored, the partial batch too.
        if batch:
            yield "batch", batch
        raise
    if batch:
        yield "batch", batch
    if progress:
        yield "progress", progress[-1]


def _events(paths: list[Path], config: Config, *, username: str | None, batch_size: int) -> Iterator[Event]:
    """Every file's events between ("start", i) and ("end", i) or ("error", message)."""
    categoriser = Categoriser.from_config(config)
    for i, path in enumerate(paths):
        yield "start", i
        try:
            yield from _file_events(path, categoriser, username=username, batch_size=batch_size)
        except ExportBrokenOff as e:
            yield "broken", str(e)
        except ImportFormatError as e:
            yield "error", str(e)
        else:
            yield "end", i


# Batches cross the process boundary as plain tuples: pickling dataclasses costs a
# __reduce__ per object, which made the pipe as expensive as the work it moved.
_POST_FIELDS = tuple(f.name for f in fields(Post))
_post_values = attrgetter(*_POST_FIELDS)


def _pack(batch: list[Prepared]) -> list[tuple]:
    out = []
    for item in batch:
        f = item.fingerprint
        # The canonical text is usually the normalised text itself: then it is not sent twice.
        canon = None if f.canon == item.text_norm else f.canon
        out.append((_post_values(item.post), item.text_norm, canon, f.chash, f.keys, item.hashtags, item.categories))
    return out


def _unpack(rows: list[tuple]) -> list[Prepared]:
    return [
        Prepared(
            Post(*values), text_norm, Fingerprint(text_norm if canon is None else canon, chash, keys),
            hashtags, categories,
        )
        for values, text_norm, canon, chash, keys, hashtags, categories in rows
    ]


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_PARENT_CHECK_SECONDS = 1.0


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker end when the importing process dies, even by SIGKILL.

    On Linux the kernel does it (``prctl(PR_SET_PDEATHSIG)``); elsewhere, and for the
    moment before prctl took effect, ``_put`` notices the new parent pid.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no usable libc: the portable check still works
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _put(out: Any, event: Event, parent_pid: int) -> None:
    """Put on the bounded queue, giving up (and exiting) if the parent is gone meanwhile."""
    while True:
        try:
            out.put(event, timeout=_PARENT_CHECK_SECONDS)
            return
        except queue.Full:
            if os.getppid() != parent_pid:
                # No reader is left: exit without joining the queue's feeder thread,
                # which would wait forever on the full pipe.
                os._exit(1)


def _worker(
    paths: list[Path], config: Config, username: str | None, batch_size: int, out: Any, parent_pid: int
) -> None:
    """Runs in the worker process: every event goes to ``out``, then ("done", None)."""
    _die_with_parent(parent_pid)
    try:
        for kind, payload in _events(paths, config, username=username, batch_size=batch_size):
            _put(out, (kind, _pack(payload) if kind == "batch" else payload), parent_pid)
    except Exception as e:  # reported in the parent, which has the logging and the exit code
        _put(out, ("crash", f"{type(e).__name__}: {e}"), parent_pid)
    _put(out, ("done", None), parent_pid)


def _events_in_worker(
    paths: list[Path], config: Config, *, username: str | None, batch_size: int
) -> Iterator[Event]:
    # "spawn": a fresh interpreter, so no SQLite connection or thread state is inherited.
    context = multiprocessing.get_context("spawn")
    channel = context.Queue(maxsize=_QUEUE_DEPTH)
    process = context.Process(
        target=_worker, args=(paths, config, username, batch_size, channel, os.getpid()), name="tgdigest-import", daemon=True
    )
    process.start()
    try:
        while True:
            try:
                kind, payload = channel.get(timeout=1.0)
            except queue.Empty:
                if not process.is_alive():
                    raise ImportFormatError(
                        f"the process reading the exports stopped unexpectedly (exit code {process.exitcode})"
                    ) from None
                continue
            if kind == "done":
                break
            if kind == "crash":
                raise RuntimeError(f"reading the exports failed: {payload}")
            yield kind, (_unpack(payload) if kind == "batch" else payload)
    finally:
        if process.is_alive():
            process.terminate()
        process.join(timeout=5)
        channel.close()
