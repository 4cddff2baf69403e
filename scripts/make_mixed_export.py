"""Write ``tests/fixtures/mixed_channel_export.json``: a small Telegram Desktop export of a
made-up channel posting in Russian and English across the news sections, with two promos
and a greeting (not news) and one Russian repost of an English item. Texts written for the
project; run once, the file is committed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mixed_channel_export.json"
CHANNEL_ID = 1700000042
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

POSTS = [
    "Госдума приняла закон о повышении штрафов за нарушение правил дорожного движения; документ вступит в силу с сентября.",
    "The central bank raised its key interest rate to 18% as inflation accelerated to 9.1% in February.",
    "Apple released an iOS update that fixes a security flaw exploited by hackers to take over iPhones.",
    "«Зенит» обыграл «Спартак» со счётом 2:1 и вышел на первое место в таблице РПЛ.",
    "The new season of the fantasy series premiered on Netflix and broke the platform's viewing record.",
    "Учёные впервые получили снимок чёрной дыры в центре соседней галактики с помощью сети радиотелескопов.",
    "🔥 Скидка 40% на все курсы английского только до воскресенья! Промокод SPRING, ссылка в профиле.",
    "Parliament approved the new election law after the opposition walked out of the chamber.",
    "Акции крупнейшего банка выросли на 5% после публикации рекордной квартальной прибыли.",
    "Доброе утро, друзья! ☀️ Хорошего начала недели!",
    "The striker scored twice as Arsenal beat Chelsea 3-1 to go top of the Premier League.",
    "Вышел трейлер нового фильма режиссёра «Дюны», премьера в кинотеатрах назначена на декабрь.",
    "Doctors at the university hospital reported that a new gene therapy restored sight in six patients.",
    "Giveaway 🎁 Subscribe and repost to win a new phone! Results on Friday.",
    "Яндекс запустил новую версию голосового ассистента на основе нейросети.",
]


def main() -> None:
    messages = []
    for i, text in enumerate(POSTS, start=1):
        when = START + timedelta(minutes=37 * i)
        messages.append({
            "id": i, "type": "message", "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
            "date_unixtime": str(int(when.timestamp())), "from": "World Briefing / Мировая сводка",
            "from_id": f"channel{CHANNEL_ID}", "text": text,
            "text_entities": [{"type": "plain", "text": text}],
        })
    export = {"name": "World Briefing / Мировая сводка", "type": "public_channel", "id": CHANNEL_ID,
              "messages": messages}
    OUT.write_text(json.dumps(export, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(messages)} posts to {OUT}")


if __name__ == "__main__":
    main()
