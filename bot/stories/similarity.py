"""Rewrite scoring: do two differently worded posts report the same event?

Copies, reposts and light edits are settled by the canonical hash and word-pair overlap
(``bot.stories.dedupe``). A *retelling* shares few word pairs: another channel summarises a
long post in two lines, or tells the same facts in another order with other verbs. What it
keeps are the facts: the named people, organisations and places, the numbers and dates,
and the content words of the action. This module compares those, pure and without I/O.

Names come from the raw text's capitalisation (the stored text is casefolded): a word
capitalised inside a sentence is a *name*; one capitalised only because it opens a
sentence or a headline ("Regulator says...", "Citing...") is a *weak name*: it counts when
both texts have it and weighs little when missing. Acronyms and words with a capital inside
("IndiGo") are names wherever they stand. Countries, their adjectives and a few aliases fold
to one key ("Brazil", "Brazilian", "Бразилии"); a city keeps its own key but also names its
country ("Brasilia" agrees with "Brazil", "Paris" does not agree with "Berlin"). Other names
are compared by their first ``NAME_STEM`` letters, which folds Russian cases ("Путин",
"Путина", "Путиным"). A name of several words ("Donald Trump") counts once. Content words
are compared by Snowball stem (English or Russian, by script), and the words news channels
use for one thing ("phone call" / "telephone conversation", "снизил" / "снижение") by a
shared concept.

The rules, in order (any veto ends the comparison):

1. Time: past ``MAX_GAP_HOURS`` a rewrite never joins.
2. Facts (``facts_of``): numbers are typed (date, percentage, year, count) and months
   named; two texts that each give a value of one kind the other lacks ("18%" vs "19%",
   "July 3" vs "July 9", "in August" vs "in September") report different events. A fact
   only one side states is no conflict: retellings keep different subsets.
3. Tense: a clear announcement ("expected to", "is set to", "проведут") is not the report
   of the event, nor is "will ..." the report of the done event ("held", "провели"); a
   direction of change (cut / raised / kept) differs: another decision.
4. Names, softly: the longer text must name most of the shorter one's names
   (``MIN_NAME_COVERAGE``); a name missing where the longer text names another of the same
   kind (country for country, person, company or city for one of those) is a
   *substitution*: another counterpart, company or place. It vetoes when both names stand
   in the opening sentences, or when fewer than ``SUBSTITUTION_COVERAGE`` of the names
   agree. A place swapped ("in Sochi" / "in Istanbul"), a sentence-opening name swapped for
   another ("Microsoft completed..." / "...Sony finalised...") and a name standing between
   the same words as another ("Apple said on" / "Nvidia said on") veto too. An acronym the
   other text spells out ("VW" / "Volkswagen") is no missing name. Names no list knows
   count: a city is found by its country only in a text naming no place ("Turkish ... in
   Sochi" does not agree with "in Istanbul"); a place running into a name ("в Харбине Ли
   Цян") is found or lacking on its own; a title in capitals does not find the person
   ("PM Anwar" / "PM Prabowo"); a capital after a headline's colon or spaced dash is a
   sure name; two openers, each found nowhere in the other text, are two subjects.
5. Anchors: at least ``MIN_ANCHORS`` shared facts (names and numbers), one of them a name.
6. Score: the weighted share of the shorter text's content words found in the
   best-matching passage of the longer one (a run of its sentences up to ``PASSAGE_SIZE``
   times the shorter text: a summary is compared with the part of the long post it
   summarises), blended with the share of that passage found in the shorter text; plus a
   bonus when the opening sentences name the same people and for shared numbers. Names
   weigh ``NAME_WEIGHT`` (split between the words of a longer name), words every news
   post uses ``GENERIC_WEIGHT``, other words 1.
7. Time weighs in: within ``CLOSE_HOURS`` the score must reach ``threshold``; the bar
   rises by ``GAP_PENALTY_PER_DAY`` per day after that.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import snowballstemmer

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
    "strong_names",
]

NAME_STEM = 4
NAME_WEIGHT = 3.0
GENERIC_WEIGHT = 0.5
MIN_ANCHORS = 2
MIN_NAME_COVERAGE = 0.55  # share of the shorter text's names the longer must have
OPENER_WEIGHT = 0.25  # a weak name opening the text, as a share of a name
SUBSTITUTION_COVERAGE = 0.8  # the same, when the longer names someone the shorter lacks
MIN_CONTENT = 4  # a shorter text with fewer content words says too little to match by rewording
DEFAULT_THRESHOLD = 0.5
CLOSE_HOURS = 12.0
MAX_GAP_HOURS = 72.0
GAP_PENALTY_PER_DAY = 0.5  # threshold rise per day of gap past CLOSE_HOURS
LONG_TEXT = 40  # content words: above this, "will" says nothing about the event itself
LEAD_BONUS = 0.1
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
    ["president", "prime", "minister", "foreign", "secretary", "state", "head", "chair", "chairman", "deputy", "vice", "aide", "chancellor", "king", "queen", "pope", "general", "governor", "mayor", "spokesman", "spokeswoman", "spokesperson", "ambassador", "envoy", "senator", "congressman", "speaker", "ceo", "chief", "канцлер", "губернатор", "мэр", "посол", "спикер", "генсек", "пресс-секретарь", "ministry", "council", "meeting", "summit", "session", "talks", "mr", "mrs", "ms", "dr", "sir", "the", "a", "an", "on", "in", "at", "of", "for", "and", "but", "as", "by", "to", "from", "with", "after", "before", "during", "while", "this", "that", "these", "those", "it", "its", "he", "she", "they", "we", "our", "their", "his", "her", "there", "here", "what", "when", "where", "who", "why", "how", "also", "first", "second", "third", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "yesterday", "tomorrow", "breaking", "update", "urgent", "read", "full", "text", "key", "excerpts", "question", "answer", "comment", "remarks", "statement", "declaration", "sides", "ministers", "leaders", "delegation", "delegations", "not", "no", "if", "all", "some", "more", "most", "президент", "премьер", "министр", "глава", "заместитель", "помощник", "совет", "заседание", "саммит", "переговоры", "в", "во", "на", "с", "со", "к", "по", "из", "от", "до", "для", "о", "об", "при", "и", "а", "но", "или", "что", "как", "это", "этот", "эта", "эти", "тот", "та", "те", "он", "она", "они", "мы", "вы", "я", "его", "её", "их", "также", "уже", "ещё", "итоги", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье", "сегодня", "вчера", "завтра", "срочно", "подробнее", "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"]
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
_PLACE_LENGTHS = sorted({len(p) for p in _PLACE_PREFIXES}, reverse=True)
# Names written in several words, folded to one before tokenising (case-insensitively).
_PHRASES = {
    "united states": "USA", "white house": "Washington", "united kingdom": "Britain",
    "south africa": "SouthAfrica", "saudi arabia": "Saudi", "north korea": "Pyongyang",
    "south korea": "Seoul", "new delhi": "Delhi", "rio de janeiro": "Rio", "bank of russia": "CBR",
    "russian central bank": "CBR", "банк россии": "ЦБ", "банка россии": "ЦБ", "банком россии": "ЦБ",
    "центробанк": "ЦБ", "центральный банк россии": "ЦБ",
}
_PHRASE = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, _PHRASES), key=len, reverse=True)) + r")\b", re.IGNORECASE)
_PHRASE_LOWER = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, _PHRASES), key=len, reverse=True)) + r")\b")
_PHRASE_HINTS = ("united", "white", "south", "saudi", "north", "delhi", "rio de", "bank", "банк", "центр")


_US = re.compile(r"\bU\.?S\.?(?=[\s,;:)'’]|$)")  # "US", "U.S." in the raw text (in folded text "us" is a pronoun)


def _fold_phrases(text: str) -> str:
    if "U" in text:
        text = _US.sub("USA", text)
    lowered = text.casefold()
    if not any(hint in lowered for hint in _PHRASE_HINTS):
        return text
    if len(lowered) != len(text):  # casefolding changed lengths ("ß"): spans would not line up
        return _PHRASE.sub(lambda m: _PHRASES[m.group(0).casefold()], text)
    pieces: list[str] = []
    last = 0
    for match in _PHRASE_LOWER.finditer(lowered):
        pieces += (text[last : match.start()], _PHRASES[match.group()])
        last = match.end()
    return "".join(pieces) + text[last:] if pieces else text


# An announcement of something ahead: "expected to", "is set to", "проведут"... A bare
# "will" ("Aeroflot will resume flights") is weaker: the announcement may be the news itself,
# so it only keeps a text apart from one that reports the event as done.
_FUTURE_WORDS = frozenset(
    ["upcoming", "scheduled", "expected", "expects", "expect", "planned", "planning", "проведёт", "проведет", "проведут", "пройдёт", "пройдет", "пройдут", "состоится", "состоятся", "встретится", "встретятся", "планирует", "планируют", "планируется", "ожидается", "ожидаются", "ожидают", "ждут", "намерен", "намерена", "намерены", "предстоящий", "предстоящей", "предстоящем", "предстоящие", "предстоящих", "посетит", "посетят", "отправится", "прибудет", "прибудут", "выступит", "выступят", "завтра", "tomorrow"]
)
# "Chelsea face PSG in the final": the headline present of a fixture ahead; weak (it also
# says "faces charges"), so it only keeps the text apart from a report of the done event
_WEAK_FUTURE_WORDS = frozenset(["will", "won't", "shall", "could", "might", "будет", "будут", "может", "могут", "примет", "примут", "plans", "face", "faces", "сыграет", "сыграют"])
_FUTURE_PHRASES = re.compile(
    r"\b(?:is|are) (?:set |due |going |expected |scheduled )?to\b|\bto be held\b|\b(?:plans?|intends?|hopes?) to\b"
    r"|\bwill (?:hold|meet|visit|travel|sign|attend|host|discuss|speak|address|arrive|announce|vote|decide|take part|head|go|fly)\b"
    r"|\bto (?:hold|meet|visit|sign|attend|host|discuss)\b|\b(?:next|later this) (?:week|month|year)\b"
)

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
_REPORTING = frozenset(
    ["announced", "reported", "stated", "confirmed", "added", "noted", "stressed", "underlined", "emphasised", "emphasized", "quoted", "cited", "claimed", "denied", "explained", "warned", "pledged", "promised", "expected", "scheduled", "planned", "united", "based", "related", "armed", "limited", "detailed", "need", "speed", "red", "bed", "sped", "сообщил", "сообщила", "сообщили", "заявил", "заявила", "заявили", "рассказал", "рассказала", "отметил", "отметила", "подчеркнул", "подчеркнула", "написал", "написала", "объявил", "объявила", "объявили", "уточнил", "уточнила", "канал", "капитал", "материал", "сигнал", "финал", "генерал", "журнал", "идеал", "интервал"]
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
    strike: strike struck attack attacked удар удары атака обстрел
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
    up: rise rose risen raise raised raises hike hiked increase increased increases grew growth
        jump jumped surge surged soar climb climbed gain gained повысил повышение рост вырос
        выросла увеличил увеличение подорожал
    down: cut cuts lowers lowered reduce reduced fall falls fell drop dropped decline declined
        declines down slump slumped slash slashes slashed slowing cooling cooler weaker снизил
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

_WORD = re.compile(r"[^\W_]+")
_WORD_OR_BREAK = re.compile(r"[^\W_]+|[.!?;:\n](?=\s|$)|\s[-–—]\s")
_PLACE_PREPOSITIONS = frozenset(["in", "at", "near", "off", "в", "во"])  # "talks in Sochi": Sochi is a place
_STOPWORD_ACRONYMS = frozenset(["WHO", "IT", "ОН"])  # acronyms spelt like function words
_ROMAN = re.compile(r"[IVXLC]+")  # "XVII BRICS Summit": a number, not a name
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
    return word[:NAME_STEM]


@functools.lru_cache(maxsize=1024)  # bounded: raw texts can be long
def entities_of(text: str) -> frozenset[str]:
    """Name keys of a raw (not casefolded) post text: capitalised words that are not titles,
    months, weekdays or function words. A word capitalised only because it opens a sentence
    is a weak name (its key prefixed with ``WEAK``) unless it is a country or an acronym
    (prefixed with ``ACRONYM``), or the text capitalises it inside a sentence too. A name
    of several words ("Donald Trump", "Middle East") also gives its keys together, after
    ``UNIT``: it is one name when counting how many of a text's names another one has."""
    strong: set[str] = set()
    weak: set[str] = set()
    acronyms: set[str] = set()
    units: set[str] = set()
    run: list[str] = []
    folded_text = _fold_phrases(text)
    run_end = -1
    # only capitalised words are visited: where a word stands (a sentence start, next to
    # the previous name) is read from the characters before it
    for match in _CAPITALISED.finditer(folded_text):
        word, start = match.group(), match.start()
        if run and not folded_text[run_end:start].isspace():
            if len(run) > 1:
                units.add(UNIT + " ".join(sorted(set(run))))
            run = []
        at_opening = _opens_sentence(folded_text, start)
        for key, kind in _name_parts(word):
            if kind == _ACRONYM:
                acronyms.add(key)
            elif kind == _SURE or (kind == _NAME and not at_opening):
                # a place, a word capitalised inside a sentence, or one with a capital inside ("IndiGo")
                strong.add(key)
            else:
                weak.add(key)
                at_opening = False
                continue  # not part of a longer name: "Record Gazprom" is Gazprom
            at_opening = False
            if key[0] != "#":  # a country is a name of its own ("Russia Vladimir Putin")
                run.append(key)
        run_end = match.end()
    if len(run) > 1:
        units.add(UNIT + " ".join(sorted(set(run))))
    acronyms -= strong
    return frozenset(strong) | {ACRONYM + key for key in acronyms} | {WEAK + key for key in weak - strong - acronyms} | units


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
        elif len(folded) < 2 or folded in _NOT_NAMES or folded in _STOPWORDS or not part[0].isupper() or _ROMAN.fullmatch(part):
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


_CAPITALISED = re.compile(r"(?<![\w'’])[^\W\d_a-zа-яё][\w]*(?:[-'’][\w]+)*")
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


# ASCII texts (most posts) take a fast path: ``str.translate`` has an ASCII fast path, so
# marking digits and splitting costs a fraction of a regex scan, which tries a match at
# every character. Outputs are those of the regexes (``\\d`` is exactly 0-9 in ASCII).
_ASCII_DIGIT_MARKS = str.maketrans({chr(c): "0" if chr(c).isdigit() else " " for c in range(128)})


def _typed_numbers(text_norm: str) -> frozenset[tuple[str, str]]:
    """The numbers of a text with what they count: ("pct", "18"), ("date", "3")..., and
    the months it names: ("month", "august"), ("month", "июл")."""
    found = set()
    if text_norm.isascii():
        # a number starts at a digit: jump from digit to digit instead of scanning
        marks = text_norm.translate(_ASCII_DIGIT_MARKS)
        start = marks.find("0")
        while start >= 0:
            match = _NUMBER.match(text_norm, start)
            found.add(_typed(text_norm, match, start))  # type: ignore[arg-type]  # a digit always starts a number
            start = marks.find("0", match.end())  # type: ignore[union-attr]
    elif _DIGIT.search(text_norm):
        for match in _NUMBER.finditer(text_norm):
            found.add(_typed(text_norm, match, match.start()))
    if "may" in text_norm and _MAY.search(text_norm):  # "May" is a month only next to a number: also a verb
        found.add(("month", "may"))
    return frozenset(found)


def _typed(text_norm: str, match: re.Match[str], start: int) -> tuple[str, str]:
    """One number of ``_typed_numbers``: its type (from the word before and after) and value."""
    value = match.group()
    head = text_norm[max(0, start - 30) : start].rsplit(None, 1)  # the last word before it
    follow = _AFTER_NUMBER.match(text_norm, match.end())
    after = follow.group(1).casefold() if follow else ""
    return _number_type(head[-1] if head else "", value, after), _number_value(value)


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


def facts_of(text_norm: str) -> frozenset[tuple[str, str]]:
    """The numbers and months of a normalised text, typed: ("pct", "18"), ("date", "3"),
    ("month", "july")... Cheap enough to compute for every post (e.g. in an import worker),
    so that two texts stating different facts are told apart before anything else."""
    found = _typed_numbers(text_norm)
    words = _ascii_months(text_norm) if text_norm.isascii() else set(_WORD.findall(text_norm)) & _MONTH_WORDS
    words.discard("may")  # counted by _typed_numbers, next to a number only
    if words:
        found = found | {("month", _MONTH_FORMS[word][1:]) for word in words}
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
    return not dict(only_a).keys().isdisjoint(dict(only_b))


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
    stem_keys: tuple[tuple[str, str], ...]  # (content stem, its name key)
    numbers: frozenset[tuple[str, str]]
    size: int  # content words (distinct stems)
    future: bool  # announces something ahead ("expected to", "проведут")
    will: bool  # says "will": ahead, or the announcement is itself the news
    past: bool  # reports something done (an action verb in the past, not "said")
    tokens: tuple[str, ...]  # the words in order ("" between sentences): where each name stands
    cities: frozenset[str]  # city keys ("@paris")
    opener: str  # key of the text's first word when it is a weak name ("Nvidia pledges..."), else ""
    places: frozenset[str]  # name keys that are places: known cities, and names right after "in", "at", "в"...


_AHEAD, _WILL, _DONE = 1, 2, 3


@functools.lru_cache(maxsize=200_000)
def _word_info(token: str) -> tuple[int, str, str]:
    """What a (casefolded) word tells: its tense mark (``_AHEAD``, ``_WILL``, ``_DONE`` or 0),
    its name key and its stem (concept); key and stem are "" for function words and numbers."""
    tense = _AHEAD if token in _FUTURE_WORDS else _WILL if token in _WEAK_FUTURE_WORDS else _DONE if _is_past(token) else 0
    if token in _MONTH_FORMS:
        return tense, "=", _MONTH_FORMS[token]
    if token in _STOPWORDS or token.isdigit():
        return tense, "", ""
    return tense, _name_key(token), _CONCEPTS.get(token) or _stem(token)


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
    future = past = will = False
    text = _fold_phrases(text_norm).casefold()
    stems: set[str] = set()
    keys: set[str] = set()
    # one pass over words and sentence breaks ("." "!" "?" ";" ":" before a space, " - ")
    named = strong | weak
    for word in _WORD_OR_BREAK.findall(text):
        if not word[0].isalnum():
            if stems:
                sentences.append(frozenset(stems))
                sentence_names.append(frozenset(keys & named))
                all_words |= stems
                name_words |= keys
                stems, keys = set(), set()
            tokens.append("")  # sentences do not run into each other
            continue
        tokens.append(word)
        tense, key, stem = _word_info(word)
        if tense:
            if tense == _AHEAD:
                future = True
            elif tense == _WILL:
                will = True
            else:
                past = True
        if not key:
            continue
        if key == "=":  # a month: a fact (``facts_of``) and a content word
            key, stem = word[:NAME_STEM], stem[1:]
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
    if not future and ("to" in tokens or "will" in tokens or "next" in tokens or "later" in tokens) and _FUTURE_PHRASES.search(text):
        future = True
    if not future and ("poll" in text or "опрос" in text) and _FORECAST.search(text):
        future = True
    lead = sentence_names[0] & strong if sentence_names else frozenset()
    name_words |= {_CITY_COUNTRY[key] for key in strong if key[0] == "@"}
    cities.update(key for key in strong if key[0] == "@")
    first = next((t for t in tokens if t), "")
    opener = _name_key(first) if first and _name_key(first) in weak else ""
    places = set(cities)
    for before, token in zip(tokens, tokens[1:], strict=False):
        if before in _PLACE_PREPOSITIONS and token:
            key = _name_key(token)
            if key in named and key[0] != "#":
                places.add(key)
    return Gist(
        tuple(sentences), frozenset(all_words), frozenset(name_words), strong,
        weak, acronyms, tuple(units), lead, tuple(sentence_names), tuple(stem_keys.items()),
        facts_of(text_norm) if facts is None else facts, len(all_words), future, will, past, tuple(tokens),
        frozenset(cities), opener, frozenset(places),
    )


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
    about as long as the short text (at least one sentence): its stems and name keys."""
    if long.size <= PASSAGE_SIZE * short.size or len(long.sentences) <= 1:
        return long.words, frozenset().union(*long.sentence_names)
    budget = max(PASSAGE_SIZE * short.size, 16)
    best: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    best_hits = -1
    sents = long.sentences
    for start in range(len(sents)):
        words: set[str] = set()
        names: set[str] = set()
        for end in range(start, len(sents)):
            if words and len(words | sents[end]) > budget:
                break
            words |= sents[end]
            names |= long.sentence_names[end]
        hits = len(words & short.words) + 2 * len(names & short.names)
        if hits > best_hits:
            best_hits, best = hits, (frozenset(words), frozenset(names))
    return best


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
            return True
        # a city is found by its country only in a text that names no place at all (known
        # or not): "Turkish ... in Sochi" does not agree with "in Istanbul"
        if key[0] == "@" and not other.places and _CITY_COUNTRY[key] in other.name_words:
            return True
    return False


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
    if not x.opener or x.opener not in x_lacking or x.opener in x.names:
        return False
    return "name" in _kinds(y.lead_names & y_lacking, y)


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
    (initials). Both sides' lacking keys lose the pair."""
    for a, b, a_lacking, b_lacking in ((x, y, x_lacking, y_lacking), (y, x, y_lacking, x_lacking)):
        for acronym in a.acronyms & a_lacking:
            letters = acronym.rstrip(".")
            words = [t for t in b.tokens if t and _name_key(t) in b_lacking and _name_key(t) not in b.acronyms]
            spelled = {t for t in words if t[0] == letters[0] and _is_subsequence(letters, t)}
            initials = "".join(t[0] for t in words)
            if spelled or (len(letters) > 1 and letters in initials):
                explained = {_name_key(t) for t in spelled} or {_name_key(t) for t in words if t[0] in letters}
                if a is x:
                    x_lacking, y_lacking = x_lacking - {acronym}, y_lacking - explained
                else:
                    y_lacking, x_lacking = y_lacking - {acronym}, x_lacking - explained
    return x_lacking, y_lacking


def _is_subsequence(letters: str, word: str) -> bool:
    rest = iter(word)
    return all(letter in rest for letter in letters)


def _lacking(x: Gist, y: Gist) -> frozenset[str]:
    """The name keys of ``x`` that ``y`` does not name: the keys of each name of ``x`` not
    found in ``y``, and its opening weak name if ``y`` lacks the word."""
    keys: set[str] = set()
    for unit in x.units:
        # a place next to a name ("в Харбине Ли Цян") is not part of the name: found or
        # lacking on its own
        places = unit & x.places if len(unit) > 1 else frozenset()
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


def _tenses_differ(a: Gist, b: Gist) -> bool:
    """An announcement and the report of a done event; or a clear announcement ("expected
    to", "проведут") and a text that announces nothing."""
    a_ahead, b_ahead = a.future or a.will, b.future or b.will
    if (a_ahead and not a.past and b.past and not b_ahead) or (b_ahead and not b.past and a.past and not a_ahead):
        return True
    return a.future != b.future


def _weights(gists: tuple[Gist, Gist], names: frozenset[str]) -> dict[str, float]:
    """Each stem's weight: a name weighs ``NAME_WEIGHT`` (shared between the words of a name
    of several words: "Activision Blizzard" weighs no more than "Microsoft"), a generic
    news word ``GENERIC_WEIGHT``, any other content word 1."""
    size: dict[str, int] = {}
    for g in gists:
        for unit in g.units:
            for key in unit:
                size[key] = max(size.get(key, 1), len(unit))
    weights: dict[str, float] = {}
    for g in gists:
        for stem, key in g.stem_keys:
            if key in names:
                weights[stem] = NAME_WEIGHT / size.get(key, 1)
            elif stem in _GENERIC or stem[:5] in _GENERIC or stem[:6] in _GENERIC:
                weights[stem] = GENERIC_WEIGHT
            else:
                weights[stem] = 1.0
    return weights


def rewrite_match(a: Gist, b: Gist, *, gap_hours: float = 0.0, threshold: float = DEFAULT_THRESHOLD) -> RewriteMatch | None:
    """The rewrite score of two texts, or None when a rule vetoes the pair (numbers, names,
    tense, too few shared facts, too far apart in time)."""
    gap_hours = abs(gap_hours)
    if gap_hours > MAX_GAP_HOURS:
        return None
    short, long = (a, b) if a.size <= b.size else (b, a)
    if short.size < MIN_CONTENT:
        return None
    # 2. numbers: one side's are all in the other's, or they count different things
    if _numbers_conflict(short.numbers, long.numbers):
        return None
    # 3. tense: an announcement is not the report; a figure cut is not a figure kept
    if long.size <= LONG_TEXT and _tenses_differ(short, long):
        return None
    directions = short.words & _DIRECTIONS, long.words & _DIRECTIONS
    if directions[0] and directions[1] and not directions[0] & directions[1]:
        return None
    # 4. names, softly
    passage, passage_names = _best_passage(short, long)
    short_lacking, long_lacking = _explain_acronyms(short, long, _lacking(short, long), _lacking(long, short))
    missing = [unit for unit in short.units if unit <= short_lacking]
    # a weak name opening the text is often its subject ("Nvidia pledges..."), often a
    # common word ("Citing...", "Buildings..."): it counts, at OPENER_WEIGHT
    opener = OPENER_WEIGHT if short.opener else 0.0
    opener_missing = opener if short.opener in short_lacking else 0.0
    if missing or opener_missing:
        coverage = 1 - (len(missing) + opener_missing) / (len(short.units) + opener)
        # names the longer text has (in the passage the shorter one tells, or its lead)
        # that the shorter one lacks: with a name missing, a substitution (another
        # counterpart, another place), unless most names agree
        # (its opening weak name too: "Lavrov and Wang held talks" for "Wang–Rubio meeting")
        extra = ((passage_names | long.lead_names) & long.names | {long.opener}) & long_lacking
        missing_keys = frozenset().union(*missing)
        if coverage < MIN_NAME_COVERAGE:
            return None
        if _kinds(extra, long) & _kinds(missing_keys, short):
            # a swap in the opening sentences of both is the news itself; elsewhere, a
            # retelling may drop one name and add another, as long as most names agree
            lead_swap = _kinds(extra & (long.lead_names | {long.opener}), long) & _kinds(missing_keys & short.lead_names, short)
            if lead_swap or coverage < SUBSTITUTION_COVERAGE:
                return None
    # another place: where an event happened is not dropped or changed by a retelling
    if short.places & short_lacking and long.places & long_lacking & (passage_names | long.lead_names):
        return None
    if _opener_swapped(short, long, short_lacking, long_lacking) or _opener_swapped(long, short, long_lacking, short_lacking):
        return None
    if _openers_swapped(short, long):
        return None
    # a name in the place of another name, between the same words: the same template
    # told of someone else ("Apple said on..." / "Nvidia said on...")
    if _substituted(short, long, short_lacking, long_lacking) or _substituted(long, short, long_lacking, short_lacking):
        return None
    # 5. anchors
    # a name either text capitalises; a word both capitalise only at a sentence start too
    named = short.names | long.names | (short.weak_names & long.weak_names)
    shared_names = named & short.name_words & long.name_words
    shared_numbers = short.numbers & long.numbers
    if not shared_names or len(shared_names) + len(shared_numbers) < MIN_ANCHORS:
        return None
    # 6. score
    weights = _weights((short, long), named)
    common = short.words & passage
    shared_weight = sum(weights[w] for w in common)
    short_weight = sum(weights[w] for w in short.words)
    passage_weight = sum(weights[w] for w in passage)
    score = 0.6 * shared_weight / short_weight + 0.4 * shared_weight / passage_weight
    if short.lead_names and short.lead_names & long.lead_names:
        score += LEAD_BONUS * len(short.lead_names & long.lead_names) / len(short.lead_names)
    score += NUMBER_BONUS * min(len(shared_numbers), 2)
    # 7. time
    needed = threshold + max(0.0, gap_hours - CLOSE_HOURS) / 24 * GAP_PENALTY_PER_DAY
    return RewriteMatch(
        round(min(score, 1.0), 3), round(needed, 3), tuple(sorted(shared_names)),
        tuple(sorted(value for _, value in shared_numbers)),
    )
