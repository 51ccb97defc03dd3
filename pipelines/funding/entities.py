"""Stage 3: the candidate names grouped into entities (one per name), with the features the entity model reads:
the entity's best pair scores, where it stands in the article, and what kind of article it is."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pipelines.funding.pairs import Analysis, Pair
from pipelines.funding.text import Doc
from pipelines.names import name_tokens

__all__ = ["Context", "Entity", "context", "group", "entity_features", "ENTITY_FLAGS", "MAX_ENTITIES"]

# entities scored by the entity model, best pairs first: a page of thousands of names stays linear
MAX_ENTITIES = 150

# the flags (features.py) counted per entity
ENTITY_FLAGS = (
    "SUBJ",
    "SUBJ_APP",
    "OBJ",
    "PAREN",
    "POSS_money",
    "POSS_fund_n",
    "PASSIVE_BY",
    "INV_FROM",
    "INV_LED",
    "INV_LIST",
    "INV_PARTIC",
    "PERSON_CTX",
    "MEDIA_CTX",
    "REL_BTW",
    "HIST_BTW",
    "HIST_T",
    "HAD",
    "RUMOR_T",
    "NEG_T",
    "ACQ_BTW",
    "FUND_T",
)
_NAME_FLAGS = ("common1", "lower_in_doc", "allcommon", "last_alone", "first_alone", "place", "first_name", "inv_suffix")
# what the first lines of an article say about its kind: a daily or weekly roundup reports rounds as news, a
# quarterly or yearly review reports statistics (LABELS.md, rule 2)
_PERIOD_CUES = {
    "c_week": "week weekly wöchentlich woche semaine semana settimana daily today "
    "monday tuesday wednesday thursday friday",
    "c_month": "month monthly monat monats mois mes mese",
    "c_quarter": "quarter quarterly q1 q2 q3 q4 1q 2q 3q 4q quartal trimestre h1 h2 half-year semester",
    "c_year": "annual yearly year-to-date ytd jahres année año anno review",
    "c_top": "top biggest largest ranking highest record",
    "c_roundup": "roundup round-up digest recap briefing newsletter deals funding-news",
}
_PERIOD_WORDS = {k: frozenset(v.split()) for k, v in _PERIOD_CUES.items()}
_TITLE_CLASSES = ("raise_v", "round_t", "fund_n", "acq", "ipo", "fund", "rumor", "hist", "invest_v", "led")
_DOC_CLASSES = ("raise_v", "acq", "ipo", "fund", "hist", "rumor", "revenue", "valuation", "past_year")


@dataclass
class Entity:
    """One candidate name and every pair it is in."""

    key: tuple[str, ...]
    best: Pair
    pairs: list[Pair] = field(default_factory=list)
    p: float = 0.0
    p_money: float = 0.0
    p_verb: float = 0.0
    p_other: float = 0.0
    p_title: float = 0.0
    title: bool = False
    sentences: set[int] = field(default_factory=set)
    flags: Counter = field(default_factory=Counter)
    name: str = ""
    score: float = 0.0
    mentions: int = 0


def group(analysis: Analysis) -> list[Entity]:
    """Entities from scored pairs (``Pair.score`` set), best first."""
    doc = analysis.doc
    entities: dict[tuple[str, ...], Entity] = {}
    keys: dict[tuple[int, int], tuple[str, ...]] = {}
    by_text: dict[str, tuple[str, ...]] = {}
    for pair in analysis.pairs:
        m = pair.mention
        key = keys.get((m.a, m.b))
        if key is None:
            text = doc.span_text(m.a, m.b)
            key = by_text.get(text)
            if key is None:
                key = by_text[text] = tuple(name_tokens(text))
            keys[(m.a, m.b)] = key
        if not key:
            continue
        e = entities.get(key)
        if e is None:
            e = entities[key] = Entity(key, pair)
        e.pairs.append(pair)
        p = pair.score
        if p > e.p:
            e.p, e.best = p, pair
        kind = pair.trigger.kind
        if kind in ("money", "undisclosed"):
            e.p_money = max(e.p_money, p)
        elif kind in ("raise_v", "invest_v"):
            e.p_verb = max(e.p_verb, p)
        else:
            e.p_other = max(e.p_other, p)
        if doc.in_title(m.a):
            e.title = True
            e.p_title = max(e.p_title, p)
        e.sentences.add(doc.sent_of[m.a])
    counts = Counter(tuple(name_tokens(doc.span_text(m.a, m.b))) for m in analysis.names)
    for e in entities.values():
        e.name = doc.span_text(e.best.mention.a, e.best.mention.b)
        e.mentions = counts[e.key]
        features = set()
        for pair in e.pairs:
            features.update(pair.own)
            features.update(pair.parts[1])  # the name's own flags (investor, person and media contexts)
        for flag in ENTITY_FLAGS:
            if flag in features:
                e.flags[flag] = 1
        for flag in _NAME_FLAGS:
            if flag in e.best.parts[1]:
                e.flags[flag] = 1
    return sorted(entities.values(), key=lambda e: -e.p)


def _coordinated(doc: Doc, x: Entity, y: Entity) -> bool:
    """Two names in one list of one sentence ("Posha, Footprints and InspeCity")."""
    a1, b1 = x.best.mention.a, x.best.mention.b
    a2, b2 = y.best.mention.a, y.best.mention.b
    if doc.sent_of[a1] != doc.sent_of[a2]:
        return False
    lo, hi = (b1, a2) if b1 <= a2 else (b2, a1)
    return hi - lo <= 12 and any(doc.words[i] in (",", "and", "und", "et", "y", "e", "&", ";") for i in range(lo, hi))


def doc_features(doc: Doc, entities: list[Entity]) -> dict[str, float]:
    """What kind of article this is: its headline's words, its period, how much money and history it holds."""
    f: dict[str, float] = {}
    head = set(doc.low[doc.title_start : doc.title_end]) | set(doc.low[:60])
    for name, words in _PERIOD_WORDS.items():
        f[name] = float(not head.isdisjoint(words))
    title_classes: set[str] = set()
    for i in range(doc.title_start, doc.title_end):
        title_classes.update(doc.classes[i])
        if doc.money_at[i] is not None:
            title_classes.add("money")
    for cls in (*_TITLE_CLASSES, "money"):
        f["T_" + cls] = float(cls in title_classes)
    f["has_title"] = float(doc.title_sentence is not None)
    f["n_money"] = float(min(len(doc.money), 15))
    counts = Counter(c for s in doc.sent_classes for c in s)
    n = max(len(doc.sents), 1)
    for cls in _DOC_CLASSES:
        f["r_" + cls] = counts[cls] / n
    ps = [e.p for e in entities]
    f["n_hi5"] = float(sum(1 for p in ps if p > 0.5))
    f["n_hi3"] = float(sum(1 for p in ps if p > 0.3))
    f["top_p"] = ps[0] if ps else 0.0
    f["second_p"] = ps[1] if len(ps) > 1 else 0.0
    f["lang_en"] = float(doc.lang == "en")
    f["has_date"] = float(doc.published is not None)
    return f


@dataclass
class Context:
    """What every entity's features share: the article's features, the headline's raising names, and the
    entities of each sentence (for lists)."""

    article: dict[str, float]
    title_owners: list[Entity]
    by_sentence: dict[int, list[Entity]]
    by_template: dict[str, list[Entity]] = field(default_factory=dict)


def template(e: Entity) -> str | None:
    """The words between an entity's best name and trigger ("btw=moneyB:(" for "Pastel ($5.5m)"): the items of
    one list or digest share it."""
    return next((f for f in e.best.own if f.startswith("btw=")), None)


def context(doc: Doc, entities: list[Entity], article_p: float) -> Context:
    """What every entity's features share; ``article_p`` is the article model's score of the article."""
    by_sentence: dict[int, list[Entity]] = {}
    for e in entities:
        by_sentence.setdefault(doc.sent_of[e.best.mention.a], []).append(e)
    owners = [e for e in entities if e.title and e.p_title > 0.4][:2]
    by_template: dict[str, list[Entity]] = {}
    for e in entities[:MAX_ENTITIES]:
        shape = template(e)
        if shape is not None:
            by_template.setdefault(shape, []).append(e)
    article = doc_features(doc, entities)
    article["article_p"] = article_p
    return Context(article, owners, by_sentence, by_template)


def entity_features(doc: Doc, entities: list[Entity], index: int, ctx: Context) -> dict[str, float]:
    """The entity model's inputs for ``entities[index]`` (entities sorted best first)."""
    e = entities[index]
    f = dict(ctx.article)
    f.update(p=e.p, p_money=e.p_money, p_verb=e.p_verb, p_other=e.p_other, p_title=e.p_title)
    f["rank"] = float(min(index, 5))
    f["title"] = float(e.title)
    f["other_title_co"] = float(any(o is not e for o in ctx.title_owners))
    f["n_sent"] = float(min(len(e.sentences), 5))
    first = min(e.sentences)
    f["first_sent"] = float(min(first, 10))
    f["para"] = float(min(doc.para_of[first], 10))
    neighbours = ctx.by_sentence.get(doc.sent_of[e.best.mention.a], ())
    f["list_p"] = max((o.p for o in neighbours if o is not e and _coordinated(doc, e, o)), default=0.0)
    # the other items of a list or digest told the same way ("X ($5M)", "Y ($2M)"): one found lifts the others
    shape = template(e)
    siblings = [o.p for o in ctx.by_template.get(shape, ()) if o is not e] if shape else []
    f["sib_n"] = float(min(sum(1 for p in siblings if p > 0.3), 5))
    f["sib_p"] = max(siblings, default=0.0)
    for flag in (*ENTITY_FLAGS, *_NAME_FLAGS):
        f["a_" + flag] = float(e.flags[flag])
    f["n_tokens"] = float(len(e.key))
    f["gap_top"] = entities[0].p - e.p
    best = set(e.best.own) | set(e.best.parts[1])
    for flag in ("SUBJ", "SUBJ_APP", "OBJ", "PAREN", "POSS_money", "POSS_fund_n", "REL_BTW", "HIST_T", "INV_FROM"):
        f["b_" + flag] = float(flag in best)
    f["b_kind_" + e.best.trigger.kind] = 1.0
    scores = sorted((p.score for p in e.pairs), reverse=True)
    f["n_pairs_hi"] = float(sum(1 for x in scores if x > 0.5))
    f["top3_mean"] = sum(scores[:3]) / min(3, len(scores))
    f["n_mentions"] = float(min(e.mentions, 8))
    return f
