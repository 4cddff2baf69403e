"""Import Telegram Desktop exports: the pipeline behind `tgdigest import`.

Large exports are read and prepared (JSON streaming, normalise, hash, categorise, built-in
sections: no database needed) in worker processes, one file each in turn, while this
process dedupes and stores the batches it receives in file order (where the sections are
added is ``SECTIONS_IN_WORKER``: batch by batch, whichever process has room). Small files are imported in-process: starting
a worker costs more than it saves. Either way the same ``Ingestor`` stores the same
batches, one transaction each, and the result is identical. Workers die with this process
(also under SIGKILL), and the resource tracker ``spawn`` starts ends with the worker, so nothing
of a killed import outlives it; importing again completes it (re-imported posts are
unchanged, never doubled).

One bad message never loses the rest: it is reported as an ``ImportProblem``. A file that
is not an export (or breaks off) is reported on the ``FileImport`` after everything read
before the break has been stored.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import queue
import signal
import sys
import time
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from itertools import accumulate, chain, repeat
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar, cast

from bot.config import Config
from bot.core.gcpace import fewer_collections
from bot.core.models import Post
from bot.errors import ExportBrokenOff, ImportFormatError
from bot.sources.export import ExportHeader, ImportProblem, read_export
from bot.storage.ingest import Ingestor, IngestResult, Prepared, prepare_batch, with_section
from bot.stories.categorise import Categoriser
from bot.stories.dedupe import Fingerprint

PARALLEL_MIN_BYTES = 4 << 20  # below this a worker process costs more than it saves
_QUEUE_DEPTH = 16  # events in flight (mostly batches, ~1 MB each): bounds memory, keeps both cores busy
MAX_DEFAULT_WORKERS = 4  # past this the one writing process is the bottleneck anyway


def default_workers(files: int) -> int:
    """Reading workers when none are asked for: a core each, less the one this process
    stores with (one worker on 2 cores: a second one measured slower there, as it takes
    CPU from the writer, which is the bound); never more than files."""
    cores = os.cpu_count() or 1
    return max(1, min(files, MAX_DEFAULT_WORKERS, cores - 1))


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
    workers: int | None = None,
) -> Iterator[FileImport]:
    """Import export files in order, yielding each file's report as it completes.

    ``on_progress`` gets the bytes read so far over all files. ``parallel=None`` uses a
    worker process when the files add up to ``PARALLEL_MIN_BYTES`` or more; ``workers``: how
    many (``default_workers`` when None). Files are dealt to the workers in turn and stored in
    the given order whatever the count, so the result does not depend on it. A file that is
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
    indexed = list(enumerate(paths))
    if parallel:
        count = max(1, min(len(indexed), workers if workers is not None else default_workers(len(indexed))))
        events = _events_in_workers(indexed, ingestor.config, username=username, batch_size=batch_size, workers=count)
    else:
        events = _events(indexed, ingestor.config, username=username, batch_size=batch_size)
    with fewer_collections(*IMPORT_GC_THRESHOLDS):
        yield from _reports(events, paths, sizes, ingestor, on_progress)


def _reports(
    events: Iterator[Event],
    paths: Sequence[Path],
    sizes: list[int],
    ingestor: Ingestor,
    on_progress: Callable[[int], None] | None,
) -> Iterator[FileImport]:
    done_before = 0
    report: FileImport | None = None
    started = time.perf_counter()
    for kind, payload in events:
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


# An import's processes run the cyclic collector far less often than the default (see
# ``bot.core.gcpace``): 230 -> 194 CPU µs a post in the writing process, 100,000 posts.
IMPORT_GC_THRESHOLDS = (100_000, 50, 1000)


def import_export(path: Path, ingestor: Ingestor, **options: Any) -> FileImport:
    """Import one export file (see ``import_exports``)."""
    return next(import_exports([path], ingestor, **options))


Event = tuple[str, Any]


class RepeatCache:
    """``prepare`` that remembers the latest ``size`` distinct texts: exports repeat posts
    (cross-posts, re-posts, a channel's own repeats), and a repeat then costs a dict lookup
    instead of normalising, fingerprinting, detecting language and categorising again.
    Everything ``prepare`` derives depends only on the text, hashtags and channel username,
    which make the key. ``sections=False``: ``prepare``'s option (see ``_worker``)."""

    def __init__(self, categoriser: Categoriser, *, size: int = 4096, sections: bool = True) -> None:
        self.categoriser = categoriser
        self.size = size
        self.sections = sections
        self.hits = 0
        # An OrderedDict: dropping a plain dict's oldest entry, next(iter(d)), skips over every
        # slot deleted before it, ~2 µs a post once the cache is full.
        self._seen: OrderedDict[tuple[str, tuple[str, ...], str | None], Prepared] = OrderedDict()

    def prepare(self, post: Post) -> Prepared:
        return self.prepare_batch([post])[0]

    def prepare_batch(self, posts: list[Post]) -> list[Prepared]:
        """``prepare`` of each post: repeats from the cache, the rest through
        ``prepare_batch`` together (stage by stage: cheaper than one by one)."""
        seen = self._seen
        out: list[Prepared | None] = []
        new: dict[tuple[str, tuple[str, ...], str | None], list[int]] = {}  # key -> where in out
        for post in posts:
            key = (post.text, post.hashtags, post.channel_username)
            known = seen.get(key)
            if known is not None:
                self.hits += 1
                out.append(replace(known, post=post))
            else:
                slots = new.get(key)
                if slots is None:
                    new[key] = [len(out)]
                else:  # a repeat within the batch: prepared once, like one from the cache
                    self.hits += 1
                    slots.append(len(out))
                out.append(None)
        if new:
            firsts = [posts[slots[0]] for slots in new.values()]
            for (key, slots), made in zip(new.items(), prepare_batch(firsts, self.categoriser, sections=self.sections),
                                          strict=True):
                out[slots[0]] = made
                for slot in slots[1:]:
                    out[slot] = replace(made, post=posts[slot])
                if len(seen) >= self.size:
                    seen.popitem(last=False)  # the oldest: repeats come close together
                seen[key] = made
        return cast(list[Prepared], out)


def _file_events(path: Path, preparer: RepeatCache, *, username: str | None, batch_size: int) -> Iterator[Event]:
    """Events of one file: ("batch", [Prepared]), ("problem", ImportProblem), ("progress", bytes).

    Progress is reported once per batch: the queue to the parent is bounded by events, and
    a flood of small progress events would leave no room for batches to queue up ahead.
    """
    batch: list[Post] = []  # prepared together, when full (see ``prepare_batch``)
    progress: list[int] = []
    try:
        for item in read_export(path, username=username, on_progress=progress.append):
            if isinstance(item, Post):
                batch.append(item)
                if len(batch) >= batch_size:
                    yield "batch", preparer.prepare_batch(batch)
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
            yield "batch", preparer.prepare_batch(batch)
        raise
    if batch:
        yield "batch", preparer.prepare_batch(batch)
    if progress:
        yield "progress", progress[-1]


def _events(
    paths: list[tuple[int, Path]], config: Config, *, username: str | None, batch_size: int, sections: bool = True
) -> Iterator[Event]:
    """Every file's events between ("start", i) and ("end", i), ("broken", message) or
    ("error", message); ``i`` is the file's index in the whole import. ``sections=False``:
    batches without the built-in sections (``prepare``'s option)."""
    preparer = RepeatCache(Categoriser.from_config(config), sections=sections)
    for i, path in paths:
        yield "start", i
        try:
            yield from _file_events(path, preparer, username=username, batch_size=batch_size)
        except ExportBrokenOff as e:
            yield "broken", str(e)
        except ImportFormatError as e:
            yield "error", str(e)
        else:
            yield "end", i


# Batches cross the process boundary as columns: one list per field of Post, Fingerprint and
# Prepared (in their own field order, so a field added to any of them travels too: two once
# did not, and imports silently lost them), and a field with one value for the whole batch
# (a file's channel, title, the Nones of views and edits, ...) as that value once. A tuple a
# post and pickling dataclasses (a __reduce__ per object) made the pipe as expensive as the
# work it moved; columns also let the writer rebuild the batch by C-level ``map`` calls.
_POST_FIELDS = tuple(f.name for f in fields(Post))
_post_values = attrgetter(*_POST_FIELDS)
_FINGERPRINT_REST = tuple(f.name for f in fields(Fingerprint))[3:]  # all but canon, chash, keys
_fingerprint_rest = attrgetter(*_FINGERPRINT_REST)
_PREPARED_REST = tuple(f.name for f in fields(Prepared))[3:]  # all but post, text_norm, fingerprint
_prepared_rest = attrgetter(*_PREPARED_REST)
assert tuple(f.name for f in fields(Fingerprint))[:3] == ("canon", "chash", "keys")
assert tuple(f.name for f in fields(Prepared))[:3] == ("post", "text_norm", "fingerprint")
assert len(_POST_FIELDS) > 1 and len(_FINGERPRINT_REST) > 1 and len(_PREPARED_REST) > 1  # attrgetter: tuples
_post_of = attrgetter("post")
_text_norm_of = attrgetter("text_norm")
_fingerprint_of = attrgetter("fingerprint")
_canon_of = attrgetter("canon")
_chash_of = attrgetter("chash")
_keys_of = attrgetter("keys")


# Index keys (CRC-32s) travel as one array of unsigned 32-bit ints per batch: ~30 ints a
# post pickled one by one cost more than all the rest of the batch.
_KEY_TYPE = "I" if array("I").itemsize == 4 else "L"
# (each post's key count, the columns, the keys as 32-bit ints or else as one tuple a post)
Packed = tuple[list[int], list[Any], bytes | None, list[tuple[int, ...]] | None]
_COLUMN_COUNT = len(_POST_FIELDS) + 3 + len(_FINGERPRINT_REST) + len(_PREPARED_REST)  # + text_norm, canon, chash


def _column(values: list[Any]) -> Any:
    """``values``, or ``(value,)`` when every one is that value (equal and of its type, so
    what is rebuilt from it is indistinguishable)."""
    first = values[0]
    # (a column that varies mostly differs by its last value: then nothing is counted)
    if values[-1] == first and values.count(first) == len(values) and (
        first is None or set(map(type, values)) == {type(first)}
    ):
        return (first,)
    return values


def _pack(batch: list[Prepared]) -> Packed:
    fingerprints = list(map(_fingerprint_of, batch))
    all_keys = list(map(_keys_of, fingerprints))
    keys = array(_KEY_TYPE)
    # from one list: extend() from an iterator grows the array item by item (~40% slower)
    keys.fromlist(list(chain.from_iterable(all_keys)))  # OverflowError: a key is not a 32-bit unsigned int
    return (list(map(len, all_keys)), _columns(batch, fingerprints), keys.tobytes(), None)


def _columns(batch: list[Prepared], fingerprints: list[Fingerprint]) -> list[Any]:
    if not batch:
        return []
    text_norms = list(map(_text_norm_of, batch))
    # The canonical text is usually the normalised text itself: then it is not sent twice.
    canons = [None if canon == text_norm else canon
              for canon, text_norm in zip(map(_canon_of, fingerprints), text_norms, strict=True)]
    columns: list[list[Any]] = [
        *map(list, zip(*map(_post_values, map(_post_of, batch)), strict=True)),
        text_norms, canons, list(map(_chash_of, fingerprints)),
        *map(list, zip(*map(_fingerprint_rest, fingerprints), strict=True)),
        *map(list, zip(*map(_prepared_rest, batch), strict=True)),
    ]
    return list(map(_column, columns))


def _pack_safely(batch: list[Prepared]) -> Packed:
    """``_pack``, or, should a key not be a 32-bit unsigned int, the keys as tuples."""
    try:
        return _pack(batch)
    except OverflowError:
        fingerprints = list(map(_fingerprint_of, batch))
        all_keys = list(map(_keys_of, fingerprints))
        return list(map(len, all_keys)), _columns(batch, fingerprints), None, all_keys


# The writer rebuilds a batch's dataclasses a field at a time, as pickle rebuilds objects:
# each slot set over the whole batch by one C-level map (its descriptor's __set__), ~2.5x
# cheaper than a frozen dataclass's __init__ (an object.__setattr__ call per field in Python).
# Every field comes from a column (_COLUMN_COUNT), so none is left unset; __init__ does
# nothing else for these three (no __post_init__: checked here).
_T = TypeVar("_T")
_SLOTS: dict[type, list[Callable[[Any, Any], None]]] = {
    cls: [cls.__dict__[f.name].__set__ for f in fields(cls)] for cls in (Post, Fingerprint, Prepared)
}
assert not any(hasattr(cls, "__post_init__") for cls in _SLOTS), "_build would skip a __post_init__"


def _build(cls: type[_T], columns: Sequence[Iterable[Any]], n: int) -> list[_T]:
    """``[cls(*values) for values in zip(*columns)]``, without ``cls.__init__``."""
    objects = list(map(object.__new__, repeat(cls, n)))
    setters = _SLOTS[cls]
    assert len(columns) == len(setters)
    for set_slot, column in zip(setters, columns, strict=True):
        deque(map(set_slot, objects, column), maxlen=0)
    return objects


def _unpack(packed: Packed, *, categoriser: Categoriser | None = None) -> list[Prepared]:
    """The batch ``_pack`` packed; with ``categoriser``, each item ``with_section``."""
    key_counts, packed_columns, key_bytes, key_tuples = packed
    n = len(key_counts)
    if n == 0:
        return []
    assert len(packed_columns) == _COLUMN_COUNT, "packed by another version of this module"
    columns = [column * n if type(column) is tuple else column for column in packed_columns]
    post_columns = columns[: len(_POST_FIELDS)]
    text_norms, canons, chashes = columns[len(_POST_FIELDS) : len(_POST_FIELDS) + 3]
    fingerprint_rest = columns[len(_POST_FIELDS) + 3 : len(_POST_FIELDS) + 3 + len(_FINGERPRINT_REST)]
    prepared_rest = columns[len(_POST_FIELDS) + 3 + len(_FINGERPRINT_REST) :]
    if key_tuples is None:
        flat = array(_KEY_TYPE)
        flat.frombytes(cast(bytes, key_bytes))
        every_key = tuple(flat)
        ends = list(accumulate(key_counts))
        keys: Iterable[tuple[int, ...]] = map(every_key.__getitem__, map(slice, accumulate(key_counts, initial=0), ends))
    else:
        keys = key_tuples
    if type(packed_columns[len(_POST_FIELDS) + 1]) is tuple and canons[0] is None:
        canonical: Iterable[str] = text_norms  # every canonical text is the normalised text
    else:
        canonical = [text_norm if canon is None else canon for canon, text_norm in zip(canons, text_norms, strict=True)]
    posts = _build(Post, post_columns, n)
    fingerprints = _build(Fingerprint, [canonical, chashes, keys, *fingerprint_rest], n)
    out = _build(Prepared, [posts, text_norms, fingerprints, *prepared_rest], n)
    # the sections after the whole batch is unpacked: one stage at a time keeps each hot
    return out if categoriser is None else [with_section(item, categoriser) for item in out]


# Where a parallel import adds the built-in sections (``bot.stories.sections``, ~15-20 µs a
# post): with one worker on two cores the wall time is the slower process's CPU time, so
# they go to the process with room. True: the worker adds them to every batch; False: this
# process does. None (the default): batch by batch, the worker adds them while this process
# has ``SECTIONS_AHEAD`` events or more queued (it is behind, so the worker has room), and
# leaves them to this process when the queue runs short (this process is waiting). Which
# process is the lighter depends on the texts, the index's size and the day's code: the
# worker used to be (sections in the writer: worker 145-165, writer 195-222 µs a post), then
# after issue 14's fifth round the writer was (all in the worker: worker 129-132, writer
# 116-121), so a fixed choice idled one of the two cores either way. The result is the same
# whichever process adds a batch's sections (they depend on its texts alone).
SECTIONS_IN_WORKER: bool | None = None
SECTIONS_AHEAD = 4  # events: about two batches (each comes with a progress event)

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
    paths: list[tuple[int, Path]],
    config: Config,
    username: str | None,
    batch_size: int,
    out: Any,
    parent_pid: int,
    sections: bool | None = False,
) -> None:
    """Runs in a worker process: every event goes to ``out``, then ("done", None); a batch
    goes as (packed batch, whether it has its sections). ``sections``: add the built-in
    sections here (True), leave them to the importing process (False), or decide batch by
    batch (None, see ``SECTIONS_IN_WORKER``)."""
    _die_with_parent(parent_pid)
    gc.set_threshold(*IMPORT_GC_THRESHOLDS)  # this process only imports
    categoriser = Categoriser.from_config(config) if sections is None else None
    try:
        for kind, payload in _events(paths, config, username=username, batch_size=batch_size,
                                     sections=bool(sections)):
            if kind == "batch":
                sectioned = bool(sections)
                if categoriser is not None and _importer_is_behind(out):
                    payload, sectioned = [with_section(item, categoriser) for item in payload], True
                payload = (_pack_safely(payload), sectioned)
            _put(out, (kind, payload), parent_pid)
    except Exception as e:  # reported in the parent, which has the logging and the exit code
        _put(out, ("crash", f"{type(e).__name__}: {e}"), parent_pid)
    _put(out, ("done", None), parent_pid)


def _importer_is_behind(out: Any) -> bool:
    """Whether the importing process has ``SECTIONS_AHEAD`` events or more waiting in ``out``."""
    try:
        return bool(out.qsize() >= SECTIONS_AHEAD)
    except NotImplementedError:  # macOS has no sem_getvalue: keep the sections in the worker
        return True


def _events_in_workers(
    paths: list[tuple[int, Path]], config: Config, *, username: str | None, batch_size: int, workers: int
) -> Iterator[Event]:
    """``_events`` of every file, prepared by ``workers`` processes. Worker k reads files
    k, k + workers, ...; this process takes each file's events from its worker in file
    order, so what is stored, and in which order, is the same for any count."""
    # "spawn": a fresh interpreter, so no SQLite connection or thread state is inherited.
    context = multiprocessing.get_context("spawn")
    # the sections of the batches the workers leave without them are added here
    categoriser = None if SECTIONS_IN_WORKER else Categoriser.from_config(config)
    depth = max(4, _QUEUE_DEPTH // workers)
    channels = [context.Queue(maxsize=depth) for _ in range(workers)]
    processes = [
        context.Process(
            target=_worker,
            args=(paths[k::workers], config, username, batch_size, channels[k], os.getpid(), SECTIONS_IN_WORKER),
            name=f"tgdigest-import-{k + 1}", daemon=True,
        )
        for k in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for position in range(len(paths)):
            k = position % workers
            # One file's events: its "start" up to its "end", "broken" or "error".
            while True:
                kind, payload = _next_event(channels[k], processes[k])
                if kind == "done":  # a worker ends only after its files' ends: a bug if not
                    raise RuntimeError("a reading worker finished before its files did")
                if kind == "crash":
                    raise RuntimeError(f"reading the exports failed: {payload}")
                if kind == "batch":
                    packed, sectioned = payload
                    payload = _unpack(packed, categoriser=None if sectioned else categoriser)
                yield kind, payload
                if kind in ("end", "broken", "error"):
                    break
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process, channel in zip(processes, channels, strict=True):
            process.join(timeout=5)
            channel.close()


def _next_event(channel: Any, process: Any) -> tuple[str, Any]:
    while True:
        try:
            event: tuple[str, Any] = channel.get(timeout=1.0)
            return event
        except queue.Empty:
            if not process.is_alive():
                raise ImportFormatError(
                    f"the process reading the exports stopped unexpectedly (exit code {process.exitcode})"
                ) from None
