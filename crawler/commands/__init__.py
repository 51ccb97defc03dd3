"""Scrapy commands of the project (settings COMMANDS_MODULE): they replace Scrapy's own of the same name."""
