"""The web view (`newsmon serve`, Datasette) in a real headless browser, on the store the demo crawl makes: the front
page, an investor facet, a company page, an article link, and a screenshot that is not blank."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.cli import DEMO_DIR, main
from tests.support.browser import browser_missing, chromium, https_folder, png_colours
from tests.support.serving import newsmon_serving

pytestmark = [pytest.mark.slow, pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))]
DEMO_HOST = "demo.newsmon.example"
# where the screenshot goes when asked (CI keeps it for the closing note), else the test's own folder
SCREENSHOT_ENV = "NEWSMON_SCREENSHOT_DIR"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """The demo crawl's store served by `newsmon serve`; yields its base URL and the demo site's HTTPS port."""
    folder = tmp_path_factory.mktemp("web")
    database = folder / "demo.db"
    assert main(["demo", "--db", str(database), "--json"]) == 0
    with newsmon_serving(db=str(database)) as base, https_folder(DEMO_DIR / "site", DEMO_HOST, folder) as site_port:
        yield base, site_port


def _cells(driver, column: str) -> list[str]:  # noqa: ANN001 - a selenium WebDriver
    from selenium.webdriver.common.by import By

    return [
        cell.text.strip() for cell in driver.find_elements(By.CSS_SELECTOR, f"table.rows-and-columns td.col-{column}")
    ]


def test_an_analyst_reads_the_rounds_filters_by_investor_opens_a_company_and_its_article(
    served: tuple[str, int], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    base, site_port = served
    with chromium({DEMO_HOST: site_port}, size=(1400, 1800)) as driver:
        driver.get(f"{base}/")
        # the front page: the rounds, newest first, amounts as people write them, descriptions shown
        assert "/funding_rounds_view" in driver.current_url
        announced = _cells(driver, "announced")
        assert announced == sorted(announced, reverse=True) and len(announced) == 5
        assert _cells(driver, "company")[:2] == ["Mistral AI", "Hugging Face"]
        assert _cells(driver, "amount")[:2] == ["€385M", "$235M"]
        assert (
            "The sentence the round was read from"
            in driver.find_element(By.CSS_SELECTOR, "dl.column-descriptions").text
        )
        assert driver.find_elements(By.CSS_SELECTOR, "input[name=_search]")  # the articles' search box
        screenshot = driver.get_screenshot_as_png()

        # the investors facet counts one investor per value; choosing one narrows the rounds to theirs
        facet = driver.find_element(By.CSS_SELECTOR, '.facet-info[data-column="investors"]')
        values = {link.text: link for link in facet.find_elements(By.CSS_SELECTOR, "li a")}
        assert "Nvidia" in values and not any(";" in name or "[" in name for name in values)
        values["Nvidia"].click()
        assert "investors__arraycontains=Nvidia" in driver.current_url
        investors = _cells(driver, "investors")
        assert len(investors) == 4 and all("Nvidia" in cell for cell in investors)

        # a company's page: every round of Hugging Face
        driver.find_element(By.LINK_TEXT, "Hugging Face").click()
        assert re.search(r"/demo/company\?name=Hugging\+Face$", driver.current_url)
        assert _cells(driver, "company") == ["Hugging Face"] and _cells(driver, "amount") == ["$235M"]
        assert "led by Salesforce Ventures" in _cells(driver, "evidence")[0]

        # its source opens the article itself
        article = f"https://{DEMO_HOST}/2023/08/24/hugging-face-raises-235-million/"
        driver.find_element(By.CSS_SELECTOR, f'td.col-sources a[href="{article}"]').click()
        assert driver.current_url == article
        assert driver.title.startswith("Hugging Face raises $235 million in Series D")

    folder = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "newsmon-front-page.png").write_bytes(screenshot)
    assert png_colours(screenshot) > 50  # a page with text, links and a table, not a blank or error screen


def test_only_what_people_browse_is_listed(served: tuple[str, int]) -> None:
    import json

    base, _ = served
    with urllib.request.urlopen(f"{base}/demo.json", timeout=10) as reply:
        tables = {table["name"]: table["hidden"] for table in json.load(reply)["tables"]}
    shown = {name for name, hidden in tables.items() if not hidden}
    assert shown == {"articles", "crawl_runs", "sources"} and "alembic_version" in tables  # the view is listed apart


def test_an_investor_page_shows_rounds_led_and_joined(served: tuple[str, int]) -> None:
    from selenium.webdriver.common.by import By

    base, site_port = served
    with chromium({DEMO_HOST: site_port}) as driver:
        driver.get(f"{base}/demo/investor?name=SALESFORCE+ventures")
        roles = dict(zip(_cells(driver, "company"), _cells(driver, "role"), strict=True))
        assert roles == {
            "Hugging Face": "lead",
            "Runway": "participant",
            "Cohere": "participant",
            "Anthropic": "participant",
        }
        assert not driver.find_elements(By.CSS_SELECTOR, "textarea#sql-editor")  # the page, not its SQL
