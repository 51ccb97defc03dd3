"""`scrapy list` that also names the broken seed files: the valid sources on stdout, one error line per broken
file on stderr, and exit status 1 when there is one."""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.list import Command as ScrapyListCommand
from scrapy.spiderloader import get_spider_loader


class Command(ScrapyListCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        loader = get_spider_loader(self.settings)
        names = sorted(loader.list())
        if names:
            sys.stdout.write("\n".join(names) + "\n")
        for error in getattr(loader, "broken", {}).values():
            sys.stderr.write(f"newsmon: {error}\n")
            self.exitcode = 1
