"""newsmon's Scrapy project: settings, seed-driven spiders, discovery helpers and the CLI."""
