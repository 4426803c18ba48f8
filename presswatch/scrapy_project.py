"""Scrapy's settings for a plain `scrapy crawl` in this directory (scrapy.cfg names this
module): the crawler's own settings, and the factory that builds the crawl context from
Presswatch's settings and sources, which the crawler cannot name itself (it sits below
presswatch)."""

from crawler.settings import *  # noqa: F403 - a Scrapy settings module is its names

PRESSWATCH_CONTEXT_FACTORY = "presswatch.crawling.context.context_from_scrapy_settings"
