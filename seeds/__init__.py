"""The shipped seed files, one crawl source per `<name>.toml` (see README.md here); a package only so that they
travel as package data (a Scrapyd egg). crawler/seeds.py reads them."""
