"""Runs the Scrapy spiders in this process for `presswatch crawl`, `recheck`, `run`,
`backfill`, the demo and the benchmarks, composed from Settings and sources.toml.

One module per job; import the one you need (this package imports none of them, so
naming one never loads Scrapy or the ORM for the others):

- `sources`: sources.toml (and the admin API's sources) into the archive's Source rows
  and the crawler's `SourceSpec`s
- `context`: the `CrawlContext` the crawler is given (record options with the topic
  filter, the recheck schedule, the conditional-request rule, the writer process's
  recorder), and `start_crawl`, everything before the spiders run
- `logfile`: the crawl's rotating log file, and a quiet stderr for cron
- `scrapy_settings`: the Scrapy settings of one crawler (User-Agent, politeness, JOBDIR
  or Redis)
- `job_dirs`: Scrapy's JOBDIR per job, and what a crash leaves in it
- `runner`: the phases of spiders, run one after another in one reactor run
- `report`: what a crawl counted, as one summary line or JSON
- `indexing`: the search index after a crawl (`index_outbox`), stories first
- `stories`: story sketches after a crawl (`sketch_stories`, the story outbox drained)
- `together`: removals at several outlets after the sketches (`find_together`)
- `local`: a fresh archive for crawling a local site (the demo, the benchmarks)
"""
