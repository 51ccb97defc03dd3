"""A Scrapy spider loader that makes one spider per seed file, so `scrapy list` lists the seeds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from crawler.seeds import SeedError, Source, read_seeds
from crawler.spiders.source import SourceSpider

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.settings import BaseSettings


def spider_class(source: Source) -> type[SourceSpider]:
    """A `SourceSpider` subclass for one source, named after its seed file."""
    class_name = "".join(part.title() for part in source.name.split("_")) + "Spider"
    return type(class_name, (SourceSpider,), {"name": source.name, "source": source, "__module__": __name__})


class SeedSpiderLoader:
    """Implements Scrapy's `SpiderLoaderProtocol` over `seeds/*.toml` (or `NEWSMON_SEEDS_DIR`)."""

    def __init__(self, settings: BaseSettings) -> None:
        try:
            folder = read_seeds(settings.get("NEWSMON_SEEDS_DIR"))
        except SeedError as exc:
            # One line, no traceback: Scrapy's command line lets SystemExit through.
            raise SystemExit(f"newsmon: {exc}") from None
        self._spiders = {name: spider_class(source) for name, source in folder.sources.items()}
        self.broken = folder.broken  # a broken seed file breaks only its own source (`scrapy crawl` says why)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        return cls(settings)

    def load(self, spider_name: str) -> type[SourceSpider]:
        try:
            return self._spiders[spider_name]
        except KeyError:
            raise KeyError(f"Spider not found: {spider_name}") from None

    def list(self) -> list[str]:
        return sorted(self._spiders)

    def find_by_request(self, request: Request) -> list[str]:
        return [name for name, cls in self._spiders.items() if cls.handles_request(request)]
