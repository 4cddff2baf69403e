"""A post's raw text cut into pieces that the reading stages can remember one by one.

News repeats itself by the sentence and by the line: a repost carries its original's
lines under a credit line, a channel repeats its own body without the title, stories
quote the same statement. Stages whose result for a whole text is put together from its
pieces' results (``bot.core.normalise.normalise_pieces``,
``bot.stories.similarity.entities_of``) then do the work once per distinct piece, not
once per post.

The cuts are where nothing of either stage reaches across: before each line break, and
after a sentence's full stop followed by a space, unless that stop may be eaten by a
substitution of those stages (the end of a link, as in "t.me/x. Next", or of "U.S.").
Every piece but the first starts with the character it was cut before ("\\n" or " "),
so the pieces joined give the text back and each piece sees what stood before it.
"""

from __future__ import annotations

__all__ = ["split_pieces"]

_CUT = "\x00"  # marks the cuts in the fast path (a text containing it takes the other one)


def _stop_may_vanish(before: str) -> bool:
    """Whether the full stop after ``before`` may be part of a link or of "U.S." (then the
    text is not cut there): links and "U.S." are rewritten before names are read."""
    if before.endswith("S"):
        return True
    token = before[max(before.rfind(" "), before.rfind("\n")) + 1 :]
    return "://" in token or "www." in token or "t.me/" in token


def split_pieces(text: str) -> list[str]:
    """``text`` cut before each line break and after each safe ". " (see the module);
    ``"".join(split_pieces(text)) == text``."""
    # (a single character is the quickest search: "/" stands for "://" and "t.me/")
    if "/" not in text and _CUT not in text and "S. " not in text and "www." not in text:
        # no stop can vanish: mark every cut and split there, at C speed
        return text.replace(". ", "." + _CUT + " ").replace("\n", _CUT + "\n").split(_CUT)
    out: list[str] = []
    prefix = ""
    for line in text.split("\n"):
        if ". " not in line:
            out.append(prefix + line)
        else:
            sentences = line.split(". ")
            current = prefix + sentences[0]
            for sentence in sentences[1:]:
                if _stop_may_vanish(current):
                    current += ". " + sentence
                else:
                    out.append(current + ".")
                    current = " " + sentence
            out.append(current)
        prefix = "\n"
    return out
