"""Stage 4: the fields of one round: amount and currency, round type, valuation and status, each with the
sentence it came from. The amount is the money the pair scorer ties to the company most strongly; round type and
valuation are read by rule next to it; the status is learned."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.funding.entities import Entity
from pipelines.funding.model import Model
from pipelines.funding.pairs import Pair
from pipelines.funding.text import Doc
from pipelines.money import USD_RATES, Money, to_usd

__all__ = [
    "Fields",
    "amount_candidates",
    "anchor_pair",
    "amount_features",
    "read_fields",
    "status_features",
    "MIN_ROUND_USD",
    "MAX_ROUND_USD",
]

MIN_ROUND_USD = 10_000
MAX_ROUND_USD = 500e9
# words before a round's name or a valuation that make it an earlier one ("its previous Series B")
_EARLIER = frozenset(
    "previous prior last earlier former preceding précédent précédente dernier dernière vorherige letzte "
    "letzten anterior anteriore precedente".split()
)
_EARLIER_AFTER = frozenset("earlier ago before previously prior".split())
_VALUATION_BEFORE = frozenset("valuation valued valuing value worth bewertung bewertet valorisation valorisée".split())


@dataclass
class Fields:
    """The fields of one round and the sentence each came from."""

    amount: float | None = None
    currency: str | None = None
    money: Money | None = None
    round: str | None = None
    valuation: float | None = None
    anchor: int = 0
    status: str = "announced"
    evidence: dict[str, str] | None = None


def _plausible(money: Money) -> bool:
    usd = to_usd(money.value, money.currency)
    return usd is None or MIN_ROUND_USD <= usd <= MAX_ROUND_USD


def _in_currency(money: Money, currency: str | None) -> float | None:
    """``money`` in ``currency`` (three significant figures when converted), None when not convertible."""
    if currency is None or money.currency == currency:
        return money.value
    usd = to_usd(money.value, money.currency)
    if usd is None or currency not in USD_RATES:
        return None
    return float(f"{usd / USD_RATES[currency]:.3g}")


_MONTHS = (
    "january february march april may june july august september october november december "
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre "
    "januar februar märz april mai juni juli august september oktober november dezember "
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre "
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre"
).split()


def _other_month(doc: Doc, s: int) -> bool:
    """Sentence ``s`` names a month other than the publication's (or any month, the date unknown)."""
    a, b = doc.sents[s]
    named = {_MONTHS.index(w) % 12 for w in doc.low[a:b] if w in _MONTH_SET}
    if not named:
        return False
    return doc.published is None or named != {doc.published.month - 1}


_MONTH_SET = frozenset(_MONTHS)


def _round_type(doc: Doc, entity: Entity, near: int, scope: list[int]) -> tuple[str | None, int | None]:
    """The round type named closest to token ``near`` in the entity's best sentences, else in the round's other
    sentences (``scope``: "X led the Series D round" after the raise), not an earlier round."""
    sentences = {doc.sent_of[near], doc.sent_of[entity.best.mention.a], *scope}
    if entity.title:
        sentences.update(doc.sent_of[p.mention.a] for p in entity.pairs if doc.in_title(p.mention.a))
    sentences.update(doc.sent_of[p.mention.a] for p in entity.pairs if p.score >= 0.5)
    best: tuple[int, str, int] | None = None
    for (a, b), kind in doc.round_types.items():
        s = doc.sent_of[a]
        if s not in sentences:
            continue
        sa, sb = doc.sents[s]
        if any(doc.low[i] in _EARLIER or doc.low[i] == "had" for i in range(max(sa, a - 6), a)):
            continue
        if any(doc.low[i] in _EARLIER_AFTER for i in range(b, min(sb, b + 4))):
            continue  # "a $3 million Series A six months earlier"
        if (
            s != doc.sent_of[near]
            and not doc.in_title(a)
            and (doc.sent_classes[s] & {"hist", "past_year"} or _other_month(doc, s))
        ):
            continue  # another sentence about the company's history ("raised a seed round in June")
        distance = abs(a - near) + (0 if s == doc.sent_of[near] else 1000)
        if best is None or distance < best[0]:
            best = (distance, kind, s)
    return (best[1], best[2]) if best else (None, None)


def _valuation(
    doc: Doc, entity: Entity, money: Money | None, near: int, scope: list[int]
) -> tuple[Money | None, int | None]:
    """A money mention in the round's sentences that a valuation cue sits next to ("valued at $4B", "a $4B
    valuation", "values the company at $4B"), closest to the round's own money."""
    sentences = {doc.sent_of[near], *scope} | {doc.sent_of[p.mention.a] for p in entity.pairs if p.score >= 0.3}
    best: tuple[int, Money, int] | None = None
    low, classes = doc.low, doc.classes
    for a, b, m in doc.money:
        s = doc.sent_of[a]
        if s not in sentences or m is money or not _plausible(m):
            continue
        sa, sb = doc.sents[s]
        before = range(max(sa, a - 6), a)
        after = range(b, min(sb, b + 3))
        if not (any("valuation" in classes[i] for i in before) or any(low[i] in _VALUATION_BEFORE for i in after)):
            continue
        if any(low[i] in _EARLIER or "hist" in classes[i] and low[i] in ("previous", "last", "prior") for i in before):
            continue
        distance = abs(a - near) + (0 if s == doc.sent_of[near] else 1000)
        if best is None or distance < best[0]:
            best = (distance, m, s)
    return (best[1], best[2]) if best else (None, None)


def anchor_pair(doc: Doc, entity: Entity, sentence: int | None) -> Pair:
    """The pair that reports the round: the entity's best pair in the sentence of its amount, else its best."""
    inside = [p for p in entity.pairs if doc.sent_of[p.mention.a] == sentence]
    return max(inside, key=lambda p: p.score) if inside else entity.best


def status_features(doc: Doc, entity: Entity, anchor: Pair | None = None) -> list[str]:
    """Words and classes around the round's anchor pair and in the headline, for the status model."""
    f = ["bias"]
    anchor = anchor or entity.best
    s = doc.sent_of[anchor.mention.a]
    title = doc.title_sentence
    sentences = [s] + ([title] if title is not None and s != title and entity.title else [])
    for k, sent in enumerate(sentences):
        a, b = doc.sents[sent]
        where = "S" if k == 0 else "T"
        for i in range(a, b):
            if doc.classes[i]:
                for cls in doc.classes[i]:
                    if cls in ("rumor", "neg", "hist", "aux"):
                        f.append(f"{where}w={doc.low[i]}")
                        f.append(f"{where}c={cls}")
    t = anchor.trigger
    a, b = doc.sents[s]
    for i in range(max(a, t.a - 5), t.a):
        f.append("pre=" + doc.low[i])
    return f


_AMOUNT_CONTEXT = (
    "valuation",
    "total",
    "hist",
    "fund",
    "revenue",
    "acq",
    "ipo",
    "rumor",
    "round_t",
    "raise_v",
    "fund_n",
    "led",
)


def rank_candidates(candidates: list[tuple[int, int, Money]], paired_with: dict[int, float]) -> dict[int, int]:
    """Each candidate's rank (by identity) by its best pair score with the entity, best first."""
    ordered = sorted(candidates, key=lambda c: -paired_with.get(id(c[2]), 0.0))
    return {id(c): k for k, c in enumerate(ordered)}


def amount_candidates(doc: Doc, entity: Entity, sentences: list[int]) -> list[tuple[int, int, Money]]:
    """The money mentions that could be the round's amount: in the round's sentences (``investors.scope``) and in
    every sentence where the entity is paired with a trigger."""
    wanted = set(sentences) | {doc.sent_of[p.mention.a] for p in entity.pairs if p.score >= 0.05}
    return [(a, b, m) for a, b, m in doc.money if doc.sent_of[a] in wanted and _plausible(m)]


def paired_scores(entity: Entity) -> dict[int, float]:
    """The entity's best pair score with each money mention (by identity)."""
    out: dict[int, float] = {}
    for p in entity.pairs:
        if p.trigger.money is not None and p.score > out.get(id(p.trigger.money), -1.0):
            out[id(p.trigger.money)] = p.score
    return out


def amount_features(
    doc: Doc, entity: Entity, candidate: tuple[int, int, Money], rank: int, n: int, paired_with: dict[int, float]
) -> list[str]:
    """Features of one candidate amount of the round of ``entity`` (``paired_with``: ``paired_scores``)."""
    a, b, money = candidate
    s = doc.sent_of[a]
    anchor = doc.sent_of[entity.best.mention.a]
    sa, sb = doc.sents[s]
    paired = paired_with.get(id(money), -1.0)
    f = [
        "bias",
        f"pp={int(paired * 10) if paired >= 0 else -1}",
        f"ds={max(-2, min(s - anchor, 3))}",
        f"rank={min(rank, 3)}",
        f"n={min(n, 4)}",
        "title" if doc.in_title(a) else "body",
        "cur=" + money.currency,
    ]
    usd = to_usd(money.value, money.currency)
    if usd:
        f.append(f"mag={len(str(int(usd)))}")
    if money.plus:
        f.append("plus")
    for off in (1, 2):
        if a - off >= sa:
            f.append(f"L{off}={doc.low[a - off]}")
        if b + off - 1 < sb:
            f.append(f"R{off}={doc.low[b + off - 1]}")
    for i in range(max(sa, a - 5), a):
        for cls in doc.classes[i]:
            if cls in _AMOUNT_CONTEXT:
                f.append("Lc=" + cls)
    for i in range(b, min(sb, b + 5)):
        for cls in doc.classes[i]:
            if cls in _AMOUNT_CONTEXT:
                f.append("Rc=" + cls)
    # the company's own mention closest to the money in its sentence, and any other name closer still
    own = [p.mention.a for p in entity.pairs if doc.sent_of[p.mention.a] == s]
    if own:
        d = min(abs(x - a) for x in own)
        f.append(f"own_d={0 if d <= 3 else 1 if d <= 8 else 2 if d <= 20 else 3}")
    else:
        f.append("own_absent")
    return f


def read_fields(doc: Doc, entity: Entity, model: Model, sentences: list[int] | None = None) -> Fields:
    """The fields of the round of ``entity`` (an accepted entity)."""
    fields = Fields(evidence={})
    evidence = fields.evidence
    anchor = entity.best
    near = anchor.trigger.a
    candidates = amount_candidates(doc, entity, sentences or [doc.sent_of[anchor.mention.a]])
    if candidates:
        paired_with = paired_scores(entity)
        ranked = rank_candidates(candidates, paired_with)
        scored = [
            (model.amount.score(amount_features(doc, entity, c, ranked[id(c)], len(candidates), paired_with)), c)
            for c in candidates
        ]
        score, (a, _, money) = max(scored, key=lambda x: x[0])
        if score >= model.thresholds.get("amount", 0.5):
            fields.money, fields.amount, fields.currency = money, money.value, money.currency
            near = a
            evidence["amount"] = doc.sentence_text(doc.sent_of[a])
            anchor = anchor_pair(doc, entity, doc.sent_of[a])
    fields.anchor = doc.sent_of[anchor.mention.a]
    evidence["company"] = doc.sentence_text(fields.anchor)
    fields.round, where = _round_type(doc, entity, near, sentences or [])
    if where is not None:
        evidence["round"] = doc.sentence_text(where)
    valuation, where = _valuation(doc, entity, fields.money, near, sentences or [])
    if valuation is not None:
        if fields.currency is None:
            fields.currency = valuation.currency
        fields.valuation = _in_currency(valuation, fields.currency)
        if fields.valuation is not None:
            evidence["valuation"] = doc.sentence_text(where)
    rumoured = model.status.score(status_features(doc, entity, anchor)) >= model.thresholds.get("status", 0.5)
    fields.status = "rumored" if rumoured else "announced"
    evidence["status"] = evidence["company"]
    return fields
