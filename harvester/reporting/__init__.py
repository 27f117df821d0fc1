"""What a crawl did, for people: the end-of-run summary's and ``scrapy report``'s figures."""
