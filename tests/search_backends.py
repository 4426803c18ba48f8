"""The search backends the contract suite and the Khmer search gates run against:
SQLite FTS5 always, Meilisearch when the developer named a server (MEILI_URL, read by
tests/conftest.py); a fresh index for each, dropped afterwards; and a wrapper that
hands a backend documents no engine accepts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from search_api.backends.base import SearchBackend, SearchDocument
from tests.conftest import MEILI_SERVER, MEILI_SERVER_KEY

MEILI_URL = MEILI_SERVER
BACKENDS = [
    "sqlite",
    pytest.param(
        "meilisearch",
        marks=pytest.mark.skipif(
            not MEILI_URL, reason="MEILI_URL is not set: no Meilisearch server to test against"
        ),
    ),
]


def make_test_backend(kind: str, tmp: Path) -> SearchBackend:
    if kind == "sqlite":
        from search_api.backends.sqlite_fts import SqliteFtsBackend

        return SqliteFtsBackend(tmp / f"search-{uuid.uuid4().hex[:8]}.sqlite")
    from search_api.backends.meili import MeilisearchBackend

    assert MEILI_URL
    return MeilisearchBackend(MEILI_URL, MEILI_SERVER_KEY, f"pw_test_{uuid.uuid4().hex[:10]}")


def twin(backend: SearchBackend) -> SearchBackend:
    """A second client of the same index, as another process (the API server) has."""
    if backend.name == "meilisearch":
        from search_api.backends.meili import MeilisearchBackend

        assert isinstance(backend, MeilisearchBackend)
        return MeilisearchBackend(backend.url, MEILI_SERVER_KEY, backend.index_uid)
    from search_api.backends.sqlite_fts import SqliteFtsBackend

    assert isinstance(backend, SqliteFtsBackend)
    return SqliteFtsBackend(backend.path)


# Not a valid document id for any engine (Meilisearch allows A-Z a-z 0-9 - _ only).
INVALID_ID = "refused id!"


class RefusingArticle:
    """The real backend, handed an invalid document: the documents of one article get an
    id no engine accepts, so the engine itself refuses them (the archive never builds
    such an id; this stands for any document an engine will never take)."""

    def __init__(self, backend: Any, article_id: int) -> None:
        self.backend = backend
        self.article_id = article_id

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        self.backend.upsert(
            [
                replace(d, id=f"{INVALID_ID}{d.version}") if d.article_id == self.article_id else d
                for d in documents
            ]
        )

    def delete_articles(self, article_ids: Sequence[int]) -> None:
        self.backend.delete_articles(article_ids)


def drop_test_backend(backend: SearchBackend) -> None:
    if backend.name == "meilisearch":
        from search_api.backends.meili import MeilisearchBackend

        assert isinstance(backend, MeilisearchBackend)
        backend._client.delete_index(backend.index_uid)
    backend.close()
