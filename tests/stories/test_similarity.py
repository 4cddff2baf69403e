"""Retellings (bot/stories/similarity.py and the index's rewrite path): rewrites join their
story in English and Russian; posts about the same people that report another event stay
apart. Texts are shaped like the sample channel's posts and wire-service Telegram posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.normalise import normalise
from bot.stories.dedupe import DedupeItem, StoryIndex, fingerprint, same_story
from bot.stories.similarity import (
    DEFAULT_THRESHOLD,
    MAX_GAP_HOURS,
    entities_of,
    facts_conflict,
    facts_of,
    gist,
    names_conflict,
    rewrite_match,
    strong_names,
)

T0 = datetime(2025, 7, 3, 9, 0, tzinfo=UTC)

CALL = (
    "On July 3, Russian Foreign Minister Sergey Lavrov held a telephone conversation with Turkish "
    "Foreign Minister Hakan Fidan. The ministers discussed the situation in Syria and the prospects "
    "for the grain corridor, and agreed to keep in close contact."
)
CALL_HEADLINE = "Lavrov and Fidan talk by phone: Syria and grain exports on the agenda (July 3)"
CALL_RETOLD = (
    "Phone call between Lavrov and his Turkish counterpart Fidan on July 3: the two focused on Syria "
    "and grain shipments and promised to stay in touch."
)

RU_CALL = (
    "3 июля состоялся телефонный разговор Президента России Владимира Путина с Президентом Турции "
    "Реджепом Тайипом Эрдоганом. Лидеры обсудили ситуацию на Ближнем Востоке и поставки газа."
)
RU_CALL_HEADLINE = "Путин и Эрдоган провели телефонный разговор: Ближний Восток и газ"


def judged(a: str, b: str, *, hours: float = 2.0) -> bool:
    """``same_story`` with the raw texts, as the index judges a candidate."""
    return same_story(normalise(a), normalise(b), a_text=a, b_text=b, gap_hours=hours)


def match(a: str, b: str, *, hours: float = 2.0):
    ga = gist(normalise(a), entities_of(a))
    gb = gist(normalise(b), entities_of(b))
    return rewrite_match(ga, gb, gap_hours=hours)


def item(key: int, text: str, hours: float = 0.0, *, precomputed: bool = True) -> DedupeItem:
    norm = normalise(text)
    return DedupeItem(
        key=(100 + key % 7, key), date=T0 + timedelta(hours=hours), text_norm=norm,
        fingerprint=fingerprint(norm, text) if precomputed else None, text=text,
    )


# --- names, facts --------------------------------------------------------------------------


def test_russian_case_forms_of_a_name_share_one_key():
    forms = ["Путин заявил", "встреча с Путиным прошла", "слова Путина о газе", "позвонил Путину вчера"]
    keys = [set(strong_names(entities_of(text))) for text in forms[1:]]
    assert all(k == keys[0] for k in keys), keys
    assert keys[0], "a name inside a sentence is a sure name"


def test_country_adjective_and_capital_fold_but_two_cities_stay_two():
    country = set(strong_names(entities_of("India and Brazil signed six deals.")))
    adjective = set(strong_names(entities_of("The Brazilian and Indian leaders signed six deals.")))
    assert country == adjective and len(country) == 2
    capital = "Modi arrived in Brasilia for talks."
    assert country & gist(normalise(capital), entities_of(capital)).name_words, "a capital names its country too"
    paris = set(strong_names(entities_of("The leaders met in Paris on Friday.")))
    berlin = set(strong_names(entities_of("The leaders met in Berlin on Friday.")))
    assert paris and berlin and not paris & berlin


def test_a_word_opening_a_sentence_is_only_a_weak_name():
    entities = entities_of("Regulator says inflation is slowing. The Regulator met Nabiullina.")
    assert "nabi" in strong_names(entities)
    opening_only = entities_of("Citing weaker demand, the bank cut its rate.")
    assert not [n for n in strong_names(opening_only) if n.startswith("cit")]


def test_facts_are_typed_and_agree_across_spellings():
    assert facts_of(normalise("to pump 411,000 bpd")) & facts_of(normalise("by 411 thousand barrels"))
    assert facts_conflict(facts_of(normalise("rate cut to 18% on June 6")), facts_of(normalise("rate cut to 19% on June 6")))
    assert not facts_conflict(facts_of(normalise("cut to 18% on June 6")), facts_of(normalise("cut to 18%")))
    assert facts_conflict(facts_of(normalise("output up in August")), facts_of(normalise("output up in September")))
    assert facts_conflict(facts_of(normalise("election item 1 of the day")), facts_of(normalise("election item 10 of the day")))
    assert facts_conflict(facts_of(normalise("a swap of 1000 prisoners")), facts_of(normalise("a swap of 1 prisoner")))
    # a figure only one side gives is no conflict: retellings keep different subsets
    assert not facts_conflict(facts_of(normalise("six deals, $20bn in trade")), facts_of(normalise("$20 billion")))


def test_names_conflict_when_each_text_names_someone_the_other_does_not():
    who = entities_of("Member states of the WHO adopted a pandemic agreement in Geneva on May 20.")
    unesco = entities_of("Member states of the UNESCO adopted a pandemic agreement in Geneva on May 20.")
    assert names_conflict(who, unesco)
    more = entities_of("Member states of the WHO adopted a pandemic agreement in Geneva on May 20, Guterres said.")
    assert not names_conflict(who, more), "a name added in a light edit is no conflict"


# --- rewrites join -----------------------------------------------------------------------------


@pytest.mark.parametrize("retold", [CALL_HEADLINE, CALL_RETOLD])
def test_english_headline_and_retelling_join_the_report(retold):
    found = match(CALL, retold)
    assert found is not None and found.joined, found
    assert {"lavr", "fida"} <= set(found.shared_entities)
    assert judged(CALL, retold)


def test_two_retellings_of_one_report_join_each_other():
    assert judged(CALL_HEADLINE, CALL_RETOLD, hours=3)


def test_russian_headline_joins_the_report_across_case_forms():
    found = match(RU_CALL, RU_CALL_HEADLINE)
    assert found is not None and found.joined, found
    assert judged(RU_CALL, RU_CALL_HEADLINE)


def test_summary_of_a_long_post_is_compared_with_the_passage_it_summarises():
    long_post = (
        "The BRICS foreign ministers met in Rio de Janeiro. Trade in national currencies was discussed. "
        "Separately, Sergey Lavrov held talks with Mauro Vieira on July 6. The ministers agreed to expand "
        "cooperation in energy and agriculture and to prepare a visit by Lula da Silva to Moscow. "
        "The next meeting of the group will take place in India. Ministers also adopted a statement on Gaza."
    )
    summary = "Lavrov and Vieira agree on energy and agriculture cooperation and prepare a Lula visit to Moscow"
    assert judged(long_post, summary)


def test_rate_cut_retold_with_other_verbs_joins():
    report = "The Bank of Russia cut its key rate from 21% to 18% on June 6, citing slowing inflation."
    retold = "Key rate down to 18%: the Bank of Russia lowers borrowing costs, citing cooler inflation"
    assert judged(report, retold)


# --- look-alikes stay apart ------------------------------------------------------------------


def test_another_meeting_of_the_same_two_ministers_stays_apart():
    other = (
        "Lavrov and Fidan met in Antalya on July 3 on the sidelines of the diplomacy forum, where they "
        "signed a consultations plan for the next two years."
    )
    assert not judged(CALL, other, hours=30)
    assert not judged(CALL_RETOLD, other, hours=30)


def test_announcement_is_not_the_event_it_announces():
    upcoming = "Lavrov and Fidan are expected to hold a phone call on July 3 to discuss Syria and grain exports."
    assert not judged(upcoming, CALL, hours=30)
    assert not judged(upcoming, CALL_HEADLINE, hours=30)


def test_a_different_date_or_figure_is_another_event():
    assert not judged(CALL, CALL.replace("July 3", "July 9"))
    assert not judged(CALL_HEADLINE, CALL_RETOLD.replace("July 3", "July 9"))
    cut = "The Bank of Russia cut its key rate from 21% to 18% on June 6, citing slowing inflation."
    assert not judged(cut, "Key rate down to 19%: the Bank of Russia lowers borrowing costs")


def test_a_different_counterpart_or_pair_of_countries_is_another_event():
    other_counterpart = CALL_RETOLD.replace("Turkish counterpart Fidan", "Iranian counterpart Araghchi")
    assert not judged(CALL, other_counterpart)
    template = "{a} and {b} agreed on July 3 to resume direct flights and restore embassy staff, the ministries said."
    first = template.format(a="Armenia", b="Azerbaijan")
    assert not judged(first, template.format(a="Georgia", b="Azerbaijan"))
    assert judged(first, "Direct flights to resume and embassies to be restaffed: Armenia, Azerbaijan agree (July 3)")


def test_a_rate_held_is_not_a_rate_cut():
    cut = "The Bank of Russia cut its key rate from 21% to 18% on June 6, citing slowing inflation."
    held = "The Bank of Russia kept its key rate at 21% on June 6 and warned that inflation expectations remain high."
    assert not judged(cut, held)


def test_the_same_words_about_another_company_stay_apart():
    apple = "Apple said on February 24 it will invest more than $500 billion in the United States over four years."
    nvidia = apple.replace("Apple", "Nvidia")
    assert not judged(apple, nvidia)


# --- time -----------------------------------------------------------------------------------


def test_the_bar_rises_with_the_gap_and_a_retelling_days_later_never_joins():
    near = match(CALL, CALL_RETOLD, hours=2)
    later = match(CALL, CALL_RETOLD, hours=36)
    assert near is not None and later is not None
    assert later.threshold > near.threshold == DEFAULT_THRESHOLD
    assert match(CALL, CALL_RETOLD, hours=MAX_GAP_HOURS + 1) is None
    assert not judged(CALL, CALL_RETOLD, hours=MAX_GAP_HOURS + 1)


# --- the index ------------------------------------------------------------------------------


@pytest.mark.parametrize("precomputed", [True, False])
def test_a_retelling_joins_the_existing_story_and_says_why(precomputed):
    index = StoryIndex()
    index.add(item(1, CALL, precomputed=precomputed), 41)
    index.add(item(2, "Tesla delivered 384,122 vehicles in the second quarter, the company said.", 1), 42)
    headline = item(3, CALL_HEADLINE, 2, precomputed=precomputed)
    assert index.find(headline) == 41
    why = index.last_join
    assert why is not None and why.kind == "rewrite"
    assert why.score >= DEFAULT_THRESHOLD
    assert {"lavr", "fida"} <= set(why.shared_entities)
    assert "3" in why.shared_numbers
    index.add(headline, 41)
    assert index.story_of(headline.key) == 41 and index.story_of((101, 1)) == 41


def test_the_index_keeps_look_alikes_in_their_own_stories():
    index = StoryIndex()
    index.add(item(1, CALL), 1)
    for key, text, hours in [
        (2, "Lavrov and Fidan are expected to hold a phone call on July 3 to discuss Syria and grain exports.", -30),
        (3, CALL.replace("July 3", "July 9"), 1),
        (4, CALL_RETOLD.replace("Turkish counterpart Fidan", "Iranian counterpart Araghchi"), 2),
    ]:
        assert index.find(item(key, text, hours)) is None, text
        assert index.last_join is None


def test_a_russian_retelling_joins_through_the_index():
    index = StoryIndex()
    index.add(item(1, RU_CALL), 7)
    assert index.find(item(2, RU_CALL_HEADLINE, 4)) == 7
    assert index.last_join is not None and index.last_join.kind == "rewrite"


def test_a_copy_or_forward_is_still_told_apart_from_a_rewrite():
    index = StoryIndex()
    index.add(item(1, CALL), 5)
    assert index.find(item(2, "⚡️ " + CALL + "\n\nSource: @worlddesk", 1)) == 5
    assert index.last_join is not None and index.last_join.kind == "copy"


def test_a_retelling_too_late_starts_a_new_story():
    index = StoryIndex()
    index.add(item(1, CALL), 5)
    assert index.find(item(2, CALL_RETOLD, MAX_GAP_HOURS + 2)) is None


# --- general rules for names the lists do not know -------------------------------------------


def test_a_city_outside_the_place_list_is_still_another_place():
    # Harbin is in no list: "Chinese ... in Harbin" must not find "Tianjin" through "China"
    harbin = "Chinese Premier Li Qiang received Mikhail Mishustin in Harbin on May 17; the two discussed energy and trade."
    tianjin = "Mishustin and Li Qiang meet in Tianjin: energy and trade talks (May 17)"
    assert not judged(harbin, tianjin)
    assert judged(harbin, "Mishustin and Li Qiang meet in Harbin: energy and trade talks (May 17)")


def test_a_title_in_capitals_does_not_stand_for_the_person():
    starmer = "Macron hosts UK PM Starmer at the Elysee: Ukraine and migration on the agenda"
    assert not judged(starmer, starmer.replace("Starmer", "Sunak"))


def test_two_headlines_opening_with_different_unknown_subjects_stay_apart():
    samsung = "Samsung said on March 3 it will invest more than $300 billion in South Korea over five years, including a new chip plant in Pyeongtaek."
    lg = "Hyundai pledges $300bn South Korea investment, chip plant in Pyeongtaek"
    assert not judged(samsung, lg)
    assert judged(samsung, "Samsung pledges $300bn South Korea investment, chip plant in Pyeongtaek")
    # a common word opening a headline is found lower-case in the report: no subject swap
    assert judged("Slowing inflation lets the Bank of Russia cut its key rate to 18% on June 6",
                  "Citing slowing inflation, the Bank of Russia cut its key rate from 21% to 18% on June 6.")


def test_a_capital_after_a_headline_separator_is_a_name():
    # after "X:" or " — " news style writes on in lower case: a capital there is a name
    assert "блок" in strong_names(entities_of("Выборы в Молдавии: Блок патриотов сохраняет большинство"))
    assert "спар" in strong_names(entities_of("Зенит — Спартак 2:1: лидерство в РПЛ"))
    assert not judged("Зенит — Спартак 2:1: лидерство в РПЛ", "Зенит — Локомотив 2:1: лидерство в РПЛ")
    assert judged("Зенит — Спартак 2:1: лидерство в РПЛ",
                  "Зенит 19 октября обыграл Спартак со счётом 2:1 в матче 12-го тура РПЛ и вышел на первое место.")


def test_a_place_next_to_a_name_is_compared_on_its_own():
    # "в Харбине Ли Цян": the capitalised words run together, but Harbin is the place
    harbin = "12 документов по энергетике и транспорту подписали в Харбине Ли Цян и Мишустин по итогам переговоров 17 мая."
    assert not judged(harbin, harbin.replace("Харбине", "Чэнду"))
    assert judged(harbin, "Мишустин и Ли Цян подписали в Харбине 12 соглашений")


def test_a_fixture_told_in_the_headline_present_is_not_its_result():
    ahead = "Real Madrid face Borussia Dortmund at MetLife Stadium on July 5 in the Club World Cup quarter-final."
    result = "A Kylian Mbappe double took Real Madrid past Borussia Dortmund 3-2 in the Club World Cup quarter-final at MetLife Stadium (July 5)."
    assert not judged(ahead, result, hours=30)
    assert judged(result, "Real Madrid edge Borussia Dortmund 3-2 at MetLife Stadium, Mbappe scores twice (July 5)")


def test_a_poll_forecast_is_not_the_vote_result():
    forecast = "Poland holds regional elections on October 13; polls give Civic Platform about 31.2% of the vote, ahead of Law and Justice."
    result = "Civic Platform came first in the regional elections in Poland on October 13 with 31.2% of the vote, ahead of Law and Justice."
    assert not judged(forecast, result, hours=30)
    ru_forecast = "13 октября пройдут выборы в заксобрание Тверской области; по опросам, Единая Россия может получить около 78,3%."
    assert not judged(ru_forecast, "Партия Единая Россия получила 78,3% голосов на выборах в заксобрание Тверской области 13 октября.", hours=30)
