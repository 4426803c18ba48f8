"""Presswatch's domain: the archive of every version of every article."""

from archive.errors import (
    ArchiveError,
    BackendUnavailable,
    BadInput,
    BadQuery,
    ChainBroken,
    ConfigError,
    ExtractionError,
    NotFound,
    PresswatchError,
    SearchError,
    StorageError,
)

__all__ = [
    "ArchiveError",
    "BackendUnavailable",
    "BadInput",
    "BadQuery",
    "ChainBroken",
    "ConfigError",
    "ExtractionError",
    "NotFound",
    "PresswatchError",
    "SearchError",
    "StorageError",
]
