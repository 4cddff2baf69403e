"""Rewrite scoring: do two differently worded posts report the same event?

Copies, reposts and light edits are settled by the canonical hash and word-pair overlap
(``bot.stories.dedupe``). A *retelling* shares few word pairs: another channel summarises a
long post in two lines, or tells the same facts in another order with other verbs. What it
keeps are the facts: the named people, organisations and places, the numbers and dates,
and the content words of the action. This module compares those, pure and without I/O.

The rules, in the order they are applied (any veto ends the comparison):

1. Numbers must agree: the numbers of one text are a subset of the other's ("18%" vs
   "19%", "July 3" vs "July 9": another event).
2. Names must agree: every named entity (a capitalised word that is not a title, month or
   weekday) of the shorter text must occur in the longer one; a different counterpart or a
   different pair of countries in the same template is another event.
3. Tense must agree: an announcement ("will hold talks", "проведут") is not the report of
   the event it announces (held, met, провели).
4. Both must share at least ``MIN_ANCHORS`` facts (entities and numbers together), at
   least one of them a name.
5. The score is the weighted share of the shorter text's content words (entities weigh
   ``ENTITY_WEIGHT``, other content words 1) found in the best-matching passage of the
   longer one (a run of its sentences about as long as the shorter text: a summary is
   compared with the part of the long post it summarises, not with all of it), blended
   with the share of that passage's words found in the shorter text, plus a bonus when
   the opening sentences name the same entities.
6. Time weighs in: within ``CLOSE_HOURS`` the threshold is ``threshold``; it rises with
   the gap, and past ``MAX_GAP_HOURS`` a rewrite never joins (a retelling comes within
   hours; the same people a week later are another meeting).

Words are compared by a prefix stem (the first ``STEM`` letters, enough to fold "talks" and
"talk", "переговоры" and "переговорах"); entities by a shorter prefix (``ENTITY_STEM``:
"China"/"Chinese", "Эрдоган"/"Эрдоганом").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_THRESHOLD",
    "Gist",
    "RewriteMatch",
    "entities_of",
    "gist",
    "rewrite_match",
]

STEM = 5
ENTITY_STEM = 4
ENTITY_WEIGHT = 3.0
MIN_ANCHORS = 2
MIN_CONTENT = 4  # a shorter text with fewer content words says too little to match by rewording
DEFAULT_THRESHOLD = 0.5
CLOSE_HOURS = 12.0
MAX_GAP_HOURS = 72.0
GAP_PENALTY_PER_DAY = 0.3
LONG_TEXT = 40  # content words: above this, "will" says nothing about the event itself  # threshold rise per day of gap past CLOSE_HOURS
LEAD_BONUS = 0.1

_STOPWORD_TEXT = """a an the and or but if of to in on at by for with from into onto over under about after
    before during between through against among within as than then so such that this
    these those there here it its is are was were be been being has have had do does did
    shall should can could may might must i we you he she they them us our your his
    her their my me him who whom whose which what when where why how all any both each few more
    most other some own same too very also just only s t said says say told according per
    via amid while since until up down out off again further once new
    и в во на с со к ко по за из от до для о об при а но или же ли что как это этот эта эти
    тот та те так также уже еще ещё бы был была были было быть есть он она оно они мы вы я его
    ее её их им ним нем ней у вот сообщил сообщила сообщили заявил заявила"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Capitalised but not names: titles, months, weekdays, sentence openers of news copy.
_NOT_ENTITIES = frozenset(
    ["president", "prime", "minister", "foreign", "secretary", "state", "head", "chair", "chairman", "deputy", "vice", "aide", "ministry", "council", "meeting", "summit", "session", "talks", "mr", "mrs", "ms", "dr", "sir", "the", "a", "an", "on", "in", "at", "of", "for", "and", "but", "as", "by", "to", "from", "with", "after", "before", "during", "while", "this", "that", "these", "those", "it", "its", "he", "she", "they", "we", "our", "their", "his", "her", "there", "here", "what", "when", "where", "who", "why", "how", "also", "first", "second", "third", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "yesterday", "tomorrow", "breaking", "update", "urgent", "read", "full", "text", "key", "excerpts", "question", "answer", "comment", "remarks", "statement", "declaration", "sides", "ministers", "leaders", "delegation", "delegations", "президент", "премьер", "министр", "глава", "заместитель", "помощник", "совет", "заседание", "саммит", "переговоры", "в", "во", "на", "с", "со", "к", "по", "из", "от", "до", "для", "о", "об", "при", "и", "а", "но", "или", "что", "как", "это", "этот", "эта", "эти", "тот", "та", "те", "он", "она", "они", "мы", "вы", "я", "его", "её", "их", "также", "уже", "ещё", "итоги", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье", "сегодня", "вчера", "завтра", "срочно", "подробнее"]
)

_FUTURE_WORDS = frozenset(
    ["will", "won't", "shall", "upcoming", "tomorrow", "scheduled", "expected", "plans", "planned", "planning", "проведёт", "проведет", "проведут", "пройдёт", "пройдет", "пройдут", "состоится", "состоятся", "встретится", "встретятся", "будет", "будут", "планирует", "планируют", "планируется", "ожидается", "ожидаются", "намерен", "намерена", "намерены", "предстоящий", "предстоящей", "предстоящем", "предстоящие", "предстоящих", "примет", "примут", "посетит", "посетят", "отправится", "прибудет", "прибудут", "выступит", "выступят", "завтра"]
)
_FUTURE_PHRASES = re.compile(r"\b(?:is|are) (?:set |due |going )?to\b|\bto (?:hold|meet|visit|sign|attend|host|discuss)\b|\bnext (?:week|month)\b")
_PAST_WORDS = frozenset(
    ["held", "met", "took", "was", "were", "had", "did", "signed", "spoke", "agreed", "discussed", "visited", "attended", "won", "lost", "hit", "struck", "killed", "ended", "began", "adopted", "approved", "delivered", "провёл", "провел", "провела", "провели", "прошла", "прошёл", "прошел", "прошли", "состоялся", "состоялась", "состоялись", "встретились", "встретился", "обсудили", "обсудил", "подписали", "подписал", "договорились", "приняли", "принял", "победила", "победил", "заявил", "снизил", "сохранил"]
)
_ED_NOT_PAST = frozenset(["united", "based", "related", "armed", "limited", "detailed", "scheduled", "expected", "planned", "need", "speed", "red", "bed"])

_WORD = re.compile(r"[^\W_]+")
_CAPITALISED = re.compile(r"(?<![\w'’])([A-ZА-ЯЁ][\w]*(?:[-'’][\w]+)*)")
_DIGITS = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\s*\n+\s*")


def _stem(word: str, size: int = STEM) -> str:
    return word.replace("ё", "е")[:size]


def entities_of(text: str) -> frozenset[str]:
    """Entity stems of a raw (not casefolded) post text: capitalised words that are not titles,
    months, weekdays or function words. Lines written in capitals say nothing about names."""
    inside: set[str] = set()  # capitalised inside a sentence: a name
    opening: set[str] = set()  # capitalised at a sentence start: a name only if an acronym
    for line in text.splitlines():
        letters = [c for c in line if c.isalpha()]
        if len(letters) > 12 and sum(c.isupper() for c in letters) > 0.6 * len(letters):
            continue  # an all-caps headline: every word is capitalised
        for match in _CAPITALISED.finditer(line):
            start = match.start()
            head = line[:start].rstrip(" \t\"'«(“")
            at_opening = not any(c.isalnum() for c in head) or head[-1] in ".!?:;—-–•"
            for part in re.split(r"[-'’]", match.group(1)):
                folded = part.casefold()
                if len(folded) < 2 or folded in _NOT_ENTITIES or folded in _STOPWORDS or folded.isdigit():
                    continue
                stem = _stem(folded, ENTITY_STEM)
                if at_opening and not part.isupper():
                    opening.add(stem)
                else:
                    inside.add(stem)
                at_opening = False
    return frozenset(inside | opening)


_MONTHS = frozenset(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"]
)
_RU_MONTH_STEMS = ("январ", "феврал", "март", "апрел", "мая", "май", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр")
_PERCENT = frozenset(["%", "percent", "per", "процент", "процента", "процентов"])
_AMOUNT = frozenset(["billion", "million", "thousand", "trillion", "bn", "mn", "m", "k", "bcm", "млрд", "млн", "тыс", "трлн", "миллиард", "миллиарда", "миллиардов", "миллион", "миллиона", "миллионов"])
_NUMBER_CONTEXT = re.compile(r"(\S*?)\s*(\d+(?:[.,]\d+)?)\s*(%|[^\W\d_]+)?")


def _number_type(before: str, value: str, after: str) -> str:
    """What a number counts, from its neighbours: a date, a percentage, an amount, a year;
    otherwise its magnitude (a day-sized number and a thousand-sized one are not rivals)."""
    before = before.strip(".,:;()$€£\"'").casefold()
    if after in _PERCENT:
        return "pct"
    if after in _AMOUNT:
        return "amount"
    if after in _MONTHS or before in _MONTHS or after.startswith(_RU_MONTH_STEMS):
        return "date"
    whole = value.replace(",", ".").split(".")[0]
    if len(whole) == 4 and whole[:2] in ("19", "20"):
        return "year"
    return "small" if len(whole) <= 2 else "large"


def _typed_numbers(text_norm: str) -> frozenset[tuple[str, str]]:
    """The numbers of a text with what they count: ("pct", "18"), ("date", "3")..."""
    found = set()
    for match in _NUMBER_CONTEXT.finditer(text_norm):
        before, value, after = match.group(1), match.group(2), match.group(3) or ""
        found.add((_number_type(before, value, after.casefold()), value.replace(",", ".")))
    return frozenset(found)


def _numbers_conflict(a: frozenset[tuple[str, str]], b: frozenset[tuple[str, str]]) -> bool:
    """True when the texts give different values for the same kind of number: each has a
    date (percentage, amount...) the other lacks. A number only one side mentions is not
    a conflict: retellings keep different subsets of the facts."""
    if a <= b or b <= a:
        return False
    only_a, only_b = a - b, b - a
    kinds_a = {kind for kind, _ in only_a}
    return any(kind in kinds_a for kind, _ in only_b)


@dataclass(frozen=True, slots=True)
class Gist:
    """What rewrite scoring needs of one text: content stems per sentence, entity stems,
    numbers and tense. Built only for candidates (most posts are never one)."""

    sentences: tuple[frozenset[str], ...]  # content stems of each sentence
    words: frozenset[str]  # content stems of the whole text
    entity_words: frozenset[str]  # all words of the text at entity-stem length
    entities: frozenset[str]
    lead_entities: frozenset[str]  # entities of the first sentence
    numbers: frozenset[tuple[str, str]]
    size: int  # content words (distinct stems)
    future: bool
    past: bool


def gist(text_norm: str, entities: frozenset[str]) -> Gist:
    """The gist of a normalised text whose raw form had ``entities`` (``entities_of``)."""
    sentences = []
    all_words: set[str] = set()
    entity_words: set[str] = set()
    future = past = False
    for sentence in _SENTENCE_END.split(text_norm):
        tokens = _WORD.findall(sentence)
        stems = set()
        for token in tokens:
            if token in _FUTURE_WORDS:
                future = True
            elif token in _PAST_WORDS or (
                len(token) > 4 and token.endswith("ed") and token.isascii() and token not in _ED_NOT_PAST
            ):
                past = True
            if token in _STOPWORDS or token.isdigit():
                continue
            entity_words.add(_stem(token, ENTITY_STEM))
            stems.add(_stem(token))
        if not future and _FUTURE_PHRASES.search(sentence):
            future = True
        if stems:
            sentences.append(frozenset(stems))
            all_words |= stems
    present = entities & entity_words  # an entity of the raw text the normal form still has
    lead = frozenset(present & {_stem(s, ENTITY_STEM) for s in sentences[0]}) if sentences else frozenset()
    numbers = _typed_numbers(text_norm)
    return Gist(tuple(sentences), frozenset(all_words), frozenset(entity_words), frozenset(present), lead,
                numbers, len(all_words), future, past)


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


def _weight(stem: str, entities: frozenset[str]) -> float:
    return ENTITY_WEIGHT if stem[:ENTITY_STEM] in entities else 1.0


def _best_passage(short: Gist, long: Gist) -> frozenset[str]:
    """The run of the long text's sentences that shares the most with the short text,
    about as long as the short text (at least one sentence)."""
    if long.size <= 2 * short.size or len(long.sentences) <= 1:
        return long.words
    budget = max(2 * short.size, 12)
    best: frozenset[str] = frozenset()
    best_hits = -1
    sents = long.sentences
    for start in range(len(sents)):
        words: set[str] = set()
        for end in range(start, len(sents)):
            if words and len(words | sents[end]) > budget:
                break
            words |= sents[end]
        hits = len(words & short.words)
        if hits > best_hits:
            best_hits, best = hits, frozenset(words)
    return best


def rewrite_match(a: Gist, b: Gist, *, gap_hours: float = 0.0, threshold: float = DEFAULT_THRESHOLD) -> RewriteMatch | None:
    """The rewrite score of two texts, or None when a rule vetoes the pair (numbers, names,
    tense, too few shared facts, too far apart in time)."""
    gap_hours = abs(gap_hours)
    if gap_hours > MAX_GAP_HOURS:
        return None
    short, long = (a, b) if a.size <= b.size else (b, a)
    if short.size < MIN_CONTENT:
        return None
    # 1. numbers: one side's are all in the other's
    if _numbers_conflict(short.numbers, long.numbers):
        return None
    # 2. names: a name of the shorter text missing from the longer one, while the longer
    # one's opening names someone the shorter lacks, is a substitution (another counterpart,
    # another pair of countries); a few extra names in a retelling are not.
    unmatched = short.entities - long.entity_words
    if unmatched and (3 * len(unmatched) > len(short.entities) or long.lead_entities - short.entity_words):
        return None
    # 3. tense: an announcement is not the report
    if short.future != long.future and long.size <= LONG_TEXT:
        return None  # (a long report mentions what comes next in passing: no verdict there)
    shared_entities = (short.entities | long.entities) & short.entity_words & long.entity_words
    shared_numbers = short.numbers & long.numbers
    if not shared_entities or len(shared_entities) + len(shared_numbers) < MIN_ANCHORS:
        return None
    passage = _best_passage(short, long)
    entities = short.entities | long.entities
    common = short.words & passage
    shared_weight = sum(_weight(w, entities) for w in common)
    short_weight = sum(_weight(w, entities) for w in short.words)
    passage_weight = sum(_weight(w, entities) for w in passage)
    score = 0.6 * shared_weight / short_weight + 0.4 * shared_weight / passage_weight
    if short.lead_entities and short.lead_entities & long.lead_entities:
        score += LEAD_BONUS * len(short.lead_entities & long.lead_entities) / len(short.lead_entities)
    needed = threshold + max(0.0, gap_hours - CLOSE_HOURS) / 24 * GAP_PENALTY_PER_DAY
    return RewriteMatch(round(min(score, 1.0), 3), round(needed, 3), tuple(sorted(shared_entities)), tuple(sorted(value for _, value in shared_numbers)))
