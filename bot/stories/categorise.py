"""Categories: operator-written queries from the config, applied to posts and stories,
and the built-in sections (``bot.stories.sections``) when they are on.

A post belongs to every category whose query matches it, in config order; a story
belongs to a category when any of its posts does (the same rule as subscriptions).
Stories in no category are shown under "Other" by the digest, not here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bot.errors import QueryError
from bot.query.parser import MatchDoc, Query, parse_query
from bot.stories.sections import Verdict, section_model

if TYPE_CHECKING:
    from bot.config import Config

__all__ = ["CATEGORY_MAX_LENGTH", "CATEGORY_MAX_TERMS", "Categoriser"]

# Operators write category queries in the config, so they get far more room than users.
CATEGORY_MAX_LENGTH = 1000
CATEGORY_MAX_TERMS = 100


class Categoriser:
    """Compiled category queries; raises QueryError naming the first invalid category."""

    __slots__ = ("_categories", "builtin")

    def __init__(
        self,
        categories: Iterable[tuple[str, str]],
        *,
        stemming: bool = False,
        language: str = "english",
        builtin: bool = False,
    ) -> None:
        self.builtin = builtin  # sort posts into the built-in sections too
        compiled: list[tuple[str, Query]] = []
        for name, text in categories:
            try:
                query = parse_query(
                    text,
                    max_length=CATEGORY_MAX_LENGTH,
                    max_terms=CATEGORY_MAX_TERMS,
                    stemming=stemming,
                    language=language,
                )
            except QueryError as e:
                raise QueryError(f"category {name!r}: {e}") from None
            compiled.append((name, query))
        self._categories = tuple(compiled)

    @classmethod
    def from_config(cls, config: Config) -> Categoriser:
        return cls(
            ((c.name, c.query) for c in config.categories),
            stemming=config.query.stemming,
            language=config.query.language,
            builtin=config.builtin_sections,
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._categories)

    def categories_for(self, doc: MatchDoc) -> tuple[str, ...]:
        """Names of the categories one post belongs to, in config order."""
        return tuple(name for name, query in self._categories if query.matches(doc))

    def categories_for_story(self, docs: Sequence[MatchDoc]) -> tuple[str, ...]:
        """Names of the categories any of the story's posts belongs to, in config order."""
        return tuple(
            name for name, query in self._categories if any(query.matches(d) for d in docs)
        )

    def verdict(self, text_norm: str) -> Verdict:
        """News or not, and the built-in section (None when the sections are off), of one
        post's normalised text. News is judged whether or not the sections are on."""
        verdict = section_model().classify(text_norm)
        if not self.builtin and verdict.section is not None:
            return Verdict(section=None, news=verdict.news)
        return verdict
