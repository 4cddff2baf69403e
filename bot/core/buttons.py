"""Inline keyboard buttons as data: what the bot attaches to a message and reads back when
one is pressed.

Telegram carries a button's ``callback_data`` (1-64 bytes) back in the ``callback_query``
update. Ours are short words and numbers joined by ``:`` (``pg:812:2`` = page 2 of digest
812); ``bot.telegram.buttons`` reads them. A too-long value is a bug, caught here when the
button is made rather than by Telegram when the message is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CALLBACK_DATA_MAX = 64  # bytes, Telegram's limit
BUTTON_TEXT_MAX = 64  # characters we show on a button (Telegram cuts long labels anyway)


def callback(*parts: object) -> str:
    """``callback("pg", 812, 2)`` → ``"pg:812:2"``; raises ValueError beyond 64 bytes."""
    data = ":".join(str(p) for p in parts)
    if not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_MAX:
        raise ValueError(f"callback_data must be 1-{CALLBACK_DATA_MAX} bytes: {data[:80]!r}")
    return data


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button that sends ``data`` back when pressed."""

    text: str
    data: str

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a button needs a label")
        if not 1 <= len(self.data.encode("utf-8")) <= CALLBACK_DATA_MAX:
            raise ValueError(f"callback_data must be 1-{CALLBACK_DATA_MAX} bytes: {self.data[:80]!r}")


Keyboard = tuple[tuple[Button, ...], ...]


def keyboard(*rows: Iterable[Button]) -> Keyboard:
    """Rows of buttons; empty rows are dropped."""
    return tuple(row for row in (tuple(r) for r in rows) if row)


def label(text: str, width: int = BUTTON_TEXT_MAX) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(0, width - 1)].rstrip() + "…"


def to_markup(rows: Keyboard) -> dict[str, Any]:
    """The Bot API's ``InlineKeyboardMarkup`` for ``rows``."""
    return {"inline_keyboard": [[{"text": b.text, "callback_data": b.data} for b in row] for row in rows]}


def from_markup(markup: Any) -> Keyboard:
    """Buttons back from an ``InlineKeyboardMarkup`` (e.g. as stored with a message); odd
    entries (URL buttons, bad shapes) are skipped."""
    rows: list[tuple[Button, ...]] = []
    raw_rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for raw in raw_rows if isinstance(raw_rows, list) else []:
        row: list[Button] = []
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict) and isinstance(item.get("text"), str) and isinstance(item.get("callback_data"), str):
                try:
                    row.append(Button(item["text"], item["callback_data"]))
                except ValueError:
                    continue
        if row:
            rows.append(tuple(row))
    return tuple(rows)


def render_keyboard(rows: Sequence[Sequence[Button]]) -> str:
    """The keyboard drawn in text, one row a line: ``[ 🔇 Mute channel ] [ 🙈 Hide story ]``."""
    return "\n".join(" ".join(f"[ {b.text} ]" for b in row) for row in rows)
