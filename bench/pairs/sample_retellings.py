"""Retellings of the sample channel's own posts, as another channel would write them: short
summaries and headline rewrites of the long official posts (``same``), and posts about the
same people and places that report another event (``different``). Keys are the message ids
in ``tests/fixtures/sample_channel_export.json``; hours are after the original post."""

SAME = {
    2: [
        (3, "Putin on a meeting with Trump: he has the highest regard for the US President and believes Trump is genuinely committed to settling the Ukrainian issue; a meeting needs careful preparation, he told Kommersant after the EAEU summit in Minsk."),
        (5, "A meeting with Trump must be meticulously prepared, Putin said in Minsk on June 27, praising the US President's courage and his efforts on Ukraine and the Middle East."),
    ],
    4: [
        (2, "Ushakov on the Putin–Trump call of July 3: almost an hour long; Putin told Trump Russia will not back down from its goals in Ukraine, the two also discussed Iran and the Middle East."),
        (6, "Nearly an hour-long phone conversation between Putin and Trump on July 3, Kremlin aide Yuri Ushakov reports: Ukraine, Iran, the Middle East were discussed."),
    ],
    6: [
        (1, "Putin addressed the plenary session of the XVII BRICS Summit by video link on July 6, thanking Lula and the Brazilian chairmanship and calling for BRICS to expand trade in national currencies."),
        (4, "BRICS summit in Rio: Putin's speech at the plenary session (July 6) - thanks to Brazil's chairmanship, a call for more settlements in national currencies."),
    ],
    8: [
        (2, "The XVII BRICS Summit in Rio de Janeiro adopted its Declaration on strengthening Global South cooperation, committing to reform global governance and a more just international order."),
        (5, "Rio de Janeiro Declaration adopted at the BRICS summit: reform of global governance and Global South cooperation at its core."),
    ],
    10: [
        (1, "Lavrov at BRICS Session II in Rio (July 6): multilateral world order, financial and economic issues and artificial intelligence were the themes of his remarks."),
        (3, "Sergey Lavrov spoke at the second session of the BRICS Summit in Rio de Janeiro on July 6, covering the multilateral order, finance and AI."),
    ],
    12: [
        (2, "Lavrov will be in Kuala Lumpur on July 10-11 for the ASEAN ministerial events: the Russia-ASEAN meeting, the East Asia Summit and the ASEAN Regional Forum."),
        (6, "ASEAN week in Kuala Lumpur: Lavrov attends the Russia-ASEAN, EAS and ARF foreign ministers' meetings on July 10-11, the 20th anniversary of the first Russia-ASEAN summit."),
    ],
    14: [
        (1, "Lavrov and Rubio met in Kuala Lumpur on July 10 on the sidelines of the ASEAN meetings."),
        (3, "Talks between Russian FM Lavrov and US Secretary of State Rubio took place at the ASEAN events in Kuala Lumpur (July 10)."),
    ],
    16: [
        (2, "Lavrov at the Russia-ASEAN ministerial meeting in Kuala Lumpur on July 10 thanked Malaysia for its hospitality and praised the partnership with ASEAN."),
        (5, "Russia-ASEAN Ministerial Meeting, Kuala Lumpur, July 10: Lavrov's remarks - gratitude to Malaysia, support for ASEAN-centred cooperation."),
    ],
    18: [
        (1, "Lavrov took part in the 15th East Asia Summit foreign ministers' meeting and the 32nd ASEAN Regional Forum in Kuala Lumpur on July 11, warning about militarisation and NATO-centred bloc structures."),
        (4, "In Kuala Lumpur on July 11, the Russian delegation led by Lavrov warned EAS and ARF partners about the risks of bloc-based structures serving NATO."),
    ],
    20: [
        (2, "Lavrov and Wang Yi held talks in Beijing on July 13 ahead of the SCO ministerial: Russia-China partnership, the SCO summit agenda, the US and Ukraine."),
        (4, "Russian and Chinese foreign ministers Lavrov and Wang Yi met in Beijing (July 13) and discussed preparations for the SCO summit and relations with the United States."),
    ],
    22: [
        (3, "Mikhail Margelov visited the Middle East Institute at the National University of Singapore on July 15 and took part in the third joint IAAS and MEI-NUS workshop on the Middle East."),
        (8, "Third IAAS–MEI-NUS workshop on the Middle East in Singapore (July 15): Margelov met the institute's chairman Bilahari Kausikan."),
    ],
    24: [
        (1, "Lavrov attended the SCO Council of Foreign Ministers in Tianjin on July 15; Xi Jinping met the ministers, who prepared the August 31-September 1 SCO summit and the development strategy until 2035."),
        (5, "SCO foreign ministers met in Tianjin on July 15: Xi Jinping received them, Lavrov replied on behalf of colleagues; the Tianjin Declaration and SCO strategy until 2035 are being prepared."),
    ],
}

DIFFERENT = {
    2: [(30, "Putin and Trump will meet in Alaska on August 15, the Kremlin said; preparations for the summit have begun."),
        (48, "Putin answered journalists' questions after the Supreme Eurasian Economic Council in Moscow on May 8, speaking about trade within the EAEU.")],
    4: [(72, "Ushakov: Putin and Trump held a new phone call on August 18, lasting 40 minutes; they discussed the Alaska summit results.")],
    6: [(96, "Putin addressed the BRICS summit in Kazan on October 23, 2024, presenting the BRICS grain exchange initiative.")],
    10: [(20, "Lavrov will address Session II of the BRICS foreign ministers' meeting in Rio de Janeiro on April 28.")],
    12: [(120, "Lavrov attended the ASEAN ministerial events in Vientiane on July 26-27, 2024, including the Russia-ASEAN meeting and the EAS.")],
    14: [(48, "Lavrov and Rubio to hold talks in New York on September 24 on the sidelines of the UN General Assembly."),
         (30, "Lavrov and Rubio spoke by phone on July 21 and discussed the Ukraine settlement, the State Department said.")],
    18: [(24, "Lavrov took part in the 14th East Asia Summit foreign ministers' meeting and the 31st ASEAN Regional Forum in Vientiane on July 27, 2024.")],
    20: [(60, "Lavrov and Wang Yi will hold talks in Moscow on April 1 to prepare Xi Jinping's visit to Russia."),
         (24, "Lavrov and Wang Yi met in Rio de Janeiro on July 5 on the sidelines of the BRICS summit.")],
    24: [(36, "The SCO summit in Tianjin will open on August 31: Xi Jinping is to host leaders from 20 countries."),
         (12, "Lavrov met Chinese Vice President Han Zheng in Tianjin on July 14, on the eve of the SCO foreign ministers' meeting.")],
}
