"""The detector's stages on their own: candidate names (descriptors cut or kept), the lexical classes a name's
features carry, the article model that tells announcements from reviews, and where backers are read."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.funding.article import article_features
from pipelines.funding.candidates import Mention, mentions
from pipelines.funding.detector import sentences_after
from pipelines.funding.features import PairFeatures
from pipelines.funding.investors import Backer, share_list_roles
from pipelines.funding.lexicon import LANGUAGES, STOPWORDS, zipf_bucket
from pipelines.funding.model import load_model
from pipelines.funding.text import Doc


def names(text: str, title: str | None = None) -> list[str]:
    doc = Doc(text, title, None)
    return [doc.span_text(m.a, m.b) for m in mentions(doc)]


def name_features(text: str, name: str) -> list[str]:
    """The pair features a candidate name carries on its own (it must be a candidate of ``text``)."""
    doc = Doc(text, None, None)
    found = [m for m in mentions(doc) if doc.span_text(m.a, m.b) == name]
    assert found, f"{name!r} is no candidate name"
    return PairFeatures(doc, found, frozenset()).mention(found[0])


@pytest.mark.parametrize(
    ("text", "name", "not_name"),
    [
        # German compound descriptors ("payment service", "video-streaming start-up") are not part of the name
        (
            "Der österreichische Bezahldienst Bluecode hat 11,2 Millionen Euro von Investoren erhalten.",
            "Bluecode",
            "Bezahldienst Bluecode",
        ),
        (
            "Das Kärntner Videostreaming-Start-up Bitmovin sammelt 25 Millionen Euro bei Investoren ein.",
            "Bitmovin",
            "Videostreaming-Start-up Bitmovin",
        ),
        # a capitalised descriptor that ends the name is part of it
        ("Oslo's The Future Group, a social platform, has raised $20 million in a Series C.", "Future Group", "Future"),
        ("Starling Bank has raised £50 million from existing investors.", "Starling Bank", "Starling"),
        # the first words of a place before "-based" are the place's, a legal form alone is no name
        ("Puerto Rico-based startup Tea announced that it has raised $8 million.", "Tea", "Puerto"),
        ("Wugen, Inc., a clinical-stage company, raised $172 million in a Series B.", "Wugen", "Inc"),
        # a lower-case descriptor before the name is not
        ("The fintech startup Sequence has secured $7.5 million in funding.", "Sequence", "fintech startup Sequence"),
    ],
)
def test_descriptors_are_cut_from_names_unless_they_end_them(text: str, name: str, not_name: str) -> None:
    found = names(text)
    assert name in found
    assert not_name not in found


@pytest.mark.parametrize(
    "text",
    [
        "Das Startup hat 5 Millionen Euro eingesammelt.",
        "Das Unternehmen hat 5 Millionen Euro von Creandum erhalten.",
        "The Company has raised $5 million from Index Ventures.",
        "Das Münchner Startup hat 5 Millionen Euro eingesammelt.",
    ],
)
def test_a_descriptor_alone_or_after_an_adjective_is_no_name(text: str) -> None:
    found = names(text)
    assert not any(n.split()[-1].lower() in ("startup", "unternehmen", "company") for n in found), found


def test_a_legal_form_is_a_name_unless_it_trails_one() -> None:
    assert "SAS" in names("SAS raised $5 million from Index Ventures.")
    assert "Inc" not in names("Wugen, Inc. raised $5 million from Index Ventures.")


def test_a_compound_head_is_only_cut_in_a_compounding_language() -> None:
    # "Commerzbank" ends in a descriptor ("bank") too short to be a compound's head
    assert "Commerzbank" in names("Die Commerzbank hat dem Unternehmen 20 Millionen Euro geliehen.")
    # English does not compound: a name ending in a descriptor's letters stays whole
    assert "Paymentservice" in names("The Dutch firm Paymentservice raised $5 million from Index Ventures.")


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Monday raised $120 million in a Series E round.", "Monday"),
        ("Im Herbst sammelte das Unternehmen 10 Millionen Euro ein.", "Herbst"),
        ("Lundi, la start-up Acme a levé 5 millions d'euros.", "Lundi"),
    ],
)
def test_a_date_word_as_a_name_carries_its_class_as_a_feature(text: str, word: str) -> None:
    assert "mc=date" in name_features(text, word)


@pytest.mark.parametrize(
    ("text", "word", "common"),
    [
        ("Der Bezahldienst Bluecode hat von Investoren 11 Millionen Euro erhalten.", "Investoren", True),
        ("Der Bezahldienst Bluecode hat von Investoren 11 Millionen Euro erhalten.", "Bluecode", False),
        ("Monday raised $120 million in a Series E round.", "Monday", True),
        ("Apeel Sciences raised $250 million in a Series E round.", "Apeel Sciences", False),
    ],
)
def test_how_common_a_name_is_in_its_language_is_a_feature(text: str, word: str, common: bool) -> None:
    features = name_features(text, word)
    bucket = int(next(f for f in features if f.startswith("zf1="))[4:])
    assert (bucket >= 3) == common  # Zipf 3: about once in a million words
    if len(word.split()) > 1:  # and the last word of a longer name: "Sciences" is common
        assert int(next(f for f in features if f.startswith("zfl="))[4:]) >= 3
    assert zipf_bucket("investoren", "de") > zipf_bucket("investoren", "en")  # in the text's language


def test_article_features_read_the_headline_and_the_lead() -> None:
    doc = Doc("Acme, a Berlin startup, has raised $5 million in a seed round led by Index Ventures.", "Acme raises $5M")
    features = article_features(doc)
    assert "t=raises" in features and "l=seed" in features
    assert "money=2" in features and "has_title" in features  # the headline's sum and the body's
    assert article_features(Doc("", None, None))  # an empty text still has its make-up features


def test_the_article_model_ranks_announcements_above_texts_without_a_round(shared: Path) -> None:
    """On the check split (never trained on): a text that announces a round scores above one that does not, for
    most pairs of such texts (the area under the ROC curve)."""
    from pipelines.evaluation import load_labels

    model = load_model()
    items = load_labels(shared / "corpus" / "labels-dev2.jsonl", split="check")
    scored = [(model.article.score(article_features(Doc(i.text, i.title, i.published))), bool(i.gold)) for i in items]
    positives = [s for s, y in scored if y]
    negatives = [s for s, y in scored if not y]
    assert len(positives) > 50 and len(negatives) > 20
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    assert wins / (len(positives) * len(negatives)) >= 0.75


@pytest.mark.parametrize(
    "text",
    [
        "Meditopia hat 15 Millionen Dollar von Creandum und Highlands Europe erhalten.",
        "La start-up a levé 5 millions d'euros auprès de Creandum et Highlands Europe.",
        "La startup ha captado 5 millones de euros de Creandum y Highlands Europe.",
    ],
)
def test_and_in_any_language_separates_two_names(text: str) -> None:
    found = names(text)
    assert "Creandum" in found and "Highlands Europe" in found


@pytest.mark.parametrize("name", ["Procter & Gamble", "Bank of America", "Caisse des Dépôts"])
def test_connectors_inside_a_name_keep_it_whole(name: str) -> None:
    assert name in names(f"The startup raised $5 million from {name} and Index Ventures.")


def test_a_company_named_two_ways_is_one_round_told_by_the_sentences_of_both() -> None:
    from pipelines.funding import detect_rounds

    text = (
        "Jinyang Technology raised $40 million in its latest round led by Xiaomi Inc.\n"
        "Xiaomi Inc and Yunfeng Capital have co-led a $40 million Series B+ round in online content publisher "
        "Beijing Jinyang Technology."
    )
    (r,) = detect_rounds(text)
    assert r["company"] in ("Jinyang Technology", "Beijing Jinyang Technology")
    assert (r["amount"], r["round"]) == (40_000_000, "series_b")  # the round type is named by the second spelling
    assert sorted(r["lead_investors"]) == ["Xiaomi Inc", "Yunfeng Capital"]


def test_a_one_story_article_still_reads_its_company_under_both_names() -> None:
    from pipelines.funding import detect_rounds

    text = (
        "Jinyang Technology raised $40 million in its latest round led by Xiaomi Inc.\n"
        "Xiaomi Inc and Yunfeng Capital have co-led a $40 million Series B+ round in online content publisher "
        "Beijing Jinyang Technology.\n"
        "Separately, Acme Robotics raised a $3 million seed round from Sequoia."
    )
    rounds = detect_rounds(text, "Jinyang Technology raises $40 million")
    jinyang = [r for r in rounds if "Jinyang" in r["company"]]
    assert len(jinyang) == 1
    assert jinyang[0]["round"] == "series_b"
    assert sorted(jinyang[0]["lead_investors"]) == ["Xiaomi Inc", "Yunfeng Capital"]
    assert all("Xiaomi Inc" not in r["investors"] for r in rounds if r is not jinyang[0])


def _backer(doc: Doc, name: str, investor: float, lead: float = 0.0) -> Backer:
    start = doc.words.index(name.split()[0])
    mention = Mention(start, start + len(name.split()), start, start + len(name.split()))
    return Backer(mention, name, lead, investor)


def test_names_of_one_list_share_the_investor_role() -> None:
    doc = Doc(
        "Backing came from investors including MMC Ventures, Northzone and Seedcamp, with offices in Vietnam and "
        "Thailand, and Index Ventures. Acme also met Foo Capital.",
        None,
        None,
    )
    mmc, northzone, seedcamp = (
        _backer(doc, "MMC Ventures", 0.9),
        _backer(doc, "Northzone", 0.2),
        _backer(doc, "Seedcamp", 0.0),
    )
    vietnam, thailand = _backer(doc, "Vietnam", 0.8), _backer(doc, "Thailand", 0.1)
    index, foo = _backer(doc, "Index Ventures", 0.2), _backer(doc, "Foo Capital", 0.2)
    share_list_roles(doc, [seedcamp, foo, thailand, index, vietnam, northzone, mmc], lead_t=0.5, inv_t=0.4)
    assert northzone.investor == 0.4  # raised to the threshold by its list
    assert seedcamp.investor == 0.0  # a name the rules ruled out stays out
    assert thailand.investor == 0.1  # a place neither takes the role from its list ...
    assert index.investor == 0.2  # ... nor gives it (Vietnam is listed with Index Ventures)
    assert foo.investor == 0.2  # another sentence's name is in no list with them
    assert mmc.investor == 0.9


def test_a_list_ends_with_its_sentence() -> None:
    doc = Doc("The round came from Accel,\nFoo Capital met them later.", None, None)
    accel, foo = _backer(doc, "Accel", 0.9), _backer(doc, "Foo Capital", 0.2)
    assert doc.sent_of[accel.mention.a] != doc.sent_of[foo.mention.a]
    share_list_roles(doc, [accel, foo], lead_t=0.5, inv_t=0.4)
    assert foo.investor == 0.2  # only a comma between them, but a line break ends the sentence


def test_a_list_of_names_none_of_them_investors_stays_out() -> None:
    doc = Doc("Acme competes with Foo, Bar and Baz.", None, None)
    backers = [_backer(doc, n, 0.3) for n in ("Foo", "Bar", "Baz")]
    share_list_roles(doc, backers, lead_t=0.5, inv_t=0.4)
    assert [b.investor for b in backers] == [0.3, 0.3, 0.3]


def test_the_sentence_after_one_that_states_a_round_is_read_for_its_backers() -> None:
    doc = Doc(
        "Orbitly closed $40 million. Led by Accel and Index Ventures, the round is large.\n\n"
        "Beta hired a CEO. Gamma raised $5 million.",
        None,
        None,
    )
    assert len(doc.sents) == 4 and doc.para_of == [0, 0, 1, 1]
    assert sentences_after(doc, {0}, {0}) == {1}
    assert sentences_after(doc, {0}, {0, 1}) == set()  # the next sentence states another round
    assert sentences_after(doc, {1}, {1}) == set()  # the next sentence opens another paragraph
    assert sentences_after(doc, {3}, {3}) == set()  # the last sentence has none after it


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_word_frequencies(lang: str) -> None:
    # a language without a list would read every word as unknown: its function words are among the commonest
    assert max(zipf_bucket(w, lang) for w in STOPWORDS[lang]) >= 6


def test_a_language_without_a_word_list_reads_every_word_as_unknown(caplog: pytest.LogCaptureFixture) -> None:
    from pipelines.funding.lexicon import _zipf_table

    assert _zipf_table("tlh") == {}  # Klingon: wordfreq has no list, the feature reads 0
    assert "no word frequencies for language 'tlh'" in caplog.text
