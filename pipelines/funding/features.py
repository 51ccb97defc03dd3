"""Stage 2: features of a (candidate name, trigger) pair in one sentence, for the learned scorer.

Two kinds, both plain strings (binary features): the words and lexical classes around the name, the trigger and
between them, which the model weighs from the labels; and structural flags that are precise rules ("the name is
the subject of the raise verb", "the name follows 'led by'"), which the model weighs as well instead of obeying
them. Nothing here is fitted to a text: every feature is computed the same way for every pair.
"""

from __future__ import annotations

import re

from pipelines.funding.candidates import CONNECTORS, Mention, Trigger
from pipelines.funding.lexicon import FIRST_NAMES, PLACES, phrase_table, zipf_bucket
from pipelines.funding.text import Doc

__all__ = ["PairFeatures", "mention_shape"]

_PUNCT = frozenset(",()[];:-")
_REL = frozenset("which who that qui che que die der das dont cui welche".split())
_OPEN_CLOSE = {",": ",", "(": ")", "-": "-", "[": "]"}
_PASSIVE_BY = frozenset("by von par da dalla dal por door".split())
_OBJ_PREP = frozenset("in into for of to de dans für en em para pour per nella nel".split())
_NEGATION = frozenset("not never didn't no nicht kein keine pas jamais non nunca não".split())
_HAD = frozenset("had hatte hatten avait avaient aveva había habían tinha".split())
_FROM = frozenset("from von vom de da par by auprès".split())
_LIST_GLUE = frozenset([",", "and", "&", "und", "et", "e", "y", "as", "well", "plus"])
_INVESTOR_SUFFIX = frozenset(
    "ventures venture capital partners fund investments investment vc equity holdings management advisors "
    "investors angels bank".split()
)
_SHAPE_UPPER = re.compile(r"[A-ZÀ-ÞĀ-Ž]+")
_SHAPE_LOWER = re.compile(r"[a-zß-ÿā-ž]+")
_SHAPE_DIGIT = re.compile(r"\d+")


def mention_shape(word: str) -> str:
    """A word's shape: "Hugging" -> "Aa", "eBay" -> "aAa", "23andMe" -> "0aAa"."""
    return _SHAPE_DIGIT.sub("0", _SHAPE_LOWER.sub("a", _SHAPE_UPPER.sub("A", word)))[:6]


def _norm(word: str) -> str:
    return "0" if word[:1].isdigit() else word.casefold()


class PairFeatures:
    """Feature strings of every (mention, trigger) pair of one article; mention features are computed once."""

    def __init__(self, doc: Doc, names: list[Mention], common_words: frozenset[str]) -> None:
        self.doc = doc
        self.common = common_words
        table = phrase_table(doc.lang)
        self.aux = table.words("aux")
        self.name_tokens: set[int] = set()
        for m in names:
            self.name_tokens.update(range(m.a, m.b))
        self.alone = {doc.low[m.a] for m in names if m.b - m.a == 1}
        self.lowercase_words = {w for w in doc.words if w[:1].islower()}
        # words written capitalised somewhere other than at the start of a sentence or line: proper nouns
        sentence_starts = {a for a, _ in doc.sents}
        self.mid_capitals = {
            doc.low[i]
            for i, like in enumerate(doc.name_like)
            if like and i not in sentence_starts and i - 1 not in sentence_starts
        }
        # each token as the pair features show it: "N" inside a candidate name, "$" inside money, else the word
        money_at = doc.money_at
        names = self.name_tokens
        self._shown = [
            "N" if i in names else "$" if money_at[i] is not None else "0" if w[:1].isdigit() else w
            for i, w in enumerate(doc.low)
        ]
        self._mention_cache: dict[tuple[int, int], list[str]] = {}
        self._between: dict[tuple[int, str], list[str]] = {}
        self._sentence_cache: dict[int, list[str]] = {}
        self._trigger_cache: dict[tuple[int, str], list[str]] = {}
        self._trigger_flags: dict[tuple[int, str], list[str]] = {}

    # ------------------------------------------------------------------ per mention

    def mention(self, m: Mention) -> list[str]:
        key = (m.a, m.b)
        cached = self._mention_cache.get(key)
        if cached is not None:
            return cached
        doc = self.doc
        low, words = doc.low, doc.words
        a, b = m.a, m.b
        sa, sb = doc.sents[doc.sent_of[a]]
        f = [
            "ml=" + low[b - 1],
            "mf=" + low[a],
            "ms=" + mention_shape(words[a]),
            f"mn={min(b - a, 4)}",
            "mL1=" + (_norm(words[a - 1]) if a > sa else "<S>"),
            "mR1=" + (_norm(words[b]) if b < sb else "</S>"),
        ]
        if a - 2 >= sa:
            f.append(f"mL21={_norm(words[a - 2])}_{_norm(words[a - 1])}")
        if b + 1 < sb:
            f.append(f"mR12={_norm(words[b])}_{_norm(words[b + 1])}")
        if a > m.run_a:
            f.append("cutL=" + low[a - 1])
        if b < m.run_b:
            f.append("cutR=" + low[b])
        for i in range(max(sa, a - 3), a):
            for cls in doc.classes[i]:
                f.append("mLc=" + cls)
        # the name's own words in a lexical class: a date ("Monday"), a descriptor, a funding word
        for cls in sorted({cls for i in range(a, b) for cls in doc.classes[i]}):
            f.append("mc=" + cls)
        if low[a] not in self.mid_capitals:
            f.append("only_sentence_initial")
        f.append(f"lang_shape={doc.lang}_{mention_shape(words[a])}_{min(b - a, 3)}")
        if b - a == 1:
            if low[a] in self.common:
                f.append("common1")
            if low[a] in self.lowercase_words:
                f.append("lower_in_doc")
        else:
            if all(low[i] in self.common or low[i] in CONNECTORS for i in range(a, b)):
                f.append("allcommon")
            if low[b - 1] in self.alone and low[a] not in self.alone:
                f.append("last_alone")
            if low[a] in self.alone:
                f.append("first_alone")
        # a name that is a common word of the language ("Investoren", "Monday") is rarely a company's
        f.append(f"zf1={zipf_bucket(low[a], doc.lang)}")
        if b - a > 1:
            f.append(f"zfl={zipf_bucket(low[b - 1], doc.lang)}")
        if tuple(low[a:b]) in PLACES:
            f.append("place")
        elif low[a] in FIRST_NAMES and b - a >= 2:
            f.append("first_name")
        if low[b - 1] in _INVESTOR_SUFFIX:
            f.append("inv_suffix")
        if doc.in_title(a):
            f.append("in_title")
        where = "|T" if doc.in_title(a) else "|B"
        for flag in self._mention_flags(m, sa, sb):
            f.append(flag)
            f.append(flag + where)
        self._mention_cache[key] = f
        return f

    def _sentence(self, s: int) -> list[str]:
        cached = self._sentence_cache.get(s)
        if cached is None:
            cached = ["S=" + c for c in sorted(self.doc.sent_classes[s])]
            cached.append(f"si={min(s, 5)}")
            cached.append("lang=" + self.doc.lang)
            self._sentence_cache[s] = cached
        return cached

    def _trigger(self, t: Trigger, sa: int, sb: int) -> list[str]:
        """The words and classes around a trigger, and the trigger-side flags."""
        key = (t.a, t.kind)
        cached = self._trigger_cache.get(key)
        if cached is not None:
            return cached
        words, classes, kind = self.doc.words, self.doc.classes, t.kind
        f = []
        for off in (1, 2):
            if t.a - off >= sa:
                f.append(f"tL{off}={_norm(words[t.a - off])}")
            if t.b + off - 1 < sb:
                f.append(f"tR{off}={_norm(words[t.b + off - 1])}")
        context = set()
        if kind == "raise_v":
            objective = any(
                self.doc.money_at[i] is not None or "fund_n" in classes[i] or "round_t" in classes[i]
                for i in range(t.b, min(sb, t.b + 6))
            )
            context.add("RAISE_OBJ" if objective else "RAISE_NOOBJ")
        if any(self.doc.low[i] in _NEGATION for i in range(max(sa, t.a - 3), t.a)):
            context.add("NEG_BEFORE")
        for i in range(max(sa, t.a - 4), min(sb, t.b + 4)):
            for cls in classes[i]:
                f.append(f"tc={kind}_{cls}")
                if cls in _TRIGGER_CONTEXT:
                    context.add(_TRIGGER_CONTEXT[cls])
        self._trigger_cache[key] = f
        self._trigger_flags[key] = sorted(context)
        return f

    # ------------------------------------------------------------------ per pair

    def pair(self, m: Mention, t: Trigger, first_in_sentence: bool) -> tuple[list[str], ...]:
        """The features of one (mention, trigger) pair in the same sentence, in parts: the pair's own, then the
        mention's, the sentence's and the trigger's (shared by every pair of that mention, sentence or trigger,
        so a scorer can sum each shared part once)."""
        doc = self.doc
        classes = doc.classes
        a, b, ta, tb, kind = m.a, m.b, t.a, t.b, t.kind
        s = doc.sent_of[a]
        sa, sb = doc.sents[s]
        if b <= ta:
            side, lo, hi = "B", b, ta
        elif tb <= a:
            side, lo, hi = "A", tb, a
        else:
            side, lo, hi = "O", a, a
        dist = hi - lo
        bucket = 0 if dist == 0 else 1 if dist <= 2 else 2 if dist <= 5 else 3 if dist <= 10 else 4 if dist <= 20 else 5
        f = ["k=" + kind, f"kd={kind}{side}{bucket}"]
        if dist <= 12:
            seq: list[str] = []
            shown = self._shown
            for i in range(lo, hi):
                tok = shown[i]
                if not (seq and seq[-1] == tok and tok in ("N", "$")):
                    seq.append(tok)
                if classes[i]:
                    between = self._between.get((i, side))
                    if between is None:
                        between = self._between[(i, side)] = [f"bc={side}{cls}" for cls in classes[i]]
                    f.extend(between)
            if len(seq) <= 6:
                f.append(f"btw={kind}{side}:{' '.join(seq)}")
            cut = max((k for k, x in enumerate(seq) if x in _PUNCT), default=-1)
            if cut >= 0:
                f.append("pb")
                if len(seq) - cut <= 5:
                    f.append(f"skel={kind}{side}:{seq[0]}|{' '.join(seq[cut + 1 :])}")
            f.append(f"nn={side}{min(seq.count('N'), 2)}")
        else:
            f.append("far")
            f.append(f"nn={side}{min(sum(1 for i in range(lo, min(hi, lo + 40)) if i in self.name_tokens), 2)}")
        trigger = self._trigger(t, sa, sb)
        if first_in_sentence:
            f.append("first")
        if doc.in_title(a):
            f.append("T")
            f.append(f"T{kind}{side}")
        flags = self._flags(m, t, side, lo, hi, sa, sb)
        where = "|T" if doc.in_title(a) else "|B"
        for flag in flags:
            f.append(flag)
            f.append(flag + where)
        return f, self.mention(m), self._sentence(s), trigger

    def _flags(self, m: Mention, t: Trigger, side: str, lo: int, hi: int, sa: int, sb: int) -> list[str]:
        """Structural rule pieces as features (module docstring)."""
        doc = self.doc
        low, words, classes = doc.low, doc.words, doc.classes
        a, b, ta, tb, kind = m.a, m.b, t.a, t.b, t.kind
        out = []
        if side == "B":
            subject = self._subject(b, ta)
            if subject:
                out += ["SUBJ", "SUBJ_" + kind]
                if subject == 2:
                    out.append("SUBJ_APP")
            if b < sb and words[b] == "'s" and ta - b <= 5:
                out.append("POSS_" + kind)
            if b < sb and words[b] in ("(", ":", "-") and ta - b <= 3 and kind == "money":
                out.append("PAREN")
        elif side == "A":
            j = tb
            while (
                j < a
                and j - tb < 6
                and (
                    doc.money_at[j] is not None
                    or "round_t" in classes[j]
                    or "fund_n" in classes[j]
                    or low[j] in ("a", "an", "the", "new", "its", "round", "funding")
                )
            ):
                j += 1
            if j < a and low[j] in _OBJ_PREP:
                k = j + 1
                while (
                    k < a
                    and k - j < 6
                    and ("desc" in classes[k] or low[k] in ("the", "a", "an", "its") or words[k][0].islower())
                ):
                    k += 1
                if k == a:
                    out += ["OBJ", "OBJ_" + kind]
            if kind == "raise_v" and a - tb <= 3 and any(low[i] in _PASSIVE_BY for i in range(tb, a)):
                out.append("PASSIVE_BY")
        for i in range(lo, min(hi, lo + 30)):
            if low[i] in _REL:
                out.append("REL_BTW")
            if "hist" in classes[i]:
                out.append("HIST_BTW")
            if "acq" in classes[i]:
                out.append("ACQ_BTW")
        out.extend(self._trigger_flags[(ta, kind)])
        if ta > sa and low[ta - 1] in _HAD:
            out.append("HAD")
        return out

    def _mention_flags(self, m: Mention, sa: int, sb: int) -> list[str]:
        """The flags that depend on the name alone: investor, person and media contexts."""
        doc = self.doc
        low, classes = doc.low, doc.classes
        a, b = m.a, m.b
        out = []
        for i in range(max(sa, a - 4), a):
            if "led" in classes[i]:
                out.append("INV_LED")
            if low[i] in _FROM:
                out.append("INV_FROM")
            if "partic" in classes[i]:
                out.append("INV_PARTIC")
        j, hops = a - 1, 0
        while j >= sa and hops < 25 and (low[j] in _LIST_GLUE or doc.name_like[j]):
            j -= 1
            hops += 1
        if j >= sa and hops and ("led" in classes[j] or "partic" in classes[j] or low[j] in _FROM):
            out.append("INV_LIST")
        for i in (*range(max(sa, a - 2), a), *range(b, min(sb, b + 3))):
            if "person" in classes[i]:
                out.append("PERSON_CTX")
            if "media" in classes[i]:
                out.append("MEDIA_CTX")
        return out

    def _subject(self, b: int, ta: int) -> int:
        """1 when only auxiliaries and adverbs stand between the name and the trigger ("Acme has raised"), 2 when
        an appositive comes first ("Acme, a Berlin startup, has raised"), else 0."""
        words, low, aux = self.doc.words, self.doc.low, self.aux
        i, appositive = b, 0
        if i < ta and words[i] in _OPEN_CLOSE:
            close = _OPEN_CLOSE[words[i]]
            j = i + 1
            while j < ta and j - i < 45 and words[j] != close:
                j += 1
            if j >= ta:
                return 0
            i, appositive = j + 1, 1
        while i < ta and low[i] in aux:
            i += 1
        return (2 if appositive else 1) if i == ta else 0


_TRIGGER_CONTEXT = {
    "hist": "HIST_T",
    "neg": "NEG_T",
    "rumor": "RUMOR_T",
    "valuation": "VAL_T",
    "fund": "FUND_T",
    "revenue": "REV_T",
    "total": "TOTAL_T",
    "acq": "ACQ_T",
    "ipo": "IPO_T",
}
