"""The import pipeline: a worker process reads and prepares, this one stores; same result as in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.collect.importer import import_export
from bot.config import CategoryConfig, Config
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor

CONFIG = Config(categories=(CategoryConfig("BRICS", "BRICS"), CategoryConfig("Asia", "ASEAN OR China")))


def _snapshot(db) -> list[tuple]:
    posts = db.execute(
        "SELECT channel_id, message_id, text, hashtags, categories, story_id, lang, news, section "
        "FROM posts ORDER BY 1, 2"
    ).fetchall()
    stories = db.execute(
        "SELECT id, rep_channel_id, rep_message_id, post_count, categories, news, news_posts, section_votes "
        "FROM stories ORDER BY 1"
    ).fetchall()
    return posts + stories


def test_worker_process_gives_the_same_result_as_in_process(tmp_path: Path, sample_export: Path,
                                                            repost_export: Path) -> None:
    """Both pipelines store identical posts, stories and categories, and report the same counts."""
    results = {}
    snapshots = {}
    for parallel in (False, True):
        db = open_db(tmp_path / f"{parallel}.sqlite")
        ingestor = Ingestor(db, CONFIG)
        reports = [import_export(path, ingestor, username=name, batch_size=7, parallel=parallel)
                   for path, name in ((sample_export, "mfa_russia"), (repost_export, "worlddesk_demo"))]
        results[parallel] = [(r.result.new, r.result.duplicate, r.result.stories_new, r.error) for r in reports]
        snapshots[parallel] = _snapshot(db)
        db.close()
    assert results[False] == results[True] == [(24, 12, 12, None), (10, 5, 5, None)]
    assert snapshots[False] == snapshots[True]


def test_a_file_that_breaks_off_keeps_what_came_before(tmp_path: Path) -> None:
    """A truncated export stores the messages before the break and reports the error, in the worker too."""
    messages = [{"id": i, "type": "message", "date_unixtime": str(1_750_000_000 + 60 * i),
                 "text": f"Report number {i} on the ASEAN ministerial meeting in Kuala Lumpur"} for i in range(1, 301)]
    text = json.dumps({"name": "c", "type": "public_channel", "id": 77, "messages": messages})
    broken = tmp_path / "broken.json"
    broken.write_text(text[: int(len(text) * 0.8)])
    db = open_db(tmp_path / "t.sqlite")
    report = import_export(broken, Ingestor(db, CONFIG), batch_size=50, parallel=True)
    assert report.error is not None and "not valid JSON" in report.error and str(broken) in report.error
    stored = db.execute("SELECT count(*) FROM posts").fetchone()[0]
    assert stored == report.result.new and 150 <= stored < 300


def test_problems_and_progress_come_through_the_worker(tmp_path: Path) -> None:
    """Bad messages are reported by id and progress reaches the caller from the worker process."""
    messages = [{"id": i, "type": "message", "date_unixtime": str(1_750_000_000 + i), "text": "x " * 200}
                for i in range(1, 2001)]
    messages[10]["date_unixtime"] = "soon"
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"name": "c", "type": "public_channel", "id": 78, "messages": messages}))
    seen: list[int] = []
    db = open_db(tmp_path / "t.sqlite")
    report = import_export(path, Ingestor(db, CONFIG), parallel=True, on_progress=seen.append)
    assert [p.message_id for p in report.problems] == [11]
    assert report.result.new == 1999
    assert seen and seen[-1] == path.stat().st_size and seen == sorted(seen)


def test_several_files_one_broken_the_others_still_import(tmp_path: Path, sample_export: Path,
                                                          repost_export: Path) -> None:
    """In one worker run, a broken file in the middle is reported and the files after it import."""
    from bot.collect.importer import import_exports

    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x", "type": "public_channel", "id": 5, "messages": [{"id": 1, "type": "mess')
    db = open_db(tmp_path / "t.sqlite")
    reports = list(import_exports([sample_export, broken, repost_export], Ingestor(db, CONFIG), parallel=True))
    assert [r.path for r in reports] == [sample_export, broken, repost_export]
    assert [r.error is None for r in reports] == [True, False, True]
    assert [r.result.new for r in reports] == [24, 0, 10]


@pytest.mark.parametrize("sections_in_worker", [True, False, None])
def test_any_number_of_workers_stores_the_same(
    tmp_path: Path, sample_export: Path, repost_export: Path, sections_in_worker: bool | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files dealt to 1, 2 or 3 reading workers are stored exactly as in-process: posts (with
    language, news and section), stories and counts; sections on, so every derived field counts,
    whichever process adds them."""
    from dataclasses import replace

    from bot.collect import importer
    from bot.collect.importer import import_exports

    monkeypatch.setattr(importer, "SECTIONS_IN_WORKER", sections_in_worker)

    config = replace(CONFIG, builtin_categories=True)
    copies = []
    for i in range(3):  # more files than workers, each its own channel
        for source in (sample_export, repost_export):
            data = json.loads(source.read_text(encoding="utf-8"))
            data["id"] = data["id"] * 10 + i
            copy = tmp_path / f"{source.stem}_{i}.json"
            copy.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            copies.append(copy)
    outcomes = {}
    for workers in (None, 1, 2, 3):
        db = open_db(tmp_path / f"w{workers}.sqlite")
        reports = list(import_exports(copies, Ingestor(db, config), batch_size=5,
                                      parallel=workers is not None, workers=workers))
        outcomes[workers] = ([(r.path, r.result.new, r.result.duplicate, r.result.stories_new, r.error)
                              for r in reports], _snapshot(db))
        db.close()
    assert outcomes[None][0][0][1:] == (24, 12, 12, None)
    assert any(row[-1] is not None for row in outcomes[None][1][:10])  # sections were stored
    assert outcomes[1] == outcomes[None]
    assert outcomes[2] == outcomes[None]
    assert outcomes[3] == outcomes[None]


def test_repeat_cache_prepares_a_repeat_exactly_as_the_first_time(sample_export: Path) -> None:
    """A repeated text (same hashtags and channel) is served from the cache, identical to
    preparing it again but for the post itself; another channel or other hashtags are not."""
    from dataclasses import replace

    from bot.collect.importer import RepeatCache
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.ingest import prepare
    from bot.stories.categorise import Categoriser

    categoriser = Categoriser.from_config(replace(CONFIG, builtin_categories=True))
    cache = RepeatCache(categoriser, size=8)
    posts = [p for p in read_export(sample_export, username="mfa_russia") if isinstance(p, Post)]
    for post in posts:
        cache.prepare(post)
    assert cache.hits == 0
    repeat = replace(posts[-2], message_id=9999)
    assert cache.prepare(repeat) == prepare(repeat, categoriser)
    assert cache.hits == 1
    cache.prepare(replace(repeat, channel_username="elsewhere"))
    cache.prepare(replace(repeat, hashtags=("brics",)))
    assert cache.hits == 1
    cache.prepare(posts[0])  # long evicted: the cache holds the latest 8
    assert cache.hits == 1


def test_a_batch_is_prepared_exactly_as_post_by_post(sample_export: Path) -> None:
    """``prepare_batch`` (stage by stage) and the cache's batches (repeats within the batch
    prepared once) give what ``prepare`` gives each post alone."""
    from dataclasses import replace

    from bot.collect.importer import RepeatCache
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.ingest import prepare, prepare_batch
    from bot.stories.categorise import Categoriser

    categoriser = Categoriser.from_config(replace(CONFIG, builtin_categories=True))
    posts = [p for p in read_export(sample_export, username="mfa_russia") if isinstance(p, Post)]
    repeats = [replace(p, message_id=p.message_id + 10_000) for p in posts[::3]]
    untagged = [replace(p, message_id=p.message_id + 20_000, hashtags=()) for p in posts if "#" in p.text]
    batch = posts + repeats + untagged
    assert untagged and repeats
    one_by_one = [prepare(p, categoriser) for p in batch]
    assert prepare_batch(batch, categoriser) == one_by_one
    assert prepare_batch(batch, categoriser, sections=False) == [prepare(p, categoriser, sections=False) for p in batch]
    cache = RepeatCache(categoriser)
    assert cache.prepare_batch(batch) == one_by_one
    assert cache.hits == len(repeats)  # prepared once, within the batch
    assert cache.prepare_batch(batch[:5]) == one_by_one[:5]
    assert cache.hits == len(repeats) + 5


def test_with_section_gives_what_the_replace_it_replaced_gave(sample_export: Path) -> None:
    from dataclasses import replace

    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.ingest import Prepared, prepare_batch, with_section
    from bot.stories.categorise import Categoriser

    def old_with_section(item: Prepared, categoriser: Categoriser) -> Prepared:
        verdict = categoriser.verdict(item.text_norm)
        if verdict.section is not None:
            return replace(item, categories=(*item.categories, verdict.section), news=verdict.news,
                           section=verdict.section)
        return item if verdict.news else replace(item, news=False)

    posts = [p for p in read_export(sample_export, username="mfa_russia") if isinstance(p, Post)]
    adverts = ["Скидка 50% на все курсы! Успейте купить сегодня, промокод SALE", "Big sale! Buy now, 50% off, use code SAVE50"]
    posts += [replace(posts[0], message_id=90_000 + i, text=text) for i, text in enumerate(adverts)]
    for builtin in (True, False):
        categoriser = Categoriser.from_config(replace(CONFIG, builtin_categories=builtin))
        items = prepare_batch(posts, categoriser, sections=False)
        made = [with_section(item, categoriser) for item in items]
        assert made == [old_with_section(item, categoriser) for item in items]
        assert any(item.section for item in made) == builtin and any(not item.news for item in made)


def test_the_hand_off_between_processes_keeps_every_field(sample_export: Path) -> None:
    """What a worker packs, the writer unpacks to an equal Prepared: every field of it (a
    field added to Prepared and not to the hand-off fails here, not silently in imports)."""
    import pickle
    from dataclasses import MISSING, fields, replace

    from bot.collect.importer import _pack, _unpack
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.ingest import Prepared, prepare
    from bot.stories.categorise import Categoriser

    categoriser = Categoriser.from_config(replace(CONFIG, builtin_categories=True))
    batch = [prepare(p, categoriser) for p in read_export(sample_export) if isinstance(p, Post)]
    # Every defaulted field takes another value somewhere in the batch, so a dropped one shows.
    for f in fields(Prepared):
        if f.default is not MISSING:
            assert any(getattr(item, f.name) != f.default for item in batch), f.name
    assert _unpack(pickle.loads(pickle.dumps(_pack(batch)))) == batch


def test_sections_added_by_the_writer_make_what_the_worker_would_have(sample_export: Path) -> None:
    """The reading worker leaves the built-in sections to the writer (``sections=False``),
    which adds them while unpacking: every item equals preparing it whole in one process."""
    import pickle
    from dataclasses import replace

    from bot.collect.importer import _pack, _unpack
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.ingest import prepare, with_section
    from bot.stories.categorise import Categoriser

    categoriser = Categoriser.from_config(replace(CONFIG, builtin_categories=True))
    posts = [p for p in read_export(sample_export) if isinstance(p, Post)]
    whole = [prepare(p, categoriser) for p in posts]
    halves = [prepare(p, categoriser, sections=False) for p in posts]
    # The split is visible: items with a section or not news differ until completed.
    assert any(item.section is not None for item in whole) and any(not item.news for item in whole)
    assert halves != whole and all(item.section is None and item.news for item in halves)
    assert [with_section(item, categoriser) for item in halves] == whole
    assert _unpack(pickle.loads(pickle.dumps(_pack(halves))), categoriser=categoriser) == whole


def test_the_hand_off_carries_keys_of_any_size(sample_export: Path) -> None:
    """Index keys travel as one array of 32-bit ints per batch; a key outside that range
    (keys are CRC-32s today) still arrives, as a tuple."""
    import pickle
    from dataclasses import replace

    from bot.collect.importer import _pack, _pack_safely, _unpack
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.ingest import prepare
    from bot.stories.categorise import Categoriser

    categoriser = Categoriser.from_config(CONFIG)
    batch = [prepare(p, categoriser) for p in read_export(sample_export) if isinstance(p, Post)][:20]
    assert all(item.fingerprint.keys for item in batch)
    _, _, key_bytes, key_tuples = _pack_safely(batch)
    assert key_tuples is None and key_bytes is not None and len(key_bytes) == 4 * sum(len(item.fingerprint.keys) for item in batch)
    odd = [replace(batch[0], fingerprint=replace(batch[0].fingerprint, keys=(2**40, -1, 7))), *batch[1:]]
    with pytest.raises(OverflowError):
        _pack(odd)
    packed = _pack_safely(odd)
    assert packed[2] is None
    assert _unpack(pickle.loads(pickle.dumps(packed))) == odd


def test_the_hand_off_sends_a_field_the_batch_shares_once_and_rebuilds_it_exactly(sample_export: Path) -> None:
    """Columns: a field with one value for the whole batch (the channel, the Nones) travels
    once; equal values of another type (1 and True, 0 and False) are not taken for one."""
    import pickle
    from dataclasses import replace

    from bot.collect.importer import _pack, _unpack
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.ingest import prepare
    from bot.stories.categorise import Categoriser

    categoriser = Categoriser.from_config(CONFIG)
    batch = [prepare(p, categoriser) for p in read_export(sample_export) if isinstance(p, Post)][:12]
    assert len(batch) == 12 and len({item.post.channel_id for item in batch}) == 1
    _, columns, _, _ = _pack(batch)
    assert (batch[0].post.channel_id,) in columns and (None,) in columns  # sent once
    # views: 1 for all but one post, which has True (equal, not the same value)
    mixed = [replace(item, post=replace(item.post, views=True if i == 5 else 1)) for i, item in enumerate(batch)]
    back = _unpack(pickle.loads(pickle.dumps(_pack(mixed))))
    assert back == mixed and [type(item.post.views) for item in back] == [type(item.post.views) for item in mixed]
    # rebuilt without __init__ (slot by slot): the same objects, hashes and reprs as constructed ones
    assert [hash(item.post) for item in back] == [hash(item.post) for item in mixed]
    assert [repr(item.post) for item in back] == [repr(item.post) for item in mixed]  # (sets: any order)
    # a canonical text unlike the normalised one, in one post only
    odd = [replace(batch[0], fingerprint=replace(batch[0].fingerprint, canon="other")), *batch[1:]]
    assert _unpack(pickle.loads(pickle.dumps(_pack(odd)))) == odd
    assert _unpack(pickle.loads(pickle.dumps(_pack([])))) == []


_KILLED_IMPORT = """
import json, multiprocessing, sys, time
from pathlib import Path
from bot.collect.importer import import_exports
from bot.config import Config
from bot.storage.db import open_db
from bot.storage.ingest import Ingestor

if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[2:]]
    ingestor = Ingestor(open_db(Path(sys.argv[1])), Config())
    original = ingestor.ingest_prepared

    def slow(batch, **kw):  # the writer falls behind, so the workers fill their queues
        result = original(batch, **kw)
        print(json.dumps([p.pid for p in multiprocessing.active_children()]), flush=True)
        time.sleep(30)
        return result

    ingestor.ingest_prepared = slow
    for _ in import_exports(paths, ingestor, parallel=True, workers=2, batch_size=10):
        pass
"""


def test_a_killed_import_leaves_no_worker_behind(tmp_path: Path) -> None:
    """SIGKILL the importing process mid-import: its reading workers end by themselves."""
    import os
    import signal
    import subprocess
    import sys
    import time

    paths = []
    for c in range(2):
        messages = [{"id": i, "type": "message", "date_unixtime": str(1_750_000_000 + 60 * i),
                     "text": f"Report {i} from channel {c} on the ASEAN meeting"} for i in range(1, 2001)]
        path = tmp_path / f"c{c}.json"
        path.write_text(json.dumps({"name": f"c{c}", "type": "public_channel", "id": 90 + c, "messages": messages}))
        paths.append(str(path))
    script = tmp_path / "killed_import.py"
    script.write_text(_KILLED_IMPORT)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "t.sqlite"), *paths],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    workers = json.loads(proc.stdout.readline())
    assert len(workers) == 2 and all(Path(f"/proc/{pid}").exists() for pid in workers)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.2)
    left = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    for pid in left:  # clean up before failing, so a regression does not leak processes
        os.kill(pid, signal.SIGKILL)
    assert not left


def _truncated_export(tmp_path: Path, count: int, fraction: float) -> tuple[Path, int]:
    """An export of ``count`` messages cut at ``fraction`` of its bytes, and how many messages end before the cut."""
    messages = [{"id": i, "type": "message", "date_unixtime": str(1_750_000_000 + 60 * i),
                 "text": f"Dispatch {i} from the summit"} for i in range(1, count + 1)]
    text = json.dumps({"name": "c", "type": "public_channel", "id": 79, "messages": messages})
    cut = int(len(text) * fraction)
    complete = sum(1 for i in range(1, count + 1) if text.find(f'"Dispatch {i} from the summit"}}') + 40 < cut)
    path = tmp_path / "broken.json"
    path.write_text(text[:cut])
    return path, complete


def test_every_message_before_the_break_is_stored_and_the_error_is_one_line(tmp_path: Path) -> None:
    """The partial last batch is stored too; the error names file, where reading stopped and the count stored."""
    for parallel in (False, True):
        path, complete = _truncated_export(tmp_path, 2500, 0.83)
        db = open_db(tmp_path / f"{parallel}.sqlite")
        report = import_export(path, Ingestor(db, CONFIG), batch_size=1000, parallel=parallel)
        stored = db.execute("SELECT count(*) FROM posts").fetchone()[0]
        last_id = db.execute("SELECT max(message_id) FROM posts").fetchone()[0]
        assert stored == report.result.new == complete == last_id, parallel
        assert report.error is not None and "\n" not in report.error
        assert str(path) in report.error
        assert f"after message {last_id}" in report.error and f"byte {path.stat().st_size}" in report.error
        assert f"{stored} messages before it were stored" in report.error
        db.close()


def _variant_exports(tmp_path: Path, sample_export: Path) -> list[Path]:
    """The sample export, and a copy in another channel with every text lower-cased and
    credited ("Source: @..."): the same canonical texts (normalised text is casefolded,
    credit lines are dropped), but raw texts whose capitals name fewer entities."""
    from bot.core.models import Post
    from bot.sources.export import read_export

    posts = [p for p in read_export(sample_export) if isinstance(p, Post) and p.text]
    paths = []
    for channel, rewrite in ((501, lambda t: t), (502, lambda t: f"{t.lower()}\n\nSource: @elsewhere")):
        messages = [{"id": p.message_id, "type": "message", "date_unixtime": str(int(p.date.timestamp()) + channel),
                     "text": rewrite(p.text)} for p in posts]
        path = tmp_path / f"channel_{channel}.json"
        path.write_text(json.dumps({"name": f"c{channel}", "type": "public_channel", "id": channel,
                                    "messages": messages}, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


def test_names_and_keys_are_the_posts_own_whatever_the_order_or_worker_count(tmp_path: Path,
                                                                             sample_export: Path) -> None:
    """A copy with the same canonical text but other capitals gets the names (and entity
    keys) of its own text: the same with 1 or 2 reading workers, in-process, and with the
    files in either order; and each order stores the same for every worker count."""
    from bot.collect.importer import _events, _events_in_workers, import_exports
    original, lowered = _variant_exports(tmp_path, sample_export)
    fingerprints: dict[tuple[str, int | None], dict] = {}
    for order in ((original, lowered), (lowered, original)):
        indexed = list(enumerate(order))
        for workers in (None, 1, 2):
            events = (_events(indexed, CONFIG, username=None, batch_size=5) if workers is None else
                      _events_in_workers(indexed, CONFIG, username=None, batch_size=5, workers=workers))
            fingerprints[order[0].stem, workers] = {
                item.post.key: item.fingerprint for kind, batch in events if kind == "batch" for item in batch
            }
    reference = next(iter(fingerprints.values()))
    assert len(reference) == 2 * 24
    for found in fingerprints.values():
        assert found == reference
        assert {key: f.entities for key, f in found.items()} == {key: f.entities for key, f in reference.items()}
    # The case the test is about occurs: same canonical text, other names, each its own.
    differing = [key for key in reference if key[0] == 501
                 and reference[key].chash == reference[(502, key[1])].chash
                 and reference[key].entities != reference[(502, key[1])].entities]
    assert differing
    # ... and those names are what its own text says, whatever was read before it
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.stories.similarity import entities_of

    raw = {p.key: p.text for path in (original, lowered) for p in read_export(path) if isinstance(p, Post)}
    assert all(reference[key].entities == entities_of(text) for key, text in raw.items())
    stored = {}
    for order in ((original, lowered), (lowered, original)):
        for workers in (None, 1, 2):
            db = open_db(tmp_path / f"{order[0].stem}-{workers}.sqlite")
            list(import_exports(list(order), Ingestor(db, CONFIG), batch_size=5,
                                parallel=workers is not None, workers=workers))
            joins = db.execute("SELECT channel_id, message_id, kind, score, shared_entities, shared_numbers "
                               "FROM post_joins ORDER BY 1, 2").fetchall()
            stored[order[0].stem, workers] = (_snapshot(db), joins)
            db.close()
        assert stored[order[0].stem, 1] == stored[order[0].stem, None]
        assert stored[order[0].stem, 2] == stored[order[0].stem, None]


def test_a_batch_with_sections_is_the_batch_without_them_each_with_section(sample_export: Path) -> None:
    """``prepare_batch`` builds each Prepared once with its verdict; that is what adding the
    section afterwards (``with_section``, the writer's way) gives, for news, not-news and
    posts in no section, with the built-in sections on and off."""
    from dataclasses import replace

    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.ingest import prepare_batch, with_section
    from bot.stories.categorise import Categoriser

    posts = [p for p in read_export(sample_export, username="mfa_russia") if isinstance(p, Post)]
    adverts = ["Скидка 50% на все курсы! Успейте купить сегодня, промокод SALE", "Big sale! Buy now, 50% off, use code SAVE50",
               "", "🔥"]
    posts += [replace(posts[0], message_id=90_000 + i, text=text) for i, text in enumerate(adverts)]
    for builtin in (True, False):
        categoriser = Categoriser.from_config(replace(CONFIG, builtin_categories=builtin))
        made = prepare_batch(posts, categoriser)
        assert made == [with_section(item, categoriser) for item in prepare_batch(posts, categoriser, sections=False)]
        assert any(not item.news for item in made) and any(item.news and item.section is None for item in made)
        assert any(item.section for item in made) == builtin


def test_repeat_cache_forgets_the_oldest_whether_or_not_a_batch_repeats(sample_export: Path) -> None:
    """The cache holds the latest ``size`` distinct texts, oldest first, across batches with
    and without repeats, and serves exactly those."""
    from dataclasses import replace

    from bot.collect.importer import RepeatCache
    from bot.core.models import Post
    from bot.sources.export import read_export
    from bot.storage.ingest import prepare
    from bot.stories.categorise import Categoriser

    categoriser = Categoriser.from_config(CONFIG)
    posts = [p for p in read_export(sample_export, username="mfa_russia") if isinstance(p, Post)]
    distinct = list({p.text: p for p in posts}.values())
    assert len(distinct) >= 12
    cache = RepeatCache(categoriser, size=5)
    cache.prepare_batch(distinct[:3])  # room for all
    cache.prepare_batch(distinct[3:10])  # no repeat: remembered in bulk, the oldest 5 go
    assert [key[0] for key in cache._seen] == [p.text for p in distinct[5:10]]
    assert cache.hits == 0
    again = [replace(distinct[9], message_id=70_000), distinct[10], replace(distinct[4], message_id=70_001)]
    assert cache.prepare_batch(again) == [prepare(p, categoriser) for p in again]
    assert cache.hits == 1  # distinct[9] was still there, distinct[4] was not
    assert [key[0] for key in cache._seen] == [p.text for p in (*distinct[7:11], distinct[4])]


def test_the_worker_adds_sections_while_the_importer_has_batches_waiting() -> None:
    """With ``SECTIONS_IN_WORKER = None`` a worker adds a batch's sections itself only while
    the importing process has ``SECTIONS_AHEAD`` events or more queued (a real queue)."""
    import multiprocessing

    from bot.collect.importer import SECTIONS_AHEAD, _importer_is_behind

    out = multiprocessing.get_context("spawn").Queue(maxsize=16)
    try:
        assert not _importer_is_behind(out)  # the importer is waiting: it adds them
        for i in range(SECTIONS_AHEAD - 1):
            out.put(("progress", i))
        assert not _importer_is_behind(out)
        out.put(("progress", SECTIONS_AHEAD))
        assert _importer_is_behind(out)  # it has work queued: the worker has room
        out.get(timeout=5)
        assert not _importer_is_behind(out)
    finally:
        out.close()
