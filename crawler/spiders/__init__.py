"""Spiders: one generic `SourceSpider`; `crawler.spiderloader` subclasses it once per seed file."""
