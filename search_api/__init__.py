"""Search backends, the indexer that drains the archive's outbox, and the FastAPI app
with its web pages and feeds. Imports `archive` only through its public `__init__`."""
