"""English event frames: one news event told several ways, and the look-alikes that are not it.

Each frame: ``slots`` (the facts), ``tell`` (retellings of that event: a fuller report, a
summary, a headline, a reordered version with other verbs; any two are one story),
``alt`` (slot values for another event of the same kind: a different date, figure, place or
counterpart), ``future`` (the event announced ahead: an upcoming event, not the one that
happened) and ``other`` (the same people or places, another event). Written by hand for the
dedupe benchmark, in the style of the sample channel and of wire-service Telegram channels.
"""

FRAMES = [
    dict(
        slots=dict(a="Sergey Lavrov", a2="Lavrov", b="Hakan Fidan", b2="Fidan", cb="Turkish", d="3", mon="July"),
        tell=[
            "On {mon} {d}, Russian Foreign Minister {a} held a telephone conversation with {cb} Foreign Minister {b}. The ministers discussed the situation in Syria and the prospects for the grain corridor, and agreed to keep in close contact.",
            "{a2} and {b2} talk by phone: Syria and grain exports on the agenda ({mon} {d})",
            "Phone call between {a2} and his {cb} counterpart {b2} on {mon} {d}: the two focused on Syria and grain shipments and promised to stay in touch.",
            "{cb} top diplomat {b} spoke with {a} over the phone on {mon} {d}, the Russian Foreign Ministry reports. Syria and the Black Sea grain route were discussed.",
        ],
        alt=[dict(d="9"), dict(b="Abbas Araghchi", b2="Araghchi", cb="Iranian")],
        future=["{a2} and {b2} are expected to hold a phone call on {mon} {d} to discuss Syria and grain exports, diplomatic sources said."],
        other=["{a2} and {b2} met in Antalya on {mon} {d} on the sidelines of the diplomacy forum, where they signed a consultations plan for the next two years."],
    ),
    dict(
        slots=dict(bank="Bank of Russia", cut="cut", n="18", m="21", mon="June", d="6"),
        tell=[
            "The {bank} {cut} its key rate from {m}% to {n}% on {mon} {d}, the first move since 2022, citing slowing inflation and cooling consumer demand.",
            "Key rate down to {n}%: the {bank} lowers borrowing costs for the first time since 2022",
            "Citing cooler inflation and weaker demand, the {bank} decided on {mon} {d} to bring its key rate down to {n} percent from {m} percent.",
            "{bank}: key rate now {n}% (was {m}%). Regulator says inflation is slowing.",
        ],
        alt=[dict(n="19"), dict(n="20", m="21", d="25", mon="July")],
        future=["Analysts expect the {bank} to bring its key rate down to {n}% from {m}% at the board meeting on {mon} {d}."],
        other=["The {bank} kept its key rate at {m}% on {mon} {d} and warned that inflation expectations remain high."],
    ),
    dict(
        slots=dict(a="Narendra Modi", a2="Modi", place="Brasilia", hc="Brazil", host="Lula da Silva", host2="Lula", d="8", mon="July", n="20"),
        tell=[
            "Indian Prime Minister {a} arrived in {place} on {mon} {d} for a state visit and held talks with President {host}. The leaders agreed to raise bilateral trade to ${n} billion and signed six agreements on energy, defence and agriculture.",
            "{a2} in {place}: India and {hc} sign six deals and target ${n}bn in trade",
            "India and {hc} want ${n} billion in annual trade, {host2} and {a2} said after their talks in {place} on {mon} {d}. Six agreements were signed, covering energy, defence and farming.",
        ],
        alt=[dict(place="Buenos Aires", hc="Argentina", host="Javier Milei", host2="Milei"), dict(n="15")],
        future=["{a} will travel to {place} on {mon} {d} for talks with President {host}; the sides plan to sign agreements on energy and defence."],
        other=["{a2} and {host2} met in Johannesburg on the sidelines of the G20 and discussed climate finance and the reform of the UN Security Council."],
    ),
    dict(
        slots=dict(place="Kamchatka", mag="8.8", d="30", mon="July", town="Petropavlovsk-Kamchatsky", km="119"),
        tell=[
            "A magnitude {mag} earthquake struck off the coast of {place} on {mon} {d}, the strongest in the region since 1952. Tsunami warnings were issued across the Pacific; buildings were damaged in {town}, {km} km from the epicentre.",
            "Magnitude {mag} quake off {place}: tsunami alerts across the Pacific, damage in {town}",
            "Buildings were damaged in {town} after an {mag}-magnitude earthquake hit {km} km away, off {place}, on {mon} {d}. Pacific countries issued tsunami warnings.",
            "The strongest quake off {place} since 1952, magnitude {mag}, triggered tsunami warnings around the Pacific on {mon} {d}.",
        ],
        alt=[dict(mag="7.4"), dict(d="20", mag="7.4")],
        future=[],
        other=["Aftershocks continue off {place}: a magnitude 6.2 tremor was recorded on {mon} 31, with no new damage reported in {town}."],
    ),
    dict(
        slots=dict(air="Aeroflot", city="Hanoi", d="1", mon="August", n="3"),
        tell=[
            "{air} will resume direct flights from Moscow to {city} on {mon} {d}, the airline said. Flights will operate {n} times a week on wide-body aircraft.",
            "Direct Moscow–{city} flights are back from {mon} {d}: {air} plans {n} a week",
            "From {mon} {d}, travellers can again fly nonstop between Moscow and {city}: {air} announced {n} weekly flights.",
        ],
        alt=[dict(city="Bangkok"), dict(n="5"), dict(d="15")],
        future=[],
        other=["{air} suspended its Moscow–{city} flights from {mon} 20 because of low demand, the carrier said."],
    ),
    dict(
        slots=dict(c1="Armenia", c2="Azerbaijan", place="Washington", d="8", mon="August", host="Donald Trump", ht="US President", venue="at the White House"),
        tell=[
            "The leaders of {c1} and {c2} signed a joint declaration in {place} on {mon} {d} in the presence of {ht} {host}, committing to end decades of conflict and open transport routes through the region.",
            "{c1}, {c2} sign peace declaration {venue}; {host} hosts the ceremony",
            "In {place}, with {host} looking on, {c2} and {c1} agreed on {mon} {d} to end their long conflict and to reopen regional transport links.",
        ],
        alt=[dict(c1="Georgia"), dict(place="Abu Dhabi", host="Mohammed bin Zayed", ht="UAE President", venue="in Abu Dhabi")],
        future=["The leaders of {c1} and {c2} are set to sign a peace declaration in {place} on {mon} {d}, with {host} expected to attend."],
        other=["Talks between the foreign ministers of {c1} and {c2} in Almaty ended on {mon} 20 without agreement on border delimitation."],
    ),
    dict(
        slots=dict(org="OPEC+", n="411", mon="July", d="5", y="August"),
        tell=[
            "{org} agreed on {mon} {d} to raise oil output by {n} thousand barrels per day in {y}, continuing to unwind earlier cuts despite weak prices.",
            "{org} to pump {n},000 bpd more in {y}",
            "Eight {org} members decided on Saturday, {mon} {d}, to increase production by another {n} kb/d from {y}, sources in the alliance said; prices have been weak.",
        ],
        alt=[dict(n="548"), dict(y="September", d="28")],
        future=[],
        other=["{org} ministers will review the market at an online meeting on {mon} 28; delegates say a pause in output hikes is possible."],
    ),
    dict(
        slots=dict(a="Vladimir Putin", a2="Putin", b="Anwar Ibrahim", b2="Anwar", place="Kremlin", d="14", mon="May"),
        tell=[
            "On {mon} {d}, President {a} held talks in the {place} with Prime Minister of Malaysia {b}. The sides discussed trade, energy and cooperation within BRICS, where Malaysia is a partner country.",
            "{a2} receives Malaysian PM {b2} in the {place}: trade, energy and BRICS discussed",
            "Malaysia's Prime Minister {b} was received by {a} in Moscow on {mon} {d}; the two talked about energy, trade and Malaysia's role as a BRICS partner.",
        ],
        alt=[dict(b="Prabowo Subianto", b2="Prabowo"), dict(d="21")],
        future=["{b2} will visit Moscow on {mon} {d} for talks with {a2}, the {place} announced; trade and BRICS are on the agenda."],
        other=["{a2} and {b2} met again in Kazan on the sidelines of the BRICS summit and discussed a new payment system for trade."],
    ),
    dict(
        slots=dict(c1="Russia", c2="Ukraine", n="1000", place="Istanbul", mon="June", d="2"),
        tell=[
            "{c1} and {c2} agreed in {place} on {mon} {d} to exchange {n} prisoners of war each, the largest swap since the start of the conflict. The delegations also discussed handing over the bodies of fallen soldiers.",
            "{place} talks: {c1} and {c2} agree on the largest prisoner swap yet, {n} for {n}",
            "The largest exchange of prisoners so far, {n} for {n}, was agreed on {mon} {d} when the {c1}n and {c2}ian delegations met in {place}. Repatriation of bodies was also on the table.",
        ],
        alt=[dict(n="390"), dict(d="16", n="1200")],
        future=["{c1}n and {c2}ian delegations will meet in {place} on {mon} {d}; a large exchange of prisoners is expected to be discussed."],
        other=["{c1} and {c2} carried out a new exchange of 84 prisoners on {mon} 20 with mediation by the UAE."],
    ),
    dict(
        slots=dict(a="Wang Yi", a2="Wang", b="Marco Rubio", b2="Rubio", bt="US Secretary of State", bc="US", place="Kuala Lumpur", d="11", mon="July"),
        tell=[
            "Chinese Foreign Minister {a} met {bt} {b} in {place} on {mon} {d}, their first face-to-face talks. Both sides called the meeting constructive and agreed to expand contacts ahead of a possible leaders' summit.",
            "First in-person {a2}–{b2} meeting in {place}: 'constructive', more contacts agreed",
            "{b2} and {a2} held their first talks in person on {mon} {d} in {place}. The two diplomats described the conversation as constructive and said contacts would be expanded.",
            "{bc} top diplomat {b} sat down with China's {a} in {place} on {mon} {d}: a constructive first meeting, both sides say, with a possible summit in view.",
        ],
        alt=[dict(b="Sergey Lavrov", b2="Lavrov", bt="Russian Foreign Minister", bc="Russia's"), dict(place="Geneva", d="25")],
        future=["{b2} will meet {a2} in {place} on {mon} {d} for their first face-to-face talks, the State Department said."],
        other=["{a2} and {b2} spoke by phone on {mon} 28 about tariffs and export controls on chips, the Chinese foreign ministry said."],
    ),
    dict(
        slots=dict(co="Gazprom", n="48", c="China", pipe="Power of Siberia 2", d="2", mon="September"),
        tell=[
            "{co} and CNPC signed a legally binding memorandum on {mon} {d} to build the {pipe} gas pipeline to {c}, with capacity of {n} billion cubic metres a year, {co} CEO Alexei Miller said.",
            "{pipe}: {co} and CNPC sign binding memorandum, {n} bcm a year to {c}",
            "Russia's {co} says a binding deal on the {pipe} pipeline to {c} has been signed with CNPC. Planned capacity is {n} bcm per year, Miller told reporters on {mon} {d}.",
        ],
        alt=[dict(n="50"), dict(c="Mongolia", pipe="Soyuz Vostok")],
        future=["{co} and CNPC are expected to sign a memorandum on the {pipe} pipeline to {c} on {mon} {d}, Miller said."],
        other=["{co} reported record gas supplies to {c} via the first Power of Siberia line on {mon} 1, at 38.8 bcm for the year."],
    ),
    dict(
        slots=dict(c="Moldova", party="PAS", n="50.2", d="28", mon="September"),
        tell=[
            "The ruling {party} party won {c}'s parliamentary election on {mon} {d} with {n}% of the vote, keeping its majority, the central electoral commission said after counting all ballots.",
            "{c} election: {party} keeps majority with {n}%",
            "With all ballots counted, the electoral commission says {party} received {n} percent in {c}'s {mon} {d} parliamentary vote and retains its majority.",
        ],
        alt=[dict(n="44.1"), dict(c="Georgia", party="Georgian Dream")],
        future=["{c} holds a parliamentary election on {mon} {d}; polls suggest the ruling {party} could lose its majority."],
        other=["Opposition supporters rallied in Chisinau on {mon} 30 to dispute the results announced by the electoral commission in {c}."],
    ),
    dict(
        slots=dict(co="Apple", n="500", place="Texas", d="24", mon="February", what="AI servers"),
        tell=[
            "{co} said on {mon} {d} it will invest more than ${n} billion in the United States over four years, including a new factory in {place} to build {what}, and hire 20,000 people.",
            "{co} pledges ${n}bn US investment, {what} plant in {place}",
            "A new plant in {place} for {what} is part of {co}'s plan, announced {mon} {d}, to spend over ${n} billion in the US and add 20,000 jobs within four years.",
        ],
        alt=[dict(n="600"), dict(co="Nvidia")],
        future=[],
        other=["{co} opened its first flagship store in Riyadh on {mon} {d}, the company said."],
    ),
    dict(
        slots=dict(c="Japan", pm="Shigeru Ishiba", pm2="Ishiba", d="7", mon="September"),
        tell=[
            "{c}'s Prime Minister {pm} announced his resignation on {mon} {d}, taking responsibility for his party's defeat in the upper house election in July.",
            "{pm2} resigns as {c}'s prime minister after election losses",
            "Taking the blame for the ruling party's upper house defeat in July, {pm2} said on {mon} {d} he would step down as prime minister of {c}.",
        ],
        alt=[dict(d="21"), dict(c="Thailand", pm="Paetongtarn Shinawatra", pm2="Paetongtarn")],
        future=["{pm2} is expected to announce his resignation as {c}'s prime minister on {mon} {d}, local media report."],
        other=["{pm2} survived a no-confidence vote in {c}'s lower house on {mon} {d}, the parliament said."],
    ),
    dict(
        slots=dict(c1="India", c2="Pakistan", d="10", mon="May"),
        tell=[
            "{c1} and {c2} agreed to a full ceasefire on {mon} {d} after four days of cross-border strikes, officials in both countries confirmed. The military operations directors spoke by hotline.",
            "Ceasefire between {c1} and {c2} after four days of strikes",
            "After four days of strikes across the border, {c2} and {c1} stopped firing on {mon} {d}: both governments confirmed the truce, agreed in a call between their military operations chiefs.",
        ],
        alt=[dict(c1="Afghanistan"), dict(c1="Thailand", c2="Cambodia", d="28", mon="July")],
        future=["Officials from {c1} and {c2} will discuss a possible ceasefire on {mon} {d}, sources said, after four days of strikes."],
        other=["{c1} and {c2} accused each other of violating the ceasefire on {mon} 12, hours after the truce was agreed."],
    ),
    dict(
        slots=dict(c="Indonesia", n="7.2", town="Ternate", d="14", mon="November", dead="12"),
        tell=[
            "A magnitude {n} earthquake hit eastern {c} on {mon} {d}, killing at least {dead} people near {town} and damaging hundreds of homes, the disaster agency said.",
            "{c}: at least {dead} dead after magnitude {n} quake near {town}",
            "At least {dead} people died and hundreds of houses were damaged when an {n}-magnitude tremor struck near {town} in eastern {c} on {mon} {d}, according to disaster officials.",
        ],
        alt=[dict(dead="3"), dict(town="Palu", n="6.1")],
        future=[],
        other=["Rescuers in {c} are still searching for survivors near {town}, three days after the earthquake, officials said on {mon} 17."],
    ),
    dict(
        slots=dict(a="Ursula von der Leyen", a2="von der Leyen", n="18th", d="18", mon="July", cap="$47.6"),
        tell=[
            "EU countries approved the {n} package of sanctions against Russia on {mon} {d}, lowering the price cap on Russian crude to {cap} a barrel and adding 105 shadow-fleet tankers to the blacklist, {a} said.",
            "EU adopts {n} sanctions package: oil price cap lowered to {cap}",
            "The price cap on Russian oil drops to {cap} per barrel under the EU's {n} sanctions package, approved on {mon} {d}; 105 more tankers are blacklisted, according to {a2}.",
        ],
        alt=[dict(n="19th", cap="$44.1"), dict(d="23", cap="$45")],
        future=["The EU plans to adopt its {n} sanctions package on {mon} {d}, including a lower oil price cap of {cap}, {a2} said."],
        other=["Slovakia blocked the EU's {n} sanctions package on {mon} 15, demanding guarantees on gas prices, diplomats said."],
    ),
    dict(
        slots=dict(team="Chelsea", opp="Paris Saint-Germain", score="3-0", place="New Jersey", d="13", mon="July"),
        tell=[
            "{team} beat {opp} {score} in the Club World Cup final in {place} on {mon} {d}, with Cole Palmer scoring twice and setting up the third.",
            "{team} win the Club World Cup, {score} over {opp}",
            "Cole Palmer's two goals and an assist gave {team} a {score} victory over {opp} in the Club World Cup final, played in {place} on {mon} {d}.",
        ],
        alt=[dict(opp="Real Madrid"), dict(score="2-1")],
        future=["{team} face {opp} in the Club World Cup final in {place} on {mon} {d}."],
        other=["{team} lost to {opp} in a pre-season friendly in {place} on {mon} 30."],
    ),
    dict(
        slots=dict(c="Iran", org="IAEA", a="Abbas Araghchi", a2="Araghchi", d="9", mon="September", place="Cairo"),
        tell=[
            "{c} and the {org} signed an agreement in {place} on {mon} {d} on resuming inspections at {c}'s nuclear facilities, Foreign Minister {a} said after meeting {org} chief Rafael Grossi.",
            "{org} inspections in {c} to resume under deal signed in {place}",
            "After talks with Rafael Grossi in {place}, {a2} announced on {mon} {d} that {c} and the {org} had agreed on how inspections of {c}ian nuclear sites will resume.",
        ],
        alt=[dict(place="Vienna"), dict(d="23")],
        future=["{a2} will meet {org} chief Rafael Grossi in {place} on {mon} {d} to discuss the resumption of inspections in {c}."],
        other=["{c} suspended cooperation with the {org} on {mon} 2, after parliament passed a law requiring approval of every inspection."],
    ),
    dict(
        slots=dict(co="Tesla", n="384,122", q="second", pct="13.5", d="2", mon="July"),
        tell=[
            "{co} delivered {n} vehicles in the {q} quarter, down {pct}% from a year earlier, the company reported on {mon} {d}, its second straight quarterly decline.",
            "{co} {q}-quarter deliveries fall {pct}% to {n}",
            "Deliveries at {co} dropped for a second quarter running: {n} cars in the {q} quarter, {pct} percent fewer than a year ago, according to figures released on {mon} {d}.",
        ],
        alt=[dict(q="third", n="497,099", pct="7.4"), dict(pct="11.2")],
        future=["{co} will report {q}-quarter deliveries on {mon} {d}; analysts expect a drop of about {pct}%."],
        other=["{co} shares rose 5% on {mon} {d} after the company announced a robotaxi launch in Austin."],
    ),
    dict(
        slots=dict(a="Xi Jinping", a2="Xi", place="Tianjin", n="20", d="1", mon="September", org="SCO"),
        tell=[
            "The {org} summit in {place} ended on {mon} {d} with the adoption of the {place} Declaration and a development strategy to 2035. Leaders of {n} countries attended; {a} proposed an {org} development bank.",
            "{org} leaders adopt {place} Declaration; {a2} proposes a development bank",
            "{a} called for an {org} development bank as leaders from {n} countries wrapped up the summit in {place} on {mon} {d}, adopting a declaration and a strategy up to 2035.",
        ],
        alt=[dict(place="Astana", a="Kassym-Jomart Tokayev", a2="Tokayev", mon="July", d="4"), dict(n="26")],
        future=["{a2} will host the {org} summit in {place} on August 31-{mon} {d}; leaders of {n} countries are expected."],
        other=["{a2} held bilateral talks in {place} with Indian Prime Minister Narendra Modi on the eve of the {org} summit."],
    ),
    # --- added for part A of issue 11: openers that are company names, party acronyms,
    # places and counterparts swapped inside name-rich texts, announcements phrased many ways
    dict(
        slots=dict(co="Airbus", rival="Boeing", n="120", cust="IndiGo", d="18", mon="June", place="Le Bourget"),
        tell=[
            "{co} won an order for {n} A350 jets from {cust} at the {place} air show on {mon} {d}, beating {rival} to the largest widebody deal of the year.",
            "{co} lands {n}-jet order from {cust} at {place}",
            "{cust} signed on {mon} {d} for {n} widebody A350s from {co}, the headline order of the {place} show, the airline's chief executive told reporters.",
        ],
        alt=[dict(cust="Riyadh Air"), dict(n="60")],
        future=["{cust} is expected to announce an order for {n} A350 jets from {co} at the {place} air show on {mon} {d}, people familiar with the talks said."],
        other=["{co} cut its delivery target for the year on {mon} {d}, citing engine shortages, and said {cust} jets would arrive late."],
    ),
    dict(
        slots=dict(party="SPD", leader="Lars Klingbeil", leader2="Klingbeil", c="Germany", pct="16.4", d="23", mon="February"),
        tell=[
            "{c}'s {party} slumped to {pct}% in the federal election on {mon} {d}, its worst result since 1887; co-leader {leader} said the party would renew itself.",
            "{party} at {pct}%: historic low in {c}'s election",
            "With {pct} percent of the vote, the {party} suffered its heaviest defeat in more than a century on {mon} {d}. {leader2} promised a fresh start.",
        ],
        alt=[dict(party="FDP"), dict(pct="15.8")],
        future=["Polls ahead of {c}'s {mon} {d} election put the {party} at {pct}%; {leader2} is set to lead the campaign."],
        other=["The {party} voted on {mon} 30 to join a coalition government in {c}, {leader2} announced in Berlin."],
    ),
    dict(
        slots=dict(a="Emmanuel Macron", a2="Macron", b="Friedrich Merz", b2="Merz", bt="German Chancellor", place="Paris", d="23", mon="May", topic="a joint air defence initiative"),
        tell=[
            "French President {a} and {bt} {b} met in {place} on {mon} {d} and agreed on {topic}, both leaders said at a joint press conference.",
            "{a2} and {b2} agree on {topic} in {place}",
            "Meeting in {place} on {mon} {d}, {b2} and {a2} unveiled {topic} and promised to bring other European partners on board.",
            "Air defence: {a2} and {b2} sign up to {topic} in {place}",
        ],
        alt=[dict(b="Keir Starmer", b2="Starmer", bt="British Prime Minister"), dict(place="Berlin")],
        future=["{a2} will host {b2} in {place} on {mon} {d}; the two leaders plan to discuss {topic}."],
        other=["{a2} and {b2} spoke by phone on {mon} 29 about trade talks with Washington, the Elysee said."],
    ),
    dict(
        slots=dict(co="Novo Nordisk", drug="Wegovy", c="China", n="25", d="10", mon="June"),
        tell=[
            "{co} cut the price of {drug} in {c} by {n}% on {mon} {d} to fight cheaper rivals, the Danish drugmaker said in a statement.",
            "{co} slashes {drug} price in {c} by {n}%",
            "Facing cheaper competitors, the maker of {drug}, {co}, lowered its price in {c} by {n} percent from {mon} {d}.",
        ],
        alt=[dict(c="India"), dict(co="Eli Lilly", drug="Zepbound")],
        future=["{co} plans to cut the price of {drug} in {c} by {n}% from {mon} {d}, two sources told reporters."],
        other=["{co} won approval to sell {drug} in {c} on {mon} {d}, the regulator said."],
    ),
    dict(
        slots=dict(a="Volodymyr Zelensky", a2="Zelensky", city="Kharkiv", n="14", d="7", mon="June", weapon="glide bombs"),
        tell=[
            "Russian {weapon} hit {city} overnight on {mon} {d}, killing {n} people and damaging a hospital, regional officials said. {a} called for more air defence systems.",
            "{city} strike kills {n}; {a2} asks allies for air defence",
            "At least {n} people died when {weapon} struck {city} early on {mon} {d}, officials said, as {a2} renewed his appeal for air defence.",
        ],
        alt=[dict(city="Zaporizhzhia"), dict(n="3")],
        future=[],
        other=["{a2} visited {city} on {mon} 12 and met the families of the victims of the strike."],
    ),
    dict(
        slots=dict(co="Microsoft", co2="Microsoft", target="Activision Blizzard", n="69", reg="CMA", c="Britain", d="13", mon="October"),
        tell=[
            "{co} completed its ${n} billion takeover of {target} on {mon} {d}, after {c}'s competition regulator, the {reg}, cleared a restructured deal.",
            "{co2} closes ${n}bn {target} deal after {reg} approval",
            "The {reg} in {c} gave its blessing, and on {mon} {d} {co} finalised the ${n} billion purchase of {target}, the largest deal in gaming history.",
            "After a long fight with regulators in {c}, {co2} now owns {target}: the ${n}bn acquisition closed on {mon} {d}.",
        ],
        alt=[dict(co="Sony", co2="Sony"), dict(target="Electronic Arts")],
        future=["{co} expects to complete its ${n} billion takeover of {target} on {mon} {d}, once the {reg} in {c} gives final approval."],
        other=["{co} cut 1,900 jobs at {target} in {mon}, months after the ${n} billion takeover closed."],
    ),
    dict(
        slots=dict(a="Recep Tayyip Erdogan", a2="Erdogan", b="Vladimir Putin", b2="Putin", place="Sochi", d="4", mon="September", topic="the Black Sea grain deal"),
        tell=[
            "Turkish President {a} met {b} in {place} on {mon} {d} and said the two had discussed reviving {topic}; no breakthrough was announced.",
            "{a2}–{b2} talks in {place}: no breakthrough on {topic}",
            "{topic} was the main subject when {b2} hosted {a2} in {place} on {mon} {d}, but the leaders announced no agreement.",
            "No deal yet on reviving {topic} after {a2} and {b2} met in {place} ({mon} {d}).",
        ],
        alt=[dict(b="Volodymyr Zelensky", b2="Zelensky"), dict(place="Istanbul")],
        future=["{a2} will travel to {place} on {mon} {d} to meet {b2} and discuss {topic}, his office said."],
        other=["{a2} and {b2} discussed {topic} by phone on {mon} 20, the Kremlin said."],
    ),
    dict(
        slots=dict(party="Reform UK", leader="Nigel Farage", leader2="Farage", seat="Runcorn and Helsby", n="6", d="2", mon="May"),
        tell=[
            "{party} won the {seat} by-election on {mon} {d} by just {n} votes, taking the seat from Labour; {leader} called it a historic moment.",
            "{party} takes {seat} from Labour by {n} votes",
            "By a margin of {n} votes, {leader2}'s {party} captured {seat} in the {mon} {d} by-election, a seat Labour had held comfortably.",
        ],
        alt=[dict(party="Liberal Democrats", leader="Ed Davey", leader2="Davey"), dict(seat="Hamilton")],
        future=["Polls suggest {party} could take {seat} from Labour in the by-election on {mon} {d}, {leader2} said on the campaign trail."],
        other=["{leader2} said on {mon} 20 that {party} would contest every seat in the next general election."],
    ),
    dict(
        slots=dict(a="Antonio Guterres", a2="Guterres", place="Geneva", org="WHO", n="194", d="20", mon="May", what="a pandemic agreement"),
        tell=[
            "Member states of the {org} adopted {what} in {place} on {mon} {d}, after three years of negotiations; {a} called it a victory for multilateralism.",
            "{org} adopts {what} in {place}; {a2} hails a win for multilateralism",
            "After three years of talks, the {org}'s {n} members approved {what} in {place} on {mon} {d}. UN chief {a2} welcomed the vote.",
        ],
        alt=[dict(place="New York"), dict(org="UNESCO")],
        future=["Member states of the {org} are set to vote on {what} in {place} on {mon} {d}, diplomats said."],
        other=["{a2} warned in {place} on {mon} {d} that funding cuts threaten the work of the {org}."],
    ),
    dict(
        slots=dict(a="Sergey Lavrov", a2="Lavrov", place="New York", forum="the UN Security Council", d="24", mon="April", topic="the Middle East"),
        tell=[
            "Russian Foreign Minister {a} chaired a meeting of {forum} in {place} on {mon} {d} devoted to {topic}, calling for an immediate ceasefire.",
            "{a2} chairs {forum} session on {topic} in {place}",
            "Speaking as chair of {forum} in {place} on {mon} {d}, {a2} urged an immediate ceasefire in {topic}.",
            "In {place}, {a2} presided over {forum} debate on {topic} ({mon} {d}) and called for a ceasefire.",
        ],
        alt=[dict(place="Geneva"), dict(topic="Sudan")],
        future=["{a2} will chair a meeting of {forum} on {topic} in {place} on {mon} {d}, the Russian mission said."],
        other=["{a2} met the UN Secretary-General in {place} on {mon} 25 and discussed the reform of {forum}."],
    ),
    dict(
        slots=dict(co="Volkswagen", co2="VW", place="Zwickau", n="3,000", d="9", mon="December", c="Germany"),
        tell=[
            "{co} agreed with unions on {mon} {d} to cut {n} jobs at its plant in {place} by 2030 while avoiding plant closures in {c}, the carmaker said.",
            "{co2} to cut {n} jobs in {place}, no plant closures in {c}",
            "Unions and {co} reached a deal on {mon} {d}: the {place} factory will lose {n} jobs by 2030, but no sites in {c} will close.",
        ],
        alt=[dict(place="Dresden"), dict(co="BMW", co2="BMW")],
        future=["{co} and unions are expected to agree on {mon} {d} to cut {n} jobs at the {place} plant, sources said."],
        other=["{co} opened a new battery line at its {place} plant on {mon} {d}, creating 300 jobs."],
    ),
    dict(
        slots=dict(party="Pakatan Harapan", leader="Anwar Ibrahim", leader2="Anwar", c="Malaysia", state="Sabah", n="29", d="29", mon="November"),
        tell=[
            "{party} won {n} seats in the {state} state election on {mon} {d}, the election commission said, strengthening Prime Minister {leader}'s coalition in {c}.",
            "{state} election: {party} takes {n} seats",
            "With {n} seats won in {state} on {mon} {d}, {party} gave {leader2} a boost ahead of the next general election in {c}.",
        ],
        alt=[dict(party="Perikatan Nasional"), dict(state="Sarawak")],
        future=["{state} votes on {mon} {d}; polls suggest {party} could win about {n} seats, giving {leader2} a boost."],
        other=["{leader2} reshuffled his cabinet on {mon} {d}, giving {party} two more ministries."],
    ),

    # --- issue 11 part C: dev frames for the kinds of look-alike that slipped through (a place,
    # company, party or counterpart the lists do not know; the same people at another event;
    # an upcoming fixture told in the present tense). Always dev: rules are tuned on them.
    dict(
        split="dev",
        slots=dict(a="Mikhail Mishustin", a2="Mishustin", b="Li Qiang", place="Harbin", d="17", mon="May", n="12"),
        tell=[
            "Russian Prime Minister {a} held talks with Chinese Premier {b} in {place} on {mon} {d}. The two signed {n} agreements on energy, agriculture and transport and discussed settlements in national currencies.",
            "{a2} and {b} sign {n} agreements in {place}",
            "In {place} on {mon} {d}, {b} and {a2} put their names to {n} documents covering energy, farming and transport; payments in national currencies were also discussed.",
        ],
        alt=[dict(place="Vladivostok"), dict(place="Chengdu"), dict(n="9")],
        future=["{a2} is expected to visit {place} on {mon} {d} for talks with {b}; {n} agreements are being prepared."],
        other=["{a2} and {b} spoke by video link on {mon} 28 about the Power of Siberia 2 gas pipeline."],
    ),
    dict(
        split="dev",
        slots=dict(co="Siemens Energy", co2="Siemens Energy", n="1.6", d="12", mon="March", what="gas turbines", c="Saudi Aramco"),
        tell=[
            "{co} won a ${n} billion order on {mon} {d} to supply {what} for two power plants built by {c}, the company said.",
            "{co2} lands ${n}bn {what} order from {c}",
            "{c} has picked {co} to deliver {what} worth ${n} billion for two new power stations, the supplier announced on {mon} {d}.",
        ],
        alt=[dict(co="GE Vernova", co2="GE Vernova"), dict(co="Mitsubishi Heavy Industries", co2="Mitsubishi Heavy"), dict(c="ADNOC")],
        future=["{co} is in talks with {c} on a ${n} billion {what} order expected to be signed on {mon} {d}, sources said."],
        other=["{co} raised its annual profit forecast on {mon} {d} on strong demand for {what}."],
    ),
    dict(
        split="dev",
        slots=dict(bank="Sberbank", n="1.58", q="first half", d="29", mon="July", ceo="Herman Gref"),
        tell=[
            "{bank} earned a net profit of {n} trillion roubles in the {q} of the year, it said on {mon} {d}; chief executive {ceo} said loan growth would slow.",
            "{bank}: {n} trillion roubles net profit in the {q}",
            "Net profit at {bank} reached {n} trillion roubles in the {q}, the lender reported on {mon} {d}; {ceo} expects slower lending.",
        ],
        alt=[dict(bank="VTB Group", ceo="Andrei Kostin"), dict(bank="Alfa-Bank Group", ceo="Vladimir Verkhoshinsky"), dict(n="1.21")],
        future=["{bank} will publish its {q} results on {mon} {d}; analysts expect a net profit of about {n} trillion roubles."],
        other=["{ceo} said on {mon} {d} that {bank} would pay record dividends and open 200 new branches."],
    ),
    dict(
        split="dev",
        slots=dict(party="Civic Platform", rival="Law and Justice", c="Poland", n="31.2", d="13", mon="October", city="Krakow"),
        tell=[
            "{party} came first in the regional elections in {c} on {mon} {d} with {n}% of the vote, the electoral commission said, ahead of {rival}.",
            "{c} regional vote: {party} first with {n}%",
            "With {n} percent, {party} won the regional elections held in {c} on {mon} {d}; {rival} was second, official results show.",
        ],
        alt=[dict(party="Confederation", rival="Civic Platform"), dict(n="28.4")],
        future=["{c} holds regional elections on {mon} {d}; polls give {party} about {n}% of the vote, ahead of {rival}."],
        other=["{party} chose a new leader at a congress in {city} on {mon} {d}."],
    ),
    dict(
        split="dev",
        slots=dict(a="Emmanuel Macron", a2="Macron", b="Keir Starmer", b2="Starmer", t="UK PM", place="Le Touquet", d="10", mon="July"),
        tell=[
            "French President {a} hosted {t} {b} in {place} on {mon} {d}; the leaders agreed on a pilot scheme to return migrants who cross the Channel in small boats.",
            "{a2} and {t} {b2} agree migrant returns pilot in {place}",
            "A pilot scheme to send back migrants arriving by small boat was agreed by {b2} and {a2} in {place} on {mon} {d}.",
        ],
        alt=[dict(b="Friedrich Merz", b2="Merz", t="German Chancellor"), dict(place="Calais")],
        future=["{a2} will host {b2} in {place} on {mon} {d}; a pilot scheme on migrant returns is expected to be agreed."],
        other=["{a2} and {b2} spoke by phone on {mon} 20 about air defence for Ukraine."],
    ),
    dict(
        split="dev",
        slots=dict(club="Real Madrid", rival="Borussia Dortmund", score="3-2", place="MetLife Stadium", d="5", mon="July", star="Kylian Mbappe"),
        tell=[
            "{star} scored twice as {club} beat {rival} {score} at {place} on {mon} {d} to reach the Club World Cup semi-finals.",
            "{club} edge {rival} {score}, {star} scores twice",
            "A {star} double took {club} past {rival} {score} in the Club World Cup quarter-final at {place} ({mon} {d}).",
        ],
        alt=[dict(rival="Juventus"), dict(score="2-1")],
        future=["{club} face {rival} at {place} on {mon} {d} in the Club World Cup quarter-final; {star} is fit to start."],
        other=["{star} was named the best player of the season at {club} on {mon} 28."],
    ),
    dict(
        split="dev",
        slots=dict(a="Alexander Lukashenko", a2="Lukashenko", b="Shavkat Mirziyoyev", b2="Mirziyoyev", cb="Uzbek", place="Tashkent", d="18", mon="September", n="1"),
        tell=[
            "Belarusian President {a} held talks with {cb} President {b} in {place} on {mon} {d}. The two leaders set a goal of ${n} billion in mutual trade and signed a roadmap on industrial cooperation.",
            "{a2} and {b2} aim for ${n}bn in trade",
            "Trade between Belarus and its {cb} partner should reach ${n} billion, {b2} and {a2} said after talks in {place} on {mon} {d}; an industrial roadmap was signed.",
        ],
        alt=[dict(b="Sadyr Japarov", b2="Japarov", cb="Kyrgyz", place="Bishkek"), dict(place="Samarkand")],
        future=["{a2} will travel to {place} on {mon} {d} for talks with {b2}, his press office said."],
        other=["{a2} and {b2} met at the CIS summit in Dushanbe on {mon} 10 and discussed water use."],
    ),
    dict(
        split="dev",
        slots=dict(co="Rosneft", co2="Rosneft", partner="Indian Oil Corp", n="20", d="22", mon="April", what="crude"),
        tell=[
            "{co} signed a deal with {partner} on {mon} {d} to supply up to {n} million tonnes of {what} a year, the companies said.",
            "{co2} to ship up to {n}m tonnes of {what} a year to {partner}",
            "Up to {n} million tonnes of {what} a year will go from {co} to {partner} under a contract signed on {mon} {d}.",
        ],
        alt=[dict(partner="Reliance Industries"), dict(co="Lukoil", co2="Lukoil"), dict(n="12")],
        future=["{co} and {partner} are expected to sign a {what} supply deal of up to {n} million tonnes a year on {mon} {d}."],
        other=["{co} and {partner} agreed on {mon} {d} to study a joint refinery project on India's west coast."],
    ),
    # Issue 11, part D (dev by design): a long official statement and its headline, a deal
    # headline with a verb no other text uses ("seal"), an announcement made the day before.
    dict(
        split="dev",
        slots=dict(co="Google", n="500", mon="September", d="5"),
        tell=[
            "The European Commission on {mon} {d} fined {co} {n} million euros for abusing its dominant position in online advertising technology and ordered the company to end its self-preferencing practices within 60 days. {co} said it would appeal.",
            "EU fines {co} {n}m euros over adtech abuse",
            "{co} must pay {n} million euros: Brussels found on {mon} {d} that it abused its dominance in ad tech and gave it 60 days to stop favouring its own services; the company plans to appeal.",
        ],
        alt=[dict(n="350"), dict(co="Meta")],
        future=["The European Commission is expected to fine {co} over its adtech practices on {mon} {d}, sources say."],
        other=["{co} won an appeal against a {n} million euro EU fine at the General Court on {mon} {d}."],
    ),
    dict(
        split="dev",
        slots=dict(place="London", mon="July", d="24"),
        tell=[
            "British Prime Minister Keir Starmer and Indian Prime Minister Narendra Modi met in {place} on {mon} {d} and signed a free trade agreement that cuts tariffs on whisky, cars and textiles.",
            "Starmer, Modi seal UK-India trade pact in {place}",
            "The UK and India signed their long-awaited free trade deal on {mon} {d}: Modi and Starmer put pen to paper in {place}, cutting duties on whisky, cars and clothing.",
        ],
        alt=[dict(d="25"), dict(place="Mumbai")],
        future=["Modi will travel to {place} on {mon} {d}, where he and Starmer are expected to sign the UK-India free trade agreement."],
        other=["Starmer and Modi discussed the situation in Kashmir by phone on {mon} {d}, Downing Street said."],
    ),
]

