"""Rewrite scoring: do two differently worded posts report the same event?

Copies, reposts and light edits are settled by the canonical hash and word-pair overlap
(``bot.stories.dedupe``). A *retelling* shares few word pairs: another channel summarises a
long post in two lines, or tells the same facts in another order with other verbs. What it
keeps are the facts: the named people, organisations and places, the numbers and dates,
and the content words of the action. This module compares those, pure and without I/O.

Names come from the raw text's capitalisation (the stored text is casefolded): a word
capitalised inside a sentence is a *name*; one capitalised only because it opens a
sentence or a headline ("Regulator says...", "Citing...") is a *weak name*: it counts when
both texts have it and weighs little when missing; a news word opening a headline
("Визит Лаврова...") is none, nor are hashtags and the words of links. Acronyms and words
with a capital inside ("IndiGo") are names wherever they stand. Countries, their adjectives
and a few aliases fold to one key ("Brazil", "Brazilian", "Бразилии"; "EU", "European
Commission"); a city keeps its own key but also names its country ("Brasilia" agrees with
"Brazil", "Paris" does not agree with "Berlin"), and a city named for its state rather than
as a place ("Moscow and Kyiv delegations") is found by the state. Other names are compared
by their first ``NAME_STEM`` letters, which folds Russian cases ("Путин", "Путина",
"Путиным"; a short name loses its case ending first: "Цян", "Цяном"). A name of several
words ("Donald Trump") counts once. Content words are compared by Snowball stem (English or
Russian, by script), a country and its adjective as one word, figures not at all (they are
facts), and the words news channels use for one thing ("phone call" / "telephone
conversation", "снизил" / "снижение", "deals" / "agreement") by a shared concept.

What a retelling may drop or add: its *sources* (a name next to "said", "заявил",
"according to"; a quote's speaker heading the post, "Nabiullina: ..."; a credit after a
dash), a *nationality* that only says whose a name is ("Russia's Foreign Minister Sergey
Lavrov"), an acronym it spells out or a name it abbreviates ("НПЗ" / "нефтеперерабатывающий
завод", "ШОС" / "Шанхайской организации сотрудничества", "Минфин" / "министерство
финансов"), a point of reference ("since February"), an outlook added to a done event.

The rules, in order (any veto ends the comparison; ``veto_of`` names the one that did):

1. Time: past ``MAX_GAP_HOURS`` a rewrite never joins.
2. Facts (``facts_of``): numbers are typed (date, percentage, year, count) and months
   named; two texts that each give a value of one kind the other lacks ("18%" vs "19%",
   "July 3" vs "July 9", "in August" vs "in September") report different events. A fact
   only one side states is no conflict: retellings keep different subsets; a point of
   reference ("first talks since February", "впервые с 2021 года") is no fact of the event.
   A figure rounded to fewer digits, within ``ROUNDING`` ("384k" / "384,122", "почти 87%" /
   "86,9%"), is the same figure; a time of day ("08:05", "4am") and a quarter ("Q2", "H1")
   are kinds of their own.
3. Tense, read from the lead (the first sentence; the first two after a heading, "Wednesday
   in Istanbul: ..."): a clear announcement ("expected to", "set for", "проведут") is not
   the report of the event, nor is "will ..." the report of the done event ("held",
   "провели"); a lead that reports something done ("profit reached...", "a contract signed
   on...") is a report, whatever outlook follows; between texts of up to ``LONG_TEXT``
   words, a direction of change (cut / raised / kept) differs: another decision.
   Another winner of the same race ("X came first" / "Y first") is another result.
   A forecast a figure is measured against ("than the 411,000 bpd expected", "analysts had
   expected") announces nothing. A win word before a figure ("won 47 seats") names no winner.
4. Names, softly: the longer text must name most of the shorter one's names
   (``MIN_NAME_COVERAGE``; a country it adds where the other names no country counts
   ``CONTEXT_COUNTRY``); a name missing where the longer text names another of the same
   kind (country for country, person, company or city for one of those) is a
   *substitution*: another counterpart, company or place. It vetoes when both names stand
   in the opening sentences, or when fewer than ``SUBSTITUTION_COVERAGE`` of the names
   agree. A place swapped ("in Sochi" / "in Istanbul"), a sentence-opening name swapped for
   another ("Microsoft completed..." / "...Sony finalised...", unless the other's subject
   stands before the verb: "Facing rivals, Novo Nordisk lowered..."), an actor opening one
   text whom the other never names ("Rubio met...") and a name standing between the same
   words as another ("Apple said on" / "Nvidia said on") veto too. Names no list knows
   count: a city is found by its country only in a text naming no place ("Turkish ... in
   Sochi" does not agree with "in Istanbul"); a place running into a name ("в Харбине Ли
   Цян") is found or lacking on its own; a title in capitals does not find the person
   ("PM Anwar" / "PM Prabowo"); two names of several words sharing a word, each with a
   word the other lacks, are two names ("Real Madrid" / "Atletico Madrid"); a capital
   after a headline's colon or spaced dash is a sure name; two openers, each found
   nowhere in the other text, are two subjects.
5. Anchors: at least ``MIN_ANCHORS`` shared facts (names, spelled acronyms and numbers),
   one of them a name; a text naming no one for sure anchors on two shared figures (a
   figure of ``PRECISE_DIGITS`` significant digits counts twice). A shorter text with
   ``MIN_OWN_WORDS`` words besides names, none of them in the other (or, against a long
   text and with no figure shared, fewer than a sixth), tells something else of the same
   names. A phone call is not a meeting in a place; a counterpart the shorter text names
   after "met" / "with" that the other text never names is another meeting; a later stage
   of a case told as done in a lead (an appeal filed, bail, a docking) that the other text
   never mentions is a follow-up.
6. Score: the weighted share of the shorter text's content words found in the
   best-matching passage of the longer one (a run of its sentences up to ``PASSAGE_SIZE``
   times the shorter text, alone or after the longer text's title: a summary is compared
   with the part of the long post it summarises), blended with the share of that passage
   found in the shorter text (a shared name is found by its key, however it is written);
   plus a bonus when the opening sentences name the same people and for shared numbers.
   Names weigh ``NAME_WEIGHT`` (split between the words of a longer name), words every
   news post uses ``GENERIC_WEIGHT``, other words 1.
7. Time weighs in: within ``CLOSE_HOURS`` the score must reach ``threshold``; the bar
   rises by ``GAP_PENALTY_PER_DAY`` per day after that (after ``LOOK_BACK_HOURS`` for a
   text that says "yesterday", "вчера").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import NamedTuple

import snowballstemmer

from bot.core.caches import remember
from bot.core.pieces import split_pieces
from bot.core.text import ascii_bytes_table, literal_alternation

__all__ = [
    "DEFAULT_THRESHOLD",
    "Gist",
    "RewriteMatch",
    "entities_of",
    "facts_conflict",
    "facts_of",
    "gist",
    "names_conflict",
    "rewrite_match",
    "veto_of",
    "strong_names",
]

NAME_STEM = 4
NAME_WEIGHT = 3.0
GENERIC_WEIGHT = 0.5
MIN_ANCHORS = 2
MIN_NAME_COVERAGE = 0.55  # share of the shorter text's names the longer must have
CONTEXT_COUNTRY = 0.5  # a country missing where the other text names none, as a share of a name
OPENER_WEIGHT = 0.25  # a weak name opening the text, as a share of a name
SUBSTITUTION_COVERAGE = 0.8  # the same, when the longer names someone the shorter lacks
MIN_CONTENT = 4  # a shorter text with fewer content words says too little to match by rewording
DEFAULT_THRESHOLD = 0.5
CLOSE_HOURS = 12.0
MAX_GAP_HOURS = 72.0
GAP_PENALTY_PER_DAY = 0.5  # threshold rise per day of gap past CLOSE_HOURS
LONG_TEXT = 40  # content words: above this, "will" says nothing about the event itself
LEAD_BONUS = 0.1
MIN_OWN_WORDS = 6  # a shorter text with this many words besides names, none found in the other, tells something else
MIN_ACTION = 0.5  # share of the shorter text's words that are not names the other must tell
PASSAGE_SIZE = 3  # the passage a short text is compared with: up to this many times its words
NUMBER_BONUS = 0.05  # per shared number (at most two): a shared figure or date is evidence
WEAK = "~"  # prefix of a weak name's key in ``entities_of``
ACRONYM = "^"  # prefix of an acronym's key in ``entities_of``
UNIT = "="  # prefix of a name of several words in ``entities_of`` (its keys, space-separated)

_STOPWORD_TEXT = """a an the and or but if of to in on at by for with from into onto over under about after
    before during between through against among within as than then so such that this
    these those there here it its is are was were be been being has have had do does did
    shall should can could may might must i we you he she they them us our your his
    her their my me him who whom whose which what when where why how all any both each few more
    most other some own same too very also just only s t said says say told according per
    via amid while since until up down out off again further once new would will
    и в во на с со к ко по за из от до для о об при а но или же ли что как это этот эта эти
    тот та те так также уже еще ещё бы был была были было быть есть он она оно они мы вы я его
    ее её их им ним нем ней у вот сообщил сообщила сообщили заявил заявила который которая
    которые которого после перед между над под через"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Words every news post uses: shared, they say little about *which* event.
_GENERIC_TEXT = """minist foreign presid prime offici state govern talk meet discuss agre
    countri side leader report news statement week day year time mr
    министр президент глав встреч переговор обсуд сторон стран заявлен сообщ день год"""
_GENERIC = frozenset(_GENERIC_TEXT.split())

# Capitalised but not names: titles, months, weekdays, function words that open sentences.
_NOT_NAMES = frozenset(
    ["president", "prime", "minister", "foreign", "secretary", "state", "head", "chair", "chairman", "deputy", "vice", "aide", "chancellor", "king", "queen", "pope", "general", "governor", "mayor", "spokesman", "spokeswoman", "spokesperson", "ambassador", "envoy", "senator", "congressman", "speaker", "ceo", "chief", "канцлер", "губернатор", "мэр", "посол", "спикер", "генсек", "пресс-секретарь", "ministry", "council", "meeting", "summit", "session", "talks", "mr", "mrs", "ms", "dr", "sir", "the", "a", "an", "on", "in", "at", "of", "for", "and", "but", "as", "by", "to", "from", "with", "after", "before", "during", "while", "this", "that", "these", "those", "it", "its", "he", "she", "they", "we", "our", "their", "his", "her", "there", "here", "what", "when", "where", "who", "why", "how", "also", "first", "second", "third", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "yesterday", "tomorrow", "breaking", "update", "urgent", "read", "full", "text", "key", "excerpts", "question", "answer", "comment", "remarks", "statement", "declaration", "sides", "ministers", "leaders", "delegation", "delegations", "not", "no", "if", "all", "some", "more", "most", "президент", "премьер", "министр", "глава", "заместитель", "помощник", "совет", "заседание", "саммит", "переговоры", "в", "во", "на", "с", "со", "к", "по", "из", "от", "до", "для", "о", "об", "при", "и", "а", "но", "или", "что", "как", "это", "этот", "эта", "эти", "тот", "та", "те", "он", "она", "они", "мы", "вы", "я", "его", "её", "их", "также", "уже", "ещё", "итоги", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье", "сегодня", "вчера", "завтра", "срочно", "подробнее", "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"]
)

# Countries with their adjectives and capitals (English and Russian stems): one key per
# country, so "Brazil", "Brazilian", "Brasilia" and "Бразилии" agree, and "Turkish" and
# "Iranian" do not. A compact list of the states news channels name most often.
_PLACES_TEXT = """
    ru: russia russian kremlin росси российск кремл рф= cbr= @moscow|москв
    us: usa= america american сша= америк американск @washington|вашингтон
    cn: china chinese кнр= китай китая= китаю= китаем= китае= китайск @beijing|пекин @tianjin|тяньцзин
    tr: turkey turkish turkiye türkiye турци турецк @ankara|анкар @istanbul|стамбул @antalya|анталь
    ir: iran= iran's= iranian иран= ирана= ирану= ираном= иране= иранск @tehran|тегеран
    br: brazil бразил @brasilia|brasília|бразилиа @rio=|рио=
    in: india indian инди индийск @delhi=|дели=
    ua: ukrain украин @kyiv=|kiev=|киев=|киева=|киеве= @kharkiv|харьков @odesa|odessa|одесс
    by: belarus belarusian беларус белорус @minsk|минск
    kz: kazakh казахстан казахск @astana|астан @almaty|алматы
    az: azerbaijan азербайджан @baku=|баку=
    am: armenia армени армянск @yerevan|ереван
    ge: georgia грузи грузинск @tbilisi|тбилис
    my: malaysia malaysian малайзи @kuala|lumpur|куала|лумпур
    id: indonesia indonesian индонези @jakarta|джакарт
    th: thailand thai= таиланд тайск @bangkok|бангкок
    vn: vietnam vietnamese вьетнам @hanoi|ханой
    kh: cambodia камбодж @phnom|пномпен
    jp: japan japanese япони японск @tokyo|токио
    kr: korea корея= кореи= корее= корею= кореей= южнокорейск @seoul|сеул=|сеуле=
    kp: кндр= @pyongyang|пхеньян
    de: germany german германи немецк @berlin|берлин
    fr: france french франци французск @paris|париж
    gb: britain british великобритани британск @london|лондон
    it: italy italian итали итальянск @rome=
    sy: syria syrian сирия= сирии= сирию= сирией= сирийск @damascus|дамаск
    il: israel israeli израил израильск @jerusalem|иерусалим
    eg: egypt egyptian египет египт египетск @cairo|каир=|каире=
    sa: saudi саудовск @riyadh|эр-рияд|рияд=|рияде=
    ae: emirates emirati uae= оаэ= эмират @dhabi|абу-даби @dubai|дубай
    qa: qatar катар= катара= катаре= катаром= @doha=|доха=|дохе=|дохи=
    iq: iraq= iraqi ирак= ирака= ираку= ираком= ираке= иракск @baghdad|багдад
    af: afghanistan afghan афганистан афганск @kabul|кабул
    pk: pakistan pakistani пакистан @islamabad|исламабад
    za: southafrica= юар= @johannesburg|йоханнесбург @pretoria|претори
    ar: argentina argentine argentinian аргентин @buenos=|aires=|буэнос|айрес
    mx: mexico mexican мексик
    ca: canada canadian канад @ottawa|оттав
    mn: mongolia mongolian монголи монгольск @ulaanbaatar|улан-батор
    md: moldova moldovan молдави молдавск молдов @chisinau|кишинев|кишинёв
    ph: philippines philippine филиппин @manila|манил
    sg: singapore сингапур
    eu: eu= евросоюз ес= еврокомисси @brussels|брюссел
    """
# Entries ending in "=" or shorter than five letters are whole words; the others are prefixes,
# long enough that no common word starts with one ("india" does not swallow "indicate").
# Countries and their adjectives fold to "#code"; a city (written "@name|alias...") keeps a
# key of its own, "@name", and ``_CITY_COUNTRY`` says whose it is: "talks in Paris" and
# "talks in Berlin" differ even when both texts say "French" and "German".
_PLACE_WORDS: dict[str, str] = {}
_PLACE_PREFIXES: dict[str, str] = {}
_CITY_COUNTRY: dict[str, str] = {}
for _line in _PLACES_TEXT.strip().splitlines():
    _code, _words = _line.split(":")
    _country = "#" + _code.strip()
    for _entry in _words.split():
        _key = _country
        if _entry.startswith("@"):
            _aliases = _entry[1:].split("|")
            _key = "@" + _aliases[0].rstrip("=")
            _CITY_COUNTRY[_key] = _country
        else:
            _aliases = [_entry]
        for _word in _aliases:
            if _word.endswith("=") or len(_word) < 5:
                _PLACE_WORDS[_word.rstrip("=")] = _key
            else:
                _PLACE_PREFIXES[_word] = _key
_CITY_KEYS = frozenset(_CITY_COUNTRY)
_COUNTRY_KEYS = frozenset({*_PLACE_WORDS.values(), *_PLACE_PREFIXES.values()} - _CITY_KEYS)
_PLACE_LENGTHS = sorted({len(p) for p in _PLACE_PREFIXES}, reverse=True)
# Names written in several words, folded to one before tokenising (case-insensitively).
_PHRASES = {
    "united states": "USA", "white house": "Washington", "united kingdom": "Britain",
    "south africa": "SouthAfrica", "saudi arabia": "Saudi", "north korea": "Pyongyang",
    "south korea": "Seoul", "new delhi": "Delhi", "северная корея": "КНДР", "северной кореи": "КНДР",
    "северную корею": "КНДР", "северной корее": "КНДР", "северной кореей": "КНДР", "rio de janeiro": "Rio", "bank of russia": "CBR",
    "russian central bank": "CBR", "банк россии": "ЦБ", "банка россии": "ЦБ", "банком россии": "ЦБ",
    "центробанк": "ЦБ", "центральный банк россии": "ЦБ",
    # the Commission acts for the EU: "the European Commission fined", "EU fines", "Brussels found"
    "european union": "EU", "european commission": "EU",
}
_PHRASE = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, _PHRASES), key=len, reverse=True)) + r")\b", re.IGNORECASE)
# The phrases in casefolded text, without the leading \b: a pattern that starts with a look
# (a \b) is tried at every character, one that starts with letters only where one of
# their first letters stands (~2x faster); the word boundary before a match is checked
# by _fold_phrases, which then searches again one character on, as the \b would have.
# (Written as a trie, the same matches as the sorted alternation above, ~2 µs a post less.)
_PHRASE_LOWER = re.compile("(?:" + literal_alternation(_PHRASES) + r")\b")
_PHRASE_HINTS = ("united", "white", "south", "saudi", "north", "delhi", "rio de", "bank", "банк", "центр", "european", "северн")


# "US", "U.S." in the raw text (in folded text "us" is a pronoun); the \b before the "U" is
# checked behind it, so the scan looks only where a "U" stands
_US = re.compile(r"U(?<=\bU)\.?S\.?(?=[\s,;:)'’]|$)")


def _fold_phrases(text: str) -> str:
    if "U" in text:
        text = _US.sub("USA", text)
    lowered = text.casefold()
    if len(lowered) != len(text):  # casefolding changed lengths ("ß"): spans would not line up
        if not any(hint in lowered for hint in _PHRASE_HINTS):
            return text
        return _PHRASE.sub(lambda m: _PHRASES[m.group(0).casefold()], text)
    pieces: list[str] = []
    last = 0
    match = _PHRASE_LOWER.search(lowered)
    while match is not None:
        start = match.start()
        if start and (lowered[start - 1].isalnum() or lowered[start - 1] == "_"):  # no \b before it
            match = _PHRASE_LOWER.search(lowered, start + 1)
            continue
        pieces += (text[last:start], _PHRASES[match.group()])
        last = match.end()
        match = _PHRASE_LOWER.search(lowered, last)
    return "".join(pieces) + text[last:] if pieces else text


# An announcement of something ahead: "expected to", "is set to", "проведут"... A bare
# "will" ("Aeroflot will resume flights") is weaker: the announcement may be the news itself,
# so it only keeps a text apart from one that reports the event as done.
_FUTURE_WORDS = frozenset(
    ["upcoming", "scheduled", "expected", "expects", "expect", "planned", "planning", "проведёт", "проведет", "проведут", "пройдёт", "пройдет", "пройдут", "состоится", "состоятся", "встретится", "встретятся", "планирует", "планируют", "планируется", "ожидается", "ожидаются", "ожидают", "ждут", "намерен", "намерена", "намерены", "предстоящий", "предстоящей", "предстоящем", "предстоящие", "предстоящих", "посетит", "посетят", "отправится", "прибудет", "прибудут", "выступит", "выступят", "завтра", "tomorrow", "запланирован", "запланирована", "запланированы", "запланировано", "назначен", "назначена", "назначены", "назначено", "предстоит", "предстоят", "впереди"]
)
# "Chelsea face PSG in the final": the headline present of a fixture ahead; weak (it also
# says "faces charges"), so it only keeps the text apart from a report of the done event
_WEAK_FUTURE_WORDS = frozenset(["will", "won't", "shall", "could", "might", "будет", "будут", "может", "могут", "примет", "примут", "plans", "face", "faces", "сыграет", "сыграют"])
_FUTURE_PHRASES = re.compile(
    r"\b(?:is|are) (?:set |due |going |expected |scheduled )?to\b|\bto be held\b|\b(?:plans?|intends?|hopes?) to\b"
    r"|\bwill (?:hold|meet|visit|travel|sign|attend|host|discuss|speak|address|arrive|announce|vote|decide|take part|head|go|fly)\b"
    r"|\bto (?:hold|meet|visit|sign|attend|host|discuss)\b|\b(?:next|later this) (?:week|month|year)\b"
    r"|\b(?:set|due|scheduled|planned) for\b|\bdue to\b|\b(?:is|are) planned\b"
)

_PHRASE_CUES = frozenset(["to", "will", "next", "later", "for", "planned"])  # words one of those phrases needs

# A forecast of a vote is not its result: "polls give Civic Platform about 31%", "по опросам…".
_FORECAST = re.compile(
    r"\b(?:polls?|surveys?) (?:give|gives|suggest|suggests|show|shows|put|puts|predict|predicts)\b"
    r"|\bпо (?:данным )?опросам\b|\bопросы (?:показывают|предсказывают)\b"
)

# Past-tense action verbs (not reporting verbs: "announced", "said" tell nothing about
# whether the event itself has happened).
_PAST_WORDS = frozenset(
    ["held", "met", "took", "had", "did", "won", "lost", "hit", "struck", "killed", "began", "spoke", "fell", "rose", "cut", "kept", "left", "sold", "bought", "became", "brought", "built", "came", "chose", "drew", "drove", "fought", "found", "flew", "gave", "got", "grew", "knew", "led", "made", "paid", "ran", "saw", "sent", "shot", "spent", "stood", "swore", "threw", "went", "wrote", "broke", "sank", "shook", "sought", "withdrew", "overtook", "undertook"]
)
_AHEAD_AUXILIARIES = frozenset(["be", "to", "being", "will", "would", "быть", "будет", "будут"])
_REPORTING = frozenset(
    ["announced", "reported", "stated", "confirmed", "added", "noted", "stressed", "underlined", "emphasised", "emphasized", "quoted", "cited", "claimed", "denied", "explained", "warned", "pledged", "promised", "expected", "scheduled", "planned", "united", "based", "related", "armed", "limited", "detailed", "need", "speed", "red", "bed", "sped", "informed", "briefed", "сообщил", "сообщила", "сообщили", "заявил", "заявила", "заявили", "доложил", "доложила", "рассказал", "рассказала", "отметил", "отметила", "подчеркнул", "подчеркнула", "написал", "написала", "объявил", "объявила", "объявили", "уточнил", "уточнила", "канал", "капитал", "материал", "сигнал", "финал", "генерал", "журнал", "идеал", "интервал"]
)
_RU_PAST_ENDINGS = ("ил", "ила", "или", "ал", "ала", "али", "ел", "ела", "ели", "ился", "илась", "ились", "ался", "алась", "ались", "лся", "лась", "лись", "шел", "шла", "шли", "шёл")


def _is_past(token: str) -> bool:
    if token in _PAST_WORDS:
        return True
    if len(token) < 5 or token in _REPORTING:
        return False
    if token.isascii():
        return token.endswith("ed")
    return token.endswith(_RU_PAST_ENDINGS)


# Words news channels use for one thing (EN and RU): a retelling says "phone call" where the
# original said "telephone conversation", "снижение" where it said "снизил". Each group is
# one concept when words are compared. The direction groups (up, down, unchanged) also say
# what happened to a figure: a rate cut and a rate hold are different news.
_CONCEPTS_TEXT = """
    call: call phone telephone conversation разговор телефон телефонный созвонились
    meet: meet met meeting встреча встретился встретились встречи
    talks: talks negotiation negotiations переговоры переговорах
    agree: agree agreed agreement deal accord pact memorandum договорились соглашение договоренность
    sign: sign signed signing подписал подписали подписание
    kill: kill killed killing dead death deaths died toll погиб погибли погибших жертвы убиты
    quake: quake earthquake tremor землетрясение толчок
    strike: strike struck attack attacked удар удары атака обстрел атаковал атаковали атакован атакованы
    resign: resign resigns resigned resignation quit отставка отставку
    elect: election elections ballot ballots poll polls выборы выборах
    win: win won wins victory winner победа победил победила
    price: price prices cost costs цена цены стоимость
    profit: profit earnings прибыль
    fly: flight flights fly flies nonstop рейс рейсы рейсах полет полеты перелет
    resume: resume resumes resumed back again restart возобновит возобновляет возобновление вернутся
    swap: exchange swap обмен обмене
    captive: prisoner prisoners pow pows captive пленные пленными военнопленные военнопленными
    truce: ceasefire truce перемирие
    visit: visit visited trip визит поездка посетил посетит
    invest: invest investment investments инвестиции инвестирует вложит
    order: order orders contract заказ контракт
    launch: launch launched launches запустил запуск заработало
    suspend: suspend suspended halt halted приостановил приостановлены
    output: output production pump добыча производство
    ruling: ruling governing правящая правящей
    aim: aim aims aimed target targets targeted goal goals цель цели целью нацелены
    bp: bp bps basis базисных базисный базисные
    up: rise rose risen raise raised raises hike hiked increase increased increases grew growth
        jump jumped surge surged soar climb climbed gain gained повысил повышение рост вырос
        выросла увеличил увеличение подорожал
    down: cut cuts lowers lowered reduce reduced fall falls fell drop dropped decline declined
        declines down slump slumped slash slashes slashed slowing cooling cooler weaker minus минус снизил
        снизила снижение снижена понизил сократил сокращение упал упала падение подешевел
    same: kept keep keeps unchanged steady maintain maintained held_rate сохранил сохранила оставил
        неизменной
    """
_CONCEPTS: dict[str, str] = {}
for _group in re.split(r"\n\s*(?=\w+:)", _CONCEPTS_TEXT.strip()):
    _concept, _words = _group.split(":", 1)
    for _word in _words.split():
        _CONCEPTS[_word] = "~" + _concept.strip()
_DIRECTIONS = frozenset(["~up", "~down", "~same"])
# Russian words of the concepts by their stem: a Russian word has a dozen forms
_CONCEPT_STEMS = {_stem_word: _c for _w, _c in _CONCEPTS.items() if not _w.isascii() for _stem_word in [snowballstemmer.stemmer("russian").stemWord(_w.replace("ё", "е"))]}

_WORD = re.compile(r"[^\W_]+")
_WORD_OR_BREAK = re.compile(r"[^\W_]+|[.!?;:\n](?=\s|$)|\s[-–—]\s")
_PLACE_PREPOSITIONS = frozenset(["in", "at", "near", "off", "в", "во"])  # "talks in Sochi": Sochi is a place
_STOPWORD_ACRONYMS = frozenset(["WHO", "IT", "ОН"])  # acronyms spelt like function words
_ROMAN = re.compile(r"[IVXLC]+")  # "XVII BRICS Summit": a number, not a name
_PERIOD = re.compile(r"[QqHh][1-4]")  # "Q2", "H1": a period of the year (a fact), not a name
_PERIOD_LETTERS = frozenset("qh")
_ACRONYM_MAX = 6  # an all-caps word up to this long is an acronym (OPEC, BRICS, ШОС); longer is shouting

_STEMMERS = {"en": snowballstemmer.stemmer("english"), "ru": snowballstemmer.stemmer("russian")}
_CYRILLIC = re.compile(r"[а-яё]")


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """Snowball stem of a casefolded word, Russian or English by its script."""
    word = word.replace("ё", "е")
    stem: str = _STEMMERS["ru" if _CYRILLIC.search(word) else "en"].stemWord(word)
    return stem


@functools.lru_cache(maxsize=200_000)
def _name_key(word: str) -> str:
    """The key a (casefolded) word is compared under as a name: its country, or its first
    ``NAME_STEM`` letters."""
    word = word.replace("ё", "е")
    code = _PLACE_WORDS.get(word)
    if code is not None:
        return code
    for size in _PLACE_LENGTHS:
        if size <= len(word):
            code = _PLACE_PREFIXES.get(word[:size])
            if code is not None:
                return code
    if len(word) <= NAME_STEM + 2 and _CYRILLIC.search(word):
        # a short Russian name declines past its first letters: "Цян", "Цяна", "Цяном" are
        # one name; the case ending goes before the cut (longer names keep their first letters)
        for ending in _RU_CASE_ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                return word[: -len(ending)][:NAME_STEM]
    return word[:NAME_STEM]


_RU_CASE_ENDINGS = ("ами", "ями", "ом", "ем", "ой", "ей", "ым", "им", "ою", "ах", "ях", "ов", "а", "я", "у", "ю", "е", "ы", "и")


@functools.lru_cache(maxsize=1024)  # bounded: raw texts can be long
def entities_of(text: str) -> frozenset[str]:
    """Name keys of a raw (not casefolded) post text: capitalised words that are not titles,
    months, weekdays or function words. A word capitalised only because it opens a sentence
    is a weak name (its key prefixed with ``WEAK``) unless it is a country or an acronym
    (prefixed with ``ACRONYM``), or the text capitalises it inside a sentence too. A name
    of several words ("Donald Trump", "Middle East") also gives its keys together, after
    ``UNIT``: it is one name when counting how many of a text's names another one has."""
    return entities_of_pieces(split_pieces(text))


def entities_of_pieces(pieces: list[str]) -> frozenset[str]:
    """``entities_of("".join(pieces))`` for the pieces of ``bot.core.pieces.split_pieces``.
    Each piece is read once per process (``_piece_names``, remembered; figures aside, see
    ``_remember_piece``): news repeats its sentences and lines, and a text's names are its
    pieces' names, with a name of several words continued across a line break
    (``_PieceNames.lead``)."""
    known = _PIECE_NAMES.get
    names = _assemble([known(piece) or _remember_piece(piece) for piece in pieces], whole=len(pieces) == 1)
    if names is None:
        # casefolding changes the text's length: phrases are then folded over the whole text
        names = _assemble([_piece_names("".join(pieces))], whole=True)
        assert names is not None
    return names


def _assemble(parts: list[_PieceNames], *, whole: bool) -> frozenset[str] | None:
    """The names of a text from its pieces' (None if a piece folds unevenly and the parts
    are not of the ``whole`` text in one piece)."""
    strong: set[str] = set()
    weak: set[str] = set()
    acronyms: set[str] = set()
    units: set[str] = set()
    run: list[str] = []
    blank_since_last = False  # the text since the last capitalised word is whitespace only
    for matched, blank_head, blank_tail, lead, broken, trail, closed, sure, maybe, acronym, uneven in parts:
        if uneven and not whole:
            return None
        if not matched:
            blank_since_last = blank_since_last and blank_head
            continue
        if run and not (blank_since_last and blank_head):
            _close_run(run, units)
            run = []
        if lead:
            run += lead
        if broken:
            _close_run(run, units)
            run = list(trail)
        # (most of these are empty: a test is cheaper than a call)
        if sure:
            strong.update(sure)
        if maybe:
            weak.update(maybe)
        if acronym:
            acronyms.update(acronym)
        if closed:
            units.update(closed)
        blank_since_last = blank_tail
    _close_run(run, units)
    acronyms -= strong
    return frozenset(strong) | {ACRONYM + key for key in acronyms} | {WEAK + key for key in weak - strong - acronyms} | units


class _PieceNames(NamedTuple):
    """What one piece of a text adds to ``entities_of``. A name of several words is a run of
    capitalised words with only whitespace between them, which may go on across pieces:
    ``lead`` is the piece's keys up to its first break of a run (all of them when
    ``broken`` is False), ``trail`` those after its last, ``units`` the runs closed in
    between; ``blank_head``/``blank_tail``: only whitespace (or nothing) before its first
    capitalised word / after its last (for a piece without any, ``blank_head`` says it of
    the whole piece)."""

    matched: bool
    blank_head: bool
    blank_tail: bool
    lead: tuple[str, ...]
    broken: bool
    trail: tuple[str, ...]
    units: frozenset[str]
    strong: frozenset[str]
    weak: frozenset[str]
    acronyms: frozenset[str]
    folds_unevenly: bool  # casefolding changes its length (see ``_fold_phrases``)


_PIECE_NAMES: dict[str, _PieceNames] = {}
_PIECE_NAMES_MAX = 32_768  # ~0.5 kB each: 100,000 saved no CPU on 100,000 bench posts but cost ~35 MB more


def _remember_piece(piece: str) -> _PieceNames:
    # A number standing alone ("January 29", "(24141)", "killed 12") names no one, and the
    # values of its digits change nothing of a piece's names, only where they stand (kept:
    # a "0" for each digit). Such a piece is read and remembered with its digits as zeros,
    # so a line or sentence that differs from one read before only in its figures (a dated
    # headline, a numbered line, a rising toll) is not read again: of the bench's 100,000
    # posts, 190,000 piece readings -> 29,000. A digit glued to a word ("G20", "Q2") is part
    # of a name: such a piece is read as it stands.
    if _NONZERO_DIGIT.search(piece) and not _ATTACHED_DIGIT.search(piece):
        masked = _NONZERO_DIGIT.sub("0", piece)
        made = _PIECE_NAMES.get(masked)
        if made is None:
            made = _piece_names(masked)
            _keep_piece(masked, made)
        return made
    made = _piece_names(piece)
    _keep_piece(piece, made)
    return made


def _keep_piece(piece: str, made: _PieceNames) -> None:
    remember(_PIECE_NAMES, piece, made, _PIECE_NAMES_MAX)


_NONZERO_DIGIT = re.compile("[1-9]")
# An ASCII digit glued to a word: another word character (a letter, "_", another script's
# digit) before or after it, or a hyphen or apostrophe before it (_CAPITALISED goes on over
# them: "Boeing-737"; such parts name no one today, but the rule does not lean on that).
# The pattern starts with the digit, so the engine jumps from digit to digit.
_ATTACHED_DIGIT = re.compile(r"[0-9](?:(?<=[^\W0-9].)|(?<=[-'’].)|(?=[^\W0-9]))")


def _close_run(run: list[str], units: set[str]) -> None:
    """A run of several capitalised words ends: it is also one name, its keys together."""
    if len(run) > 1:
        units.add(UNIT + " ".join(sorted(set(run))))


def _blank(text: str) -> bool:
    return not text or text.isspace()


def _piece_names(text: str) -> _PieceNames:
    strong: set[str] = set()
    weak: set[str] = set()
    acronyms: set[str] = set()
    units: set[str] = set()
    run: list[str] = []
    lead: tuple[str, ...] | None = None  # set at the first break of a run
    blank_head = True
    if "http" in text or "t.me/" in text or "www." in text:
        text = _LINK.sub(" ", text)  # a link's words ("t.me/MFARussia") name no one in the story
    folds_unevenly = len(text.casefold()) != len(text)  # as _fold_phrases finds ("U.S." is ASCII)
    folded_text = _fold_phrases(text)
    run_end = -1
    effects_of = _WORD_EFFECTS.get
    # only capitalised words are visited: where a word stands (a sentence start, next to
    # the previous name) is read from the characters before it
    for match in _CAPITALISED.finditer(folded_text):
        start, end = match.span()
        if run_end < 0:
            blank_head = _blank(folded_text[:start])
        elif not folded_text[run_end:start].isspace():
            if lead is None:
                lead = tuple(run)
            else:
                _close_run(run, units)
            run = []
        run_end = end
        word = match.group()
        if start > 0 and folded_text[start - 1] == "#":
            # a hashtag ("#ДеньПобеды", "#Putin") tags the post: a weak name, found or not
            weak.update(key for key, _ in _name_parts(word))
            continue
        inside, opening = effects_of(word) or _word_effects(word)
        # where the word stands matters only when it could be a weak name; the usual case,
        # a word right after a word, is settled before calling _opens_sentence
        if opening is not inside and (
            (start < 2 or folded_text[start - 1] != " " or not folded_text[start - 2].isalnum())
            and _opens_sentence(folded_text, start)
        ):
            inside = opening
        if inside is _NO_EFFECTS:
            continue
        sure, maybe, acronym, in_run = inside
        if sure:
            strong.update(sure)
        if maybe:
            weak.update(maybe)
        if acronym:
            acronyms.update(acronym)
        if in_run:
            run += in_run
    if run_end < 0:
        return _PieceNames(False, _blank(folded_text), False, (), False, (), _NONE, _NONE, _NONE, _NONE, folds_unevenly)
    broken = lead is not None
    return _PieceNames(
        True, blank_head, _blank(folded_text[run_end:]), lead if lead is not None else tuple(run), broken,
        tuple(run) if broken else (), _frozen(units), _frozen(strong), _frozen(weak), _frozen(acronyms),
        folds_unevenly,
    )


_NONE: frozenset[str] = frozenset()


def _frozen(found: set[str]) -> frozenset[str]:
    """``found`` as a frozenset, the one empty one when empty: most pieces have few names,
    and ~200 bytes for each empty set of each remembered piece add up."""
    return frozenset(found) if found else _NONE


_LINK = re.compile(r"(?:https?://|www\.|t\.me/)\S*")


# What one capitalised word adds to ``entities_of``'s sets: (strong, weak, acronyms, keys that
# extend the current run of names), inside a sentence and at its opening. Memoised per word
# (news repeats its names), so the loop over a text's capitalised words does set updates only.
_Effects = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]
_NO_EFFECTS: _Effects = ((), (), (), ())
_WORD_EFFECTS: dict[str, tuple[_Effects, _Effects]] = {}
_WORD_EFFECTS_MAX = 100_000


def _effects(word: str, at_opening: bool) -> _Effects:
    """The rules of ``entities_of`` for one word, as they stood inline there."""
    strong: list[str] = []
    weak: list[str] = []
    acronyms: list[str] = []
    run: list[str] = []
    for key, kind in _name_parts(word):
        if kind == _ACRONYM:
            acronyms.append(key)
        elif kind == _SURE or (kind == _NAME and not at_opening):
            # a place, a word capitalised inside a sentence, or one with a capital inside ("IndiGo")
            strong.append(key)
        else:
            weak.append(key)
            at_opening = False
            continue  # not part of a longer name: "Record Gazprom" is Gazprom
        at_opening = False
        if key[0] != "#":  # a country is a name of its own ("Russia Vladimir Putin")
            run.append(key)
    found = (tuple(strong), tuple(weak), tuple(acronyms), tuple(run))
    return found if any(found) else _NO_EFFECTS


def _word_effects(word: str) -> tuple[_Effects, _Effects]:
    inside, opening = _effects(word, False), _effects(word, True)
    if opening == inside:
        opening = inside  # the same object: the caller then skips looking at the word's place
    return remember(_WORD_EFFECTS, word, (inside, opening), _WORD_EFFECTS_MAX)


_ACRONYM, _SURE, _NAME, _MAYBE = 1, 2, 3, 4


@functools.lru_cache(maxsize=100_000)
def _name_parts(word: str) -> tuple[tuple[str, int], ...]:
    """The name keys of a capitalised word (of each part of "Petropavlovsk-Kamchatsky") with
    what the word alone says: an acronym, a sure name (a place, "IndiGo"), a name unless it
    opens a sentence, or only maybe a name (a shouted word)."""
    parts = []
    for part in _NAME_PARTS.split(word) if ("-" in word or "'" in word or "’" in word) else (word,):
        folded = part.casefold()
        if part in _STOPWORD_ACRONYMS:
            folded += "."  # "WHO" is not "who"
        elif len(folded) < 2 or folded in _NOT_NAMES or folded in _STOPWORDS or not part[0].isupper() or _ROMAN.fullmatch(part) or _PERIOD.fullmatch(part):
            continue
        key = _name_key(folded)
        shouting = part.isupper() and len(part) > _ACRONYM_MAX
        if part.isupper() and not shouting and key[0] != "#":
            kind = _ACRONYM
        elif key[0] in "#@" or (not shouting and not part[1:].islower()):
            kind = _SURE
        else:
            kind = _MAYBE if shouting else _NAME
        parts.append((key, kind))
    return tuple(parts)


# A word starting with a capital (any letter but a lower-case Latin or Cyrillic one) not
# glued to a word or an apostrophe before it. The look-behind stands after the first
# character, and space, "." and "," are excluded from it explicitly (they are not word
# characters anyway): the scan then rejects the commonest characters at once, ~2x faster.
_CAPITALISED = re.compile(r"[^a-z .,а-яё\W\d_](?<![\w'’].)\w*(?:[-'’]\w+)*")
_NAME_PARTS = re.compile(r"[-'’]")
_BREAKS = frozenset(".!?;:\n•|")
_LOOK_BACK = 40


def _opens_sentence(text: str, start: int) -> bool:
    """Whether the word at ``start`` is the first word of a sentence, a line or a text: the
    nearest letter, digit or break before it (quotes, emoji, spaces skipped) is a break."""
    if start >= 2 and text[start - 1] == " " and text[start - 2].isalnum():
        return False  # the usual case: a word after a word
    i = start - 1
    stop = max(-1, start - 1 - _LOOK_BACK)
    while i > stop:
        char = text[i]
        if char.isalnum() or char == "_":
            return False
        if char == ":" and i > 0 and text[i - 1].isalnum():
            # a headline's separator ("Выборы в Молдавии: Блок патриотов..."): news style
            # writes on in lower case, so a capital after it is a name
            return False
        if char in _BREAKS:
            return True
        if char in "-–—" and 0 < i < len(text) - 1 and text[i - 1].isspace() and text[i + 1].isspace():
            return False  # "Зенит — Спартак": the same, between two names or a name and its words
        i -= 1
    return True


def strong_names(entities: frozenset[str]) -> list[str]:
    """The name keys of ``entities_of`` that are names for sure (acronyms included), sorted."""
    return sorted(e.lstrip(ACRONYM) for e in entities if e[0] not in (WEAK, UNIT))


_MONTHS = frozenset(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"]
)
_RU_MONTH_STEMS = ("январ", "феврал", "март", "апрел", "мая", "май", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр")
_PERCENT = frozenset(["%", "percent", "per", "процент", "процента", "процентов"])
_NUMBER = re.compile(r"\d+(?:[., \u00a0]\d{3}(?!\d))*(?:[.,]\d+)?")  # "411,000", "8.8", "1 000" (not "27 2025")
_THOUSANDS = re.compile(r"(\d+(?:[., \u00a0]\d{3})*)(?:[.,](\d+))?")  # whole part with its separators, decimals
_AFTER_NUMBER = re.compile(r"\s*(%|[^\W\d_]+)")  # what it counts: "%", "billion", "июля"


def _number_type(before: str, value: str, after: str) -> str:
    """What a number counts, from its neighbours: a date, a percentage, a year, or a count."""
    before = before.strip(".,:;()$€£\"'").casefold()
    if after in _PERCENT:
        return "pct"
    if after in _MONTHS or before in _MONTHS or after.startswith(_RU_MONTH_STEMS):
        return "date"
    if len(value) == 4 and value[:2] in ("19", "20"):
        return "year"
    return "count"


def _number_value(value: str) -> str:
    """A number as a comparable value: a number written in groups loses its whole
    thousands ("411,000", "411 000" and the "411" of "411 thousand" agree), a decimal comma
    reads as a point ("8,8" is "8.8"). "10" and "1", "1000" and "1" stay apart."""
    if value.isdigit():  # no separators (most numbers): what the general path gives, directly
        digits = value.lstrip("0") or "0"
        if len(digits) < len(value):  # leading zeros read as groups, as below
            while len(digits) > 3 and digits.endswith("000"):
                digits = digits[:-3]
        return digits
    found = _THOUSANDS.fullmatch(value)
    whole, fraction = found.group(1, 2) if found else (value, "")
    digits = "".join(c for c in whole if c.isdigit()).lstrip("0") or "0"
    if len(digits) < len(whole):  # written in groups: "411,000" is 411 thousand
        while len(digits) > 3 and digits.endswith("000"):
            digits = digits[:-3]
    fraction = (fraction or "").rstrip("0")
    return f"{digits}.{fraction}" if fraction else digits


# Months named in a text are facts like numbers: "in August" and "from September" are two
# different months of output. ("May" counts only next to a number: it is also a verb.)
_DIGIT = re.compile(r"\d")
_MAY = re.compile(r"\b\d+\s+may\b|\bmay\s+\d+")


_CLOCK = re.compile(r"(?:[01]?\d|2[0-3]):[0-5]\d(?!\d)|(?:1[0-2]|0?\d)\s?[ap]\.?m\b")
# ASCII texts (most posts) take a fast path: marking digits (over the text's bytes, see
# ``ascii_bytes_table``) and finding the marks costs a fraction of a regex scan, which tries
# a match at every character. Outputs are those of the regexes (``\\d`` is exactly 0-9 in
# ASCII), and an ASCII text's bytes are at its characters' positions.
_ASCII_DIGIT_MARKS = ascii_bytes_table({chr(c): "0" if chr(c).isdigit() else " " for c in range(128)})


def _typed_numbers(text_norm: str) -> frozenset[tuple[str, str]]:
    """The numbers of a text with what they count: ("pct", "18"), ("date", "3")..., and
    the months it names: ("month", "august"), ("month", "июл")."""
    found = set()
    if text_norm.isascii():
        # a number starts at a digit: jump from digit to digit instead of scanning
        marks = text_norm.encode().translate(_ASCII_DIGIT_MARKS)
        start = marks.find(b"0")
        while start >= 0:
            match = _NUMBER.match(text_norm, start)
            fact, end = _typed(text_norm, match, start)  # type: ignore[arg-type]  # a digit always starts a number
            found.add(fact)
            start = marks.find(b"0", end)
    elif _DIGIT.search(text_norm):
        end = -1
        for match in _NUMBER.finditer(text_norm):
            if match.start() < end:
                continue  # the minutes of a time of day
            fact, end = _typed(text_norm, match, match.start())
            found.add(fact)
    if "may" in text_norm and _MAY.search(text_norm):  # "May" is a month only next to a number: also a verb
        found.add(("month", "may"))
    return frozenset(found)


def _typed(text_norm: str, match: re.Match[str], start: int) -> tuple[tuple[str, str], int]:
    """One number of ``_typed_numbers``: its type (from the word before and after) and value,
    and where the next number may start (past the minutes of a time of day)."""
    end = match.end()
    if start and text_norm[start - 1] in _PERIOD_LETTERS and (start < 2 or not text_norm[start - 2].isalnum()) and _PERIOD.fullmatch(text_norm, start - 1, end):
        return ("period", text_norm[start - 1 : end]), end  # "q2", "h1": a quarter, a half-year
    # a time of day ("08:05", "4am") is when it was said or will happen, not a count
    if text_norm[end : end + 1] == ":" or "m" in text_norm[end : end + 4]:
        clock = _CLOCK.match(text_norm, start)
        if clock:
            return ("time", clock.group().replace(" ", "").replace(".", "")), clock.end()
    value = match.group()
    head = text_norm[max(0, start - 30) : start].rsplit(None, 1)  # the last word before it
    follow = _AFTER_NUMBER.match(text_norm, end)
    after = follow.group(1).casefold() if follow else ""
    return (_number_type(head[-1] if head else "", value, after), _number_value(value)), end


# Months named in a text are facts like numbers: "in August" and "from September" are two
# different months of output. ``_word_info`` gives a month the stem "=name".
_MONTH_FORMS: dict[str, str] = {}
for _name, _forms in zip(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"],
    ["январь января январе январем", "февраль февраля феврале", "март марта марте", "апрель апреля апреле",
     "май мая мае", "июнь июня июне", "июль июля июле", "август августа августе", "сентябрь сентября сентябре",
     "октябрь октября октябре", "ноябрь ноября ноябре", "декабрь декабря декабре"],
    strict=True,
):
    for _form in [_name, *_forms.split()]:
        _MONTH_FORMS[_form] = "=" + _name
_MONTH_WORDS = frozenset(_MONTH_FORMS)
_MONTH_FACTS = {word: ("month", form[1:]) for word, form in _MONTH_FORMS.items()}  # made once, not per text
_ENGLISH_MONTHS = tuple(sorted(w for w in _MONTH_WORDS if w.isascii() and w != "may"))  # see _MAY for "may"


def _ascii_months(text_norm: str) -> set[str]:
    """``set(_WORD.findall(text_norm)) & _MONTH_WORDS`` for an ASCII text (the English month
    names but "may"), without splitting it into words: a name is a word where no letter or
    digit touches it."""
    words = set()
    size = len(text_norm)
    for name in _ENGLISH_MONTHS:
        at = text_norm.find(name)
        while at >= 0:
            end = at + len(name)
            if (at == 0 or not text_norm[at - 1].isalnum()) and (end == size or not text_norm[end].isalnum()):
                words.add(name)
                break
            at = text_norm.find(name, end)
    return words


_MONTH_NAMES = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
_SINCE = re.compile(
    rf"\bsince (?:the )?(?:(?:{_MONTH_NAMES})\b ?)?(?:\d{{1,2}}\b,? ?)?(?:\d{{4}}s?)?|\bвпервые с (?:\d{{1,2}} )?(?:[а-я]+ )?(?:\d{{4}})?"
)


def facts_of(text_norm: str) -> frozenset[tuple[str, str]]:
    """The numbers and months of a normalised text, typed: ("pct", "18"), ("date", "3"),
    ("month", "july")... Cheap enough to compute for every post (e.g. in an import worker),
    so that two texts stating different facts are told apart before anything else."""
    if "since" in text_norm or "впервые с" in text_norm:
        # a point of reference is no fact of the event: "first talks since February",
        # "the strongest since 1952", "впервые с 2021 года"
        text_norm = _SINCE.sub(" ", text_norm)
    found = _typed_numbers(text_norm)
    words = _ascii_months(text_norm) if text_norm.isascii() else set(_WORD.findall(text_norm)) & _MONTH_WORDS
    words.discard("may")  # counted by _typed_numbers, next to a number only
    if words:
        found = found.union(map(_MONTH_FACTS.__getitem__, words))
    return found


def facts_conflict(a: frozenset[tuple[str, str]], b: frozenset[tuple[str, str]]) -> bool:
    """Whether two texts' ``facts_of`` state different values of one kind of fact."""
    return _numbers_conflict(a, b)


def _numbers_conflict(a: frozenset[tuple[str, str]], b: frozenset[tuple[str, str]]) -> bool:
    """True when the texts give different values for the same kind of number: each has a
    date (percentage, count...) the other lacks. A number only one side mentions is not
    a conflict: retellings keep different subsets of the facts."""
    if not a or not b:
        return False
    only_a = a - b
    if not only_a:
        return False
    only_b = b - a
    if not only_b:
        return False
    # a kind on both sides; dict() of the (kind, value) pairs collects the kinds in C
    kinds_a, kinds_b = dict(only_a), dict(only_b)
    if kinds_a.keys().isdisjoint(kinds_b):
        return False
    if not (kinds_a.keys() - _ROUNDED_KINDS).isdisjoint(kinds_b):
        return True  # dates, years, months, times of day: never rounded
    # a figure rounded in the retelling is the same figure: "384k" / "384,122", "почти 87%"
    # / "86,9%", "почти 83 тыс. рублей" / "82 990 рублей"; a rounding keeps the first digit
    # and has two digits at least ("3" is no rounding, nor rounded to), so most clashes are
    # settled by the texts' first digits alone (remembered per text)
    if _roundable(a).isdisjoint(_roundable(b)):
        return True
    unexplained: set[str] | None = None
    for kind, value in only_b:
        if kind in kinds_a and not _rounded_in(kind, value, only_a):
            if unexplained is None:
                unexplained = set()
            unexplained.add(kind)
    if not unexplained:
        return False
    return any(kind in unexplained and not _rounded_in(kind, value, only_b) for kind, value in only_a)


@functools.lru_cache(maxsize=8192)
def _roundable(facts: frozenset[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """The kinds and first digits of the figures of ``facts`` a rounding may join: counts
    and percentages of two digits or more."""
    return frozenset((kind, value[0]) for kind, value in facts if kind in _ROUNDED_KINDS and len(value) > 1)


def _rounded_in(kind: str, value: str, others: frozenset[tuple[str, str]]) -> bool:
    """Whether ``others`` has a value of the same kind that rounds to ``value`` or that
    ``value`` rounds to."""
    if kind not in _ROUNDED_KINDS:
        return False
    # (a rounding keeps the first digit and has fewer digits: "2" for "2.4" has too few)
    first, size = value[0], len(value)
    for other_kind, other in others:
        if other_kind == kind and other[0] == first and len(other) != size and _rounds_to(value, other):
            return True
    return False


PRECISE_DIGITS = 4  # a shared figure with this many significant digits is an anchor worth two
ROUNDING = 0.01  # a rounded figure is within this share of the exact one
_ROUNDED_KINDS = frozenset(["count", "pct"])  # a date or a year is never rounded
_SCALES = (1, 1000, 1_000_000, 1_000_000_000)


def _rounds_to(x: str, y: str) -> bool:
    """Whether one of two values is the other rounded to fewer digits, at the same scale
    or in thousands, millions, billions ("384" and "384122"; "87" and "86.9"), changed by
    less than ``ROUNDING``. The rounded value keeps at least two significant digits."""
    try:
        fx, fy = float(x), float(y)
    except ValueError:
        return False
    if fx == fy or not fx or not fy:
        return False
    rough, exact = (x, fx), (y, fy)
    if _significant(x) > _significant(y):
        rough, exact = (y, fy), (x, fx)
    digits = _significant(rough[0])
    if digits < 2 or digits >= _significant(exact[0]):
        return False
    for scale in _SCALES:
        scaled = exact[1] / scale
        if scaled < rough[1] / 2:
            break
        decimals = len(rough[0].partition(".")[2])
        # half up, as people round ("18.5" is "19", never "18")
        # (and by less than ``ROUNDING`` of the figure: "13 years" is no rounding of "12.5")
        if abs(int(scaled * 10**decimals + 0.5) / 10**decimals - rough[1]) < 1e-9 and abs(scaled - rough[1]) <= ROUNDING * rough[1]:
            return True
    return False


def _significant(value: str) -> int:
    """Significant digits of a value as ``_number_value`` writes it ("384122": 6, "86.9": 3,
    "87": 2, "1000": 1)."""
    whole, _, fraction = value.partition(".")
    if fraction:
        return len((whole + fraction).lstrip("0"))
    return len(whole.strip("0")) if whole.strip("0") else 1


@dataclass(frozen=True, slots=True)
class Gist:
    """What rewrite scoring needs of one text: content stems per sentence, name keys,
    numbers and tense. Built only for candidates (most posts are never one)."""

    sentences: tuple[frozenset[str], ...]  # content stems of each sentence
    words: frozenset[str]  # content stems of the whole text
    name_words: frozenset[str]  # every word of the text under its name key (a name may be lower-case elsewhere)
    names: frozenset[str]  # name keys (strong) the text has
    weak_names: frozenset[str]  # keys of words capitalised only at a sentence start
    acronyms: frozenset[str]  # names written in capitals (may be spelt out elsewhere)
    units: tuple[frozenset[str], ...]  # the keys of each name ("Donald Trump": two keys, one name)
    lead_names: frozenset[str]  # names of the first sentence
    sentence_names: tuple[frozenset[str], ...]  # name keys of each sentence
    stem_keys: dict[str, str]  # content stem -> its name key
    numbers: frozenset[tuple[str, str]]
    size: int  # content words (distinct stems)
    future: bool  # announces something ahead ("expected to", "проведут")
    will: bool  # says "will": ahead, or the announcement is itself the news
    past: bool  # reports something done (an action verb in the past, not "said")
    tokens: tuple[str, ...]  # the words in order ("" between sentences): where each name stands
    cities: frozenset[str]  # city keys ("@paris")
    opener: str  # key of the text's first word when it is a weak name ("Nvidia pledges..."), else ""
    places: frozenset[str]  # name keys that are places: known cities, and names right after "in", "at", "в"...
    done_lead: bool = False  # the first sentence reports something done ("signed", "reached"): a report, even with an outlook
    winner: str = ""  # name key of who won, came first or beat someone ("Confederation came first"), if told
    sources: frozenset[str] = frozenset()  # name keys next to a reporting verb ("заявил Бочаров", "Ushakov said")
    metonyms: frozenset[str] = frozenset()  # cities named for their state ("Moscow and Kyiv delegations"), not as a place
    nationalities: tuple[tuple[str, frozenset[str]], ...] = ()  # (country, the keys of the name it qualifies)
    in_long_names: frozenset[str] = frozenset()  # keys that are words of a name of several words


_AHEAD, _WILL, _DONE = 1, 2, 3
_SENTENCE_BREAK = re.compile(r"[.!?;:\n](?=\s|$)|\s[-–—]\s")  # as in ``_WORD_OR_BREAK``
_FIRST_WORD = re.compile(r"[^\W_]")


_HEADING_BREAKS = frozenset([":", "-", "–", "—"])


_CONSENSUS_WORDS = frozenset(["expected", "expect"])
_CONSENSUS_CUES = frozenset(["than", "had", "as", "analysts", "economists", "forecasters", "consensus", "market", "markets", "чем", "аналитики", "рынок"])
_CONSENSUS_REACH = 6  # words back from "expected" where "than", "had", "analysts" stand


def _consensus(tokens: list[str]) -> bool:
    """Whether the word just added to ``tokens`` ("expected") is the forecast a figure is
    measured against: "than ... expected", "analysts had expected", "as expected"."""
    for before in reversed(tokens[-1 - _CONSENSUS_REACH : -1]):
        if not before:
            return False
        if before in _CONSENSUS_CUES:
            return True
    return False


def _lead(text: str) -> str:
    """The lead of a casefolded text (as ``gist`` reads it): its first sentence, and the
    next one when the first is a heading ending in a colon or a dash."""
    first = _FIRST_WORD.search(text)
    found = _SENTENCE_BREAK.search(text, first.end()) if first else None
    if found and found.group().strip() in _HEADING_BREAKS:
        found = _SENTENCE_BREAK.search(text, found.end())
    return text[: found.end()] if found else text


@functools.lru_cache(maxsize=200_000)
def _word_info(token: str) -> tuple[int, str, str, int]:
    """What a (casefolded) word tells: its tense mark (``_AHEAD``, ``_WILL``, ``_DONE`` or 0),
    its name key and its stem (concept), key and stem "" for function words and numbers;
    and its role (``_WINS``: "won", "обыграл"; ``_QUOTES``: "said", "заявил"; or 0)."""
    tense = _AHEAD if token in _FUTURE_WORDS else _WILL if token in _WEAK_FUTURE_WORDS else _DONE if _is_past(token) else 0
    role = _ROLES.get(token, 0)
    if token in _MONTH_FORMS:
        return tense, "=", _MONTH_FORMS[token], role
    # a figure ("2025", "1bn", "20m", "3rd") is a fact (``facts_of``), not a content word:
    # "$1bn" and "$1 billion" must not differ by a word
    if token in _STOPWORDS or token[0].isdigit():
        return tense, "", "", role
    key = _name_key(token)
    if key[0] in "#@":
        # a country and its adjective ("India", "Indian", "Индии"), a city and its other
        # spellings ("Kyiv", "Kiev"): one word, as they are one name
        return tense, key, key, role
    stem = _stem(token)
    # a concept word in another form: the plural of a listed English word ("deals"), any
    # case of a listed Russian one ("соглашений" for "соглашение")
    concept = _CONCEPTS.get(token) or (_CONCEPT_STEMS.get(stem) if not token.isascii() else _CONCEPTS.get(token[:-1]) if token[-1] == "s" else None)
    return tense, key, concept or stem, role


def gist(text_norm: str, entities: frozenset[str], facts: frozenset[tuple[str, str]] | None = None) -> Gist:
    """The gist of a normalised text whose raw form had ``entities`` (``entities_of``);
    ``facts`` (``facts_of(text_norm)``) if already known."""
    acronyms = frozenset(e[1:] for e in entities if e.startswith(ACRONYM))
    strong = frozenset(e for e in entities if e[0] not in (WEAK, ACRONYM, UNIT)) | acronyms
    weak = frozenset(e[1:] for e in entities if e.startswith(WEAK))
    # names to count: each name of several words once, each other strong name once
    units = [frozenset(e[1:].split()) for e in entities if e.startswith(UNIT)]
    units = [u for u in units if u & strong]
    in_units = frozenset().union(*units)
    units += [frozenset([name]) for name in strong - in_units]
    sentences = []
    sentence_names = []
    all_words: set[str] = set()
    name_words: set[str] = set(strong)
    stem_keys: dict[str, str] = {}
    tokens: list[str] = []
    cities: set[str] = set()
    future = past = will = done_lead = False
    text = _fold_phrases(text_norm).casefold()
    stems: set[str] = set()
    keys: set[str] = set()
    # one pass over words and sentence breaks ("." "!" "?" ";" ":" before a space, " - ")
    # (a named city names its country too: "Brussels found" tells of the EU)
    named_cities = strong & _CITY_KEYS
    city_countries = {_CITY_COUNTRY[key] for key in named_cities} if named_cities else set()
    named = strong | weak | city_countries
    # the lead: the first sentence, and the next one after a heading ("Wednesday in
    # Istanbul: delegations are due to meet...", "Zelensky: ...")
    in_lead, heading = True, True
    us_named = "#us" in strong  # "US" in the raw text: "us" in the casefolded one is the country
    win_at: list[int] = []  # where the words stand that tell who won, who is quoted, whose a name is
    source_at: list[int] = []
    country_at: list[int] = []
    for word in _WORD_OR_BREAK.findall(text):
        if us_named and word == "us":
            word = "usa"
        if not word[0].isalnum():
            if stems:
                in_lead = heading and word.strip() in _HEADING_BREAKS and in_lead
                heading = False
                sentences.append(frozenset(stems))
                sentence_names.append(frozenset(keys & named))
                all_words |= stems
                name_words |= keys
                stems, keys = set(), set()
            tokens.append("")  # sentences do not run into each other
            continue
        tokens.append(word)
        tense, key, stem, role = _word_info(word)
        if role:
            (win_at if role == _WINS else source_at).append(len(tokens) - 1)
        if tense:
            # an announcement is told in the lead: "will", "expected" further on is the
            # outlook a report adds ("...; the company plans to appeal")
            if tense == _AHEAD:
                # a forecast the news is measured against is no announcement: "a bigger hike
                # than the 411,000 bpd expected", "analysts had expected", "as expected"
                future = future or (in_lead and not (word in _CONSENSUS_WORDS and _consensus(tokens)))
            elif tense == _WILL:
                # (a bare "will" after a heading is mostly what someone said would happen:
                # "Erdogan in Astana: Turkey will keep talking to...")
                will = will or not sentences
            else:
                past = True
                # "to be signed", "будет подписан": a participle of something ahead
                if in_lead and (len(tokens) < 2 or tokens[-2] not in _AHEAD_AUXILIARIES):
                    done_lead = True
        if not key:
            continue
        if key == "=":  # a month: a fact (``facts_of``) and a content word
            key, stem = word[:NAME_STEM], stem[1:]
        elif key[0] == "#":
            country_at.append(len(tokens) - 1)
        keys.add(key)
        if key[0] == "@":
            keys.add(_CITY_COUNTRY[key])
            cities.add(key)
        stems.add(stem)
        stem_keys.setdefault(stem, key)
    if stems:
        sentences.append(frozenset(stems))
        sentence_names.append(frozenset(keys & named))
        all_words |= stems
        name_words |= keys
    if not future and not _PHRASE_CUES.isdisjoint(tokens):
        future = _FUTURE_PHRASES.search(_lead(text)) is not None
    if not future and ("poll" in text or "опрос" in text):  # a forecast anywhere: the results are not in
        future = _FORECAST.search(text) is not None
    lead = sentence_names[0] & strong if sentence_names else frozenset()
    name_words |= city_countries
    cities |= named_cities
    first = next((t for t in tokens if t), "")
    # (a news word opening a headline is no name: "Визит Лаврова...", "Talks between...")
    opener = _name_key(first) if first and _name_key(first) in weak and first not in _CONCEPTS else ""
    places = set(cities)
    placed = set()
    for before, token in zip(tokens, tokens[1:], strict=False):
        if before in _PLACE_PREPOSITIONS and token:
            key = _name_key(token)
            placed.add(key)
            if key in named and key[0] != "#":
                places.add(key)
    return Gist(
        tuple(sentences), frozenset(all_words), frozenset(name_words), strong,
        weak, acronyms, tuple(units), lead, tuple(sentence_names), stem_keys,
        facts_of(text_norm) if facts is None else facts, len(all_words), future, will, past, tuple(tokens),
        frozenset(cities), opener, frozenset(places), done_lead,
        _winner(tokens, named, win_at) if win_at else "",
        _sources(tokens, named, text, source_at),
        frozenset(cities - placed),
        _nationalities(tokens, strong, country_at) if country_at else (),
        in_units,
    )


_NATIONALITY_REACH = 6  # words from a country to the name it qualifies ("Russia's Foreign Minister Sergey Lavrov")


def _nationalities(tokens: list[str], strong: frozenset[str], country_at: list[int]) -> tuple[tuple[str, frozenset[str]], ...]:
    """Countries that only say whose a name is: a country followed, across titles, by a
    name ("US Secretary of State Marco Rubio", "Indian External Affairs Minister S.
    Jaishankar"): (country key, the name's keys)."""
    found = []
    for i in country_at:
        country = _name_key(tokens[i])
        names = set()
        for after in tokens[i + 1 : i + 1 + _NATIONALITY_REACH]:
            if not after:
                break
            key = _name_key(after)
            if key in strong and key[0] not in "#@":
                names.add(key)
            elif names or not (after in _NOT_NAMES or after in _STOPWORDS or len(after) == 1):
                break  # the name ended, or a word that is neither title nor name
        if names:
            found.append((country, frozenset(names)))
    return tuple(found)


# Who is quoted: a name next to a reporting verb is the source of the news ("..., заявил
# Бочаров", "Kremlin aide Ushakov said"), which a retelling may add or drop freely.
_SOURCE_VERBS = frozenset(
    ["said", "says", "told", "reported", "reports", "announced", "according", "заявил", "заявила", "заявили", "сообщил",
     "сообщила", "сообщили", "сообщает", "рассказал", "рассказала", "отметил", "отметила", "написал", "написала"]
)


# A quote's speaker heading the post ("Nabiullina: ...", "Зеленский: ...") or credited
# after a dash at the end of a line ("«...», — Богомаз.", "... — MFA readout").
_SPEAKER = re.compile(r"^\W*([^\W\d_]+):")  # one word: "Рекорд Газпрома: ..." is a headline, not a quote
_CREDIT = re.compile(r"\s[—–-]\s*([^\W\d_]+(?: [^\W\d_]+)?)[.!]?[ \t]*$", re.MULTILINE)


SOURCE_REACH = 6  # words after a reporting verb where its source's name may stand
# titles between a reporting verb and its source's name ("said Foreign Minister Sergey Lavrov")
_TITLE_WORDS = frozenset(["minister", "secretary", "spokesman", "spokeswoman", "spokesperson", "governor", "mayor", "chairman", "head", "chief", "ceo", "министр", "глава", "губернатор", "мэр", "председатель", "пресс-секретарь", "представитель"])


def _lead_end(tokens: list[str]) -> int:
    """Where the first sentence with words ends in ``tokens`` (its break), or -1."""
    seen = False
    for i, token in enumerate(tokens):
        if token:
            seen = True
        elif seen:
            return i
    return -1


def _sources(tokens: list[str], named: frozenset[str], text: str, source_at: list[int]) -> frozenset[str]:
    """The name keys of the text's sources: within three words after or two before a
    reporting verb in its sentence, a quote's speaker heading the text or credited after a
    dash at the end of a line."""
    found = set()
    lead_end = _lead_end(tokens) if source_at else -1
    for i in source_at:
        # "заявил Бочаров", "according to Ushakov", and past a title: "сообщил министр
        # просвещения Сергей Кравцов" (the whole name, up to ``SOURCE_REACH`` words on)
        # ("said on Monday that Apple will...": past three words only after a title)
        in_name = titled = False
        for n, word in enumerate(tokens[i + 1 : i + 1 + SOURCE_REACH]):
            if not word:
                break
            if (key := _name_key(word)) in named and (n < 3 or titled or in_name):
                found.add(key)
                in_name = True
            elif in_name or n >= 3:
                break  # the name ended, or no title leads to it
            titled = titled or word in _TITLE_WORDS
        # a name before the verb is a source only when the verb closes its sentence
        # (", Ushakov said.", ", the ministry said on Monday."): in "Apple said on Monday it
        # will..." Apple is the subject of the news, whose swap for another must still show;
        # past the lead, someone who "later said" reacts to the news ("...; Araghchi later said")
        past_lead = 0 <= lead_end < i
        if i + 1 >= len(tokens) or "" in tokens[i + 1 : i + 4] or past_lead:
            for j in range(max(0, i - 2), i):
                if tokens[j] and (past_lead or (j > 0 and tokens[j - 1])) and (key := _name_key(tokens[j])) in named:
                    found.add(key)
    credits = [m.group(1) for m in _CREDIT.finditer(text)] if ("—" in text or "–" in text or " - " in text) else []
    heading = _SPEAKER.match(text) if ":" in text else None
    for words in credits + ([heading.group(1)] if heading else []):
        found.update(key for word in words.split() if (key := _name_key(word)) in named)
    return frozenset(found)


# Who won: a result names its winner just before the word ("Civic Platform won", "Зенит
# обыграл Спартак", "Confederation came first").
_WIN_WORDS = frozenset(
    ["won", "wins", "win", "first", "beat", "beats", "defeated", "defeats", "edge", "edges", "topped", "tops", "leads",
     "победил", "победила", "победили", "выиграл", "выиграла", "выиграли", "обыграл", "обыграла", "обыграли", "лидирует", "набирает"]
)
_PLACED = frozenset(["came", "comes", "finished", "finishes", "placed", "ranked"])  # "came first" (not "the first time")
_WINS, _QUOTES = 1, 2
_ROLES = {**dict.fromkeys(_SOURCE_VERBS, _QUOTES), **dict.fromkeys(_WIN_WORDS, _WINS)}
_WINNER_REACH = 3  # words back from the win word where the winner's name stands


def _winner(tokens: list[str], named: frozenset[str], win_at: list[int]) -> str:
    """The name key just before the first win word of a sentence, if any."""
    for i in win_at:
        if i + 1 < len(tokens) and tokens[i + 1][:1].isdigit():
            continue  # "won 47 seats", "won 14%": every party wins its share, one wins the race
        if tokens[i] == "first" and (i == 0 or (tokens[i - 1] not in _PLACED and _name_key(tokens[i - 1]) not in named)):
            continue
        for before in reversed(tokens[max(0, i - _WINNER_REACH) : i]):
            if not before:
                break
            if (key := _name_key(before)) in named:
                return key
    return ""


@dataclass(frozen=True, slots=True)
class RewriteMatch:
    """Why two texts were judged one story by rewording: the score and the shared facts."""

    score: float
    threshold: float
    shared_entities: tuple[str, ...]
    shared_numbers: tuple[str, ...]  # values

    @property
    def joined(self) -> bool:
        return self.score >= self.threshold


def _best_passage(short: Gist, long: Gist) -> tuple[frozenset[str], frozenset[str]]:
    """The run of the long text's sentences that shares the most with the short text,
    about as long as the short text (at least one sentence), alone or after the long
    text's first sentence: its stems and name keys."""
    if long.size <= PASSAGE_SIZE * short.size or len(long.sentences) <= 1:
        return long.words, frozenset().union(*long.sentence_names)
    budget = max(PASSAGE_SIZE * short.size, 16)
    sents, sent_names = long.sentences, long.sentence_names
    short_words, short_names = short.words, short.names
    # the title (the first sentence: who, where, which event) may lead any run: a
    # retelling joins the title's facts to the detail of one passage
    title_words, title_names = sents[0] & short_words, sent_names[0] & short_names
    best_hits, best_start, best_end, titled = -1, 0, 0, False
    for start in range(len(sents)):
        words: set[str] = set()
        names: set[str] = set()
        end = start
        while end < len(sents):
            if words and len(words) + len(sents[end] - words) > budget:
                break
            words |= sents[end]
            names |= sent_names[end]
            end += 1
        word_hits, name_hits = words & short_words, names & short_names
        hits = len(word_hits) + 2 * len(name_hits)
        if hits > best_hits:
            best_hits, best_start, best_end, titled = hits, start, end, False
        if start:
            titled_hits = hits + len(title_words - word_hits) + 2 * len(title_names - name_hits)
            if titled_hits > best_hits:
                best_hits, best_start, best_end, titled = titled_hits, start, end, True
    chosen = range(best_start, best_end)
    words = set().union(*(sents[i] for i in chosen))
    names = set().union(*(sent_names[i] for i in chosen))
    if titled:
        words |= sents[0]
        names |= sent_names[0]
    return frozenset(words), frozenset(names)


def _found(unit: frozenset[str], other: Gist, own_acronyms: frozenset[str] = frozenset(), *, words: int = 0) -> bool:
    """Whether ``other`` names ``unit`` (the keys of one name). A city is found by its
    country only in a text that names no city: "Brazil" agrees with "Brasilia", but a text
    about talks in Berlin does not agree with one about talks in Paris for saying "French"."""
    # a title written in capitals next to a name ("PM Anwar") does not find the name:
    # "PM Prabowo" is someone else
    keys = unit - own_acronyms if len(unit) > 1 and unit - own_acronyms else unit
    for key in keys:
        # a word of a longer name must be a name there too: "Riyadh Air" is not found in
        # "the air show"; a place or a one-word name may be lower-case ("российский")
        if key in other.name_words and (max(words, len(unit)) == 1 or key[0] in "#@" or key in other.names or key in other.weak_names):
            # two names of several words that share a word and differ in another are two
            # names: "Siemens Energy" / "Hitachi Energy", "Real Madrid" / "Atletico Madrid"
            # (not a spelling of the same one: "Yury Ushakov" / "Yuri Ushakov")
            # (a title in capitals is no word of the name: "FM Lavrov" / "Sergey Lavrov")
            if len(keys) > 1 and key in other.in_long_names and any(key in u and _other_name(keys, u - other.acronyms) for u in other.units if len(u) > 1):
                continue
            return True
        # a city is found by its country only in a text that names no place at all (known
        # or not): "Turkish ... in Sochi" does not agree with "in Istanbul"
        if key[0] == "@" and not other.places and _CITY_COUNTRY[key] in other.name_words:
            return True
    return False


def _other_name(unit: frozenset[str], other: frozenset[str]) -> bool:
    """Whether two names that share a word are two names: each has a word the other lacks,
    and the two are not spellings of one word (the same first two letters)."""
    mine, theirs = unit - other, other - unit
    return bool(mine and theirs) and not any(a[:2] == b[:2] for a in mine for b in theirs)


def _kinds(keys: frozenset[str], g: Gist) -> set[str]:
    """What the names under ``keys`` are: "country" (one of the list) or "name" (a person,
    an organisation, a city: a city may be missing from the list, so it is not told from
    a person). A missing country is replaced by a country, anything else by a name:
    Germany missing where a text names Klingbeil is no swap, Sochi for Istanbul is."""
    return {"country" if key[0] == "#" else "name" for key in keys}


def _opener_swapped(x: Gist, y: Gist, x_lacking: frozenset[str], y_lacking: frozenset[str]) -> bool:
    """The word opening ``x`` (a weak name: "Microsoft completed...") is missing from ``y``,
    whose opening sentence names someone ``x`` lacks: the subject was swapped. (Two weak
    openers, "Citing..." and "Buildings...", prove nothing: one side must be a sure name.)"""
    if not x.opener or x.opener not in x_lacking or x.opener in x.names or x.opener in x.sources:
        return False  # (a quote's speaker heading the text is its source, not its subject)
    if not _opener_acts(x):
        return False
    # the subject of ``y`` (its first sure name) named where ``x``'s subject stands, before
    # the verb of its opening sentence: ``x`` just opens with another word ("Facing cheaper
    # rivals, the maker of Wegovy, Novo Nordisk, lowered..." / "Novo Nordisk cut...")
    subject = _first_name(y)
    if subject and subject & _subject_words(x) and _found(subject, x, words=len(subject)):
        return False
    return "name" in _kinds(y.lead_names & y_lacking - y.sources, y)


_NOT_SUBJECT_FOLLOWERS = frozenset(["from", "of", "about", "today", "yesterday", "tonight", "this", "these", "сегодня", "вчера", "из"])


def _opener_acts(g: Gist) -> bool:
    """Whether the word opening ``g`` stands as a subject, right before its verb ("Microsoft
    completed", "Nvidia pledges"): not before "from", "of" or a time word ("Experts from
    ...", "Earlier today ..."), where it is mostly a common word."""
    following = g.tokens[1] if len(g.tokens) > 1 else ""
    # ("Apple to cut...", "Apple's...", "Apple and Google..." keep their subject)
    return following not in _NOT_SUBJECT_FOLLOWERS


def _actor_absent(x: Gist, x_lacking: frozenset[str]) -> bool:
    """Whether the text opens with a name (sure or weak) right before a verb in the past
    ("Rubio met...", "СК возбудил...") and the other text names it nowhere."""
    words = [t for t in x.tokens[:3] if t]
    if len(words) < 2 or x.tokens[0] != words[0]:
        return False
    subject = _name_key(words[0])
    if subject not in x_lacking and not (subject in x.names and subject in x_lacking):
        return False
    return (subject == x.opener or subject in x.names) and _word_info(words[1])[0] == _DONE


def _first_name(g: Gist) -> frozenset[str]:
    """The keys of the word opening ``g`` when it may be a name ("Airbus cut..."), else of
    its first sure name that is not a country (all the keys of a name of several words):
    its subject ("President of Russia Vladimir Putin": Vladimir Putin)."""
    for i, token in enumerate(g.tokens):
        if token and (key := _name_key(token)) in g.names and key[0] != "#":
            unit = next((unit for unit in g.units if key in unit), frozenset([key]))
            if not g.opener:
                return unit
            # the opener and the name right after it are one name ("Сергей Лавров...")
            return frozenset([g.opener]) | unit if i == 1 else frozenset([g.opener])
    return frozenset([g.opener]) if g.opener else frozenset()


def _subject_words(g: Gist) -> frozenset[str]:
    """The name keys of the words of the first sentence of ``g`` before its first verb in
    the past ("Facing cheaper rivals, Novo Nordisk | lowered..."): where its subject stands."""
    keys: set[str] = set()
    for token in g.tokens:
        if not token:
            if keys:
                break
            continue
        # a participle opening the text ("Asked by Kommersant..., Putin said") is not its verb
        if keys and _word_info(token)[0] == _DONE:
            break
        keys.add(_name_key(token))
    return frozenset(keys)


def _absent(key: str, other: Gist) -> bool:
    """Whether ``other`` lacks a word under ``key`` in any case: a word capitalised only
    because it opens a sentence ("Citing...", "Buildings...") is usually found lower-case
    in a retelling; one found nowhere is likely a name ("Блок патриотов", "Nvidia")."""
    return key not in other.name_words


def _openers_swapped(short: Gist, long: Gist) -> bool:
    """Two texts each opening with a word capitalised only because it opens them, each word
    found nowhere in the other text: two subjects ("Apple said..." / "Nvidia pledges...").
    A common word that opens a sentence ("Citing...", "Buildings...") is usually found in
    a retelling, lower-case; function words ("Не менее...") never count."""
    if not short.opener or not long.opener or short.opener == long.opener:
        return False
    if short.opener in _STOPWORDS or long.opener in _STOPWORDS or len(short.opener) < 3 or len(long.opener) < 3:
        return False
    return _absent(short.opener, long) and _absent(long.opener, short)


def names_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two texts (their ``entities_of``) each name someone (something, somewhere) of
    one kind the other does not: "WHO adopted..." and "UNESCO adopted..." in otherwise equal
    words. For texts alike enough to be light edits of each other, where every name stays."""
    if a <= b or b <= a:
        # one text's names are all among the other's (light edits mostly keep every name),
        # so are its strong names: no name on that side is missing on the other. Two subset
        # checks instead of both texts' strong names (the story index asks for every
        # similar candidate).
        return False
    a_keys, b_keys = set(strong_names(a)), set(strong_names(b))
    only_a, only_b = a_keys - b_keys, b_keys - a_keys
    if not only_a or not only_b:
        return False
    return bool({_kind(key) for key in only_a} & {_kind(key) for key in only_b})


def _kind(key: str) -> str:
    return "country" if key[0] == "#" else "name"


def _explain_acronyms(
    x: Gist, y: Gist, x_lacking: frozenset[str], y_lacking: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """An acronym one text lacks that the other spells out is no missing name: "VW" and
    "Volkswagen" (its letters in order), "CMA" and "Competition and Markets Authority"
    (initials); for ``x`` (the shorter text) also "НПЗ" and "нефтеперерабатывающий завод"
    (a common noun's, in lower case), "Совбез" and "Совет Безопасности" (a compound),
    "Шанхайской организации сотрудничества" and "ШОС".
    Both sides' lacking keys lose the pair."""
    for a, b, a_lacking, b_lacking in ((x, y, x_lacking, y_lacking), (y, x, y_lacking, x_lacking)):
        for acronym in a.acronyms & a_lacking:
            letters = acronym.rstrip(".")
            words = [t for t in b.tokens if t and _name_key(t) in b_lacking and _name_key(t) not in b.acronyms]
            spelled = {t for t in words if t[0] == letters[0] and _is_subsequence(letters, t)}
            initials = "".join(t[0] for t in words)
            if spelled or (len(letters) > 1 and letters in initials):
                explained = {_name_key(t) for t in spelled} or {_name_key(t) for t in words if t[0] in letters}
            elif a is x and len(letters) > 1 and _spelled_lower(letters, b.tokens):
                explained = set()  # "НПЗ" / "нефтеперерабатывающий завод": a common noun's acronym
            else:
                continue
            if a is x:
                x_lacking, y_lacking = x_lacking - {acronym}, y_lacking - explained
            else:
                y_lacking, x_lacking = y_lacking - {acronym}, x_lacking - explained
    # a name spelled out where the other text writes its acronym: "Шанхайской организации
    # сотрудничества" / "ШОС", "Competition and Markets Authority" / "CMA"
    known = y.acronyms | x.acronyms
    firsts = {acronym[0] for acronym in known}
    if x_lacking and known and any(key[0] in firsts for key in x_lacking - x.acronyms):
        for i, token in enumerate(x.tokens):
            if token and (key := _name_key(token)) in x_lacking and key not in x.acronyms:
                for acronym in known:
                    letters = acronym.rstrip(".")
                    if len(letters) > 1 and letters[0] == token[0] and _spelled_lower(letters, x.tokens[i : i + len(letters)]):
                        x_lacking = x_lacking - {key}
                        break
    # a Russian compound abbreviation is the first letters of each word run together:
    # "Совбез" / "Совет Безопасности", "Минфин" / "министерство финансов", "Генассамблея"
    # (a capitalised Cyrillic name of ``x`` the other lacks: the only candidates)
    if x_lacking and not all(key.isascii() for key in x_lacking & (x.names | {x.opener})):
        short_forms: set[str] = set()
        spelled_out: set[str] = set()
        for token in x.tokens:
            if len(token) >= 6 and not token.isascii() and _name_key(token) in x_lacking:
                pair = _compound_of(token, y.tokens)
                if pair:
                    short_forms.add(_name_key(token))
                    spelled_out.update(_name_key(word) for word in pair)
        x_lacking, y_lacking = x_lacking - short_forms, y_lacking - spelled_out
    return x_lacking, y_lacking


def _compound_of(word: str, tokens: tuple[str, ...]) -> tuple[str, str] | None:
    """The two words of ``tokens`` whose starts run together make ``word``: "совбеза" is
    "сов(ета) без(опасности)", "минфин" is "мин(истерство) фин(ансов)"; None if none."""
    start = word[:3]
    pairs = [(first, second) for first, second in zip(tokens, tokens[1:], strict=False) if first.startswith(start) and second and first != word]
    for cut in range(3, len(word) - 2) if pairs else ():
        head, tail = word[:cut], word[cut : cut + 3]
        for first, second in pairs:
            if first.startswith(head) and second.startswith(tail):
                return first, second
    return None


def _spelled_lower(letters: str, tokens: tuple[str, ...]) -> bool:
    """Whether a run of two to ``len(letters)`` words of one sentence spells the acronym:
    the first word starts with its first letter, the last with its last, and its letters
    come in order ("НПЗ": "нефтеперерабатывающем заводе", "АЭС": "атомной электростанции",
    "ECB": "European Central Bank" written in lower case)."""
    first, last = letters[0], letters[-1]
    for i in [i for i, token in enumerate(tokens) if token[:1] == first]:
        for end in range(i + 2, min(i + len(letters), len(tokens)) + 1):
            run = tokens[i:end]
            if not run[-1]:
                break
            if run[-1][0] == last and _is_subsequence(letters, "".join(run)):
                return True
    return False


def _is_subsequence(letters: str, word: str) -> bool:
    rest = iter(word)
    return all(letter in rest for letter in letters)


def _lacking(x: Gist, y: Gist) -> frozenset[str]:
    """The name keys of ``x`` that ``y`` does not name: the keys of each name of ``x`` not
    found in ``y``, and its opening weak name if ``y`` lacks the word."""
    keys: set[str] = set()
    names = y.name_words
    for unit in x.units:
        if len(unit) == 1:  # the usual case, as ``_found`` decides it for a one-word name
            (key,) = unit
            # (a city named for its state is found by the state: "Moscow and Kyiv delegations")
            if key not in names and not (key[0] == "@" and (not y.places or key in x.metonyms) and _CITY_COUNTRY[key] in names):
                keys.add(key)
            continue
        # a place next to a name ("в Харбине Ли Цян") is not part of the name: found or
        # lacking on its own
        places = unit & x.places
        for part in (unit - places, *(frozenset([key]) for key in places)):
            if part and not _found(part, y, x.acronyms, words=len(unit)):
                keys |= part
    if x.opener and not _found(frozenset([x.opener]), y):
        keys.add(x.opener)
    return frozenset(keys)


def _substituted(x: Gist, y: Gist, lacking: frozenset[str], y_lacking: frozenset[str]) -> bool:
    """Whether a name of ``x`` that ``y`` lacks stands between the same two words (before
    or after it) as a name of ``y`` that ``x`` lacks."""
    if not lacking or not y_lacking:
        return False
    y_tokens = y.tokens
    # where each word pair stands in y
    after: dict[tuple[str, str], list[int]] = {}
    for j in range(len(y_tokens) - 1):
        after.setdefault((y_tokens[j], y_tokens[j + 1]), []).append(j)
    x_tokens = x.tokens
    for i, token in enumerate(x_tokens):
        if not token or _name_key(token) not in lacking:
            continue
        if i >= 2 and x_tokens[i - 2] and x_tokens[i - 1]:
            for j in after.get((x_tokens[i - 2], x_tokens[i - 1]), ()):
                if j + 2 < len(y_tokens) and y_tokens[j + 2] and _name_key(y_tokens[j + 2]) in y_lacking:
                    return True
        if i + 2 < len(x_tokens) and x_tokens[i + 1] and x_tokens[i + 2]:
            for j in after.get((x_tokens[i + 1], x_tokens[i + 2]), ()):
                if j >= 1 and y_tokens[j - 1] and _name_key(y_tokens[j - 1]) in y_lacking:
                    return True
    return False


_LOOKING_BACK = frozenset(["yesterday", "вчер", "вчерашн"])  # stems ("накануне" is also "on the eve of")
LOOK_BACK_HOURS = 18.0  # a "yesterday" retelling: its gap counts from here, not CLOSE_HOURS (up to 30 hours)
_NEGATION_STEMS = frozenset(["not", "no", "не", "нет", "ни"])
OWN_SHARE_DENOMINATOR = 6  # a short text must find at least a sixth of its own words in the other
_MEETING_CONCEPTS = frozenset(["~meet", "~talks", "~visit"])
_COUNTERPART_CUES = frozenset(["met", "meets", "meet", "with", "встретился", "встретилась", "встретились", "с", "со"])
_COUNTERPART_REACH = 6  # words after "met"/"with" where the counterpart's name stands


# The later stages of a case, by stem: an appeal after a verdict, bail after an arrest, a
# docking after a launch, a pardon after a sentence.
_FOLLOW_UP_STAGES = {
    "appeal": "appeal", "апелляц": "appeal", "обжалова": "appeal", "обжал": "appeal",
    "bail": "bail", "залог": "bail",
    "dock": "dock", "пристыкова": "dock", "стыковк": "dock",
    "pardon": "pardon", "помилова": "pardon", "помилован": "pardon",
}
_FOLLOW_UP_STEMS = frozenset(_FOLLOW_UP_STAGES)


_LEGAL_APPEAL_BEFORE = frozenset(["an", "of", "filed", "files", "lodged", "lodges", "on"])  # "an appeal", not "his appeal for"


def _follow_up(x: Gist, y: Gist) -> bool:
    """Whether the first sentence of ``x`` tells, as done, a later stage of a case (an
    appeal filed, bail, a docking, a pardon) of which ``y`` says nothing at all. (A plan,
    "будем обжаловать", and a plea, "renewed his appeal for air defence", are none.)"""
    if not x.sentences or _FOLLOW_UP_STEMS.isdisjoint(x.sentences[0]):
        return False
    told = {_FOLLOW_UP_STAGES[stem] for stem in y.words & _FOLLOW_UP_STEMS}
    tokens = x.tokens
    seen = False
    for i, token in enumerate(tokens):
        if not token:
            if seen:
                break
            continue
        seen = True
        stage = _follow_up_stage(token, tokens[i - 1] if i else "")
        if stage and stage not in told:
            return True
    return False


def _follow_up_stage(token: str, before: str) -> str:
    """The later stage a word tells as done ("appealed", "an appeal", "апелляцию",
    "обжаловал", "залог", "bail", "docked", "пристыковался", "pardoned", "помиловал"), or ""."""
    if token.isascii():
        if token == "appeal":
            return "appeal" if before in _LEGAL_APPEAL_BEFORE else ""
        return {"appealed": "appeal", "bail": "bail", "docked": "dock", "pardoned": "pardon"}.get(token, "")
    for start, stage in (("апелляц", "appeal"), ("обжаловал", "appeal"), ("залог", "bail"), ("пристыковал", "dock"), ("помиловал", "pardon")):
        if token.startswith(start):
            return stage
    return ""


def _call_or_meeting(g: Gist) -> int:
    """1 when the text tells a phone call (and no meeting), -1 when it tells a meeting in a
    named place and no call, 0 when it tells neither or both."""
    call = "~call" in g.words
    meeting = bool(g.places) and not g.words.isdisjoint(_MEETING_CONCEPTS)
    return 1 if call and not meeting else -1 if meeting and not call else 0


def _unnamed_counterpart(x: Gist, y: Gist) -> bool:
    """Whether ``x`` names, right after a meeting word ("met", "talks with", "встретился
    с"), a person or organisation (no country, no city, no source) that ``y`` names nowhere,
    while ``y`` tells of a meeting too."""
    if y.words.isdisjoint(_MEETING_CONCEPTS) and "~call" not in y.words:
        return False
    # (names of ``x`` that ``y`` lacks: mostly none, and then nothing to look for)
    missing = x.names - y.name_words
    if not missing:
        return False
    unnamed = {key for key in missing - y.weak_names - x.sources - x.acronyms if key[0] not in "#@"}
    if not unnamed:
        return False
    tokens = x.tokens
    for i, token in enumerate(tokens):
        if token not in _COUNTERPART_CUES:
            continue
        # the last name of the run ("Myanmar's Foreign Minister Than Swe": Swe), as a
        # retelling may drop a first name or a country
        last = ""
        for after in tokens[i + 1 : i + 1 + _COUNTERPART_REACH]:
            if not after:
                break
            key = _name_key(after)
            if key in x.names and key[0] not in "#@":
                last = key
            elif last and not (after in _NOT_NAMES or after in _STOPWORDS or len(after) == 1):
                break  # titles and "'s" stand between a country and its minister
        if last in unnamed:
            return True
    return False


def _tenses_differ(a: Gist, b: Gist) -> bool:
    """An announcement and the report of a done event; or a clear announcement ("expected
    to", "проведут") and a text that announces nothing. A text whose first sentence reports
    something done ("profit reached...", "...under a contract signed on April 22") is a
    report even when it looks ahead too ("Gref expects slower lending", "will go"): news
    adds an outlook to the done event, while an announcement tells of nothing done yet."""
    a_future, b_future = a.future and not a.done_lead, b.future and not b.done_lead
    a_ahead, b_ahead = a_future or (a.will and not a.done_lead), b_future or (b.will and not b.done_lead)
    if (a_ahead and not a.past and b.past and not b_ahead) or (b_ahead and not b.past and a.past and not a_ahead):
        return True
    return a_future != b_future


_BASE_WEIGHTS: dict[str, float] = {}  # a content stem's weight when it is no name


def _base_weight(stem: str) -> float:
    """``GENERIC_WEIGHT`` for a word every news post uses, else 1 (remembered)."""
    weight = GENERIC_WEIGHT if stem in _GENERIC or stem[:5] in _GENERIC or stem[:6] in _GENERIC else 1.0
    _BASE_WEIGHTS[stem] = weight
    return weight


def _name_sizes(short: Gist, long: Gist) -> dict[str, int]:
    """How many words each name of several words has, by its keys: a name weighs
    ``NAME_WEIGHT`` shared between its words ("Activision Blizzard" weighs no more than
    "Microsoft"), a generic news word ``GENERIC_WEIGHT``, any other content word 1."""
    sizes: dict[str, int] = {}
    for g in (short, long):
        for unit in g.units:
            if len(unit) > 1:
                for key in unit:
                    sizes[key] = max(sizes.get(key, 1), len(unit))
    return sizes


def rewrite_match(a: Gist, b: Gist, *, gap_hours: float = 0.0, threshold: float = DEFAULT_THRESHOLD) -> RewriteMatch | None:
    """The rewrite score of two texts, or None when a rule vetoes the pair (numbers, names,
    tense, too few shared facts, too far apart in time)."""
    return _judge(a, b, gap_hours, threshold)[1]


def veto_of(a: Gist, b: Gist, *, gap_hours: float = 0.0) -> str:
    """The rule that keeps two texts apart before scoring ("numbers", "tense", "names"...),
    or "" when they are scored: for benchmarks and explanations."""
    return _judge(a, b, gap_hours, DEFAULT_THRESHOLD)[0]


def _judge(a: Gist, b: Gist, gap_hours: float, threshold: float) -> tuple[str, RewriteMatch | None]:
    gap_hours = abs(gap_hours)
    if gap_hours > MAX_GAP_HOURS:
        return "time", None
    short, long = (a, b) if a.size <= b.size else (b, a)
    if short.size < MIN_CONTENT:
        return "too short", None
    # 2. numbers: one side's are all in the other's, or they count different things
    if _numbers_conflict(short.numbers, long.numbers):
        return "numbers", None
    # 3. tense: an announcement is not the report; a figure cut is not a figure kept
    if long.size <= LONG_TEXT and _tenses_differ(short, long):
        return "tense", None
    directions = short.words & _DIRECTIONS, long.words & _DIRECTIONS
    # (a long post tells of many figures going many ways: only the shorter ones are compared)
    if long.size <= LONG_TEXT and directions[0] and directions[1] and not directions[0] & directions[1]:
        return "direction", None
    # a result told with another winner: the same race, the same figures, another result
    # ("Civic Platform first with 31.2%" / "Confederation came first ..., ahead of Civic Platform")
    if short.winner and long.winner and short.winner != long.winner and (short.winner in long.name_words or long.winner in short.name_words):
        return "winner", None
    # 4. names, softly
    short_named_not, long_named_not = _lacking(short, long), _lacking(long, short)
    short_lacking, long_lacking = _explain_acronyms(short, long, short_named_not, long_named_not)
    # a country that only says whose a name is goes with the name: "Russia's Foreign
    # Minister Sergey Lavrov" is told by "Lavrov"
    if short.nationalities and short_lacking & _COUNTRY_KEYS:
        short_lacking = short_lacking - {c for c, names in short.nationalities if names - short_lacking}
    if long.nationalities and long_lacking & _COUNTRY_KEYS:
        long_lacking = long_lacking - {c for c, names in long.nationalities if names - long_lacking}
    # an acronym the other text spells out is a name both tell ("НПЗ" / "нефтеперерабатывающий завод")
    spelled = (short.acronyms & (short_named_not - short_lacking)) | (long.acronyms & (long_named_not - long_lacking))
    # (a source the other text does not name is no missing name: "Nabiullina: ...")
    missing = [unit for unit in short.units if unit <= short_lacking and not unit <= short.sources]
    # a weak name opening the text is often its subject ("Nvidia pledges..."), often a
    # common word ("Citing...", "Buildings..."): it counts, at OPENER_WEIGHT
    opener = OPENER_WEIGHT if short.opener else 0.0
    opener_missing = opener if short.opener in short_lacking and short.opener not in short.sources else 0.0
    # (a text naming no one for sure has only its opener: too little to judge names by;
    # the anchors still want a shared name or figures)
    if (missing or opener_missing) and short.units:
        # a country the longer text does not name, where it names no country at all, is the
        # context a headline adds for readers abroad ("historic low in Germany's election"):
        # nothing stands in its place, so it counts ``CONTEXT_COUNTRY`` of a name
        bare = not any(key[0] == "#" for key in long.name_words)
        lost = sum(CONTEXT_COUNTRY if bare and all(key[0] == "#" for key in unit) else 1.0 for unit in missing)
        coverage = 1 - (lost + opener_missing) / (len(short.units) + opener)
        # names the longer text has (in the passage the shorter one tells, or its lead)
        # that the shorter one lacks: with a name missing, a substitution (another
        # counterpart, another place), unless most names agree
        # (its opening weak name too: "Lavrov and Wang held talks" for "Wang–Rubio meeting")
        if coverage < MIN_NAME_COVERAGE:
            return "name coverage", None
        passage, passage_names = _best_passage(short, long)
        extra = ((passage_names | long.lead_names) & long.names | {long.opener}) & long_lacking - long.sources
        missing_keys = frozenset().union(*missing)
        if _kinds(extra, long) & _kinds(missing_keys, short):
            # a swap in the opening sentences of both is the news itself; elsewhere, a
            # retelling may drop one name and add another, as long as most names agree
            lead_swap = _kinds(extra & (long.lead_names | {long.opener}), long) & _kinds(missing_keys & short.lead_names, short)
            if lead_swap or coverage < SUBSTITUTION_COVERAGE:
                return "name swapped", None
    else:
        passage, passage_names = _best_passage(short, long)
    # another place: where an event happened is not dropped or changed by a retelling
    if short.places & short_lacking and long.places & long_lacking & (passage_names | long.lead_names):
        return "place", None
    if _opener_swapped(short, long, short_lacking, long_lacking) or _opener_swapped(long, short, long_lacking, short_lacking):
        return "opener swapped", None
    # the subject opening one text and acting in it ("Rubio met...", "СК возбудил дело...")
    # is found nowhere in the other: another actor, another event
    # (a text naming no one for sure leaves the actor out, it names no other)
    if (long.units and _actor_absent(short, short_lacking)) or (short.units and _actor_absent(long, long_lacking)):
        return "actor", None
    if short.opener in short_lacking and long.opener in long_lacking and _openers_swapped(short, long):
        return "openers swapped", None
    # a name in the place of another name, between the same words: the same template
    # told of someone else ("Apple said on..." / "Nvidia said on...")
    if _substituted(short, long, short_lacking, long_lacking) or _substituted(long, short, long_lacking, short_lacking):
        return "name substituted", None
    # 5. anchors
    # a name either text capitalises; a word both capitalise only at a sentence start too
    named = short.names | long.names | (short.weak_names & long.weak_names)
    shared_names = named & short.name_words & long.name_words
    shared_numbers = short.numbers & long.numbers
    # a text that names no one for sure (a headline: "Key rate: minus 200 bp, to 18%")
    # anchors on figures alone: two shared
    named_anchors = len(shared_names) + len(spelled)
    if named_anchors + len(shared_numbers) < MIN_ANCHORS or not named_anchors:
        # (only then: most candidates share names and figures enough)
        if short.numbers - long.numbers:
            # a figure rounded in one of them is a figure both state ("1,204k" / "1,204,311")
            shared_numbers = shared_numbers | {
                (kind, value) for kind, value in short.numbers - long.numbers
                if kind in _ROUNDED_KINDS and any(kind == other and value[0] == v[0] and _rounds_to(value, v) for other, v in long.numbers)
            }
        # a precise figure ("78,09 рубля", "384,122 vehicles") is no coincidence: it counts twice
        figures = len(shared_numbers) + sum(1 for kind, value in shared_numbers if kind in _ROUNDED_KINDS and _significant(value) >= PRECISE_DIGITS)
        nameless = not short.units and figures >= MIN_ANCHORS
        if not (named_anchors or nameless) or named_anchors + figures < MIN_ANCHORS:
            return "anchors", None
    # what happened: the shorter text's own words (not names, not words every news post
    # uses) are found somewhere in the other, or it tells something else of the same names
    # ("Putin at Valdai: nuclear tests..." / "Putin at Valdai: Tomahawks...")
    own = [w for w in short.words if short.stem_keys[w] not in named and w not in _GENERIC and w[:5] not in _GENERIC and w[:6] not in _GENERIC]
    if len(own) >= MIN_OWN_WORDS and long.words.isdisjoint(own):
        return "nothing else shared", None
    # the same, nearly, of a long post: a short text whose words of what happened are
    # nearly all absent from it, and no figure or date in common, shares only who and where (the title of a long statement:
    # "Putin to Kommersant in Minsk: no single currency..." is another answer of that interview)
    # (shared figures or dates are the facts of one event told in all other words)
    if long.size > LONG_TEXT and len(own) >= MIN_OWN_WORDS and not shared_numbers and sum(w in long.words for w in own if w not in _NEGATION_STEMS) * OWN_SHARE_DENOMINATOR < len(own):
        return "nothing else shared", None
    # a phone call is not a meeting in a place: the same two leaders talk often, and a call
    # a day after a summit is another conversation
    if ("~call" in short.words) != ("~call" in long.words) and _call_or_meeting(short) * _call_or_meeting(long) < 0:
        return "call vs meeting", None
    # a later stage of the same case told in the lead (an appeal, bail, a docking) that the
    # other text never mentions: the follow-up is news of its own
    if _follow_up(short, long) or _follow_up(long, short):
        return "follow-up", None
    # a counterpart met, called or talked with whom the other text never names: another
    # meeting of the same trip ("Lavrov met Myanmar's minister Than Swe" / Lavrov at ASEAN)
    if _unnamed_counterpart(short, long):
        return "counterpart", None
    # 6. score
    # each side's words: found in the other (the same stem or concept; a shared name also
    # by its name key, as in the anchors, though its words differ: "Сбер" / "Сбербанк",
    # "Lula" / "Lula's"), or not
    sizes = _name_sizes(short, long)
    short_keys, long_keys = short.stem_keys, long.stem_keys
    base = _BASE_WEIGHTS
    if len(base) > 200_000:  # bounded, like the other caches
        base.clear()
    shared_weight = short_extra = short_found_extra = passage_extra = passage_found_extra = 0.0
    for stem in short.words & passage:
        key = long_keys.get(stem) or short_keys[stem]
        shared_weight += NAME_WEIGHT / sizes.get(key, 1) if key in named else base.get(stem) or _base_weight(stem)
    for stem in short.words - passage:
        key = long_keys.get(stem) or short_keys[stem]
        weight = NAME_WEIGHT / sizes.get(key, 1) if key in named else base.get(stem) or _base_weight(stem)
        short_extra += weight
        if (key in shared_names and short_keys[stem] in passage_names) or key in spelled:
            short_found_extra += weight
    for stem in passage - short.words:
        key = long_keys[stem]
        weight = NAME_WEIGHT / sizes.get(key, 1) if key in named else base.get(stem) or _base_weight(stem)
        passage_extra += weight
        if key in shared_names and key in short.name_words:
            passage_found_extra += weight
    score = (0.6 * (shared_weight + short_found_extra) / (shared_weight + short_extra)
             + 0.4 * (shared_weight + passage_found_extra) / (shared_weight + passage_extra))
    if short.lead_names and short.lead_names & long.lead_names:
        score += LEAD_BONUS * len(short.lead_names & long.lead_names) / len(short.lead_names)
    score += NUMBER_BONUS * min(len(shared_numbers), 2)
    # 7. time
    # a text that dates the event "yesterday" ("вчера", "накануне") retells the day before:
    # a day's gap is what it says, no sign of another event
    late = gap_hours - CLOSE_HOURS
    if late > 0 and gap_hours <= LOOK_BACK_HOURS + CLOSE_HOURS and not (_LOOKING_BACK.isdisjoint(short.words) and _LOOKING_BACK.isdisjoint(long.words)):
        late = gap_hours - LOOK_BACK_HOURS
    needed = threshold + max(0.0, late) / 24 * GAP_PENALTY_PER_DAY
    return "", RewriteMatch(
        round(min(score, 1.0), 3), round(needed, 3), tuple(sorted(shared_names)),
        tuple(sorted(value for _, value in shared_numbers)),
    )
