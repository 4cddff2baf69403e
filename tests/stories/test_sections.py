"""Built-in sections, not-news, language per post, and per-language stemming."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import CategoryConfig, Config, load_config
from bot.core.language import detect_language, snowball_language
from bot.core.models import SECTIONS, Post, StoredPost, Story
from bot.core.normalise import normalise
from bot.digests.matching import highlights_for
from bot.digests.selection import Window, select_stories
from bot.errors import ConfigError
from bot.query.matcher import SubscriptionIndex
from bot.query.parser import MatchDoc, highlight_spans, parse_query
from bot.storage import subscribers
from bot.storage.ingest import Ingestor
from bot.storage.store import Store
from bot.stories.sections import LABELS, MODEL_PATH, NOT_NEWS, features, majority_section, section_model
from bot.telegram.commands import CommandHandler

ROOT = Path(__file__).parent.parent.parent
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def post(message_id: int, text: str, *, channel: int = 1, minutes: int = 0) -> Post:
    return Post(channel_id=channel, message_id=message_id, date=T0 + timedelta(minutes=minutes), text=text,
                channel_username=f"chan{channel}", channel_title=f"Channel {channel}")


# --- the classifier -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "label"), [
    ("The prime minister resigned after parliament passed a vote of no confidence.", "Society"),
    ("Премьер-министр ушёл в отставку после того, как парламент выразил недоверие правительству.", "Society"),
    ("Oil prices fell 4% as OPEC+ agreed to raise output; the rouble weakened.", "Economy"),
    ("Нефть подешевела на 4% после решения ОПЕК+ нарастить добычу, рубль ослаб.", "Economy"),
    ("Samsung unveiled a smartphone with a new chip and a bigger battery.", "Technology"),
    ("Samsung представила смартфон с новым процессором и более ёмким аккумулятором.", "Technology"),
    ("The goalkeeper saved a penalty and the team won the cup final 1-0.", "Sports"),
    ("Вратарь отразил пенальти, и команда выиграла финал кубка 1:0.", "Sports"),
    ("The singer's new album topped the charts a week after the premiere of her film.", "Entertainment"),
    ("Scientists found that the vaccine cut hospital admissions by half in a clinical trial.", "Science"),
    ("Учёные выяснили, что вакцина вдвое снизила число госпитализаций в клиническом исследовании.", "Science"),
    ("🔥 Only today: 50% off everything with promo code SALE. Order now, link in bio!", NOT_NEWS),
    ("Скидка 50% на всё только сегодня по промокоду SALE! Заказывайте по ссылке в профиле.", NOT_NEWS),
])
def test_clear_posts_get_their_label_in_both_languages(text: str, label: str) -> None:
    assert section_model().label(normalise(text)) == label


def test_verdict_separates_section_and_news() -> None:
    model = section_model()
    promo = model.classify(normalise("Giveaway! Subscribe and repost to win a prize, results on Friday 🎁"))
    assert promo.news is False and promo.section is None
    news = model.classify(normalise("The central bank raised its key rate to 18%."))
    assert news.news is True and news.section == "Economy"
    assert model.classify("") == model.classify("🔥 ✨").__class__(section=None, news=True)


def test_majority_section() -> None:
    assert majority_section({"Sports": 2, "Society": 1}) == "Sports"
    assert majority_section({"Sports": 1, "": 2}) is None
    assert majority_section({"Sports": 1, "": 1}) == "Sports"  # a section wins a tie with none
    assert majority_section({"Science": 1, "Economy": 1}) == "Economy"  # ties: SECTIONS order
    assert majority_section({}) is None


def test_shipped_model_is_what_the_training_script_makes(tmp_path: Path) -> None:
    """`make train` is deterministic and the committed model is up to date with the data."""
    out = tmp_path / "model.json"
    for _ in range(2):
        subprocess.run([sys.executable, str(ROOT / "scripts" / "train_sections.py"), "--out", str(out)],
                       check=True, capture_output=True)
        assert out.read_bytes() == MODEL_PATH.read_bytes()
    data = json.loads(out.read_text())
    assert tuple(data["labels"]) == LABELS and MODEL_PATH.stat().st_size < 10 * 1024 * 1024


def test_scores_are_the_weights_of_the_training_features() -> None:
    """The packed, per-chunk cached scoring adds exactly the weights of ``features`` (what the
    trainer counts), however often the cache has seen the text's chunks."""
    model = section_model()
    texts = [
        "Oil prices fell 4% as OPEC+ agreed to raise output; oil, oil and the rouble weakened!",
        "Нефть подешевела на 4%: «Газпром» и «Роснефть» упали, нефть дешевеет, нефть... Почему?",
        "Subscribe subscribe subscribe @chan t.me/chan",
    ]
    for text in texts * 2:
        norm = normalise(text)
        expected = [bias + sum(model.weights[f][k] for f in features(norm) if f in model.weights)
                    for k, bias in enumerate(model.bias)]
        assert model.scores(norm) == pytest.approx(expected, abs=1e-9)
    model.forget()
    assert model.scores(normalise(texts[0])) == pytest.approx(
        [b + sum(model.weights[f][k] for f in features(normalise(texts[0])) if f in model.weights)
         for k, b in enumerate(model.bias)], abs=1e-9)


def _texts(path: Path) -> set[str]:
    return {line.partition("\t")[2].strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def test_evaluation_set_is_apart_from_what_the_model_learns() -> None:
    """eval.*.tsv: at least 300 posts per language over all eight labels, none of them in the
    training files, the dev split or the posts the templates make."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from train_sections import LABEL_NAMES, generated, read_labelled
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    data = ROOT / "datasets" / "sections"
    learned = {normalise(t) for path in [*data.glob("train*.tsv"), *data.glob("dev.*.tsv")] for t in _texts(path)}
    learned |= {normalise(text) for _, text in generated(data)}
    for lang in ("en", "ru"):
        rows = read_labelled(data / f"eval.{lang}.tsv")
        assert len(rows) >= 300 and {label for label, _ in rows} == set(LABEL_NAMES.values())
        assert not {normalise(text) for _, text in rows} & learned


# --- language ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "code"), [
    ("The government announced new measures to support small businesses on Monday.", "en"),
    ("Правительство объявило о новых мерах поддержки малого бизнеса в понедельник.", "ru"),
    ("Кофе подорожал до рекорда из-за засухи в Бразилии.", "ru"),  # no ы/э/ё: CLD2 decides
    ("Уряд оголосив про нові заходи підтримки малого бізнесу в понеділок.", "uk"),
    ("Die Regierung hat am Montag neue Maßnahmen zur Unterstützung kleiner Unternehmen angekündigt.", "de"),
    ("🔥🔥🔥 123", "und"),
    # Typographic quotes and dashes: not ASCII, no Cyrillic; English words still counted.
    ("“It’s the end of an era” — the club said of the coach’s departure, which was expected.", "en"),
    ("Le gouvernement a annoncé «de nouvelles mesures» pour les petites entreprises — lundi.", "fr"),
])
def test_language_detection(text: str, code: str) -> None:
    assert detect_language(text) == code


def test_snowball_language() -> None:
    assert snowball_language("ru") == "russian" and snowball_language("en") == "english"
    assert snowball_language("und") is None and snowball_language(None) is None


# --- per-post-language stemming ------------------------------------------------------------

def test_stemmed_terms_use_each_posts_language() -> None:
    """~word matches Russian forms in Russian posts and English forms in English posts,
    whatever [query] language says; the bulk matcher agrees with Query.matches."""
    ru = MatchDoc.from_text("Депутаты приняли законы о выборах", language="russian")
    en = MatchDoc.from_text("Lawmakers sanctioned the elections", language="english")
    unknown = MatchDoc.from_text("Lawmakers sanctioned the elections")
    for configured in ("english", "russian"):
        law = parse_query("~закон", stemming=False, language=configured)
        sanction = parse_query("~sanctions", stemming=False, language=configured)
        phrase = parse_query('~"приняли закон"', stemming=False, language=configured)
        assert law.matches(ru) and not law.matches(en)
        assert sanction.matches(en) and not sanction.matches(ru)
        assert phrase.matches(ru)
        index = SubscriptionIndex([(1, 10, law), (2, 20, sanction), (3, 30, phrase)])
        matched = index.match([("ru", [ru]), ("en", [en])])
        assert set(matched[10]) == {"ru"} and set(matched[20]) == {"en"} and set(matched[30]) == {"ru"}
    # A post of unknown language is stemmed in the configured language, as before.
    assert parse_query("~sanctions", language="english").matches(unknown)


def test_highlighting_stems_in_the_posts_language() -> None:
    """The digest bolds the Russian forms of ~закон in a Russian post and the English forms of
    ~sanctions in an English one, whatever [query] language says, as the matcher matches them."""
    ru_text = "Депутаты приняли законы о выборах"
    en_text = "Lawmakers sanctioned the elections"
    for configured in ("english", "russian"):
        law = parse_query("~закон", stemming=False, language=configured)
        sanction = parse_query("~sanctions", stemming=False, language=configured)
        phrase = parse_query('~"приняли закон"', stemming=False, language=configured)
        assert [ru_text[s:e] for s, e in highlight_spans(ru_text, law, language="russian")] == ["законы"]
        assert [en_text[s:e] for s, e in highlight_spans(en_text, sanction, language="english")] == ["sanctioned"]
        assert [ru_text[s:e] for s, e in highlight_spans(ru_text, phrase, language="russian")] == ["приняли законы"]
    # The digest path: the representative post's stored language decides.
    story = Story(id=1, posts=(StoredPost(post=post(1, ru_text), story_id=1, lang="ru"),))
    law = parse_query("~закон", stemming=False, language="english")
    assert highlights_for([story], [law]) == {1: [(ru_text.index("законы"), ru_text.index("законы") + 6)]}


# --- config --------------------------------------------------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_builtin_sections_default_on_only_without_custom_categories(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), env={}).builtin_sections is True
    custom = load_config(write(tmp_path, '[[categories]]\nname = "X"\nquery = "x"\n'), env={})
    assert custom.builtin_sections is False and custom.category_names() == ["X"]
    off = load_config(write(tmp_path, "[categories]\nbuiltin = false\n"), env={})
    assert off.builtin_sections is False and off.categories == ()
    both = load_config(write(tmp_path, '[categories]\nbuiltin = true\n[[categories.custom]]\nname = "X"\nquery = "x"\n'),
                       env={})
    assert both.builtin_sections is True and both.category_names() == ["X"]
    assert both.section_order() == ["X", *SECTIONS]


@pytest.mark.parametrize(("text", "problem"), [
    ("[categories]\nbuiltin = 1\n", "categories.builtin: must be true or false"),
    ("[categories]\nbuilt_in = true\n", "categories.built_in: unknown key"),
    ('[categories]\nbuiltin = true\n[[categories.custom]]\nname = "Sports"\nquery = "x"\n', "is a built-in section"),
])
def test_bad_categories_table_is_one_clear_problem(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text), env={})
    assert problem in str(e.value)


# --- storage -------------------------------------------------------------------------------

def stored(db: Any) -> dict[int, tuple]:
    return {r[0]: r[1:] for r in db.execute("SELECT message_id, lang, news, section, categories FROM posts")}


def test_ingest_stores_language_news_and_section_and_story_majority(db: Any) -> None:
    ingestor = Ingestor(db, Config())
    ingestor.ingest([
        post(1, "The striker scored twice as the home team won the derby 2-0 in the league."),
        post(2, "Нападающий забил дважды, и хозяева выиграли дерби 2:0 в чемпионате лиги.", channel=2, minutes=5),
        post(3, "Giveaway! Subscribe to our channel and repost to win a prize 🎁", minutes=10),
    ])
    rows = stored(db)
    assert rows[1] == ("en", 1, "Sports", '["Sports"]')
    assert rows[2] == ("ru", 1, "Sports", '["Sports"]')
    assert rows[3][1:3] == (0, None)
    stories = sorted(db.execute("SELECT categories, news FROM stories").fetchall())
    assert stories == [('["Sports"]', 1), ('["Sports"]', 1), ("[]", 0)]  # two tellings, one promo
    store = Store(db)
    posts = {sp.post.message_id: sp for sp in store.posts()}
    assert posts[2].lang == "ru" and posts[3].news is False


def test_story_section_is_the_majority_and_follows_edits(db: Any) -> None:
    ingestor = Ingestor(db, Config())
    text = "The central bank raised its key interest rate to 18% as inflation accelerated, the bank said."
    ingestor.ingest([post(1, text), post(2, text, channel=2, minutes=1), post(3, text, channel=3, minutes=2)])
    (story_id, cats, votes) = db.execute("SELECT id, categories, section_votes FROM stories").fetchone()
    assert cats == '["Economy"]' and json.loads(votes) == {"Economy": 3}
    # Two of the three copies are edited into football news: the majority moves.
    football = "The striker scored twice and the team won the cup final against the champions."
    edited = [dataclasses.replace(post(m, football, channel=m, minutes=m - 1), edited_at=T0 + timedelta(hours=1))
              for m in (2, 3)]
    ingestor.ingest(edited)
    cats, votes = db.execute("SELECT categories, section_votes FROM stories WHERE id = ?", [story_id]).fetchone()
    assert json.loads(votes) == {"Economy": 1, "Sports": 2} and cats == '["Sports"]'


def test_recategorise_follows_the_config(db: Any) -> None:
    Ingestor(db, Config()).ingest([post(1, "Apple released a new iPhone with a faster chip and a better camera.")])
    assert stored(db)[1][2:] == ("Technology", '["Technology"]')
    custom = Config(categories=(CategoryConfig("Apple", "apple"),))
    Ingestor(db, custom).recategorise()
    assert stored(db)[1][2:] == (None, '["Apple"]')
    assert db.execute("SELECT categories FROM stories").fetchone()[0] == '["Apple"]'
    Ingestor(db, Config()).ensure_categories_current()
    assert stored(db)[1][2:] == ("Technology", '["Technology"]')


# --- digests, alerts, the bot --------------------------------------------------------------

def test_non_news_stories_are_left_out_unless_asked_for() -> None:
    def story(i: int, news: bool) -> Story:
        return Story(id=i, posts=(StoredPost(post=post(i, "x", minutes=i), story_id=i, news=news),), news=news)

    stories = [story(1, True), story(2, False)]
    window = Window(T0 - timedelta(hours=1), T0 + timedelta(hours=1), T0 - timedelta(hours=1))
    default = select_stories(stories, matched={1, 2}, already=(), window=window)
    assert [s.id for s in default.stories] == [1]
    included = select_stories(stories, matched={1, 2}, already=(), window=window, include_nonnews=True)
    assert [s.id for s in included.stories] == [1, 2]


def test_nonnews_command_stores_the_setting(db: Any) -> None:
    import asyncio

    handler = CommandHandler(db, Config(), stories=Store(db), now=lambda: T0)
    on = asyncio.run(handler.handle_text(5, "/nonnews on"))
    assert "will be in your digests" in on[0]
    assert subscribers.get_subscriber(db, 5).include_nonnews is True  # type: ignore[union-attr]
    assert "Non-news posts included" in "\n".join(asyncio.run(handler.handle_text(5, "/resume")))
    asyncio.run(handler.handle_text(5, "/nonnews off"))
    assert subscribers.get_subscriber(db, 5).include_nonnews is False  # type: ignore[union-attr]
    assert "Usage: /nonnews on" in asyncio.run(handler.handle_text(5, "/nonnews maybe"))[0]
    categories = asyncio.run(handler.handle_text(5, "/categories"))[0]
    assert "<b>Society</b>" in categories and "Other" in categories


# --- acceptance: a fresh install, an empty config, a mixed channel --------------------------

def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TGDIGEST_", "TELEGRAM_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "t.sqlite"), "--config", str(tmp_path / "empty.toml"),
         *args],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_empty_config_mixed_channel_digest_shows_sections(tmp_path: Path, fixtures: Path) -> None:
    (tmp_path / "empty.toml").write_text("")
    run_cli(tmp_path, "import", str(fixtures / "mixed_channel_export.json"))
    posts = json.loads(run_cli(tmp_path, "posts", "--format", "json").stdout)
    assert len(posts) == 15 and all({"categories", "news", "lang"} <= set(p) for p in posts)
    assert {p["lang"] for p in posts} == {"en", "ru"}
    assert sum(not p["news"] for p in posts) == 3
    assert {c for p in posts for c in p["categories"]} == set(SECTIONS)

    from bot.storage.db import open_db

    db = open_db(tmp_path / "t.sqlite")
    subscribers.register(db, 7, default_time="09:00", default_timezone="UTC", now=T0 - timedelta(days=1))
    subscribers.add_subscription(db, 7, "bank OR law OR закон OR iOS OR Зенит OR series OR учёные OR election "
                                        "OR Arsenal OR фильма OR therapy OR Яндекс OR акции OR скидка OR утро OR giveaway")
    db.execute("UPDATE subscribers SET last_digest_at = '2026-03-01T00:00:00+00:00' WHERE chat_id = 7")
    db.conn.commit()
    db.close()
    built = json.loads(run_cli(tmp_path, "digest", "--chat", "7", "--dry-run", "--format", "json").stdout)
    html = "\n".join(built["messages"])
    headings = [name for name in [*SECTIONS, "Other"] if f"<b><u>{name}</u></b>" in html]
    assert headings == list(SECTIONS), headings  # sections, not one "Other" list
    assert len(built["stories"]) == 12  # the promo, the greeting and the giveaway are left out
    assert all(s["news"] for s in built["stories"])
