"""The thin Scrapy pipelines, driven through a real crawler's settings and stats."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import PageItem
from crawler.pipelines import DetectPipeline, ExtractPipeline, PersistPipeline
from storage import list_articles, list_rounds

DEMO_PAGE = (
    Path(__file__).resolve().parent.parent / "demo/site/2023/05/23/anthropic-raises-450-million-series-c/index.html"
)


def item(html: str, since: dt.date | None = None) -> PageItem:
    return PageItem(
        source="demo",
        source_title="The Demo Ledger",
        url="https://demo.newsmon.example/2023/05/23/anthropic-raises-450-million-series-c/",
        html=html,
        language="en",
        since=since,
    )


def test_a_page_goes_through_extract_detect_persist(tmp_path: Path) -> None:
    crawler = get_crawler(settings_dict={"NEWSMON_DB_URL": f"sqlite:///{tmp_path / 'p.db'}"})
    crawler.stats.open_spider()
    extract, detect, persist = (cls.from_crawler(crawler) for cls in (ExtractPipeline, DetectPipeline, PersistPipeline))
    persist.open_spider()
    extracted = asyncio.run(extract.process_item(item(DEMO_PAGE.read_text())))
    page = persist.process_item(asyncio.run(detect.process_item(extracted)))
    assert page.html == ""  # not carried past extraction
    assert [r["company"] for r in page.rounds] == ["Anthropic"]
    stats = crawler.stats.get_stats()
    assert stats["newsmon/extract/ok"] == 1
    assert stats["newsmon/extract/date_source/jsonld"] == 1
    assert stats["newsmon/detect/rounds"] == 1
    assert stats["newsmon/persist/articles_new"] == 1
    assert stats["newsmon/persist/rounds_new"] == 1
    url = crawler.settings["NEWSMON_DB_URL"]
    assert [a.title for a in list_articles(url)] == ["Anthropic raises $450 million in Series C led by Spark Capital"]
    assert list_rounds(url)[0].amount == 450e6


@pytest.mark.parametrize(
    ("html", "since", "stat"),
    [
        ("<html><body><p>Nothing here.</p></body></html>", None, "newsmon/extract/no_text"),
        ("", None, "newsmon/extract/empty"),
        (DEMO_PAGE.read_text(), dt.date(2024, 1, 1), "newsmon/extract/too_old"),
    ],
)
def test_pages_without_an_article_are_dropped_with_a_stat(html: str, since: dt.date | None, stat: str) -> None:
    crawler = get_crawler()
    crawler.stats.open_spider()
    with pytest.raises(DropItem):
        asyncio.run(ExtractPipeline.from_crawler(crawler).process_item(item(html, since)))
    assert crawler.stats.get_value(stat) == 1


def test_the_crawl_and_the_command_line_read_a_page_alike(shared: Path) -> None:
    """One article path: the crawl's Extract and Detect stages and `process_page` (extract, ingest) give the seed
    page the same article and rounds; `read_saved_page` reads it as the crawl decodes it."""
    from pipelines.page import process_page, read_saved_page
    from tests.support.sitebuilder import SEED_URL

    html = read_saved_page(shared / "seed" / "venturebeat-hugging-face-235m.html")
    crawler = get_crawler()
    crawler.stats.open_spider()
    page = PageItem(source="venturebeat", source_title="VentureBeat", url=SEED_URL, html=html, language="en")
    extracted = asyncio.run(ExtractPipeline.from_crawler(crawler).process_item(page))
    staged = asyncio.run(DetectPipeline.from_crawler(crawler).process_item(extracted))
    article, rounds = process_page(html, SEED_URL, default_language="en", site_name="VentureBeat")
    assert staged.article == article and staged.rounds == rounds
    assert [(r["company"], r["amount"], r["valuation"]) for r in rounds] == [("Hugging Face", 235e6, 4e9)]
