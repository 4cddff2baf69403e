"""Parse the ways people write a channel: ``@name``, ``t.me/name``, ``t.me/+invite``, an id."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import TgdigestError

_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_LINK = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.(?:me|dog)/(?P<rest>.+?)/?$", re.IGNORECASE
)


class HandleError(TgdigestError, ValueError):
    """A channel handle is not one of the accepted forms."""


@dataclass(frozen=True, slots=True)
class Handle:
    """``kind`` is ``username`` (public), ``invite`` (private, join by hash) or ``id``."""

    kind: str
    value: str

    @property
    def channel_id(self) -> int | None:
        return int(self.value) if self.kind == "id" else None

    def __str__(self) -> str:
        if self.kind == "username":
            return f"@{self.value}"
        if self.kind == "invite":
            return f"https://t.me/+{self.value}"
        return self.value


def parse_handle(text: str) -> Handle:
    """Return the handle ``text`` names, or raise ``HandleError`` saying what is accepted."""
    raw = text.strip()
    if not raw:
        raise HandleError("empty channel handle: use @name, https://t.me/name, t.me/+invite or an id")
    if re.fullmatch(r"-?\d+", raw):
        number = int(raw)
        # Bot API style ids carry a -100 prefix; we store the bare id as exports do.
        if raw.startswith("-100"):
            number = int(raw[4:])
        if number <= 0:
            raise HandleError(f"{raw!r} is not a channel id")
        return Handle("id", str(abs(number)))
    link = _LINK.match(raw)
    if link:
        rest = link.group("rest")
        if rest.startswith("+"):
            invite = rest[1:]
        elif rest.lower().startswith("joinchat/"):
            invite = rest.split("/", 1)[1]
        else:
            invite = None
        if invite is not None:
            if not re.fullmatch(r"[A-Za-z0-9_-]{8,}", invite):
                raise HandleError(f"{raw!r} is not a valid invite link")
            return Handle("invite", invite)
        if rest.lower().startswith("s/"):
            rest = rest[2:]
        if rest.lower().startswith("c/"):
            parts = rest.split("/")
            if len(parts) >= 2 and parts[1].isdigit():
                return Handle("id", parts[1])
        name = rest.split("/")[0].split("?")[0]
    else:
        name = raw[1:] if raw.startswith("@") else raw
    if not _USERNAME.match(name):
        raise HandleError(
            f"{raw!r} is not a channel: use @name, https://t.me/name, t.me/+invite or a numeric id"
        )
    return Handle("username", name.lower())
