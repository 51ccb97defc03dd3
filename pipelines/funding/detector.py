"""The detector: text in, ROUND dicts out (DESIGN.md). Stages, each in its own module:

0. ``text``        normalise, tokens, sentences, language, lexical classes (``lexicon``), money
1. ``candidates``  candidate names and triggers
2. ``pairs``       (name, trigger) pairs with their features (``features``), scored by the pair model
3. ``entities``    names grouped, scored by the entity model with the article's kind; the accepted ones are rounds
4. ``attributes``  amount, currency, round type, valuation, status
5. ``investors``   leads and investors
then the ROUND dicts with the sentence behind each field (``evidence``).
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from functools import lru_cache

from pipelines.funding.article import article_features
from pipelines.funding.attributes import Fields, read_fields
from pipelines.funding.entities import MAX_ENTITIES, Entity, context, entity_features, group
from pipelines.funding.features import mention_shape
from pipelines.funding.investors import read_investors, same_money_sentences, scope
from pipelines.funding.lexicon import PLACES
from pipelines.funding.model import Model, load_model
from pipelines.funding.pairs import Analysis, analyse
from pipelines.funding.text import Doc
from pipelines.money import Money, to_usd
from pipelines.names import GENERIC_NAME_WORDS, name_tokens, same_company

logger = logging.getLogger("pipelines.funding")

__all__ = ["Detector", "Round", "boundary_features", "detect_rounds", "default_detector"]

MAX_ROUNDS = 60
_DEMONYM_ENDINGS = ("ese", "ian", "ish", "an", "er", "ic", "ean", "ine", "i")


@dataclass
class Round:
    """One detected round before it becomes a ROUND dict: the entity and its fields."""

    entity: Entity
    company: str
    round: dict


def boundary_features(doc: Doc, a: int, b: int, common_words: frozenset[str]) -> list[str]:
    """Features of the first token of name ``a``..``b``: is it a word before the name ("Ghanaian", "Berliner")?"""
    w = doc.low[a]
    f = ["bias", "w=" + w, "shape=" + mention_shape(doc.words[a]), f"n={min(b - a, 4)}"]
    if (w,) in PLACES:
        f.append("place")
    if w in common_words:
        f.append("common")
    if w.endswith(_DEMONYM_ENDINGS):
        f.append("demonym_ending")
    if len(w) > 5:  # the word's ending tells adjectives and compound nouns ("Kärntner", "Bezahldienst")
        f.append("suffix=" + w[-3:])
    f.append("next=" + mention_shape(doc.words[a + 1]))
    if a > 0:
        f.append("prev=" + doc.low[a - 1])
    return f


# a one-story article (its headline names one company raising) keeps another company only above this score
ONE_STORY_OTHERS = 0.8
_DIGEST_MARKS = frozenset(
    (";", "|", "roundup", "round-up", "digest", "weekly", "daily", "briefing", "recap", "newsletter")
)


def _one_story_owner(doc: Doc, entities: list[Entity], threshold: float) -> Entity | None:
    """The company of a one-story article: the only accepted entity the headline shows raising (its headline
    pair scores at least 0.5), in a headline with no digest marks."""
    if doc.title_sentence is None:
        return None
    head = doc.low[doc.title_start : doc.title_end]
    if any(w in _DIGEST_MARKS for w in head) or head.count(",") > 1:
        return None
    owners = [e for e in entities if e.title and e.p_title >= 0.5 and e.score >= threshold]
    return owners[0] if len(owners) == 1 else None


def _one_name(a: str, b: str) -> bool:
    """Two spellings of one company: ``same_company``, or a name that ends the other ("Africa" in "Affinity
    Africa", "Jinyang Technology" in "Beijing Jinyang Technology") with a word of its own ("Capital Partners" is
    not "Oak Capital Partners"); "Quix Health" and "Nova Health" stay two."""
    ta, tb = name_tokens(a), name_tokens(b)
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    return same_company(a, b) or (
        bool(short) and long_[-len(short) :] == short and any(t not in GENERIC_NAME_WORDS for t in short)
    )


def _absorb(kept: Entity, other: Entity) -> None:
    """Read ``other``'s sentences as ``kept``'s: the two are one company."""
    kept.pairs.extend(other.pairs)
    kept.sentences |= other.sentences
    kept.title = kept.title or other.title


def _rivals(
    doc: Doc, entity: Entity, fields: Fields, rounds: list[tuple[Entity, str]], read: list[Fields]
) -> dict[int, set[int]]:
    """Sentence -> token positions of the other rounds' companies named where their own, different amount is
    stated ("X got $5M from A; Y raised $3M led by B"); ``investors.owner_of`` then gives each backer of such a
    sentence to one round."""
    out: dict[int, set[int]] = {}
    for (other, _), theirs in zip(rounds, read, strict=True):
        if other is entity or theirs.money is None:
            continue
        if fields.money is not None and (theirs.money.currency, theirs.money.value) == (
            fields.money.currency,
            fields.money.value,
        ):
            continue
        told = {theirs.anchor}  # and every sentence that pairs one of its names with its own amount
        told.update(doc.sent_of[p.mention.a] for p in other.pairs if _same_sum(p.trigger.money, theirs.money))
        for p in other.pairs:
            s = doc.sent_of[p.mention.a]
            if s in told:
                out.setdefault(s, set()).add(p.mention.a)
    return out


def _same_sum(a: Money | None, b: Money) -> bool:
    return a is not None and a.currency == b.currency and abs(a.value - b.value) <= 0.01 * abs(b.value)


def _num(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(round(value)) if value >= 1000 or float(value).is_integer() else value


def sentences_after(doc: Doc, stated: set[int], anchors: set[int]) -> set[int]:
    """The sentence after each one that states a round, in the same paragraph and not stating a round itself: it
    often names the backers ("... closed $475 million for X. Led by A and B, the round ...")."""
    return {
        s + 1
        for s in stated
        if s + 1 < len(doc.sents) and s + 1 not in anchors and doc.para_of[s + 1] == doc.para_of[s]
    }


class Detector:
    """``detect(text, title, published)`` with one model (the committed one by default)."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def analyse(self, text: str, title: str | None, published: datetime.date | None) -> Analysis:
        """Stages 0-2: the article's pairs, scored."""
        doc = Doc(text, title, published)
        analysis = analyse(doc, self.model.common_words)
        pair, shared = self.model.pair, {}
        for p in analysis.pairs:
            p.score = pair.score_parts(p.parts, shared)
        return analysis

    def entities(self, analysis: Analysis) -> list[Entity]:
        """Stage 3: entities, each with its entity-model score, best pair first."""
        doc = analysis.doc
        entities = group(analysis)
        shared = context(doc, entities, self.model.article.score(article_features(doc)))
        floor = self.model.thresholds.get("pair_floor", 0.02)
        for i, e in enumerate(entities[:MAX_ENTITIES]):
            if e.p >= floor:
                e.score = self.model.entity.score(entity_features(doc, entities, i, shared))
        return entities

    def _name(self, doc: Doc, e: Entity) -> str:
        a, b = e.best.mention.a, e.best.mention.b
        for _ in range(2):
            if b - a < 2 or self.model.boundary.score(boundary_features(doc, a, b, self.model.common_words)) < 0.5:
                break
            a += 1
        return doc.span_text(a, b)

    def rounds(self, analysis: Analysis) -> list[Round]:
        """Stages 3-5: the accepted entities and their fields."""
        doc = analysis.doc
        threshold = self.model.thresholds.get("entity", 0.4)
        entities = sorted(self.entities(analysis), key=lambda e: -e.score)
        story = _one_story_owner(doc, entities, threshold)
        accepted: list[tuple[Entity, str]] = []
        spellings: dict[int, set[int]] = {}  # id of a round's entity -> the sentences of its names' best pairs
        for e in entities:
            if e.score < threshold or len(accepted) >= MAX_ROUNDS:
                break
            name = self._name(doc, e)
            if not name_tokens(name):
                continue
            same = next((k for k, (_, n) in enumerate(accepted) if _one_name(name, n)), None)
            if same is None:
                if story is not None and e is not story and e.score < ONE_STORY_OTHERS:
                    continue  # a one-story article: another company's raise is a passing mention
                accepted.append((e, name))
            else:  # one company spelled two ways is one round, told by both names' sentences
                _absorb(accepted[same][0], e)
                spellings.setdefault(id(accepted[same][0]), set()).add(doc.sent_of[e.best.mention.a])
        for e in entities:  # a shorter spelling below the threshold ("Scale" of "Scale AI") tells the round too
            if e.score < threshold and e.p >= self.model.thresholds.get("pair_floor", 0.02):
                name = doc.span_text(e.best.mention.a, e.best.mention.b)
                size = len(name_tokens(name))
                kept = next((k for k, n in accepted if size < len(name_tokens(n)) and same_company(name, n)), None)
                if kept is not None:
                    _absorb(kept, e)
        # each round's own sentences (its other spellings' too) end the others' scopes
        own = {id(e): {doc.sent_of[e.best.mention.a], *spellings.get(id(e), ())} for e, _ in accepted}
        anchors = set().union(*own.values())
        ordered = sorted(accepted, key=lambda x: x[0].best.mention.a)
        scopes = [scope(doc, e, anchors - own[id(e)]) for e, _ in ordered]
        read = [read_fields(doc, e, self.model, sentences) for (e, _), sentences in zip(ordered, scopes, strict=True)]
        out = []
        for (e, name), sentences, fields in zip(ordered, scopes, read, strict=True):
            stated = {fields.anchor}
            if fields.money is not None:  # the sentences that repeat the round's amount are about it too
                stated |= same_money_sentences(doc, fields.money, fields.anchor)
            rivals = _rivals(doc, e, fields, ordered, read)
            leads, investors, inv_evidence = read_investors(
                analysis,
                e,
                sorted(set(sentences) | stated | sentences_after(doc, stated, anchors)),
                self.model,
                stated,
                fields.money,
                rivals,
            )
            evidence = dict(fields.evidence or {})
            if leads:
                evidence["lead_investors"] = inv_evidence or evidence["company"]
            if investors:
                evidence["investors"] = inv_evidence or evidence["company"]
            amount = _num(fields.amount)
            out.append(
                Round(
                    e,
                    name,
                    {
                        "company": name,
                        "amount": amount,
                        "currency": fields.currency,
                        "amount_usd": _num(to_usd(fields.amount, fields.currency)),
                        "round": fields.round,
                        "lead_investors": leads,
                        "investors": investors,
                        "valuation": _num(fields.valuation),
                        "status": fields.status,
                        "confidence": round(min(0.99, max(0.01, e.score)), 2),
                        "evidence": evidence,
                    },
                )
            )
        return out

    def detect_or_raise(
        self, text: str, title: str | None = None, published: datetime.date | None = None
    ) -> list[dict]:
        """``detect`` without its safety net: an error in a stage propagates (tests use it to see crashes)."""
        if not isinstance(text, str):
            text = ""
        if title is not None and not isinstance(title, str):
            title = None
        if published is not None and not isinstance(published, datetime.date):
            published = None
        return [r.round for r in self.rounds(self.analyse(text, title, published))]

    def detect(self, text: str, title: str | None = None, published: datetime.date | None = None) -> list[dict]:
        """The ROUND dicts of one article; never raises."""
        try:
            return self.detect_or_raise(text, title, published)
        except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; a crash counts as no rounds
            size = len(text) if isinstance(text, str) else 0
            logger.error("funding detector failed on a %d-character text: %s: %s", size, type(exc).__name__, exc)
            return []


@lru_cache(maxsize=1)
def default_detector() -> Detector:
    """The detector with the committed model, loaded once."""
    return Detector(load_model())


def detect_rounds(text: str, title: str | None = None, published: datetime.date | None = None) -> list[dict]:
    """Find the funding rounds an article reports as news.

    Args:
        text: the article's clean text (paragraphs separated by newlines); capped at ~200 KB.
        title: the headline, if known.
        published: the publication date, used to tell this year's news from history.

    Returns:
        ROUND dicts (DESIGN.md), each with an ``evidence`` dict (field -> sentence); ``[]`` when the text
        reports no round. Never raises.
    """
    try:
        detector = default_detector()
    except Exception as exc:  # noqa: BLE001 - no usable model: say so, find nothing, never raise
        logger.error("funding detector: cannot load its model: %s: %s", type(exc).__name__, exc)
        return []
    return detector.detect(text, title, published)
