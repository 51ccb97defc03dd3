"""Every source in seeds/: its entry points replayed through a real `scrapy crawl`, and the articles it picks.

Each source's site is its real entry-point URLs (robots.txt, feeds) answering with listings. Where the shared
corpus has the site's own feed (TechCrunch) or article pages (SiliconANGLE, PR Newswire, GlobeNewswire), those
recordings are served in place; otherwise the listings are small fixtures written here in the site's real URL
shapes, mixing article URLs with the section, tag, video and off-site links real feeds carry. The test asserts
that exactly the article URLs were fetched and stored, each once.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

from crawler.discovery import follows_sitemap, is_article_url
from crawler.replay import RecordedPage
from crawler.seeds import DEFAULT_SEEDS_DIR, load_seeds
from pipelines.urls import canonical_url
from tests.support.crawling import SHARED, crawl
from tests.support.httpsite import Page, Site, serve
from tests.support.sitebuilder import Entry, article_page, corpus_entries, news_sitemap, rss, sitemap_index

pytestmark = pytest.mark.slow

SOURCES = load_seeds(DEFAULT_SEEDS_DIR)


@dataclass(frozen=True)
class SiteFixture:
    """What a source's listings hold, in the site's real shapes: article URLs it must fetch, links it must leave
    alone, and the sitemaps that lead to them."""

    # the sitemaps down to a urlset that lists an article: the first is named by robots.txt (or by the seed's
    # `sitemaps`), each other one is a child of the index before it (query strings and all); none where no
    # sitemap of the site is attested
    sitemaps: tuple[str, ...]
    ignored_sitemap: str  # named in robots.txt and in the first index: the seed must not read it
    articles: tuple[str, ...]
    not_articles: tuple[str, ...]
    corpus_site: str | None = None  # serve these labelled corpus pages too (they are listed in the feed)
    corpus_feed: str | None = None  # the first feed is this real recorded feed
    old_sitemap: str | None = None  # a child of the first index whose URL dates it before the window: not read


FIXTURES: dict[str, SiteFixture] = {
    "venturebeat": SiteFixture(
        # an index of daily sitemaps named by a query string
        ("https://venturebeat.com/sitemap.xml", "https://venturebeat.com/sitemap.xml?yyyy=2024&mm=05&dd=14"),
        "https://venturebeat.com/image-sitemap.xml",
        ("https://venturebeat.com/ai/acme-robotics-raises-40m-series-b/",),
        (
            "https://venturebeat.com/category/ai/",
            "https://venturebeat.com/author/jane-doe/",
            "https://venturebeat.com/company/hugging-face/",
            "https://venturebeat.com/person/jane-doe/",
            "https://venturebeat.com/advertise/newsletters/",
            "https://venturebeat.com/ai/feed/",
        ),
        corpus_site="venturebeat",
        old_sitemap="https://venturebeat.com/sitemap.xml?yyyy=1999&mm=12&dd=31",
    ),
    "techcrunch": SiteFixture(
        ("https://techcrunch.com/news-sitemap.xml",),
        "https://techcrunch.com/category-sitemap.xml",
        ("https://techcrunch.com/2023/08/16/acme-robotics-raises-40m-series-b/",),
        ("https://techcrunch.com/category/venture/", "https://techcrunch.com/video/acme-robotics-demo/"),
        corpus_feed="feeds/techcrunch-feed-2023-08-16.xml",
    ),
    "siliconangle": SiteFixture(
        ("https://siliconangle.com/news-sitemap.xml",),
        "https://siliconangle.com/author-sitemap.xml",
        ("https://siliconangle.com/2024/05/14/acme-data-raises-25m-series-a/",),
        ("https://siliconangle.com/category/cloud/", "https://siliconangle.com/tag/funding/"),
        corpus_site="siliconangle",
    ),
    "geekwire": SiteFixture(
        # robots.txt names sitemap-index-1.xml, an index of numbered sitemaps and sitemap-misc.xml
        ("https://www.geekwire.com/sitemap-index-1.xml", "https://www.geekwire.com/sitemap-54.xml"),
        "https://www.geekwire.com/sitemap-misc.xml",
        ("https://www.geekwire.com/2024/seattle-startup-acme-raises-12m/",),
        ("https://www.geekwire.com/fundings/", "https://www.geekwire.com/events/geekwire-summit/"),
    ),
    "crunchbase_news": SiteFixture(
        ("https://news.crunchbase.com/news-sitemap.xml",),
        "https://news.crunchbase.com/category-sitemap.xml",
        (
            "https://news.crunchbase.com/venture/biggest-funding-rounds-week-acme/",
            "https://news.crunchbase.com/ai/acme-ai-series-c-funding/",
        ),
        (
            "https://news.crunchbase.com/sections/venture/",
            "https://news.crunchbase.com/tag/ai/",
            "https://news.crunchbase.com/category/venture/",
            "https://news.crunchbase.com/venture/feed/",
        ),
    ),
    "tech_eu": SiteFixture(
        ("https://tech.eu/sitemap/news.xml",),  # named by the seed: its sitemaps are not WordPress names
        "https://tech.eu/sitemap/index.xml",
        ("https://tech.eu/2024/05/14/berlin-based-acme-raises-eur10m",),
        ("https://tech.eu/category/funding/", "https://tech.eu/about/"),
    ),
    "eu_startups": SiteFixture(
        ("https://www.eu-startups.com/news-sitemap.xml",),
        "https://www.eu-startups.com/category-sitemap.xml",
        (
            "https://www.eu-startups.com/2024/05/paris-based-acme-secures-e8-million/",
            "https://www.eu-startups.com/2024/05/eu-startups-weekly-funding-round-up/",
        ),
        ("https://www.eu-startups.com/category/fundin/", "https://www.eu-startups.com/directory/acme/"),
    ),
    "sifted": SiteFixture(
        ("https://sifted.eu/news-sitemap.xml",),
        "https://sifted.eu/sectors-sitemap.xml",
        ("https://sifted.eu/articles/acme-series-a-funding",),
        ("https://sifted.eu/sector/fintech", "https://sifted.eu/pro/briefings/fintech-q2"),
    ),
    "techcabal": SiteFixture(
        ("https://techcabal.com/news-sitemap.xml",),
        "https://techcabal.com/tag-sitemap.xml",
        (
            "https://techcabal.com/2024/05/14/nigerian-fintech-acme-raises-5m-seed/",
            "https://techcabal.com/2024/05/15/kenyan-acme-logistics-raises-2m/",
        ),
        ("https://techcabal.com/category/funding/", "https://techcabal.com/events/"),
    ),
    "inc42": SiteFixture(
        ("https://inc42.com/news-sitemap.xml",),
        "https://inc42.com/category-sitemap.xml",
        (
            "https://inc42.com/buzz/acme-raises-inr-100-cr-series-b/",
            "https://inc42.com/funding/funding-galore-indian-startups-this-week/",
        ),
        ("https://inc42.com/buzz/", "https://inc42.com/tag/funding/"),
    ),
    "yourstory": SiteFixture(
        # sitemap_index.xml (named by the seed) lists a sitemap a week
        ("https://yourstory.com/sitemap_index.xml", "https://yourstory.com/sitemap_2024_week20.xml"),
        "https://yourstory.com/sitemap-tags.xml",
        (
            "https://yourstory.com/2024/05/acme-raises-rs-50-crore-series-a",
            "https://yourstory.com/herstory/2024/05/acme-women-founders-seed-funding",
            "https://yourstory.com/enterprise-story/2024/05/acme-cloud-raises-series-b",
        ),
        ("https://yourstory.com/companies/acme", "https://yourstory.com/search?q=funding"),
        old_sitemap="https://yourstory.com/sitemap_1999_week10.xml",
    ),
    "prnewswire": SiteFixture(
        # sitemap-news.xml is an index of its pages, sitemap-news.xml?page=N
        ("https://www.prnewswire.com/sitemap-news.xml", "https://www.prnewswire.com/sitemap-news.xml?page=1"),
        "https://www.prnewswire.com/sitemap-gallery.xml",
        ("https://www.prnewswire.com/news-releases/acme-raises-30-million-series-b-302112345.html",),
        (
            "https://www.prnewswire.com/news/acme-inc/",
            "https://www.prnewswire.com/news-releases/financial-services-latest-news/venture-capital-list/",
        ),
        corpus_site="prnewswire",
    ),
    "globenewswire": SiteFixture(
        # the index on sitemaps.globenewswire.com (named by the seed) lists a sitemap a month
        (
            "https://sitemaps.globenewswire.com/news-en.xml",
            "https://sitemaps.globenewswire.com/news/en/2024-05.xml",
        ),
        "https://www.globenewswire.com/sitemap-organizations.xml",
        (
            "https://www.globenewswire.com/news-release/2024/05/14/2881234/0/en/Acme-Raises-20-Million-Series-A.html",
            "https://www.globenewswire.com/en/news-release/2024/05/14/2881236/0/en/Acme-Bio-Closes-Series-B.html",
        ),
        (
            "https://www.globenewswire.com/news-release/2024/05/14/2881235/0/fr/Acme-leve-20-millions.html",
            "https://www.globenewswire.com/search/organization/Acme",
        ),
        corpus_site="globenewswire",
        old_sitemap="https://sitemaps.globenewswire.com/news/en/1999-12.xml",
    ),
    "alleywatch": SiteFixture(
        (),
        "https://www.alleywatch.com/category-sitemap.xml",
        (
            "https://www.alleywatch.com/2026/04/the-alleywatch-startup-daily-funding-report-4-21-2026/",
            "https://alleywatch.com/2025/09/the-weekly-notable-startup-funding-report-9-29-25/",
        ),
        ("https://www.alleywatch.com/category/funding/", "https://funding.alleywatch.com/methodology"),
    ),
    "axios": SiteFixture(
        ("https://www.axios.com/sitemaps/news.xml",),
        "https://www.axios.com/sitemaps/richmond/aug-2024.xml",  # a city edition's
        (
            "https://www.axios.com/2025/09/18/anthropic-brand-campaign-claude",
            "https://www.axios.com/pro/enterprise-software-deals/2026/02/17/ai-observability-braintrust-80-million",
        ),
        (
            "https://www.axios.com/newsletters/axios-pro-rata",
            "https://www.axios.com/local/richmond/2024/08/21/virginia-abc-rare-liquor-bourbon-sales",
            "https://www.axios.com/technology",
        ),
    ),
    "venture_capital_journal": SiteFixture(
        (),
        "https://www.venturecapitaljournal.com/category-sitemap.xml",
        (
            "https://www.venturecapitaljournal.com/gv-provides-funding-ai-startup-owkin/",
            "https://venturecapitaljournal.com/andreessen-horowitz-leads-4m-round-for-orbit",
        ),
        ("https://www.venturecapitaljournal.com/search?q=seed", "https://www.venturecapitaljournal.com/feed/"),
    ),
    "pe_hub": SiteFixture(
        (),
        "https://www.pehub.com/category-sitemap.xml",
        (
            "https://www.pehub.com/acp-backed-schneider-geospatial-picks-up-govtech-firm-new-england-geosystems/",
            "https://www.pehub.com/2015/11/white-star-capital-collects-70-mln-for-initial-fund/",
        ),
        (
            "https://www.pehub.com/news-and-analysis/pe-deals/page/3365/",
            "https://www.pehub.com/tag/column/page/11/",
            "https://www.pehub.com/terms-of-use/",
            "https://www.pehub.com/privacy-policy/",
        ),
    ),
    "fintech_global": SiteFixture(
        (),
        "https://fintech.global/category-sitemap.xml",
        (
            "https://fintech.global/2025/06/10/generative-ai-platform-aiera-raises-25m-series-b-round/",
            "https://fintech.global/2026/01/27/mantas-raises-1-77m-to-bring-parametric-insurance-to-cloud-downtime/",
        ),
        (
            "https://fintech.global/category/fintech-news/fintech-industry-news/",
            "https://fintech.global/category/insurtech/",
        ),
    ),
    "finextra": SiteFixture(
        (),
        "https://www.finextra.com/sitemap.xml",
        (
            "https://www.finextra.com/newsarticle/44668/tarabut-acquires-uk-based-a2a-payments-platform-vyne",
            # as the feed links them, with tracking parameters
            "https://www.finextra.com/pressarticle/111014/asic-strengthens-ai-safeguards?utm_medium=rssfinextra&utm_source=finextrafeed",
        ),
        ("https://www.finextra.com/news/finchannel.aspx?topic=ai", "https://www.finextra.com/rss/headlines.aspx"),
    ),
    "crowdfund_insider": SiteFixture(
        (),
        "https://www.crowdfundinsider.com/category-sitemap.xml",
        (
            "https://www.crowdfundinsider.com/2026/09/308315-mistral-ai-secures-e3-billion-via-series-d-led-by-samsung/",
            "https://www.crowdfundinsider.com/2026/05/277962-prediction-markets-kalshi-hits-22b-valuation/",
        ),
        ("https://www.crowdfundinsider.com/tag/north-korea", "https://www.crowdfundinsider.com/category/fintech/feed/"),
    ),
    "fintechnews_sg": SiteFixture(
        (),
        "https://fintechnews.sg/category-sitemap.xml",
        (
            "https://fintechnews.sg/129698/vietnam/okx-caex-investment-vietnam/",
            "https://fintechnews.sg/114081/ai/ant-international-antom-copilot-ai-upgrade/",
        ),
        ("https://fintechnews.sg/category/vietnam/", "https://fintechnews.sg/payments/"),
    ),
    "fintechnews_ae": SiteFixture(
        (),
        "https://fintechnews.ae/category-sitemap.xml",
        (
            "https://fintechnews.ae/29193/abudhabi/tabadulat-full-fsra-license-halal-trading/",
            "https://fintechnews.ae/34055/insurtech/shory-ai-car-insurance-agent-launch",
        ),
        ("https://fintechnews.ae/category/fintech-africa/", "https://fintechnews.ae/feed/"),
    ),
    "wamda": SiteFixture(
        ("https://www.wamda.com/sitemap.xml",),  # named by the seed
        "https://www.wamda.com/image-sitemap.xml",
        (
            "https://www.wamda.com/2021/02/zyda-expands-ecommerce-platform-egypt",
            "https://www.wamda.com/ar/2022/09/endure-capital-closes-round-50-million-fund-arabic",
        ),
        ("https://www.wamda.com/media", "https://www.wamda.com/news"),
    ),
    "businesswire": SiteFixture(
        (),
        "https://www.businesswire.com/sitemap-index.xml",
        (
            "https://www.businesswire.com/news/home/20250722566346/en/Slingshot-Launches-Ash-the-First-AI-Designed-for-Therapy",
            # as the feed links them: a trailing slash and a tracking query
            "http://www.businesswire.com/news/home/20260706806935/en/Robbyant-Unveils-Perception/?feedref=JjAwJuNH",
        ),
        (
            "https://www.businesswire.com/newsroom/subject/merger-acquisition?page=4",
            "https://www.businesswire.com/news/home/20250722566346/fr/Slingshot-lance-Ash",
        ),
    ),
    "newswire_ca": SiteFixture(
        # sitemap-gz.xml (named by the seed) lists a gzipped sitemap a month
        ("https://www.newswire.ca/sitemap-gz.xml", "https://www.newswire.ca/Sitemap_Index_May_2024.xml.gz"),
        "https://www.newswire.ca/sitemap-organizations.xml",
        (
            "https://www.newswire.ca/news-releases/acme-closes-20-million-series-a-849843177.html",
            "https://www.newswire.ca/fr/news-releases/acme-conclut-un-financement-de-serie-a-890503413.html",
        ),
        ("https://www.newswire.ca/news/tsx-venture-exchange/", "https://www.newswire.ca/rss/"),
        old_sitemap="https://www.newswire.ca/Sitemap_Index_Dec_1999.xml.gz",
    ),
    "entrackr": SiteFixture(
        ("https://entrackr.com/news-sitemap.xml",),  # named by the seed
        "https://entrackr.com/static-sitemap.xml",
        (
            "https://entrackr.com/snippets/reputai-closes-1-mn-in-pre-seed-round-led-by-growthcap-ventures-8619352",
            "https://entrackr.com/2024/09/z21-ventures-announces-first-close-of-40-mn-fund-ii/",
        ),
        ("https://entrackr.com/fintrackr/", "https://entrackr.com/?s=adani"),
    ),
    "vccircle": SiteFixture(
        # the index (named by the seed) numbers its sitemaps newest first
        (
            "https://www.vccircle.com/sitemap/article-sitemap-index.xml",
            "https://www.vccircle.com/sitemap/article-sitemap-1.xml",
        ),
        "https://www.vccircle.com/sitemap/article-sitemap-66.xml",
        (
            "https://www.vccircle.com/inflectionpoint-ventures-writes-seed-cheque-to-iot-solutions-provider-cognecto",
            "https://www.vccircle.com/hypd-store-payme-india-raise-funding",
        ),
        ("https://www.vccircle.com/deal-type/pe", "https://www.vccircle.com/search/result/tech/all/"),
    ),
    "betakit": SiteFixture(
        (),
        "https://betakit.com/category-sitemap.xml",
        (
            "https://betakit.com/provision-raises-7-million-usd-to-build-ai-copilots-for-pre-construction-estimates/",
            "https://betakit.com/viggle-ai-closes-26-million-cad-series-a-to-expand-ai-powered-video-generator/",
        ),
        (
            "https://betakit.com/tag/funding/",
            "https://betakit.com/category/canadian-startup-news/",
            "https://betakit.com/about-us/",
        ),
    ),
    "finsmes": SiteFixture(
        (),
        "https://www.finsmes.com/sitemap-misc.xml",
        (
            "https://www.finsmes.com/2026/02/braintrust-raises-80m-in-series-b-funding.html",
            "https://www.finsmes.com/2025/06/reserv-raises-25m-in-series-b-funding.html",
        ),
        ("https://www.finsmes.com/category/usa/", "https://www.finsmes.com/category/fintech/page/2/"),
    ),
    "fierce_biotech": SiteFixture(
        (),
        "https://www.fiercebiotech.com/sitemap.xml",
        (
            "https://www.fiercebiotech.com/biotech/openai-launches-biotech-specific-ai-model-gpt-rosalind",
            "https://www.fiercebiotech.com/research/deep-learning-generative-ai-models-build-new-antibiotics",
        ),
        ("https://www.fiercebiotech.com/biotech", "https://www.fiercebiotech.com/sponsored/acme-webinar"),
    ),
    "endpoints": SiteFixture(
        (),
        "https://endpoints.news/page-sitemap.xml",
        (
            "https://endpoints.news/ai-startup-edison-raises-70m-seed-for-research-software/",
            "https://endpts.com/pfizer-rsv-data-sets-up-10b-showdown-with-gsk-and-moderna/",
        ),
        (
            "https://endpoints.news/channel/fda-plus/",
            "https://endpoints.news/channel/news-briefing/",
            "https://endpoints.news/privacy-policy/",
        ),
    ),
    "tech_in_asia": SiteFixture(
        ("https://www.techinasia.com/sitemaps/articles/sitemap.xml",),
        "https://www.techinasia.com/sitemaps/people/sitemap.xml",
        ("https://www.techinasia.com/news/londonbased-archestra-raises-33m-enhance-ai-data-security",),
        ("https://www.techinasia.com/tag/agtech", "https://www.techinasia.com/jobs"),
    ),
    "e27": SiteFixture(
        (),
        "https://e27.co/startups-sitemap.xml",
        (
            "https://e27.co/global-microsoft-outage-demonstrates-the-need-for-depin-computing-20240902/",
            "https://e27.co/go-jek-uses-data-business-intelligence-20170905/",
        ),
        ("https://e27.co/category/funding", "https://e27.co/tag/agtech/"),
    ),
    "disrupt_africa": SiteFixture(
        (),
        "https://disrupt-africa.com/category-sitemap.xml",
        (
            "https://disrupt-africa.com/2022/07/27/seedstars-announces-first-close-of-30m-emerging-market-seed-stage-fund/",
            "https://disrupt-africa.com/2023/10/17/nigerias-treepz-octamile-partner-to-launch-insurance-program/",
        ),
        ("https://disrupt-africa.com/category/funding/", "https://disrupt-africa.com/2024/"),
    ),
    "deutsche_startups": SiteFixture(
        # the Yoast index (named by the seed) and its post sitemaps
        (
            "https://www.deutsche-startups.de/sitemap_index.xml",
            "https://www.deutsche-startups.de/post-sitemap12.xml",
        ),
        "https://www.deutsche-startups.de/category-sitemap.xml",
        (
            "https://www.deutsche-startups.de/2024/04/18/neue-startups-bitteiler-axontic/",
            "https://www.deutsche-startups.de/2026/06/03/heyjobs-yepoda-caresyntax-visionhealth-coachbetter-dfb/",
        ),
        ("https://www.deutsche-startups.de/ressort/deals/", "https://www.deutsche-startups.de/tag/startupticker/"),
    ),
    "maddyness": SiteFixture(
        (),
        "https://www.maddyness.com/category-sitemap.xml",
        (
            "https://www.maddyness.com/2024/11/15/maddymoney-184-millions-deuros-leves-cette-semaine-par-les-startups/",
            "https://www.maddyness.com/uk/2021/03/01/asking-the-right-questions-a-profile-of-creandum/",
        ),
        ("https://www.maddyness.com/levees-de-fonds/", "https://www.maddyness.com/tag/biotech/"),
    ),
    "techfundingnews": SiteFixture(
        # the Yoast index (named by the seed) and its numbered post sitemaps
        ("https://techfundingnews.com/sitemap_index.xml", "https://techfundingnews.com/post-sitemap3.xml"),
        "https://techfundingnews.com/category-sitemap.xml",
        (
            "https://techfundingnews.com/europes-new-robotics-unicorn-germanys-robco-hits-1b-valuation/",
            "https://techfundingnews.com/anysphere-soars-to-29-3b-valuation-with-2-3b-funding/",
        ),
        (
            "https://techfundingnews.com/category/top-funding-rounds/",
            "https://techfundingnews.com/feed/",
            "https://techfundingnews.com/advertise-with-us/",
        ),
    ),
}

LISTED = dt.date(2024, 5, 14)


def _page(url: str, title: str) -> bytes:
    return article_page(url, title, LISTED)


def _title(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".html").replace("-", " ").capitalize()


def _feed_links(body: bytes) -> list[str]:
    """The item links of a recorded RSS feed, read with lxml (not with the code under test)."""
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    return [link.text.strip() for item in root.iter("item") for link in item.findall("link") if link.text]


def recorded_site(name: str) -> tuple[dict[str, RecordedPage], set[str]]:
    """A source's entry points and listings, and the set of article URLs a correct crawl stores."""
    source, fixture = SOURCES[name], FIXTURES[name]
    pages: dict[str, RecordedPage] = {}
    expected: set[str] = set()
    corpus = corpus_entries(SHARED, fixture.corpus_site) if fixture.corpus_site else []
    for entry in corpus:
        pages[entry.url] = RecordedPage(entry.file.read_bytes())
        expected.add(entry.url)
    made = [Entry(url, LISTED, _title(url), Path()) for url in fixture.articles]
    for entry in made:
        pages[entry.url] = RecordedPage(_page(entry.url, entry.title))
        expected.add(entry.url)
    for url in fixture.not_articles:  # served, so a crawl that wrongly fetched one would store it
        pages[url] = RecordedPage(_page(url, _title(url)))
    noise = [Entry(url, LISTED, _title(url), Path()) for url in fixture.not_articles]
    noise.append(Entry("https://elsewhere.example/2024/05/14/acme-raises-1m/", LISTED, "Off-site", Path()))

    first_feed, *other_feeds = source.feeds or [None]
    if first_feed is None:  # a source read from its sitemaps alone
        pass
    elif fixture.corpus_feed:
        body = (SHARED / "corpus" / fixture.corpus_feed).read_bytes()
        pages[first_feed] = RecordedPage(body, "application/rss+xml")
        for url in _feed_links(body):
            if source.article_url_pattern.search(url):
                pages[url] = RecordedPage(_page(url, _title(url)))
                expected.add(url)
    else:
        listing = [*corpus, *(made[:1] if other_feeds else made), *noise]
        pages[first_feed] = RecordedPage(rss(listing, source.title, first_feed), "application/rss+xml")
    for feed in other_feeds:  # a category feed: the other articles, one the first feed lists too, and noise
        listing = [*made[1:], *made[:1], *noise]
        pages[feed] = RecordedPage(rss(listing, source.title, feed), "application/rss+xml")
    named = [fixture.ignored_sitemap]
    if fixture.sitemaps and fixture.sitemaps[0] not in source.sitemaps:
        named.insert(0, fixture.sitemaps[0])
    robots = "User-agent: *\nDisallow: /wp-admin/\n\n" + "".join(f"Sitemap: {url}\n" for url in named)
    pages[source.robots_txt[0]] = RecordedPage(robots.encode(), "text/plain")
    for n, (index, child) in enumerate(itertools.pairwise(fixture.sitemaps)):
        children = [child, *([fixture.ignored_sitemap] if n == 0 else [])]
        if n == 0 and fixture.old_sitemap:
            children.append(fixture.old_sitemap)  # dated by its name only, as such indexes do
        pages[index] = RecordedPage(sitemap_index(children), "application/xml")
    if fixture.sitemaps:  # a source without attested sitemaps has its articles in its feeds
        listed = [*made[-1:], *noise[:1]] if source.feeds else [*made, *noise]
        listing = news_sitemap(listed, source.title)
        if fixture.sitemaps[-1].endswith(".gz"):  # served as such sites serve them, gzipped
            listing = gzip.compress(listing, mtime=0)
        pages[fixture.sitemaps[-1]] = RecordedPage(listing, "application/xml")
    # served, so a crawl that wrongly read one would go on to request more
    for unread in (fixture.ignored_sitemap, fixture.old_sitemap):
        if unread:
            pages[unread] = RecordedPage(sitemap_index([f"{unread}?page=2"]), "application/xml")
    return pages, expected


def test_every_source_has_a_replay_fixture() -> None:
    """A new seed file needs its own replay fixture here (as alltheplaces needs a test per spider); a source of
    filings rather than articles has its own replay test (sec_form_d: tests/test_form_d.py)."""
    assert set(FIXTURES) == {name for name, source in SOURCES.items() if source.format == "articles"}
    assert {name for name, source in SOURCES.items() if source.format != "articles"} == {"sec_form_d"}
    assert len(SOURCES) >= 30


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_urls_agree_with_the_seed(name: str) -> None:
    """The fixture's article URLs match the seed's pattern and its other links do not (checked without a crawl)."""
    source, fixture = SOURCES[name], FIXTURES[name]
    for url in fixture.articles:
        assert is_article_url(url, source), url
    for url in fixture.not_articles:
        assert not is_article_url(url, source), url
    assert all(follows_sitemap(url, source) for url in fixture.sitemaps), fixture.sitemaps
    assert source.sitemap_follow is not None and not follows_sitemap(fixture.ignored_sitemap, source)
    if fixture.old_sitemap:  # the window, not the pattern, leaves it unread
        assert follows_sitemap(fixture.old_sitemap, source)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_replayed_entry_points_fetch_exactly_the_articles(name: str, shared: Path, tmp_path: Path) -> None:
    pages, expected = recorded_site(name)
    db_file = tmp_path / "newsmon.db"
    run, stats = crawl(name, db_url=f"sqlite:///{db_file}", pages=pages, cache_dir=tmp_path / "cache")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert stats["finish_reason"] == "finished"
    with sqlite3.connect(db_file) as connection:
        listed = {url for (url,) in connection.execute("SELECT url FROM article_urls")}
        sources = {
            s
            for (s,) in connection.execute(
                "SELECT DISTINCT s.name FROM articles a JOIN sources s ON s.id = a.source_id"
            )
        }
        status = connection.execute("SELECT status FROM crawl_runs").fetchall()
    assert {canonical_url(url) for url in expected} <= listed
    assert not {canonical_url(url) for url in FIXTURES[name].not_articles} & listed
    assert stats["newsmon/persist/articles_new"] == len(expected)
    # robots.txt for the spider, each host's robots.txt for Scrapy's robots middleware, each feed, each sitemap
    # down to the articles, each article once
    source, fixture = SOURCES[name], FIXTURES[name]
    listings = [*source.feeds, *fixture.sitemaps]
    hosts = {urlsplit(url).netloc for url in [*source.robots_txt, *listings, *expected]}
    assert stats["downloader/request_count"] == 1 + len(hosts) + len(listings) + len(expected)
    assert stats.get("newsmon/sitemap/not_followed", 0) >= 1
    assert stats.get("newsmon/sitemap/too_old", 0) == (1 if fixture.old_sitemap else 0)
    assert stats["newsmon/links/not_article"] >= 2
    assert sources == {name}
    assert status == [("ok",)]


# feeds the evidence contradicts: none may come back into a seed
CONTRADICTED_FEEDS = {
    "https://sifted.eu/feed/": "Sifted's live feed is https://sifted.eu/feed, without the slash",
    "https://techcabal.com/category/funding/feed/": "no evidence of a live TechCabal funding feed",
    "https://www.globenewswire.com/RssFeed/orgclass/2/feedTitle/"
    "GlobeNewswire%20-%20News%20about%20Private%20Companies": (
        "no evidence of GlobeNewswire's private-companies feed; the public-companies one (orgclass/1) has"
    ),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_no_seed_uses_a_feed_the_evidence_contradicts(name: str) -> None:
    used = set(SOURCES[name].feeds) & set(CONTRADICTED_FEEDS)
    assert not used, [CONTRADICTED_FEEDS[url] for url in used]


def test_a_source_that_answers_403_everywhere_is_recorded_and_shown_as_blocked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """robots.txt answers, the feed answers 403 (as sites behind an anti-bot wall do). The run is `blocked` with
    its reason, not `failed`, and `newsmon sources` flags it so, beside sources never run (with their reason)."""
    import json

    from crawler.cli import main

    source = SOURCES["venturebeat"]
    refused = RecordedPage(b"<html><body>Access denied</body></html>", status=403)
    pages = {url: refused for url in source.feeds}
    pages[source.robots_txt[0]] = RecordedPage(b"User-agent: *\nAllow: /\n", "text/plain")
    db_file = tmp_path / "newsmon.db"
    run, stats = crawl("venturebeat", db_url=f"sqlite:///{db_file}", pages=pages, cache_dir=tmp_path / "cache")
    assert run.returncode == 1, run.stderr[-2000:]  # blocked: the crawl did not do its job
    assert "newsmon: venturebeat: blocked: the site answered all" in run.stderr
    assert "Traceback" not in run.stderr
    assert stats["newsmon/listing/refused"] == stats["newsmon/listing/requested"] == len(source.feeds)
    with sqlite3.connect(db_file) as connection:
        (status, error), *_ = connection.execute("SELECT status, error FROM crawl_runs").fetchall()
    assert status == "blocked" and "403" in error

    assert main(["--db", f"sqlite:///{db_file}", "sources", "--json"]) == 0
    by_name = {record["source"]: record for record in json.loads(capsys.readouterr().out)}
    assert by_name["venturebeat"]["flag"] == "blocked" and "403" in by_name["venturebeat"]["reason"]
    assert by_name["techcrunch"]["flag"] == "never run" and by_name["techcrunch"]["reason"]
    assert main(["--db", f"sqlite:///{db_file}", "sources"]) == 0
    assert "blocked" in capsys.readouterr().out


def _fill_probed_site(site: Site) -> None:
    """A WordPress-like site at `site.base_url`: robots.txt names a sitemap index (posts and categories), the home
    page links its feed, the feed and the post sitemap list dated articles."""
    articles = [f"/2024/05/{day}/acme-{n}-raises-{n}m-seed-round/" for n, day in ((1, 13), (2, 14), (3, 14))]
    base = site.base_url
    entries = [Entry(base + p, LISTED, _title(p), Path()) for p in articles]
    noise = [Entry(base + "/category/funding/", LISTED, "Funding", Path())]
    site.pages.update(
        {
            "/robots.txt": Page(f"User-agent: *\nSitemap: {base}/sitemap_index.xml\n".encode(), "text/plain"),
            "/": Page(
                b'<html lang="en"><head><title>Acme News</title><link rel="alternate" '
                b'type="application/rss+xml" href="/feed/"></head><body>News</body></html>'
            ),
            "/feed/": Page(rss([*entries[:2], *noise], "Acme News", base + "/feed/"), "application/rss+xml"),
            "/sitemap_index.xml": Page(
                sitemap_index([base + "/post-sitemap1.xml", base + "/category-sitemap.xml"]), "application/xml"
            ),
            "/post-sitemap1.xml": Page(news_sitemap(entries, "Acme News"), "application/xml"),
            "/category-sitemap.xml": Page(news_sitemap(noise, "Acme News"), "application/xml"),
            **{p: Page(_page(base + p, _title(p))) for p in articles},
            "/category/funding/": Page(_page(base + "/category/funding/", "Funding")),
        }
    )


def test_sources_add_probes_a_site_and_writes_a_seed_that_crawls_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The draft names the site's robots.txt and feed, follows its post sitemaps and not its category ones, and
    its article pattern takes the articles and leaves the category page: a crawl with it stores the articles."""
    from crawler.cli import main

    seeds = tmp_path / "seeds"
    with serve(Site()) as site:
        _fill_probed_site(site)
        assert main(["sources", "add", "acme_news", site.base_url + "/", "--out", str(seeds)]) == 0
        assert "wrote" in capsys.readouterr().err
        source = load_seeds(seeds)["acme_news"]
        assert source.robots_txt == (site.base_url + "/robots.txt",)
        assert source.feeds == (site.base_url + "/feed/",)
        assert follows_sitemap(site.base_url + "/post-sitemap2.xml", source)
        assert not follows_sitemap(site.base_url + "/category-sitemap.xml", source)
        assert source.article_url_pattern.search(site.base_url + "/2024/05/14/acme-2-raises-2m-seed-round/")
        assert not source.article_url_pattern.search(site.base_url + "/category/funding/")

        db_file = tmp_path / "acme.db"
        run, stats = crawl("acme_news", db_url=f"sqlite:///{db_file}", seeds_dir=seeds, workdir=tmp_path)
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
        assert stats["newsmon/persist/articles_new"] == 3

        # a second draft of the same name is refused without --force
        assert main(["sources", "add", "acme_news", site.base_url + "/", "--out", str(seeds)]) == 1
        assert "exists" in capsys.readouterr().err


def test_sources_add_says_in_one_line_why_it_cannot_draft(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from crawler.cli import main

    refusing = Site({"/robots.txt": Page(b"Forbidden", "text/plain", status=403)})
    with serve(refusing) as site:
        assert main(["sources", "add", "refuser", site.base_url + "/", "--out", str(tmp_path)]) == 1
    assert "403" in (err := capsys.readouterr().err) and len(err.strip().splitlines()) == 1
    # a private address the allow-list does not name is refused before any request
    assert main(["sources", "add", "private", "http://127.0.0.1:9/", "--out", str(tmp_path)]) == 1
    assert "not a public address" in capsys.readouterr().err
    assert main(["sources", "add", "named", "http://localhost:9/", "--out", str(tmp_path)]) == 1  # a name, too
    assert "not a public address" in capsys.readouterr().err
    assert main(["sources", "add", "Bad-Name", "https://example.com/", "--out", str(tmp_path)]) == 1
    assert not list(tmp_path.glob("*.toml"))


def test_sources_add_obeys_robots_txt_and_survives_entry_points_that_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed robots.txt disallows is neither fetched nor drafted; a sitemap on a host that cannot be reached is
    a note in the draft, not the end of the probe."""
    from crawler.cli import main

    with serve(Site()) as site:
        _fill_probed_site(site)
        base = site.base_url
        site.pages["/robots.txt"] = Page(
            f"User-agent: *\nDisallow: /feed/\nSitemap: https://nowhere.invalid/sitemap.xml\n"
            f"Sitemap: {base}/sitemap_index.xml\n".encode(),
            "text/plain",
        )
        assert main(["sources", "add", "acme_news", base + "/", "--out", str(tmp_path)]) == 0
        fetched = site.paths_hit()
    draft = (tmp_path / "acme_news.toml").read_text()
    source = load_seeds(tmp_path)["acme_news"]
    assert source.feeds == () and "/feed/" not in fetched
    assert "disallowed by robots.txt" in draft and "nowhere.invalid" in draft
    assert source.article_url_pattern.search(base + "/2024/05/14/acme-2-raises-2m-seed-round/")
    capsys.readouterr()
