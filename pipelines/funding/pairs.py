"""Stage 2: the (candidate name, trigger) pairs of an article, each with its features (``features``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pipelines.funding.candidates import Mention, Trigger, mentions, triggers
from pipelines.funding.features import PairFeatures
from pipelines.funding.text import Doc

__all__ = ["Pair", "Analysis", "analyse", "MAX_PAIRS"]

# a long page of names and sums cannot make the scorer quadratic: past this, later sentences are not paired
MAX_PAIRS = 3000
# a sentence of thousands of names or sums is debris: only its first ones are paired
MAX_SENTENCE_TRIGGERS = 60
MAX_SENTENCE_NAMES = 60
# the funding words that can anchor a round in a sentence (money alone, or a raise verb, or a round's name)
_ANCHORS = frozenset(("money", "undisclosed", "raise_v", "round_t", "fund_n", "invest_v"))


@dataclass(slots=True)
class Pair:
    """A candidate name and a trigger of its sentence; ``parts`` are its features (``PairFeatures.pair``)."""

    mention: Mention
    trigger: Trigger
    parts: tuple[list[str], ...]
    score: float = 0.0

    @property
    def own(self) -> list[str]:
        """The features of this pair alone (its flags among them)."""
        return self.parts[0]

    @property
    def features(self) -> list[str]:
        """Every feature of the pair."""
        return [f for part in self.parts for f in part]


@dataclass
class Analysis:
    """An article, its candidate names and triggers, and the pairs the scorer reads."""

    doc: Doc
    names: list[Mention]
    triggers: list[Trigger]
    pairs: list[Pair]
    featurizer: PairFeatures
    cache: dict = field(default_factory=dict)  # per-article results later stages compute once


def _paired_triggers(m: Mention, sentence_triggers: list[Trigger]) -> list[Trigger]:
    """Every money mention of the sentence, and of each kind of funding word only the nearest on either side of
    the name (a farther one says nothing the nearer one does not)."""
    out: list[Trigger] = []
    nearest: dict[tuple[str, bool], Trigger] = {}
    for t in sentence_triggers:
        if t.kind in ("money", "undisclosed"):
            out.append(t)
            continue
        before = t.b <= m.a
        key = (t.kind, before)
        held = nearest.get(key)
        if held is None or (t.a > held.a if before else t.a < held.a):
            nearest[key] = t
    out.extend(nearest.values())
    out.sort(key=lambda t: (t.a, t.kind))
    return out


def analyse(doc: Doc, common_words: frozenset[str]) -> Analysis:
    """Pair every candidate name with the triggers of its sentence (``_paired_triggers``)."""
    names = mentions(doc)
    found = triggers(doc)
    featurizer = PairFeatures(doc, names, common_words)
    by_sentence: dict[int, list[Trigger]] = defaultdict(list)
    for t in found:
        held = by_sentence[doc.sent_of[t.a]]
        if len(held) < MAX_SENTENCE_TRIGGERS:
            held.append(t)
    pairs: list[Pair] = []
    seen_sentences: set[int] = set()
    names_in: dict[int, int] = defaultdict(int)
    for m in names:
        s = doc.sent_of[m.a]
        sentence_triggers = by_sentence.get(s)
        if not sentence_triggers or names_in[s] >= MAX_SENTENCE_NAMES:
            continue
        names_in[s] += 1
        first = s not in seen_sentences
        seen_sentences.add(s)
        for t in _paired_triggers(m, sentence_triggers):
            if len(pairs) >= MAX_PAIRS:
                return Analysis(doc, names, found, pairs, featurizer)
            pairs.append(Pair(m, t, featurizer.pair(m, t, first)))
    return Analysis(doc, names, found, pairs, featurizer)
