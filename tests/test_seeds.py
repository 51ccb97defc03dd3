"""The seed loader and the spiders it declares (`scrapy list`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.seeds import DEFAULT_SEEDS_DIR, SeedError, load_seed, load_seeds
from crawler.spiderloader import SeedSpiderLoader
from tests.support.seeds import write_seed

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VALID = """
title = "Example News"
allowed_domains = ["example.com"]
robots_txt = "https://example.com/robots.txt"
feeds = ["https://example.com/feed/"]
article_url_pattern = '^https://example\\.com/\\d{4}/[a-z0-9-]+/$'
language = "en"
"""


def test_project_seeds_are_valid_and_venturebeat_follows_design() -> None:
    sources = load_seeds(DEFAULT_SEEDS_DIR)
    venturebeat = sources["venturebeat"]
    assert venturebeat.robots_txt == ("https://venturebeat.com/robots.txt",)
    assert venturebeat.feeds == ("https://venturebeat.com/feed/",)
    assert venturebeat.language == "en"


def test_valid_seed_gets_defaults(tmp_path: Path) -> None:
    source = load_seed(write_seed(tmp_path, VALID))
    assert source.name == "example"
    assert source.schedule == "0 2 * * *"
    assert source.entry_points == ("https://example.com/robots.txt", "https://example.com/feed/")
    assert source.article_url_pattern.search("https://example.com/2024/acme-raises/")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('feedz = ["https://example.com/x"]', "unknown key 'feedz'"),
        ("extract = { published = 'css:span[' }", "key 'extract.published': invalid CSS selector"),
        ("extract = { published = 'xpath://a[' }", "key 'extract.published': invalid XPath"),
        ("extract = { body = 'css:p' }", "key 'extract.body': unknown field"),
        ("extract = { author = 'p.byline' }", "key 'extract.author': must be a string \"css:SELECTOR\""),
        ("extract = { author = 'regex:by (.*)' }", "key 'extract.author': must start with"),
        ("extract = 'css:p'", "key 'extract': must be a table"),
        ("language = 'english'", "key 'language'"),
        ("schedule = '61 2 * * *'", "key 'schedule': invalid cron"),
        ("schedule = 'nightly'", "key 'schedule'"),
        ("exclude_url_patterns = ['(unclosed']", "key 'exclude_url_patterns': invalid regular expression"),
        ("sitemaps = ['file:///etc/passwd']", "key 'sitemaps': 'file:///etc/passwd' is not an http(s) URL"),
        ("sitemaps = ['https://user:pw@example.com/s.xml']", "must not carry credentials"),
        ("sitemaps = ['https://elsewhere.org/s.xml']", "outside allowed_domains"),
        ("sitemaps = 5", "key 'sitemaps': must be a string or a list"),
        ("title = [", "not valid TOML"),
    ],
)
def test_invalid_seed_names_file_and_key(tmp_path: Path, change: str, message: str) -> None:
    lines = [line for line in VALID.splitlines() if not line.startswith(change.split(" ")[0] + " ")]
    path = write_seed(tmp_path, "\n".join([*lines, change]))
    with pytest.raises(SeedError) as caught:
        load_seed(path)
    text = str(caught.value)
    assert text.startswith(str(path) + ":")
    assert message in text
    assert "\n" not in text


def test_missing_required_key(tmp_path: Path) -> None:
    path = write_seed(tmp_path, VALID.replace('language = "en"', ""))
    with pytest.raises(SeedError, match="missing key 'language'"):
        load_seed(path)


def test_bad_file_name_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="file name"):
        load_seed(write_seed(tmp_path, VALID, name="Bad-Name"))


def test_spider_loader_makes_one_named_spider_per_seed(tmp_path: Path) -> None:
    write_seed(tmp_path, VALID, name="alpha")
    write_seed(tmp_path, VALID, name="beta_news")
    loader = SeedSpiderLoader(Settings({"NEWSMON_SEEDS_DIR": str(tmp_path)}))
    assert loader.list() == ["alpha", "beta_news"]
    spider_class = loader.load("beta_news")
    assert spider_class.name == "beta_news"
    assert spider_class.source.title == "Example News"
    assert spider_class.__module__ == "crawler.spiderloader"
    with pytest.raises(KeyError):
        loader.load("gamma")


def _scrapy_list(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NEWSMON_SEEDS_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "list", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_scrapy_list_prints_venturebeat() -> None:
    done = _scrapy_list()
    assert done.returncode == 0, done.stderr
    assert "venturebeat" in done.stdout.split()


def test_scrapy_list_names_a_broken_seed_in_one_line_and_lists_the_others(tmp_path: Path) -> None:
    path = write_seed(tmp_path, VALID + '\nfeedz = ["https://example.com/x"]\n')
    write_seed(tmp_path, VALID, "other")
    done = _scrapy_list("-s", f"NEWSMON_SEEDS_DIR={tmp_path}")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [f"newsmon: {path}: unknown key 'feedz'"]
    assert done.stdout.split() == ["other"]
