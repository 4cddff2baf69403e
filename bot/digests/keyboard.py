"""The buttons under a digest or an alert. Pure: ids in, ``Keyboard`` out.

Callback data (read by ``bot.telegram.buttons``), each well under Telegram's 64 bytes::

    pg:<digest>:<page>   show page <page> (0-based) of a compact digest
    mc:<digest>          mute a channel: choose among this digest's channels
    hs:<digest>          hide a story: choose among this digest's stories
    pz:<digest>[:<page>] pause digests (the button then turns into ▶ Resume; the page shown stays)
    rs:<digest>[:<page>] resume digests
    set                  the settings screen
    noop                 the page counter: does nothing
"""

from __future__ import annotations

from bot.core.buttons import Button, Keyboard, callback, keyboard


def page_row(digest_id: int, page: int, pages: int) -> list[Button]:
    """◀ n/N ▶ for a compact digest (the arrows only where there is a page to go to)."""
    row: list[Button] = []
    if page > 0:
        row.append(Button("◀", callback("pg", digest_id, page - 1)))
    row.append(Button(f"{page + 1}/{pages}", "noop"))
    if page + 1 < pages:
        row.append(Button("▶", callback("pg", digest_id, page + 1)))
    return row


def digest_keyboard(digest_id: int, *, page: int = 0, pages: int = 1, paused: bool = False) -> Keyboard:
    """The controls under a digest: paging (compact, several pages), mute, hide, pause, settings."""
    at = (digest_id, page) if pages > 1 else (digest_id,)
    return keyboard(
        page_row(digest_id, page, pages) if pages > 1 else [],
        [Button("🔇 Mute channel", callback("mc", digest_id)), Button("🙈 Hide story", callback("hs", digest_id))],
        [
            Button("▶ Resume", callback("rs", *at)) if paused else Button("⏸ Pause", callback("pz", *at)),
            Button("⚙ Settings", "set"),
        ],
    )
