"""Scrapy settings of the Presswatch crawler (presswatch/scrapy_project.py adds the
context factory for a plain `scrapy crawl`).

These are the defaults for a polite news crawler; `presswatch.crawling.scrapy_settings`
overrides the ones that come from Presswatch's own Settings (User-Agent contact,
timeouts, per-host concurrency, Redis, JOBDIR) and anything an operator puts in
`scrapy_settings`.

Why each departure from Scrapy's defaults:
- Scrapy's robots.txt middleware is replaced by ours, which also honours Crawl-delay.
- Redirects are followed by hand in the spiders so every hop is recorded; Scrapy's
  redirect and meta-refresh middlewares would hide the chain.
- Retries back off (Scrapy retries at once) and respect Retry-After.
- Body size is limited by our middleware, in decoded bytes: it decodes gzip, deflate,
  br and zstd itself, streamed, in place of Scrapy's HttpCompressionMiddleware (which
  decodes a whole body, then drops a gzip bomb without a trace), so an oversized body
  becomes a `too_large` capture with its first bytes rather than a cancelled download
  that vanishes.
"""

BOT_NAME = "presswatch"

SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# `presswatch` passes its own context (PRESSWATCH_CONTEXT); a plain `scrapy crawl` gets
# PRESSWATCH_CONTEXT_FACTORY from presswatch/scrapy_project.py, which scrapy.cfg names.

ROBOTSTXT_OBEY = True
USER_AGENT = "Presswatch (+https://github.com/presswatch/presswatch)"

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# What one response's output may have in flight at once. Scrapy starts this many asyncio
# tasks for every response, whatever it yields: the default 100 cost a third of the
# reactor thread's time on a recheck of 304s (one item each; py-spy, issue #14). A
# sitemap's hints still go eight at a time to the writer.
CONCURRENT_ITEMS = 8
DOWNLOAD_DELAY = 0.0
DOWNLOAD_TIMEOUT = 30

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
PRESSWATCH_RETRY_BACKOFF_S = 2.0  # first retry after this, doubling each time
PRESSWATCH_RETRY_BACKOFF_MAX_S = 60.0
PRESSWATCH_MAX_REDIRECTS = 10
PRESSWATCH_MAX_BODY_BYTES = 20_000_000

REDIRECT_ENABLED = False
METAREFRESH_ENABLED = False
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
HTTPERROR_ALLOW_ALL = True

# Scrapy's own limit stays as a backstop for requests our middleware does not see;
# BodySizeMiddleware lifts it per request, as it stops every download at its own limit.
DOWNLOAD_MAXSIZE = 256 * 1024 * 1024
DOWNLOAD_WARNSIZE = 32 * 1024 * 1024

# Egress policy (crawler/egress.py): http and https only, never an internal address
# unless PRESSWATCH_ALLOW_NETWORKS (CIDRs, a list or comma-separated) opens it. The
# handlers for other schemes are off, so nothing can read a file or an FTP server; names
# resolve through the policy's resolver, so the address checked is the one connected to.
# http(s) go through Scrapy's Twisted HTTP/1.1 handler with a close that cannot race
# (crawler/handlers.py).
DOWNLOAD_HANDLERS = {
    "http": "crawler.handlers.HTTPDownloadHandler",
    "https": "crawler.handlers.HTTPDownloadHandler",
    "file": None,
    "ftp": None,
    "s3": None,
    "data": None,
}
TWISTED_DNS_RESOLVER = "crawler.egress.PolicyResolver"
PRESSWATCH_ALLOW_NETWORKS: list[str] = []

DOWNLOADER_MIDDLEWARES = {
    "crawler.egress.EgressMiddleware": 50,
    "crawler.middlewares.ResumedClaimMiddleware": 60,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.RobotsPolicyMiddleware": 100,
    "crawler.middlewares.BodySizeMiddleware": 560,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
}

ITEM_PIPELINES = {"crawler.pipelines.ArchivePipeline": 300}

REQUEST_FINGERPRINTER_CLASS = "crawler.middlewares.PresswatchFingerprinter"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = "INFO"
