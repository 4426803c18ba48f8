"""The Presswatch spiders: `sitemap`, `feed` and `listing` discover articles; `recheck`
fetches known ones that are due. Run one with `scrapy crawl NAME -a source=SLUG`."""
