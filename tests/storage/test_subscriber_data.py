"""Delivery modes, mutes, and a subscriber's data out and back in (real SQLite files)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.errors import QueryError, SubscriberDataError
from bot.query.parser import parse_query
from bot.storage import subscriber_data as data
from bot.storage import subscribers as subs
from bot.storage.db import open_db

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def check(text: str) -> object:
    return parse_query(text, max_length=200)


def setup_chat(db, chat_id: int = 1) -> None:
    subs.register(db, chat_id, now=NOW)
    subs.add_subscription(db, chat_id, "oil OR gas", now=NOW)
    subs.add_subscription(db, chat_id, "pipeline", urgent=True, silent=True, now=NOW)
    subs.add_subscription(db, chat_id, "sanction*", urgent=True, now=NOW)
    subs.set_digest_time(db, chat_id, "07:30")
    subs.set_timezone(db, chat_id, "Europe/Berlin")
    subs.set_weekly_day(db, chat_id, 4)
    subs.set_digest_style(db, chat_id, "compact")
    subs.set_include_nonnews(db, chat_id, True)
    subs.add_mute(db, chat_id, "channel", 5001, "@energywire", now=NOW)
    subs.add_mute(db, chat_id, "story", 77, "Tanker delayed", now=NOW)


def test_modes_are_stored_and_changed_by_id(db):
    setup_chat(db)
    modes = [(s.query, s.mode) for s in subs.list_subscriptions(db, 1)]
    assert modes == [("oil OR gas", "digest"), ("pipeline", "silent"), ("sanction*", "alert")]
    first = subs.list_subscriptions(db, 1)[0]
    changed = subs.set_subscription_mode(db, 1, first.id, "silent")
    assert changed is not None and changed.mode == "silent" and changed.urgent
    assert subs.set_subscription_mode(db, 2, first.id, "alert") is None  # another chat's id: untouched
    assert subs.get_subscription(db, 1, first.id).mode == "silent"  # type: ignore[union-attr]
    assert subs.remove_subscription_by_id(db, 1, first.id) is not None
    assert subs.remove_subscription_by_id(db, 1, first.id) is None


def test_mutes_add_list_remove(db):
    setup_chat(db)
    assert subs.add_mute(db, 1, "channel", 5001, "@energywire") is False  # already muted
    mutes = subs.mutes_of(db, 1)
    assert mutes.channels == {5001} and mutes.stories == {77}
    assert [m.label for m in subs.list_mutes(db, 1)] == ["@energywire", "Tanker delayed"]
    removed = subs.remove_mute(db, 1, "story", 77)
    assert removed is not None and removed.label == "Tanker delayed"
    assert subs.remove_mute(db, 1, "story", 77) is None
    assert not subs.mutes_of(db, 2)


def test_export_then_import_into_a_fresh_database_restores_everything(db, tmp_path):
    setup_chat(db)
    document = json.loads(json.dumps(data.subscriber_document(db, 1, now=NOW)))
    assert document["format"] == "tgdigest.subscriber" and document["version"] == 1
    assert document["settings"] == {
        "digest_time": "07:30", "timezone": "Europe/Berlin", "weekly_day": "friday", "paused": False,
        "digest_style": "compact", "include_nonnews": True,
    }
    other = open_db(tmp_path / "other.sqlite")
    try:
        subs.register(other, 9, now=NOW)
        report = data.import_subscriber(other, 9, data.parse_document(document, check_query=check), limit=50)
        assert (report.added, report.mutes_added) == (3, 2)
        assert data.subscriber_document(other, 9, envelope=False) == data.subscriber_document(db, 1, envelope=False)
        again = data.import_subscriber(other, 9, data.parse_document(document, check_query=check), limit=50)
        assert (again.added, again.unchanged, again.mutes_added) == (0, 3, 0)  # idempotent
    finally:
        other.close()


def test_import_merges_and_keeps_what_the_chat_had(db):
    subs.register(db, 1, now=NOW)
    subs.add_subscription(db, 1, "football", now=NOW)
    subs.add_subscription(db, 1, "Pipeline", now=NOW)
    document = {
        "format": "tgdigest.subscriber", "version": 1,
        "subscriptions": [{"query": "pipeline", "mode": "alert"}, {"query": "oil", "mode": "digest"}],
    }
    report = data.import_subscriber(db, 1, data.parse_document(document, check_query=check), limit=50)
    assert (report.added, report.changed_mode) == (1, 1)
    assert [(s.query, s.mode) for s in subs.list_subscriptions(db, 1)] == [
        ("football", "digest"), ("Pipeline", "alert"), ("oil", "digest"),
    ]
    assert subs.get_subscriber(db, 1).digest_time == "09:00"  # type: ignore[union-attr]  # settings absent: kept


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ([], "not a tgdigest export"),
        ({"format": "something", "version": 1}, "format"),
        ({"format": "tgdigest.subscribers", "version": 1}, "operator's file"),
        ({"format": "tgdigest.subscriber", "version": 2}, "version"),
        ({"format": "tgdigest.subscriber", "version": 1, "settings": {"digest_time": "25:99"}}, "settings.digest_time"),
        ({"format": "tgdigest.subscriber", "version": 1, "settings": {"timezone": "Mars/Olympus"}}, "settings.timezone"),
        ({"format": "tgdigest.subscriber", "version": 1, "settings": {"weekly_day": "someday"}}, "settings.weekly_day"),
        ({"format": "tgdigest.subscriber", "version": 1, "subscriptions": [{"query": "(oil"}]}, "subscriptions[0].query"),
        ({"format": "tgdigest.subscriber", "version": 1, "subscriptions": [{"query": "oil", "mode": "loud"}]}, "subscriptions[0].mode"),
        ({"format": "tgdigest.subscriber", "version": 1, "mutes": [{"kind": "user", "id": 1}]}, "mutes[0]"),
    ],
)
def test_a_bad_document_names_its_problem_and_changes_nothing(db, document, where):
    setup_chat(db)
    before = data.subscriber_document(db, 1, envelope=False)
    with pytest.raises(SubscriberDataError) as caught:
        data.import_subscriber(db, 1, data.parse_document(document, check_query=check), limit=50)
    assert where in str(caught.value) and "\n" not in str(caught.value)
    assert data.subscriber_document(db, 1, envelope=False) == before


def test_the_limit_is_checked_before_anything_is_written(db):
    setup_chat(db)
    document = {
        "format": "tgdigest.subscriber", "version": 1, "settings": {"digest_time": "06:00"},
        "subscriptions": [{"query": f"word{i}"} for i in range(3)],
    }
    with pytest.raises(SubscriberDataError, match="the most allowed is 5"):
        data.import_subscriber(db, 1, data.parse_document(document, check_query=check), limit=5)
    assert len(subs.list_subscriptions(db, 1)) == 3
    assert subs.get_subscriber(db, 1).digest_time == "07:30"  # type: ignore[union-attr]


def test_operator_export_and_import_of_every_subscriber(db, tmp_path):
    setup_chat(db, 1)
    subs.register(db, 2, username="bob", now=NOW)
    subs.add_subscription(db, 2, "BRICS", now=NOW)
    subs.set_active(db, 2, False)
    everything = json.loads(json.dumps(data.all_subscribers_document(db, now=NOW)))
    assert [e["chat_id"] for e in everything["subscribers"]] == [1, 2]
    other = open_db(tmp_path / "restored.sqlite")
    try:
        report = data.import_all(other, data.parse_all(everything, check_query=check), limit=50)
        assert (report.subscribers, report.created) == (2, 2)
        again = json.loads(json.dumps(data.all_subscribers_document(other, now=NOW)))
        assert again == everything
        assert subs.get_subscriber(other, 2).active is False  # type: ignore[union-attr]
    finally:
        other.close()
    duplicated = dict(everything, subscribers=everything["subscribers"] + everything["subscribers"][:1])
    with pytest.raises(SubscriberDataError, match=r"subscribers\[2\].chat_id"):
        data.parse_all(duplicated, check_query=check)


def test_query_check_is_the_callers(db):
    def refuse(text: str) -> object:
        raise QueryError("too long for this bot")

    document = {"format": "tgdigest.subscriber", "version": 1, "subscriptions": [{"query": "oil"}]}
    with pytest.raises(SubscriberDataError, match="too long for this bot"):
        data.parse_document(document, check_query=refuse)
