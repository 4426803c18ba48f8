"""The Scrapy project: spiders find URLs, the pipeline hands every response to
`archive.record_capture`. Decisions about content live in `archive/`, not here."""
