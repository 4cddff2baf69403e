"""More retellings of the sample channel's posts (issue 11, part D), written for the *dev*
split only: headlines of the long official posts, two-line summaries of their continuation
parts (the odd message ids: the second half of a post split at Telegram's length limit),
retellings with other verbs and another order; and posts about the same people and places
that report another event. Written by hand, after the rules of part C were set, as a check
that they carry to retellings they were not tuned on. Keys are message ids in
``tests/fixtures/sample_channel_export.json``; hours are after the original post."""

# the posts whose first two retellings tell the same facts (a pair of them is one story by
# itself); the others retell different parts of a long post, joined only through it
PAIRED = {2, 5, 9}

SAME = {
    2: [
        (2, "Putin: a meeting with Trump is possible but must be well prepared"),
        (6, "Asked by Kommersant in Minsk whether it is time to meet Trump, Putin said such a meeting has to be carefully prepared and spoke highly of the US President."),
    ],
    5: [
        (1, "Ushakov: Putin and Trump talked for almost an hour; Trump told Putin about his One Big Beautiful Bill, Putin congratulated him on Independence Day."),
        (4, "Putin wished Trump success with the tax and immigration reform just passed by Congress and congratulated him on the Fourth of July, Kremlin aide Yuri Ushakov said after their nearly hour-long phone call."),
    ],
    6: [
        (2, "Putin at BRICS plenary: thanks to Lula, call to trade in national currencies"),
    ],
    9: [
        (3, "BRICS leaders back a reform of the UN and its Security Council that gives developing countries of Africa, Asia and Latin America a bigger voice, the Rio de Janeiro declaration says."),
        (5, "Rio declaration: BRICS reaffirms its commitment to multilateralism and international law and calls for a more representative UN Security Council."),
    ],
    12: [
        (3, "Lavrov heads to Kuala Lumpur for ASEAN ministerial week (July 10-11)"),
    ],
    13: [
        (2, "Russia's trade with ASEAN countries grew 5.8% in 2024 to $23.2 billion, the Russian Foreign Ministry said ahead of Lavrov's trip to Kuala Lumpur."),
        (6, "Moscow calls ASEAN a key partner for a Eurasian security architecture; the Russia-ASEAN ministerial meeting in Kuala Lumpur on July 10 will discuss the next five-year plan of action."),
    ],
    14: [
        (1, "Lavrov, Rubio hold talks in Kuala Lumpur"),
    ],
    18: [
        (2, "Lavrov at EAS and ARF in Kuala Lumpur warns against NATO-centred blocs"),
    ],
    19: [
        (2, "Russia warned ASEAN partners about militarisation and bloc structures serving NATO at the East Asia Summit and ARF meetings; the ARF adopted its work programme for the coming year."),
        (5, "ARF adopts work programme on counter-terrorism, non-proliferation and maritime security; EAS ministers review preparations for the October summit in Kuala Lumpur."),
    ],
    20: [
        (1, "Lavrov and Wang Yi talk in Beijing ahead of SCO ministerial"),
    ],
    21: [
        (2, "Lavrov and Wang Yi discussed relations with the United States, a Ukraine settlement, the Iran-Israel conflict and the Korean Peninsula, and the upcoming SCO summit, the Russian Foreign Ministry said."),
        (4, "Russia and China to keep coordinating closely at the UN, the SCO, BRICS, the G20 and APEC, the foreign ministers agreed in Beijing."),
    ],
    22: [
        (3, "Margelov at the NUS Middle East Institute: talks with Bilahari Kausikan and a joint workshop on the Middle East (July 15)"),
    ],
    24: [
        (2, "Lavrov at SCO foreign ministers' council in Tianjin; Xi Jinping receives the ministers"),
    ],
    25: [
        (1, "Xi Jinping met the SCO foreign ministers in Tianjin and shared his view of the organisation's prospects; Lavrov gave the reply speech on behalf of his colleagues."),
        (3, "SCO ministers in Tianjin review the draft Tianjin Declaration and the SCO development strategy until 2035 ahead of the August 31-September 1 summit."),
    ],
}

DIFFERENT = {
    2: [(40, "Putin: no date has been set yet for a meeting with Trump, but Ushakov and Witkoff are in contact, he told reporters in Moscow on August 1.")],
    5: [(50, "Putin and Trump spoke by phone again on August 18 for 40 minutes, Ushakov said; Trump briefed Putin on his meeting with European leaders."),
        (30, "Ushakov: Putin will call Trump on July 4 to congratulate him on Independence Day.")],
    9: [(60, "The BRICS foreign ministers' joint statement adopted in Rio de Janeiro on April 29 calls for a reform of the UN Security Council.")],
    13: [(48, "Russia's trade with ASEAN countries grew 14.6% in 2023 to $21.9 billion, the Russian Foreign Ministry said.")],
    19: [(30, "At the 31st ASEAN Regional Forum in Vientiane on July 27, 2024, Russia warned about NATO's expansion into Asia.")],
    21: [(20, "Lavrov and Wang Yi will discuss the Ukraine crisis and relations with the United States at talks in Moscow next week.")],
    22: [(40, "Margelov gave a lecture on the Middle East at Moscow State University on July 20.")],
    25: [(36, "Xi Jinping will host SCO leaders in Tianjin on August 31 - September 1, where the SCO development strategy until 2035 is to be adopted.")],
}
