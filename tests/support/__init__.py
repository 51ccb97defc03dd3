"""What the tests share: local servers, recorded sites, seed writers, the crawl launcher, the ROUND check."""
