"""What the retelling tests ask of a pair of raw texts: the index's verdict, and which rule
stopped it (shared by test_retellings.py and test_retellings_domains.py)."""

from __future__ import annotations

from bot.core.normalise import normalise
from bot.stories.dedupe import same_story
from bot.stories.similarity import Gist, entities_of, gist, veto_of


def judged(a: str, b: str, *, hours: float = 2.0) -> bool:
    """``same_story`` with the raw texts, as the index judges a candidate."""
    return same_story(normalise(a), normalise(b), a_text=a, b_text=b, gap_hours=hours)


def gist_of(text: str) -> Gist:
    return gist(normalise(text), entities_of(text))


def veto(a: str, b: str, *, hours: float = 2.0) -> str:
    """The name of the rule that keeps ``b`` apart from ``a`` ("" when none does)."""
    return veto_of(gist_of(a), gist_of(b), gap_hours=hours)
