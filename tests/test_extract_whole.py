"""Issue 20: extraction beyond trafilatura's generic search, on real corpus pages and pages built from them:
whole bodies (split containers, repeated blocks), script-only pages, bylines without organisations, titles of
several elements, and per-site recipes for the seeded sources."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.utils import load_html

from crawler.seeds import load_seeds, selector_xpath
from pipelines.body import main_text
from pipelines.bylines import split_byline
from pipelines.evaluation import text_f1
from pipelines.extract import extract_article
from pipelines.urls import same_site


def _gold(shared: Path) -> dict[str, dict]:
    entries = json.loads((shared / "corpus" / "text" / "zyte-ground-truth-subset.json").read_text())
    return {key.removeprefix("html/"): entry for key, entry in entries.items()}


def _labels(shared: Path) -> dict[str, dict]:
    lines = (shared / "corpus" / "pages.jsonl").read_text().splitlines()
    return {label["file"]: label for label in map(json.loads, lines)}


def _page(shared: Path, name: str) -> str:
    return (shared / "corpus" / name).read_bytes().decode("utf-8", "replace")


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


# Whole bodies ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["wired/future-of-banking-2019.html", "wired/instagram-business-analytics-2019.html"])
def test_a_body_split_into_several_containers_comes_out_whole(shared: Path, name: str) -> None:
    """Condé Nast pages hold an article in one `body__container` per section, an ad rail between them: the
    generic search stops after the first (recall under 0.5); its sibling containers are recovered."""
    entry = _gold(shared)[name]
    text = extract_article(_page(shared, f"pages/{name}"), entry["url"]).text
    assert text_f1(entry["articleBody"], text) > 0.95
    last_sentence = entry["articleBody"].strip().split("\n")[-1].strip()[:60]
    assert last_sentence in text


def test_an_article_cut_by_an_ad_row_keeps_its_second_half_in_page_order(shared: Path) -> None:
    """A real article (VentureBeat's, with its gold text) rebuilt as two containers of one class, each in a
    grid row of its own, with a row of ads and related links between them, as many sites lay out a long story."""
    entry = _gold(shared)["venturebeat/wework-ny-attorney-general-investigation.html"]
    tree = lxml_html.document_fromstring(
        _page(shared, "pages/venturebeat/wework-ny-attorney-general-investigation.html")
    )
    body = tree.xpath("//div[@class='article-content']")[0]
    paragraphs = [child for child in body if child.tag == "p"]
    second = etree.Element("div", {"class": "article-content"})
    for paragraph in paragraphs[len(paragraphs) // 2 :]:
        second.append(paragraph)  # moves it
    ad_row = lxml_html.fragment_fromstring(
        '<div class="ad-row"><a href="/sponsored/1">Sponsored: cloud storage deals</a> '
        '<a href="/related/2">Related: WeWork files for IPO</a> <a href="/related/3">Related: Adam Neumann</a></div>'
    )
    rows = [etree.Element("div", {"class": "grid-row"}) for _ in range(2)]
    body.addprevious(rows[0])
    rows[0].append(body)  # moves it
    rows[0].addnext(ad_row)
    ad_row.addnext(rows[1])
    rows[1].append(second)
    html = lxml_html.tostring(tree, encoding="unicode")

    text = extract_article(html, entry["url"]).text
    lines = _lines(text)
    wanted = [" ".join(p.text_content().split()) for p in paragraphs if p.text_content().strip()]
    assert [line for line in lines if line in wanted] == wanted  # every paragraph, in the page's order
    assert not any("Sponsored" in line or "Related:" in line for line in lines)
    assert text_f1(entry["articleBody"], text) > 0.95


def test_a_page_that_holds_its_text_three_times_yields_it_once(shared: Path) -> None:
    """Business Insider's newsletter page repeats its body (text ≈3.5× the gold): each block comes out once."""
    entry = _gold(shared)["businessinsider/10-things-in-tech-2019-11-19.html"]
    text = extract_article(_page(shared, "pages/businessinsider/10-things-in-tech-2019-11-19.html"), entry["url"]).text
    long_lines = [line for line in _lines(text) if len(line) >= 30]
    assert len(long_lines) == len(set(long_lines))
    assert text_f1(entry["articleBody"], text) > 0.95


def test_main_text_reaches_the_gold_pages_mean_and_no_page_falls_below_the_generic_search(shared: Path) -> None:
    """Issue 20, acceptance 2: on the 23 gold pages the mean text F1 is at least 0.911 (the generic search's,
    trafilatura with comments off, as before this issue) and no page scores below what that search scores."""
    ours, generic = [], []
    for name, entry in _gold(shared).items():
        html = _page(shared, f"pages/{name}")
        ours.append(text_f1(entry["articleBody"], extract_article(html, entry["url"]).text))
        doc = trafilatura.bare_extraction(
            load_html(html), url=entry["url"], with_metadata=False, include_comments=False, include_tables=True
        )
        generic.append(text_f1(entry["articleBody"], doc.text if doc else ""))
        assert ours[-1] >= generic[-1] - 1e-9, (name, ours[-1], generic[-1])
    assert len(ours) == 23
    assert sum(generic) / 23 >= 0.91  # the baseline is what it was measured to be
    assert sum(ours) / 23 >= 0.95 > sum(generic) / 23


# Script-only pages --------------------------------------------------------------------------------------------


def _script_only(html: str) -> str:
    """The page with every element of its <body> removed but scripts: what a browser-rendered app serves."""
    tree = lxml_html.document_fromstring(html)
    body = tree.find("body")
    for child in list(body):
        if child.tag != "script":
            body.remove(child)
    assert not tree.xpath("//body//p")
    return lxml_html.tostring(tree, encoding="unicode")


def test_a_script_only_page_takes_its_text_from_json_ld_and_keeps_title_and_date(shared: Path) -> None:
    name = "pages/latimes/gannett-gatehouse-merger-2019.html"
    label, entry = _labels(shared)[name], _gold(shared)[name.removeprefix("pages/")]
    article = extract_article(_script_only(_page(shared, name)), label["url"])
    whole = extract_article(_page(shared, name), label["url"])
    assert text_f1(entry["articleBody"], article.text) > 0.9
    assert (article.title, article.published) == (whole.title, whole.published)
    assert article.title == label["title"]
    assert abs(article.published - dt.date.fromisoformat(label["published"])) <= dt.timedelta(days=1)  # UTC


def test_a_next_js_page_takes_its_text_from_the_article_object_of_next_data(shared: Path) -> None:
    """A real Next.js page (Eurosport): its article's text fields, not the payload's other strings."""
    html = _page(shared, "bench/144-eurosport-de-corona.html")
    url = "https://www.eurosport.de/olympische-spiele/corona.html"
    whole = extract_article(html, url)
    stripped = extract_article(_script_only(html), url)
    assert text_f1(whole.text, stripped.text) > 0.8
    assert (stripped.title, stripped.published) == (whole.title, whole.published)
    assert stripped.title and stripped.published


def test_a_page_with_no_text_anywhere_is_still_skipped() -> None:
    page = '<html><head><title>Nothing</title><script id="__NEXT_DATA__">{"props": {"title": "x"}}</script></head>'
    with pytest.raises(Exception, match="no_text"):
        extract_article(page + "<body><div></div></body></html>", "https://example.com/a/")


# Bylines ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "author", "credit"),
    [
        ("pages/wired/future-of-banking-2019.html", "Molly Wood", "Condé Nast"),  # meta author = copyright holder
        ("pages/businessinsider/10-things-in-tech-2019-11-19.html", "Charlie Wood", "Business Insider"),  # the site
        ("pages/yahoo/steve-jobs-resigning-ceo-2011.html", "JORDAN ROBERTSON; RACHEL METZ", "AP"),  # an agency
        ("pages/venturebeat/wework-ny-attorney-general-investigation.html", None, "Reuters"),
        ("pages/therealdeal/wework-layoffs-2019.html", "David Jeans; Kevin Rebong", None),  # slug "Kevin-R" gone
        ("pages/eweek/microsoft-hackerrank-bing-search-tool-2016.html", "Darryl K. Taft", None),  # the initial's dot
        ("pages/techmonitor/us-ai-safety-institute-consortium-2024.html", "Greg Noone", "Tech Monitor"),
        ("bench/198-ihrwebprofi-at-publikumsvoting.html", "Harm, Robert", None),  # DC.creator "Harm, Robert"
        ("bench/182-hausinfo-ch-kondenswasser.html", None, "hausinfo"),  # "Artikel von hausinfo": a role label
        ("bench/153-finanztip-de-altersvorsorge.html", "Sara Zinnecker", None),  # "… Stand" was a date's label
    ],
)
def test_a_byline_keeps_people_and_credits_organisations(
    shared: Path, name: str, author: str | None, credit: str | None
) -> None:
    url = _labels(shared).get(name, {}).get("url") or (shared / "corpus" / name).as_uri()
    article = extract_article(_page(shared, name), url)
    assert (article.author, article.credit) == (author, credit)


def test_byline_rules_on_their_own() -> None:
    assert split_byline("Sophie Foster; Sophie-Foster") == ("Sophie Foster", None)
    assert split_byline("Autor Max Muster; dpa") == ("Max Muster", "dpa")
    assert split_byline("Admin") == (None, None)
    assert split_byline("Jane Doe; Example Media GmbH") == ("Jane Doe", "Example Media GmbH")
    assert split_byline("Jane Doe; The Example Times", ["The Example Times"]) == ("Jane Doe", "The Example Times")
    assert split_byline("Doe; Jane", declared=["Doe, Jane"]) == ("Doe, Jane", None)
    assert split_byline("Doe; Jane") == ("Doe; Jane", None)  # two people, as far as anyone can tell
    assert split_byline("T C Sottek") == ("T. C. Sottek", None)
    assert split_byline(None) == (None, None)
    # names that only look like labels or organisations stay people
    for name in ("A.G. Sulzberger", "Emily Post", "Eyal Press", "Shobhaa De", "Story Hinckley", "Di Wu", "Ji-won Um"):
        assert split_byline(name) == (name, None)
    assert split_byline("Text: Jane Doe") == ("Jane Doe", None)
    # a copyright holder is credited beside another name, and is the author of a blog of their own
    assert split_byline("Condé Nast; Molly Wood", holders=["Condé Nast"]) == ("Molly Wood", "Condé Nast")
    assert split_byline("Jane Doe", holders=["Jane Doe"]) == ("Jane Doe", None)


# Titles -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "title"),
    [  # a kicker in its own element of the <h1>: set off by a space, as the page shows it
        (
            "109-deutschlandfunk-de-titanic.html",
            'Die Zukunft der Arbeit "Wir dekorieren auf der Titanic die Liegestühle um"',
        ),
        ("344-swim-de-ga2.html", "Einheit der Woche Lagen-Pyramide mit GA2"),
        # a dash inside the headline, no site name after it: every word stays
        (
            "237-limespace-de-entloeten.html",
            "Professionell entlöten – so machen Sie alte Elektrogeräte wieder einsatzbereit",
        ),
    ],
)
def test_a_headline_of_several_elements_reads_with_spaces(shared: Path, page: str, title: str) -> None:
    path = shared / "corpus" / "bench" / page
    assert extract_article(_page(shared, f"bench/{page}"), path.as_uri()).title == title


# Per-site recipes -------------------------------------------------------------------------------------------------


def _seeded_pages(shared: Path) -> list[tuple[str, str, object]]:
    seeds = load_seeds()
    found = []
    for name, label in _labels(shared).items():
        seed = next((s for s in seeds.values() if same_site(label["url"], s.allowed_domains)), None)
        if seed is not None:
            found.append((name, label["url"], seed))
    return found


def test_every_seeded_source_with_recorded_pages_has_a_text_recipe(shared: Path) -> None:
    pages = _seeded_pages(shared)
    sources = {seed.name for _, _, seed in pages}
    assert {"venturebeat", "techcrunch", "axios", "siliconangle", "globenewswire", "prnewswire"} <= sources
    assert all("text" in dict(seed.selectors) for _, _, seed in pages), sources


def test_recipes_read_the_same_article_as_the_generic_search(shared: Path) -> None:
    """Each recorded page of a seeded site: the recipe matches (it is used, not the search), and its text is
    the generic search's article (token F1 ≥ 0.8; the recipe keeps no boilerplate the search dropped)."""
    checked = 0
    for name, url, seed in _seeded_pages(shared):
        tree = load_html(_page(shared, name))
        recipe = dict(seed.selectors)["text"]
        text, how = main_text(tree, url, recipe)
        generic, _ = main_text(tree, url)
        assert how == "recipe", name
        assert text_f1(generic, text) >= 0.8, (name, text_f1(generic, text))
        checked += 1
    assert checked >= 20


def test_a_recipe_that_finds_much_less_than_the_page_holds_gives_way_to_the_search(shared: Path) -> None:
    """A redesign that leaves the recipe pointing at the first paragraph only: the search reads the page."""
    name = "pages/venturebeat/wework-ny-attorney-general-investigation.html"
    tree = load_html(_page(shared, name))
    first_only = selector_xpath("css:div.article-content > p:first-of-type")
    text, how = main_text(copy.deepcopy(tree), "https://venturebeat.com/x/", first_only)
    assert how == "search" and len(text) > 3000
