"""sources.toml: the outlets to watch and the topics that filter them.

- `schema`: the file's schema (pydantic models), each field validated
- `check`: loading and checking the file, with messages that name the file, the line
  and what to fix (`presswatch sources --check`)
- `topics`: the topic matcher that decides, on extracted title and body, whether an
  article belongs to a topic
- `api`: the sources added through the admin API, crawled beside the file's

It reads one file and nothing else: no database, no network. Turning a source into
crawl requests is `presswatch.crawling`'s job; storing it is `archive.store`'s
(`SourceConfig.options()` gives what the archive keeps of an entry).
"""

from presswatch.sources.api import with_archive_sources
from presswatch.sources.check import SourceProblem, check_sources, load_sources
from presswatch.sources.schema import (
    OPTION_FIELDS,
    NotifyConfig,
    SourceConfig,
    SourcesFile,
    TopicConfig,
)
from presswatch.sources.topics import TopicMatcher

__all__ = [
    "OPTION_FIELDS",
    "NotifyConfig",
    "SourceConfig",
    "SourceProblem",
    "SourcesFile",
    "TopicConfig",
    "TopicMatcher",
    "check_sources",
    "load_sources",
    "with_archive_sources",
]
