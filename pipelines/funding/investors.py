"""Stage 5: who invested. Every candidate name in the sentences about one round is scored by two learned models,
"leads this round" and "takes part in this round", from the cue words before it ("led by", "participation
from", "guidata da"), the list it stands in, and where it stands from the round's own sentence."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from pipelines.funding.candidates import Mention
from pipelines.funding.entities import Entity
from pipelines.funding.features import PairFeatures, mention_shape
from pipelines.funding.lexicon import PLACES
from pipelines.funding.model import Model
from pipelines.funding.pairs import Analysis
from pipelines.funding.text import Doc
from pipelines.money import Money
from pipelines.names import name_tokens

__all__ = [
    "Backer",
    "article_context",
    "cue_roles",
    "fuller_forms",
    "same_money_sentences",
    "scope",
    "backer_features",
    "is_own_name",
    "owner_of",
    "read_investors",
    "share_list_roles",
]

MAX_SCOPE_SENTENCES = 4
MAX_LIST_TOKENS = 60  # a cue list is read this far
MAX_BACKERS_PER_SENTENCE = 40
MAX_STARTS = 3
STRONG_PAIR = 0.5
_GLUE = frozenset([",", "and", "&", "und", "et", "e", "y", "as", "well", "plus", "along", "with", ";"])
_SPEECH = frozenset("told tells tell said says according reported reports wrote writes interviewed".split())
_PERSON_TITLES = frozenset("ceo cto cfo coo founder co-founder cofounder chief president chairman director".split())


@dataclass
class Backer:
    mention: Mention
    name: str
    lead: float
    investor: float


def scope(doc: Doc, entity: Entity, anchors: set[int]) -> list[int]:
    """The sentences about the round of ``entity``: each sentence where it is strongly paired with a trigger (its
    best one at least) and the next few, up to the sentence of another round; the headline too when the entity is
    in it."""
    starts = {doc.sent_of[entity.best.mention.a]}
    starts.update(sorted({doc.sent_of[p.mention.a] for p in entity.pairs if p.score >= STRONG_PAIR})[:MAX_STARTS])
    out: set[int] = set()
    for start in starts:
        out.add(start)
        for s in range(start + 1, min(len(doc.sents), start + MAX_SCOPE_SENTENCES)):
            if s in anchors:
                break
            out.add(s)
    if entity.title and doc.title_sentence is not None:
        out.add(doc.title_sentence)
    return sorted(out)


def same_money_sentences(doc: Doc, money: Money, near: int) -> set[int]:
    """The sentences close to sentence ``near`` (or the headline) that name this sum again (within 1%, same
    currency), at most ``MAX_STARTS``."""
    found = sorted(
        {
            doc.sent_of[a]
            for a, _, m in doc.money
            if m.currency == money.currency
            and abs(m.value - money.value) <= 0.01 * money.value
            and (abs(doc.sent_of[a] - near) <= MAX_SCOPE_SENTENCES or doc.sent_of[a] == doc.title_sentence)
        },
        key=lambda s: abs(s - near),
    )
    return set(found[:MAX_STARTS])


_SEPARATORS = frozenset([",", "and", "&", "plus", "und", "et", "e", "y", "sowie", "as", "well", "along", "with", ";"])
_FILLER = frozenset(
    "the existing new other returning previous investors investor backers backer including include includes such as "
    "firms firm funds fund venture capital partners angel angels individual strategic a an its their from by : "
    "bestandsinvestoren investoren den der die les des investisseurs historiques inversores investidores "
    "investitori i gli in round funding financing are were is was this".split()
)
_BACKWARD_LEAD = frozenset(("led", "co-led", "leads", "co-leads", "headed", "spearheaded", "anchored"))
_BACKWARD_PARTICIPANT = frozenset(("participated", "joined", "invested", "backed", "also"))
_FORWARD_END = frozenset(("by", "von", "da", "par", "por", "from", "include", "includes", "including", "included"))


def cue_roles(doc: Doc, names: list[Mention]) -> dict[tuple[int, int], tuple[str, int]]:
    """Names in a list that a lead or participation cue heads or closes ("led by A, B and C", "with
    participation from D", "E and F also participated"): name span -> (role, position in the list)."""
    starts = {m.a: m for m in names}
    ends = {m.b: m for m in names}
    low, n = doc.low, len(doc.low)
    roles: dict[tuple[int, int], tuple[str, int]] = {}

    def take(m: Mention, role: str, k: int) -> None:
        held = roles.get((m.a, m.b))
        if held is None or (role == "lead" and held[0] != "lead"):
            roles[(m.a, m.b)] = (role, k)

    def forward(i: int, role: str) -> None:
        if i >= n:
            return
        sb = min(doc.sents[doc.sent_of[i]][1], i + MAX_LIST_TOKENS)
        skipped = k = 0
        while i < sb and k < 15:
            m = starts.get(i)
            if m is not None:
                take(m, role, k)
                k += 1
                i = m.b
                skipped = 0
            elif low[i] in _SEPARATORS or (low[i] in _FILLER and skipped < 4) or low[i] == "'s":
                skipped += low[i] in _FILLER
                i += 1
            else:
                break

    def backward(i: int, role: str) -> None:
        if i <= 0 or i > n:
            return
        sa = max(doc.sents[doc.sent_of[i - 1]][0], i - MAX_LIST_TOKENS)
        k = 0
        while i > sa and k < 15:
            m = ends.get(i)
            if m is not None:
                take(m, role, k)
                k += 1
                i = m.a
            elif low[i - 1] in _SEPARATORS or low[i - 1] in ("also", "have", "has", "had", "all"):
                i -= 1
            else:
                break

    for a, b in doc.spans.get("invest_v", ()):  # "A and B also invested (in the round)"
        if (a > 0 and low[a - 1] == "also") or (b + 2 < n and low[b] == "in" and "fund_n" in doc.classes[b + 2]):
            backward(a - (a > 0 and low[a - 1] == "also"), "participant")
    for cls, role in (("led", "lead"), ("partic", "participant")):
        for a, b in doc.spans.get(cls, ()):
            phrase = low[a:b]
            if phrase[-1] in _FORWARD_END or cls == "partic" or phrase[-1] in ("investor", "investors"):
                forward(b, role)
            if (
                phrase[0] in _BACKWARD_LEAD
                or phrase[0] in _BACKWARD_PARTICIPANT
                or phrase[-1] in ("investor", "investors")
            ):
                backward(a, role)
    for i, w in enumerate(low):  # "$5 million from A and B"
        if (
            w in ("from", "von", "auprès")
            and i > 0
            and (doc.money_at[i - 1] is not None or "fund_n" in doc.classes[i - 1])
        ):
            forward(i + 1, "participant")
    return roles


def backer_features(
    doc: Doc,
    m: Mention,
    anchors: set[int],
    featurizer: PairFeatures,
    roles: dict | None = None,
    money: Money | None = None,
) -> list[str]:
    """Features of one candidate investor name; ``anchors`` are the sentences that state the round, ``money`` its
    amount (a sentence naming another sum is likely about another round)."""
    low, words, classes = doc.low, doc.words, doc.classes
    s = doc.sent_of[m.a]
    sa, sb = doc.sents[s]
    ds = min((s - a for a in anchors), key=abs, default=3)
    f = ["bias", f"ds={max(-1, min(ds, 3))}", "title" if doc.in_title(m.a) else "body"]
    dp = min((abs(doc.para_of[s] - doc.para_of[a]) for a in anchors), default=2)
    f.append(f"dp={min(dp, 2)}")
    sums = doc.money_in(s)
    if sums:
        own = money is not None and any(
            x.currency == money.currency and abs(x.value - money.value) <= 0.01 * money.value for x in sums[:50]
        )
        f.append("own_sum" if own else "other_sum")
    for cls in ("hist", "past_year"):
        if cls in doc.sent_classes[s]:
            f.append("S_" + cls)
    role = (roles or {}).get((m.a, m.b))
    if role is not None:
        f += ["cue=" + role[0], f"cue={role[0]}_{min(role[1], 2)}", f"cue={role[0]}_ds{max(-1, min(ds, 2))}"]
    for x in featurizer.mention(m):
        if not x.startswith(("mL", "mR", "mf=")):
            f.append(x)
    for off in (1, 2, 3):
        if m.a - off >= sa:
            f.append(f"L{off}={low[m.a - off]}")
    if m.b < sb:
        f.append("R1=" + low[m.b])
        if m.b + 1 < sb:
            f.append(f"R12={low[m.b]}_{low[m.b + 1]}")
    for i in range(max(sa, m.a - 4), m.a):
        for cls in classes[i]:
            f.append("Lc=" + cls)
    for i in range(m.b, min(sb, m.b + 3)):
        for cls in classes[i]:
            f.append("Rc=" + cls)
    # the cue that heads the list this name stands in ("led by A, B and C")
    j, hops = m.a - 1, 0
    while j >= sa and hops < 30 and (low[j] in _GLUE or doc.name_like[j] or words[j] in ("(", ")", "'s")):
        j -= 1
        hops += 1
    if j >= sa:
        f.append("head=" + low[j])
        for cls in classes[j]:
            f.append("headc=" + cls)
        if hops > 1:
            f.append("inlist")
            for cls in classes[j]:
                f.append("listc=" + cls)
        # the cue words just before the list's head ("the other participants in the round are A, B")
        for i in range(max(sa, j - 6), j):
            for cls in classes[i]:
                if cls in ("led", "partic", "invest_v", "prep_from"):
                    f.append("prehead=" + cls)
    if m.a > sa and low[m.a - 1] in _PERSON_TITLES:
        f.append("after_title")
    f.append("shape=" + mention_shape(words[m.a]))
    return f


_FIRM_WORDS = frozenset(
    "ventures venture capital partners fund investments investment vc equity holdings management advisors "
    "investors angels group".split()
)


def fuller_forms(doc: Doc, names: list[Mention]) -> dict[str, str]:
    """Each name that the text also writes with firm words after it, mapped to the shortest such form
    ("Salesforce" -> "Salesforce Ventures" when both appear): a headline often shortens an investor's name."""
    texts = {doc.span_text(m.a, m.b) for m in names}
    out: dict[str, str] = {}
    for longer in texts:
        words = longer.split()
        for k in range(len(words) - 1, 0, -1):
            if words[k].casefold() not in _FIRM_WORDS:
                break
            short = " ".join(words[:k])
            held = out.get(short)
            if short in texts and (held is None or (len(longer), longer) < (len(held), held)):
                out[short] = longer
    return out


def is_own_name(entity: Entity, key: tuple[str, ...]) -> bool:
    """The name is the round's company (or part of its name), not a backer."""
    own = set(entity.key)
    return not key or set(key) <= own or own <= set(key)


def owner_of(position: int, own: set[int], rivals: set[int], clauses: list[int]) -> bool:
    """In a sentence that names several rounds' companies ("X got $5M from A; Y raised $3M led by B"), does the
    backer at ``position`` belong to this round? Not when its clause (``clauses``: the positions of the sentence's
    semicolons) names only another round's company; otherwise it belongs to the company named last before it (the
    first one, when it comes before them all). ``own`` and ``rivals`` are token positions of this round's and the
    others' names."""
    if not rivals:
        return True
    if not own or position in rivals:
        return False
    k = bisect_right(clauses, position)
    lo, hi = (clauses[k - 1] if k else -1), (clauses[k] if k < len(clauses) else 1 << 30)
    own_here = any(lo < p < hi for p in own)
    rival_here = any(lo < p < hi for p in rivals)
    if own_here != rival_here:
        return own_here
    before = [p for p in own | rivals if p < position]
    return (max(before) if before else min(own | rivals)) in own


def read_investors(
    analysis: Analysis,
    entity: Entity,
    sentences: list[int],
    model: Model,
    anchors: set[int],
    money: Money | None,
    rivals: dict[int, set[int]] | None = None,
) -> tuple[list[str], list[str], str | None]:
    """Leads and investors (leads first, each name once) of the round of ``entity`` stated in the sentences
    ``anchors``, and the sentence the first investor came from. ``rivals`` maps a sentence to the token positions
    of the other rounds' companies named in it."""
    doc = analysis.doc
    roles, fuller, by_sentence = article_context(analysis)
    own: dict[int, set[int]] = {}
    for p in entity.pairs:
        own.setdefault(doc.sent_of[p.mention.a], set()).add(p.mention.a)
    backers: list[Backer] = []
    for s in sentences:
        for m in by_sentence.get(s, ())[:MAX_BACKERS_PER_SENTENCE]:
            name = doc.span_text(m.a, m.b)
            if is_own_name(entity, tuple(name_tokens(name))):
                continue
            if rivals and not owner_of(m.a, own.get(s, set()), rivals.get(s, set()), doc.semicolons(s)):
                continue  # another round's backer in a roundup sentence
            f = backer_features(doc, m, anchors, analysis.featurizer, roles, money)
            lead, investor = model.lead.score(f), model.investor.score(f)
            # precise rules over the model: an explicit cue list in a sentence that states the round (or the one
            # after it) decides the role; a sentence that states another sum as history ("a $100M Series C in
            # 2022, led by X") does not
            role = roles.get((m.a, m.b))
            if role is not None and (s in anchors or s - 1 in anchors):
                lead, investor = (1.0, 1.0) if role[0] == "lead" else (0.0, 1.0)
            elif "other_sum" in f and s not in anchors and ("S_hist" in f or "S_past_year" in f):
                lead = investor = 0.0
            if m.a > 0 and doc.low[m.a - 1] in _SPEECH:  # "told VentureBeat", "according to Bloomberg"
                lead = investor = 0.0
            backers.append(Backer(m, name, lead, investor))
    lead_t, inv_t = model.thresholds.get("lead", 0.5), model.thresholds.get("investor", 0.5)
    share_list_roles(doc, backers, lead_t, inv_t)
    leads: list[str] = []
    investors: list[str] = []
    seen: set[tuple[str, ...]] = set()
    evidence = None
    for b in sorted(backers, key=lambda b: b.mention.a):
        b.name = fuller.get(b.name, b.name)
        key = tuple(name_tokens(b.name))
        if key in seen:
            continue
        if b.lead >= lead_t:
            leads.append(b.name)
        elif b.investor >= inv_t:
            investors.append(b.name)
        else:
            continue
        seen.add(key)
        if evidence is None:
            evidence = doc.sentence_text(doc.sent_of[b.mention.a])
    return leads, leads + investors, evidence


_LIST_JOINS = frozenset([",", "and", "&", "und", "et", "e", "y", "plus", "sowie"])


def share_list_roles(doc: Doc, backers: list[Backer], lead_t: float, inv_t: float) -> None:
    """Names joined in one list ("including A, B and C") take part in the same way: when one of them is an
    investor, so is every other name of the list the rules did not rule out (scored 0). Places ("in Vietnam and
    Thailand") neither give nor take the role."""
    ordered = sorted(backers, key=lambda b: b.mention.a)
    lists: list[list[Backer]] = []
    for b in ordered:
        prev = lists[-1][-1] if lists else None
        if (
            prev is not None
            and doc.sent_of[prev.mention.a] == doc.sent_of[b.mention.a]
            and 0 < b.mention.a - prev.mention.b <= 2
            and all(doc.low[i] in _LIST_JOINS for i in range(prev.mention.b, b.mention.a))
        ):
            lists[-1].append(b)
        else:
            lists.append([b])
    for members in lists:
        firms = [b for b in members if tuple(doc.low[b.mention.a : b.mention.b]) not in PLACES]
        if len(members) > 1 and any(b.lead >= lead_t or b.investor >= inv_t for b in firms):
            for b in firms:
                if b.investor > 0.0:
                    b.investor = max(b.investor, inv_t)


def article_context(analysis: Analysis) -> tuple[dict, dict[str, str], dict[int, list[Mention]]]:
    """Per article, computed once: the names' cue roles, their fuller forms, and the names of each sentence."""
    cached = analysis.cache.get("investors")
    if cached is None:
        doc = analysis.doc
        by_sentence: dict[int, list[Mention]] = {}
        for m in analysis.names:
            by_sentence.setdefault(doc.sent_of[m.a], []).append(m)
        cached = analysis.cache["investors"] = (
            cue_roles(doc, analysis.names),
            fuller_forms(doc, analysis.names),
            by_sentence,
        )
    return cached
