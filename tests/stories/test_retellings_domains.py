"""Issue 11, second round: rules that hold on news beyond diplomacy (markets, sport,
disasters, courts) and on the kinds of retelling channels use there (wire flash, "yesterday"
retellings, a repost with a comment). Every example is written for this file, none is taken
from bench/pairs: each rule is shown on a retelling it lets join and on a look-alike a guard
keeps apart."""

from __future__ import annotations

from rewrite_judge import gist_of, judged, veto

from bot.core.normalise import normalise
from bot.stories.similarity import entities_of, facts_conflict, facts_of, rewrite_match

# --- precision: another event of the same people ------------------------------------------

SUMMIT_TALKS = ("Tokayev and Mirziyoyev held talks in Samarkand on the sidelines of the Central Asia summit; "
                "they discussed water sharing, a new railway and energy supplies.")


def test_a_phone_call_is_not_the_meeting_in_a_place() -> None:
    # the same two leaders talk often: a call the day after a summit is another conversation
    call = "Tokayev and Mirziyoyev had a phone call: they discussed the results of the Central Asia summit."
    assert veto(SUMMIT_TALKS, call, hours=20) == "call vs meeting"
    assert not judged(SUMMIT_TALKS, call, hours=20)


def test_a_phone_call_retold_as_a_call_still_joins() -> None:
    call = "Tokayev and Mirziyoyev held a telephone conversation on Friday, discussing water sharing and a new railway."
    retold = "Phone call between Tokayev and Mirziyoyev: water sharing and the railway project on the agenda."
    assert judged(call, retold)


LONG_VISIT = (
    "Foreign Minister Sergey Lavrov took part in the Russia–ASEAN ministerial meeting in Vientiane on "
    "Friday. In his remarks he thanked Laos for its hospitality and Brunei, the coordinator of the "
    "dialogue, for its work. He spoke about the energy partnership, the transport corridors, the "
    "fight against terrorism and cyber crime, and proposed a joint working group on food security. "
    "Lavrov also said that Russia supports the central role of the association in regional security."
)


def test_a_counterpart_the_other_text_never_names_is_another_meeting() -> None:
    # another meeting of the same trip: the short text names whom Lavrov met, the long one never does
    other_meeting = "Lavrov met Brunei's Foreign Minister Erywan Yusof in Vientiane; they discussed energy cooperation."
    assert veto(LONG_VISIT, other_meeting) == "counterpart"
    assert not judged(LONG_VISIT, other_meeting)


def test_a_counterpart_named_in_both_texts_is_no_other_meeting() -> None:
    report = "Lavrov met Laotian Foreign Minister Thongsavanh Phomvihane in Vientiane on Friday to discuss energy projects."
    retold = "Energy projects on the table as Lavrov and Thongsavanh Phomvihane meet in Vientiane."
    assert veto(report, retold) != "counterpart"
    assert judged(report, retold)


INTERVIEW = (
    "Interview of Prime Minister Mikhail Mishustin to the Izvestia newspaper after the Eurasian "
    "intergovernmental council in Almaty. Question: how do you assess the state of the car industry? "
    "Mishustin: the industry has come through a difficult period, plants have localised production of "
    "engines and gearboxes, and the share of domestic components keeps growing. The government will "
    "keep the preferential car loan programme and the recycling fee indexation schedule, and will "
    "support exporters who open dealer networks in neighbouring markets."
)


def test_a_short_post_sharing_only_who_and_where_with_a_long_one_is_another_answer() -> None:
    # the title of the interview (Mishustin, Izvestia, Almaty) is all it shares: another question
    other_answer = "Mishustin to Izvestia in Almaty: no common currency for the union, mutual settlements already in roubles and tenge."
    assert veto(INTERVIEW, other_answer) == "nothing else shared"
    assert not judged(INTERVIEW, other_answer)


def test_a_summary_of_the_answer_joins_the_interview() -> None:
    summary = "Mishustin told Izvestia the car industry came through a difficult period; preferential car loans will stay."
    assert judged(INTERVIEW, summary)


# --- recall: markets ----------------------------------------------------------------------

def test_a_forecast_a_figure_is_measured_against_is_no_announcement() -> None:
    result = ("Norilsk Nickel's output of nickel fell 9% in the first half to 92,000 tonnes, "
              "a smaller drop than the 12% analysts expected.")
    flash = "Norilsk Nickel: H1 nickel output down 9% to 92,000 t"
    assert veto(result, flash) != "tense"
    assert judged(result, flash)


def test_an_announcement_with_expected_still_stays_apart_from_the_result() -> None:
    ahead = "Norilsk Nickel is expected to report first-half nickel output of about 92,000 tonnes on Thursday."
    result = "Norilsk Nickel's nickel output fell to 92,000 tonnes in the first half, the company reported."
    assert veto(ahead, result) == "tense"


def test_a_rounded_figure_is_the_same_figure() -> None:
    assert not facts_conflict(facts_of("sold 1,204,311 cars"), facts_of("sold 1,204k cars"))
    assert not facts_conflict(facts_of("turnout was 62.8%"), facts_of("turnout almost 63%"))
    assert not facts_conflict(facts_of("a record 95 870 roubles a tonne"), facts_of("almost 96 thousand roubles"))


def test_another_figure_is_no_rounding() -> None:
    assert facts_conflict(facts_of("a sentence of 12.5 years"), facts_of("a sentence of 13 years"))
    assert facts_conflict(facts_of("the rate at 16.5%"), facts_of("the rate at 17%"))
    assert facts_conflict(facts_of("62.8% turnout"), facts_of("64% turnout"))


def test_a_rounded_figure_joins_a_market_retelling() -> None:
    report = ("Wildberries' turnover grew to 1,204,311 million roubles in the first half, the company said. "
              "The number of sellers on the platform rose by a third.")
    retold = "Wildberries: turnover in the first half reached about 1,204 billion roubles"
    assert judged(report, retold)


def test_a_time_of_day_is_no_count() -> None:
    # "at 07:40" is when the spokesman spoke, not a figure of the event
    assert ("time", "07:40") in facts_of("said at 07:40")
    restrictions = ("Rosaviatsia: restrictions on arrivals and departures were imposed at Pulkovo airport. "
                    "34 flights delayed, 5 cancelled.")
    quote = "Restrictions imposed at Pulkovo airport to ensure flight safety, a Rosaviatsia spokesman said at 07:40."
    assert veto(restrictions, quote) != "numbers"
    assert judged(restrictions, quote)


def test_another_time_of_day_is_another_fact() -> None:
    assert facts_conflict(facts_of("the launch at 09:15"), facts_of("the launch at 11:30"))


# --- recall: "yesterday" retellings, subjects that are common words -------------------------

MATCH = ("Spartak beat Zenit 2:1 in Moscow: goals from Ugalde and Solari after Zenit opened the scoring. "
         "Spartak climbed to third place in the table.")


def test_a_yesterday_retelling_a_day_later_joins() -> None:
    yesterday = "Yesterday Spartak came from behind to beat Zenit 2:1 in Moscow, with goals from Ugalde and Solari."
    assert judged(MATCH, yesterday, hours=20)


def test_without_yesterday_a_day_later_is_held_to_a_higher_bar() -> None:
    later = "Spartak came from behind to beat Zenit 2:1 in Moscow, with goals from Ugalde and Solari."
    with_it = "Yesterday " + later[0].lower() + later[1:]
    a, b, c = gist_of(MATCH), gist_of(later), gist_of(with_it)
    plain, looking_back = rewrite_match(a, b, gap_hours=30), rewrite_match(a, c, gap_hours=30)
    assert plain is not None and looking_back is not None
    assert looking_back.threshold < plain.threshold


def test_a_retelling_opening_with_a_common_word_is_no_swapped_subject() -> None:
    ruling = ("The Moscow City Court upheld the arrest of blogger Ilya Sorokin, accused of fraud with "
              "investment courses worth 40 million roubles.")
    retold = "Earlier today the court left blogger Ilya Sorokin under arrest in the investment courses fraud case."
    assert veto(ruling, retold) != "opener swapped"


def test_a_company_opening_before_its_verb_is_still_a_subject() -> None:
    a = "Yandex launched a paid tier of its Alice assistant on Tuesday, priced at 299 roubles a month."
    b = "VK launched a paid tier of its Marusya assistant on Tuesday, priced at 299 roubles a month."
    assert not judged(a, b)


def test_a_precise_shared_figure_anchors_a_nameless_headline() -> None:
    rates = "The central bank set the official euro rate for Wednesday at 91.37 roubles, the dollar at 78.42."
    headline = "Official euro rate for Wednesday: 91.37 roubles"
    assert veto(rates, headline) != "anchors"


# --- results and periods ----------------------------------------------------------------

def test_seats_won_by_every_party_name_no_winner() -> None:
    # "won 38 seats" tells a share: both texts tell the same result, in another order
    report = ("Norway's Labour Party won 38 seats in the Storting election, the Progress Party 24 and "
              "the Conservatives 15. Prime Minister Stoere keeps his minority government.")
    retold = ("With 38 seats for Labour, Stoere keeps his minority government; the Progress Party won 24 "
              "seats and the Conservatives 15 in Norway's Storting election.")
    assert veto(report, retold) != "winner"
    assert judged(report, retold)


def test_another_winner_of_the_race_still_differs() -> None:
    a = "Labour won the Storting election in Norway ahead of the Progress Party, final results show."
    b = "The Progress Party won the Storting election in Norway ahead of Labour, final results show."
    assert veto(a, b) == "winner"


def test_a_quarter_is_a_fact_not_a_name() -> None:
    assert ("period", "q3") in facts_of(normalise("Lukoil Q3 profit"))
    assert "^q3" not in entities_of("Lukoil Q3 profit fell")
    assert facts_conflict(facts_of("lukoil q3 profit"), facts_of("lukoil q2 profit"))
    report = "Lukoil's Q3 net profit fell 24% to 213 billion roubles, the company said on Thursday."
    retold = "Lukoil: net profit down 24% in the third quarter, to 213 billion roubles"
    assert judged(report, retold)


def test_a_company_opening_before_to_or_s_is_still_a_subject() -> None:
    # "Ozon to cut...", "Ozon's ...": the company is the subject, its swap for another shows
    a = "Ozon to cut 600 jobs at its Moscow logistics hub, RBC reports, citing a source in the company."
    b = "Avito to cut 600 jobs at its Moscow logistics hub, RBC reports, citing a source in the company."
    assert not judged(a, b)
    c = "Ozon's net loss narrowed to 12 billion roubles in the quarter, the company said in Moscow."
    d = "Avito's net loss narrowed to 12 billion roubles in the quarter, the company said in Moscow."
    assert not judged(c, d)


def test_a_source_named_past_a_title_is_a_source() -> None:
    g = gist_of("Школы перейдут на новый график с 1 сентября, сообщил министр просвещения Сергей Кравцов.")
    assert {"серг", "крав"} <= g.sources
    # "said on Monday that Apple..." names the subject of the news, not its source
    h = gist_of("The regulator said on Monday that Apple will open its app store to rivals.")
    assert "appl" not in h.sources


def test_someone_who_later_said_past_the_lead_is_a_source() -> None:
    g = gist_of("Armenia and Azerbaijan initialled the peace treaty in Washington; Aliyev later said Baku would sign it this year.")
    assert "aliy" in g.sources
    # in the lead, the name before "said" is the subject of the news
    h = gist_of("Aliyev said on Friday Azerbaijan would sign the peace treaty with Armenia this year.")
    assert "aliy" not in h.sources


# --- follow-ups: a later stage of the same case -------------------------------------------

VERDICT = ("Former Rosnano deputy chief Oleg Kiselev sentenced to 9 years in prison for embezzlement, "
           "the Moscow City Court ruled.")


def test_an_appeal_filed_is_news_of_its_own() -> None:
    appeal = "Kiselev's lawyers filed an appeal against the 9-year sentence for embezzlement at the Moscow City Court."
    assert veto(VERDICT, appeal, hours=6) == "follow-up"
    assert not judged(VERDICT, appeal, hours=6)


def test_bail_is_news_of_its_own() -> None:
    bail = "Oleg Kiselev was released on bail after the Moscow City Court embezzlement verdict."
    assert veto(VERDICT, bail, hours=6) == "follow-up"


def test_a_plea_and_a_plan_to_appeal_are_no_follow_up() -> None:
    retold = "The Moscow City Court gave Oleg Kiselev 9 years for embezzlement; his lawyers said they would appeal."
    assert veto(VERDICT, retold) != "follow-up"
    strike = ("Drones hit Belgorod overnight on May 3, injuring 6 people, the governor said; Gladkov "
              "renewed his appeal for shelters.")
    retold_strike = "Six people injured as drones struck Belgorod early on May 3, Governor Gladkov said."
    assert veto(strike, retold_strike) != "follow-up"
