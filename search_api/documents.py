"""Search documents built from the archive: one `SearchDocument` per Version.

Owns the mapping from archive rows (Article, Source, Version) to what the index holds,
and nothing else: it reads through the Session it is given, never commits, and knows
no engine. Every version of an article is rebuilt together, because a new version
changes its siblings too (`is_current`, the article's `status`, `removed_at` and
`date_ts` live on each of them).

`removed_text` support: each document says whether it is the article's current
version (`is_current`); a backend flags a hit on an older version as removed text
when the current version's document no longer matches the query. The current version
is the one `Article.current_version_id` names, which after a takedown is the last
version that was online.

Text is normalized with `archive.content.normalize.normalize_text` (queries are too, so both
sides compare equal), and the private-use characters the engines use as match
sentinels are removed so that every sentinel in a snippet is one of ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from archive.content import normalize_text, parse_iso_utc
from archive.store import Article, Source, Version
from search_api.backends.base import SearchDocument
from search_api.highlight import remove_sentinels

__all__ = [
    "article_batches",
    "build_documents",
    "document_id",
    "iter_documents",
    "parse_published",
]


def document_id(article_id: int, n: int) -> str:
    return f"{article_id}-{n}"


def _clean(value: str | None) -> str:
    if not value:
        return ""
    return remove_sentinels(normalize_text(value))


def parse_published(value: str | None) -> int | None:
    """Epoch seconds of a stored publish date ("YYYY-MM-DD" or ISO datetime with an
    offset); a date alone counts as midnight UTC. None when absent or unreadable."""
    when = parse_iso_utc(value)
    if when is None and value:
        when = parse_iso_utc(value.strip()[:10])  # a readable date before trailing junk
    return int(when.timestamp()) if when is not None else None


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def build_documents(session: Session, article_ids: Iterable[int]) -> list[SearchDocument]:
    """Documents for every version of these articles, ordered by article and version.
    Articles that do not exist (or have no version) contribute nothing."""
    ids = sorted(set(article_ids))
    if not ids:
        return []
    rows = session.execute(
        select(Article, Source.name, Source.config)
        .join(Source, Source.id == Article.source_id)
        .where(Article.id.in_(ids))
    ).all()
    articles = {art.id: (art, name, config) for art, name, config in rows}
    versions: dict[int, list[Version]] = {}
    for version in session.scalars(
        select(Version).where(Version.article_id.in_(ids)).order_by(Version.article_id, Version.n)
    ):
        versions.setdefault(version.article_id, []).append(version)

    out: list[SearchDocument] = []
    for article_id in ids:
        if article_id not in articles or article_id not in versions:
            continue
        article, source_name, config = articles[article_id]
        rows_v = versions[article_id]
        current_id = article.current_version_id or rows_v[-1].id
        current = next((v for v in rows_v if v.id == current_id), rows_v[-1])
        date_ts = parse_published(current.published) or _epoch(article.first_seen)
        topic = config.topic
        for version in rows_v:
            out.append(
                SearchDocument(
                    id=document_id(article_id, version.n),
                    article_id=article_id,
                    version=version.n,
                    url=article.fetch_url,
                    source=source_name,
                    title=_clean(version.title),
                    byline=_clean(version.byline),
                    text=_clean(version.text),
                    lang=version.lang or None,
                    published=version.published,
                    published_ts=parse_published(version.published),
                    first_seen=version.first_seen,
                    last_seen=version.last_seen,
                    status=article.status,
                    removed_at=article.removed_at,
                    topic=topic,
                    is_current=version.id == current.id,
                    date_ts=date_ts,
                )
            )
    return out


def article_batches(
    session_factory: sessionmaker[Session], batch_size: int = 200
) -> Iterator[list[int]]:
    """Every article id in the archive, in id order, `batch_size` at a time (keyset
    pagination: each batch is a short read, so no long-lived transaction)."""
    after = 0
    while True:
        with session_factory() as session:
            ids = list(
                session.scalars(
                    select(Article.id)
                    .where(Article.id > after)
                    .order_by(Article.id)
                    .limit(batch_size)
                )
            )
        if not ids:
            return
        yield ids
        after = ids[-1]


def iter_documents(
    session_factory: sessionmaker[Session], batch_size: int = 200
) -> Iterator[Sequence[SearchDocument]]:
    """Documents of the whole archive, one batch of articles at a time."""
    for ids in article_batches(session_factory, batch_size):
        with session_factory() as session:
            documents = build_documents(session, ids)
        # Yield outside the session: the consumer writes to the search engine, and an
        # open archive transaction (BEGIN IMMEDIATE on SQLite) would block the crawler.
        yield documents
