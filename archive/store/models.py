"""The archive's tables (SQLAlchemy 2.0 declarative, `Mapped[...]`).

Owns the schema only: no queries beyond relationships, no business rules. Alembic
migrations in `archive/migrations/` must match these classes (a test checks it).

Rule 1 of the design shapes everything here: a crawl never overwrites or deletes a
Capture, Version or ChangeEvent. Only the Article row (current status and the
bookkeeping of pending removals) and the `last_*` fields of a Version move.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from archive.store.source_options import SourceOptions


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out. SQLite drops tzinfo, so we
    store naive UTC and put the zone back on the way out; naive input is refused."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_HEX = frozenset("0123456789abcdef")
# Marks a value that is not a SHA-256 in hex (a rendering's `fetch_key`, the empty
# `prev_chain` of a capture not yet sealed): 0xFF never occurs in UTF-8.
TEXT_TAG = b"\xff"


def digest_to_db(value: str) -> bytes:
    """A SHA-256 in lowercase hex as its 32 bytes; any other text as UTF-8 after one
    TEXT_TAG (two when one would make it 32 bytes long), so it reads back unchanged."""
    if len(value) == 64 and _HEX.issuperset(value):
        return bytes.fromhex(value)
    data = value.encode("utf-8")
    return TEXT_TAG * (2 if len(data) == 31 else 1) + data


def digest_from_db(value: bytes) -> str:
    if len(value) == 32:
        return value.hex()
    return value.lstrip(TEXT_TAG).decode("utf-8")


class HexDigest(TypeDecorator[str]):
    """A digest (SHA-256, a log root) that Python sees as lowercase hex and the database
    keeps as its 32 raw bytes: half the size in the row and in every index on it, which
    is most of what an unchanged capture costs (issue #27); a value that is not one is
    kept as tagged text (`digest_to_db`). PostgreSQL declares the column `bytea`; SQLite
    keeps the `VARCHAR(64)` declared before and stores the bytes in it as a BLOB (its
    columns hold any storage class; a rebuild of `captures`, which the foreign keys on it
    refuse inside a migration, is not needed). A text value read back (a SQLite row
    written by hand) is returned as it is."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else digest_to_db(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return digest_from_db(bytes(value))


class ArticleStatus(StrEnum):
    LIVE = "live"
    EDITED = "edited"
    REMOVED = "removed"
    UNREACHABLE = "unreachable"


class ChangeKind(StrEnum):
    DISCOVERED = "discovered"
    EDITED = "edited"
    REMOVED = "removed"
    RESTORED = "restored"
    MOVED = "moved"
    UNREACHABLE = "unreachable"
    REACHABLE = "reachable"
    # Copies of one story removed at several outlets within days: a story event
    # (archive.store.story_events), never a row of `change_events`.
    REMOVED_TOGETHER = "removed_together"


class RemovalReason(StrEnum):
    HTTP_404 = "http_404"
    HTTP_410 = "http_410"
    HTTP_451 = "http_451"
    REDIRECT_HOME = "redirect_home"
    REDIRECT_ELSEWHERE = "redirect_elsewhere"
    SOFT_404 = "soft_404"
    EMPTIED = "emptied"


class CaptureOutcome(StrEnum):
    """What one fetch meant for its article."""

    NEW = "new"  # first version of a new article
    UNCHANGED = "unchanged"  # same normalized content as the last version
    NOT_MODIFIED = "not_modified"  # HTTP 304 to a conditional request
    EDITED = "edited"  # a new version
    REMOVAL_PENDING = "removal_pending"  # looks removed; waits for confirmation
    REMOVED = "removed"  # removal confirmed by this check
    RESTORED = "restored"  # back after a confirmed removal
    MOVED = "moved"  # redirected to another article URL
    UNREACHABLE = "unreachable"  # 5xx, timeout, DNS or connection error
    BLOCKED = "blocked"  # bot-block, challenge, consent or paywall page
    DEGRADED = "degraded"  # extraction collapsed; judged again next check
    # No article here (non-HTML, empty, error on a new URL), or none read: the page's
    # extraction failed (capture detail `page` = "failed"); the article keeps its state.
    NOT_ARTICLE = "not_article"
    SKIPPED = "skipped"  # not recorded as an article (e.g. outside the source's topic)
    # Held: kept (capture and WARC record) but not judged, an import dated at or before
    # the article's newest capture or whose WARC digest did not match (capture.import_hold).
    # Its value is what rows, JSON and pages say ("kept as evidence only"); in code
    # "evidence" is the evidence package alone.
    HELD = "evidence"
    # Not a fetch of the article: the browser rendering of one of its captures (its
    # screenshot, DOM and page requisites), a capture of its own so the log commits to it.
    RENDERED = "rendered"


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class SourceOptionsJSON(TypeDecorator[SourceOptions]):
    """`Source.config`: `SourceOptions` in Python, the same JSON as ever in the database
    (archive.store.source_options)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: SourceOptions | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, SourceOptions):
            raise TypeError(f"Source.config takes SourceOptions, not {type(value).__name__}")
        return value.to_json()

    def process_result_value(self, value: Any, dialect: Dialect) -> SourceOptions:
        return SourceOptions.from_json(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    base_url: Mapped[str] = mapped_column(Text)
    languages: Mapped[list[Any]] = mapped_column(default=list)
    config: Mapped[SourceOptions] = mapped_column(SourceOptionsJSON(), default=SourceOptions)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_crawl_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    articles: Mapped[list[Article]] = relationship(back_populates="source")


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))  # indexed with next_check
    url: Mapped[str] = mapped_column(Text)  # normalized canonical URL (normalize_url)
    fetch_url: Mapped[str] = mapped_column(Text)  # URL as last fetched successfully
    status: Mapped[str] = mapped_column(String(20), default=ArticleStatus.LIVE, index=True)
    first_seen: Mapped[datetime]
    last_checked: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    removal: Mapped[str | None] = mapped_column(String(30))  # RemovalReason when removed
    version_count: Mapped[int] = mapped_column(Integer, default=0)
    current_version_id: Mapped[int | None] = mapped_column(Integer)
    # Rule 3: a removal waits for confirmation; these track the pending sightings.
    pending_removal: Mapped[str | None] = mapped_column(String(30))
    pending_count: Mapped[int] = mapped_column(Integer, default=0)
    pending_since: Mapped[datetime | None]
    # Rule 7: a collapsed extraction becomes a version only if seen twice.
    pending_degraded_sha: Mapped[str | None] = mapped_column(String(64))
    unreachable_since: Mapped[datetime | None]
    # Recheck bookkeeping for the crawler (conditional requests, schedule).
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified_header: Mapped[str | None] = mapped_column(Text)
    last_full_fetch: Mapped[datetime | None]
    next_check: Mapped[datetime | None]  # indexed with the id: ix_articles_next_check_id
    hints: Mapped[dict[str, Any]] = mapped_column(default=dict)  # sitemap lastmod, news date…

    source: Mapped[Source] = relationship(back_populates="articles")
    urls: Mapped[list[ArticleUrl]] = relationship(back_populates="article")

    __table_args__ = (UniqueConstraint("url"),)


class ArticleUrl(Base):
    """Every normalized URL an article has been seen under (canonical, aliases, moves)."""

    __tablename__ = "article_urls"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # canonical | alias | moved_from | moved_to
    first_seen: Mapped[datetime]

    article: Mapped[Article] = relationship(back_populates="urls")

    __table_args__ = (UniqueConstraint("url"),)


class Version(Base):
    """One distinct normalized content of an article. Text is stored zlib-compressed."""

    __tablename__ = "versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    n: Mapped[int] = mapped_column(Integer)  # 1-based within the article
    title: Mapped[str | None] = mapped_column(Text)
    byline: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(40))
    modified: Mapped[str | None] = mapped_column(String(40))
    lang: Mapped[str | None] = mapped_column(String(20))
    text_z: Mapped[bytes] = mapped_column(LargeBinary)
    text_sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_sha256: Mapped[str] = mapped_column(String(64))  # title+byline+published+text
    text_chars: Mapped[int] = mapped_column(Integer)
    text_words: Mapped[int] = mapped_column(Integer)
    extractor: Mapped[str] = mapped_column(String(80))
    normalizer: Mapped[str] = mapped_column(String(20))
    first_capture_id: Mapped[int] = mapped_column(BigInteger)
    last_capture_id: Mapped[int] = mapped_column(BigInteger)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    # The article's images as this version showed them, [{src, alt, caption, phash,
    # reason}] (archive.content.image_entries); NULL: unknown (recorded before images
    # were kept, or from a capture whose images were not looked at, such as an import).
    images: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True, default=None)

    __table_args__ = (UniqueConstraint("article_id", "n"),)

    @property
    def text(self) -> str:
        return zlib.decompress(self.text_z).decode("utf-8")

    @staticmethod
    def compress(text: str) -> bytes:
        return zlib.compress(text.encode("utf-8"), 6)


class StoredDiff(Base):
    """The diff of two versions of an article, computed once when the newer one is
    recorded (design rule 11: never per page view) in the compact form of
    archive.capture.stored_diffs: op kinds and lengths, no text. Derived data: it can always be
    computed again from the two versions, and a row that does not rebuild them exactly,
    or was made by another diff algorithm, is not used."""

    __tablename__ = "version_diffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    old_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    new_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    algorithm: Mapped[str] = mapped_column(String(40))  # archive.content.diff.DIFF_ALGORITHM
    ops: Mapped[dict[str, Any]]

    __table_args__ = (UniqueConstraint("old_version_id", "new_version_id"),)


class Capture(Base):
    """Every fetch, unchanged or not. Append-only; `seq` orders the transparency log."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    fetch_key: Mapped[str] = mapped_column(HexDigest, unique=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    requested_url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str] = mapped_column(Text)
    redirects: Mapped[list[Any]] = mapped_column(default=list)  # [{url, status, location}]
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)  # network error kind: timeout, dns, …
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fetched_at: Mapped[datetime] = mapped_column(index=True)
    recorded_at: Mapped[datetime]
    payload_sha256: Mapped[str | None] = mapped_column(HexDigest)
    payload_length: Mapped[int | None] = mapped_column(BigInteger)
    warc_file: Mapped[str | None] = mapped_column(Text)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    warc_type: Mapped[str | None] = mapped_column(String(20))  # response | revisit
    record_sha256: Mapped[str | None] = mapped_column(HexDigest)
    # The request record stored right after the response/revisit (at warc_offset +
    # warc_length): its length and SHA-256.
    request_length: Mapped[int | None] = mapped_column(BigInteger)
    request_sha256: Mapped[str | None] = mapped_column(HexDigest)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The log's root before and after this capture (for one sealed from an archive made
    # before the log: its old hash chain's). Columns named when the log was that chain;
    # renaming them would be a migration on every archive, and the API shows them so.
    prev_chain: Mapped[str] = mapped_column(HexDigest)
    chain_hash: Mapped[str] = mapped_column(HexDigest)
    # Where the bytes came from: our own fetch (`crawl`), a WARC or saved page given to
    # `presswatch import` (`import`), or a public web archive's snapshot (`web_archive`);
    # `provenance` says which file/record or which archive and snapshot.
    origin: Mapped[str] = mapped_column(String(20), default="crawl", server_default="crawl")
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # RFC 9162 leaf hash of this capture in the transparency log (leaf index = seq - 1).
    # The leaf's bytes are in `capture_leaves` (CaptureLeaf, archive.log.leaves).
    leaf_hash: Mapped[str | None] = mapped_column(HexDigest)

    # Looked up by payload only to find the record a revisit refers to, which has a
    # payload: a 304 (every one carries the digest of the empty payload) or a failed
    # fetch has no entry. A query must say `payload_length > 0` to use it.
    __table_args__ = (
        Index(
            "ix_captures_payload_sha256",
            "payload_sha256",
            sqlite_where=sql_text("payload_length > 0"),
            postgresql_where=sql_text("payload_length > 0"),
        ),
    )


class CaptureLeaf(Base):
    """The canonical leaf bytes of a capture (archive.log.seal, docs/evidence.md) whose
    RFC 9162 hash is its `leaf_hash`, as archive.log.leaves stores them: verify names the
    field that rows no longer match, proofs and evidence hand the bytes out. Apart from
    `captures` so a capture row stays small enough for four to a SQLite page.
    Append-only, one per sealed capture."""

    __tablename__ = "capture_leaves"

    capture_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    leaf_z: Mapped[bytes] = mapped_column(LargeBinary)


class ChangeEvent(Base):
    __tablename__ = "change_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    how: Mapped[list[Any]] = mapped_column(default=list)
    at: Mapped[datetime] = mapped_column(index=True)
    from_version_id: Mapped[int | None] = mapped_column(Integer)
    to_version_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # An edit's 0–1 significance (archive.content.editclass), also in `detail`; a column so
    # lists can filter and sort on it. Null for events that are not edits.
    significance: Mapped[float | None] = mapped_column(Float, index=True)


class SearchOutbox(Base):
    """Articles whose search documents must be (re)built. Drained by the indexer;
    written in the same transaction as the change, so the index never misses one."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime]
    # Every try counts in `attempts`; only a backend's refusal of the documents (not an
    # engine that is down) counts in `rejections`, which moves a row to the dead letters.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    rejections: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SearchDeadLetter(Base):
    """An article whose search documents the backend refused `outbox_max_attempts`
    times. Kept out of the outbox so the articles behind it are indexed; shown by
    `presswatch status` and `/readyz`, retried by `presswatch outbox retry`. The archive
    itself is untouched: only the index lacks this article's latest documents."""

    __tablename__ = "search_dead_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(Integer, index=True)
    queued_at: Mapped[datetime]  # the oldest outbox row it replaces
    failed_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)


class BoilerplateLine(Base):
    """How many articles of a source carry a line; frequent short lines are boilerplate
    (footers, share prompts) and are ignored when judging edits."""

    __tablename__ = "boilerplate_lines"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    line_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    articles: Mapped[int] = mapped_column(Integer, default=0)


class LogCheckpoint(Base):
    """A signed tree head of the transparency log, as `presswatch checkpoint` issued it.
    The signing key never enters the database; `note` is the signed text itself."""

    __tablename__ = "log_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)


class BackfillSnapshot(Base):
    """One snapshot of a public web archive that `presswatch backfill` planned for a
    source, and what became of it: a rerun skips what is settled and retries what
    failed, and every failure stays visible. `key` is the SHA-256 of the archive, the
    original URL and the archive's timestamp."""

    __tablename__ = "backfill_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    archive: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[str] = mapped_column(String(14))
    snapshot_url: Mapped[str] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(8))  # as the archive's index says
    digest: Mapped[str | None] = mapped_column(String(100))
    # recorded, failed (retried by the next run), gave_up, refused, out_of_order
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class ArchiveSave(Base):
    """A request that a public web archive save a page because Presswatch saw it
    change (an edit) or start to disappear (a pending removal): one row per capture
    that prompted it, with what the archive answered (`presswatch save-changes`)."""

    __tablename__ = "archive_saves"

    id: Mapped[int] = mapped_column(primary_key=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), unique=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # edited | removal_pending
    url: Mapped[str] = mapped_column(Text)
    archive: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime]
    status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # saved | failed
    snapshot_url: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LogHead(Base):
    """One row: the head of the transparency log. `seq` is the number of captures (the
    tree size), `root_hash` the tree's root hash (hex), `frontier` its compact range
    (archive.log.merkle.Frontier) so the next append costs O(log N). Writers lock it (FOR
    UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) so captures keep one total order."""

    # Named when the log was a hash chain; renaming would be a migration on every archive.
    __tablename__ = "chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    root_hash: Mapped[str] = mapped_column("chain_hash", String(64))
    # None until `presswatch init` sealed the captures of an archive made before the log.
    frontier: Mapped[list[Any] | None] = mapped_column(JSON)


Index("ix_change_events_at_id", ChangeEvent.at, ChangeEvent.id)
# The recheck planner (queries.due_articles) reads articles in this order.
Index("ix_articles_next_check_id", Article.next_check, Article.id)
Index("ix_articles_source_id_next_check", Article.source_id, Article.next_check)


class NotifySubscription(Base):
    """Who is told about which events: a filter (sources, topic keywords, kinds, minimum
    significance) and an Apprise URL, delivered at once or in a daily digest. Written by
    the CLI, the admin API or sources.toml's `[[notify]]` (`origin`); the sender keeps
    the delivery health here (failures, backoff, last error)."""

    __tablename__ = "notify_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(Text)  # Apprise URL; may carry a secret: show redacted
    sources: Mapped[list[Any]] = mapped_column(default=list)  # empty: every source
    topic: Mapped[str | None] = mapped_column(String(100))  # the [topics.X] it came from
    keywords: Mapped[list[Any]] = mapped_column(default=list)  # empty: every article
    kinds: Mapped[list[Any]] = mapped_column(default=list)
    min_significance: Mapped[float] = mapped_column(Float, default=0.0)
    mode: Mapped[str] = mapped_column(String(20), default="immediate")  # immediate | digest
    origin: Mapped[str] = mapped_column(String(20))  # cli | api | file
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Events up to this id predate the subscription and are never sent to it.
    after_event_id: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed sends
    next_attempt_at: Mapped[datetime | None]  # backoff after a failure
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class NotifyOutbox(Base):
    """One event due to one subscription. Queued after the event commits, by a cursor
    over change events (`NotifyCursor`); `state` moves pending → sending → sent, or to
    `unconfirmed` when a sender died between sending and recording it (never resent
    unless the operator asks: at most once)."""

    __tablename__ = "notify_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("notify_subscriptions.id"), index=True)
    event_id: Mapped[int] = mapped_column(Integer)
    queued_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("subscription_id", "event_id"),)


class NotifyCursor(Base):
    """One row: the last change event matched against the subscriptions."""

    __tablename__ = "notify_cursor"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, default=0)
