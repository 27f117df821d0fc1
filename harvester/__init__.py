"""harvester: a Scrapy-based marketplace catalog harvester."""

__version__ = "0.1.0"
