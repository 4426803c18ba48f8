"""The public shapes of the API: pydantic `*Out` models for responses, `*In` models
for request bodies.

Owns what leaves and enters through HTTP, nothing else: no queries, no rendering.
ORM rows never leave the API; they are mapped here (`from_attributes=True`), with the
design's JSON key names (`archive.views.export` uses the same ones for the CLI): `versions`
for an article's version count, `chars`/`words` for a version's size, `from_version`
and `to_version` for event versions. Lists are `{data, count}` plus a `next_cursor`
where they page; search keeps the design's `{total, hits}` shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from archive.store import ArticleStatus, ChangeKind

# -- errors and probes -------------------------------------------------------------------


class ErrorOut(BaseModel):
    """Every error: one sentence that says what to fix."""

    detail: str = Field(description="What went wrong and what to change.")


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class CheckOut(BaseModel):
    ok: bool
    detail: str


class OutboxOut(BaseModel):
    """What waits for the search index. Dead letters do not make the service unready
    (it serves everything else); they need an operator: `presswatch outbox retry`."""

    pending: int = Field(description="Outbox rows waiting to be indexed.")
    oldest_pending: datetime | None = Field(description="When the oldest of them was written.")
    dead_letters: int = Field(
        description="Articles the search backend refused `outbox_max_attempts` times."
    )


class ReadyOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: CheckOut
    search: CheckOut
    outbox: OutboxOut | None = Field(
        default=None, description="The search outbox; null when the database cannot say."
    )
    detail: str | None = Field(default=None, description="Why the service is not ready.")


# -- archive records ---------------------------------------------------------------------


class _FromRows(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ArticleOut(_FromRows):
    """One article, as `presswatch articles --json` shows it, with the current
    version's title and language (the last one online, for a removed article)."""

    id: int
    url: str = Field(description="The address as last fetched (a working link).")
    key: str = Field(
        description="The normalized URL the archive identifies the article by "
        "(scheme, www and tracking parameters ignored)."
    )
    source: str
    status: ArticleStatus
    versions: int = Field(validation_alias=AliasChoices("versions", "version_count"))
    first_seen: datetime
    last_checked: datetime
    removed_at: datetime | None = Field(
        description="The first check that found the article gone (a later check "
        "confirmed it: `removal_confirmed_at`)."
    )
    removal_confirmed_at: datetime | None = Field(
        default=None,
        description="The check that confirmed the removal: the `removed` event's `at`.",
    )
    removal_via: dict[str, Any] | None = Field(
        default=None,
        description="When a web archive's snapshot told us of the removal: "
        "{archive, snapshot, timestamp}; null for what we saw ourselves.",
    )
    removal: str | None = Field(description="How it was removed: http_404, soft_404, …")
    pending_removal: str | None = Field(
        description="A removal sign seen but not yet confirmed by a later check."
    )
    title: str | None = None
    lang: str | None = None


class ArticleList(BaseModel):
    data: list[ArticleOut]
    count: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class ImageOut(BaseModel):
    """One of the article's images as a version showed it."""

    src: str = Field(description="The image's absolute address, as the page named it.")
    alt: str
    caption: str = Field(description="The text of its <figcaption>, or empty.")
    phash: str | None = Field(
        description="64-bit perceptual hash (16 hex digits) of the bytes fetched; null "
        "when the image could not be fetched or decoded (`reason` says why)."
    )
    reason: str | None = None


class VersionSummaryOut(_FromRows):
    n: int
    title: str | None
    byline: str | None
    published: str | None
    modified: str | None
    lang: str | None
    text_sha256: str
    chars: int = Field(validation_alias=AliasChoices("chars", "text_chars"))
    words: int = Field(validation_alias=AliasChoices("words", "text_words"))
    first_seen: datetime
    last_seen: datetime
    first_capture_id: int
    last_capture_id: int
    extractor: str
    normalizer: str
    screenshot: str | None = Field(
        default=None,
        description="API path of the version's full-page screenshot (PNG), as the browser "
        "rendered the fetch that made it; null when it was not rendered.",
    )
    images: list[ImageOut] | None = Field(
        default=None,
        description="The article's images in this version; null when unknown (a version "
        "recorded before images were kept, or from an import).",
    )


class RenderingOut(BaseModel):
    """The browser rendering of a fetch (a capture of its own in the log, outcome
    `rendered`, shown under the fetch it rendered rather than as another fetch)."""

    capture_id: int = Field(description="The rendering's own capture in the log.")
    outcome: str = Field(description="What became of the rendering (`ok`, `timeout`, …).")
    reason: str
    rendered_at: datetime
    screenshot: str | None = Field(
        default=None, description="API path of the screenshot PNG, or null."
    )
    resources: int = Field(default=0, description="Page requisites recorded.")
    refused: int = Field(default=0, description="Requests refused (egress, robots, caps).")


class CaptureSummaryOut(_FromRows):
    """One fetch on an article's timeline."""

    id: int
    fetched_at: datetime
    requested_url: str
    final_url: str
    status: int | None
    error: str | None
    outcome: str
    warc_type: str | None
    payload_sha256: str | None
    payload_length: int | None
    version_n: int | None = Field(
        default=None,
        description="The article's current version after this fetch (the one it produced "
        "or saw; for a failed fetch, the one the archive still holds).",
    )
    origin: str = Field(
        default="crawl",
        description="Where the fetch came from: `crawl` (our own), `import` "
        "(`presswatch import`) or `web_archive` (a public archive's snapshot).",
    )
    rendering: RenderingOut | None = Field(
        default=None,
        description="This fetch's rendering in the browser, or null (on an article's "
        "timeline; renderings are not listed as fetches).",
    )


class CaptureOut(CaptureSummaryOut):
    """Everything recorded about one fetch (the archived bytes are at `/raw`)."""

    article_id: int | None
    source_id: int | None
    seq: int
    redirects: list[Any]
    headers: dict[str, Any]
    recorded_at: datetime
    warc_file: str | None
    warc_offset: int | None
    warc_length: int | None
    record_sha256: str | None
    detail: dict[str, Any]
    provenance: dict[str, Any] = Field(
        default_factory=dict,
        description="For an import: file, offset, record_id, warc_date and digest (`ok`, "
        "`mismatch`, `absent`); for a web-archive snapshot: the archive and snapshot.",
    )
    prev_chain: str
    chain_hash: str
    raw_url: str | None = Field(description="Where the archived bytes download from, if kept.")
    leaf_hash: str | None = Field(
        description="RFC 9162 leaf hash of this capture in the transparency log (leaf index "
        "seq - 1; prev_chain and chain_hash are the log's roots before and after it, "
        "docs/evidence.md); its inclusion proof is at /api/captures/{id}/proof."
    )


class VersionOut(VersionSummaryOut):
    """One version with its text and the fetches that first and last saw it."""

    article_id: int
    text: str
    first_capture: CaptureSummaryOut | None
    last_capture: CaptureSummaryOut | None


class EventOut(_FromRows):
    id: int
    kind: ChangeKind
    how: list[str] = Field(
        description="For removed: how (http_404, …); for edited: the parts (title, body, …)."
    )
    at: datetime
    from_version: int | None
    to_version: int | None
    capture_id: int
    detail: dict[str, Any]
    via: dict[str, Any] | None = Field(
        default=None,
        description="For an event learned from a web archive's snapshot: {archive, snapshot, "
        "timestamp}; null for what Presswatch saw itself.",
    )
    label: str = Field(
        default="", description="The kind as shown, e.g. 'removed (per web archive)'."
    )
    origin: str | None = Field(
        default=None,
        description="Where the fetch that caused it came from: crawl, import or web_archive.",
    )


class AliasOut(_FromRows):
    url: str
    kind: str = Field(description="canonical, alias, moved_from or moved_to")
    first_seen: datetime


class StoryCopyOut(BaseModel):
    """Another article carrying the same story, and whether it is still up."""

    article_id: int
    url: str
    source: str
    status: ArticleStatus


class StoryOut(BaseModel):
    """The same story at other outlets (`archive.stories`)."""

    id: int = Field(description="The story's id (stable: a merged story's id leads here).")
    copies: list[StoryCopyOut] = Field(
        description="The other articles, the article itself left out."
    )
    shared: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Why this article is in the story: the articles it was matched with "
        "(its strongest matches, at most 6, strongest first), "
        "{article_id, how: near_duplicate | passage, similarity, passages: [text]}.",
    )


class RemovalOut(BaseModel):
    """One copy's removal, as a `removed_together` event names it."""

    event_id: int = Field(description="The `removed` change event.")
    article_id: int
    url: str
    source: str
    removed_at: datetime = Field(description="The first check that found the copy gone.")
    confirmed_at: datetime = Field(description="The check that confirmed it (the event's at).")
    how: str | None
    origin: str | None = Field(description="crawl, import or web_archive.")
    via: dict[str, Any] | None = Field(
        default=None, description="For a web archive's snapshot: {archive, snapshot, timestamp}."
    )


class RemovedTogetherOut(BaseModel):
    """Copies of one story removed at several outlets within days (one per episode)."""

    id: int
    kind: ChangeKind
    at: datetime = Field(description="When the episode reached the threshold.")
    story_id: int
    outlets: int
    first_removed_at: datetime
    window_ends_at: datetime
    updated_at: datetime
    removals: list[RemovalOut]


class ArticleDetailOut(BaseModel):
    """`presswatch history --json`, plus the URLs and the fetches (oldest first)."""

    article: ArticleOut
    versions: list[VersionSummaryOut]
    events: list[EventOut]
    aliases: list[AliasOut]
    captures: list[CaptureSummaryOut]
    captures_truncated: bool = Field(
        description="True when the article has more fetches than are listed."
    )
    web_archive_coverage: dict[str, Any] | None = Field(
        default=None,
        description="Snapshots recorded from web archives (`presswatch backfill`): {snapshots, "
        "first, last, largest_gaps: [{from, to, days}]}; null when there are none.",
    )
    story: StoryOut | None = Field(
        default=None,
        description="The same story at other outlets with each copy's status; null when "
        "the article stands alone.",
    )
    removed_together: list[RemovedTogetherOut] = Field(
        default_factory=list,
        description="`removed_together` events naming this article's removal: its story's "
        "copies removed at several outlets within days.",
    )


class LookupOut(BaseModel):
    normalized_url: str
    article: ArticleOut
    aliases: list[AliasOut]


class ChangeOut(BaseModel):
    """One change event, as `presswatch changes --json` shows it, with the title and
    language of the version it concerns."""

    id: int
    article_id: int
    url: str
    source: str
    kind: ChangeKind
    how: str | list[str] = Field(
        description="A removal's how as one string; an edit's changed parts as a list."
    )
    at: datetime
    from_version: int | None
    to_version: int | None
    detail: dict[str, Any] = Field(
        description="What changed and how much; for an edit also `classes` (what kind of "
        "edit, each with its evidence) and `significance` (0-1), as docs/json.md describes."
    )
    via: dict[str, Any] | None = Field(
        default=None, description="As in an article's events: the web archive it came from."
    )
    label: str = Field(
        default="", description="The kind as shown, e.g. 'removed (per web archive)'."
    )
    origin: str | None = Field(
        default=None,
        description="Where the fetch that caused it came from: crawl, import or web_archive.",
    )
    title: str | None
    lang: str | None


class ChangeList(BaseModel):
    data: list[ChangeOut]
    count: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` for older events; null when there are none."
    )


class SourceOut(BaseModel):
    name: str
    base_url: str
    enabled: bool
    languages: list[str]
    articles: int
    live: int
    edited: int
    removed: int
    unreachable: int
    edits: int = Field(
        default=0, description="Edit events ever recorded (whatever the articles' status now)."
    )
    last_capture: datetime | None = Field(default=None, description="The newest capture.")
    last_crawl: datetime | None
    last_error: str | None


class SourceList(BaseModel):
    data: list[SourceOut]
    count: int


# -- search ------------------------------------------------------------------------------


class HitOut(BaseModel):
    """One search hit (`presswatch search --json`). `snippet` and `title_html` are
    HTML: archived text escaped, matches in `<mark>`."""

    article_id: int
    url: str
    source: str
    title: str
    status: ArticleStatus
    version: int
    lang: str | None
    snippet: str
    removed_text: bool = Field(
        description="The match is only in text that a later version no longer has."
    )
    is_current: bool
    published: str | None
    first_seen: datetime
    last_seen: datetime
    removed_at: datetime | None
    topic: str | None
    title_html: str
    score: float | None
    story_id: int | None = Field(
        default=None, description="The article's story, with group=story (null: none)."
    )


class FacetsOut(BaseModel):
    source: dict[str, int]
    lang: dict[str, int]
    status: dict[str, int]


class SearchGroupOut(BaseModel):
    """Hits of one story on this page (`group=story`), best-ranked first."""

    story_id: int | None = Field(description="The story; null for an article standing alone.")
    hits: list[HitOut]


class SearchOut(BaseModel):
    total: int = Field(description="Matching articles (or versions, with versions=all).")
    hits: list[HitOut]
    facets: FacetsOut | None
    page: int
    per_page: int
    groups: list[SearchGroupOut] | None = Field(
        default=None,
        description="With group=story: this page's hits gathered by story, in the order of "
        "each group's best hit; null otherwise.",
    )


# -- diffs -------------------------------------------------------------------------------


class DiffOpOut(BaseModel):
    op: Literal["equal", "insert", "delete", "replace"]
    old: str
    new: str


class FieldChangeOut(BaseModel):
    field: str
    old: str | None
    new: str | None
    ops: list[DiffOpOut]


class DiffStatsOut(BaseModel):
    chars_added: int
    chars_removed: int
    words_added: int
    words_removed: int


class DiffOut(BaseModel):
    """`presswatch diff --format json`, with the article and version numbers."""

    model_config = ConfigDict(populate_by_name=True)

    article_id: int
    from_version: int
    to_version: int
    from_label: str = Field(alias="from")
    to_label: str = Field(alias="to")
    changed: list[str] = Field(description="Parts that changed: title, body, byline, dates.")
    fields: list[FieldChangeOut]
    body: list[DiffOpOut]
    stats: DiffStatsOut
    coarse: bool = Field(
        default=False,
        description="True when the diff's work budget ran out (a text of many repeated "
        "sentences): some region is one replacement where a finer diff would mark less. "
        "Still exact: the ops rebuild both versions.",
    )


# -- admin -------------------------------------------------------------------------------

_SLUG = r"^[a-z0-9][a-z0-9_-]{0,99}$"
_SLUG_OR_EMPTY = r"^([a-z0-9][a-z0-9_-]{0,99})?$"
_LANG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
Url = Annotated[
    str, StringConstraints(min_length=8, max_length=2048, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://")
]
LangCode = Annotated[str, StringConstraints(pattern=_LANG, max_length=20)]


class _SourceFields(BaseModel):
    """What the schema can say about a source; `search_api.routes.admin` checks the
    rest (hosts present, patterns compile) and answers 400. Strict: a JSON value of
    the wrong type is refused, never coerced (`"enabled": "T"` is not true)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class SourceIn(_SourceFields):
    """A new outlet, with the keys of a `[[source]]` entry in sources.toml."""

    name: str = Field(pattern=_SLUG, description="Unique slug, e.g. vod-english.")
    base_url: Url
    languages: list[LangCode] = Field(default_factory=list, max_length=20)
    sitemaps: list[Url] = Field(default_factory=list, max_length=50)
    feeds: list[Url] = Field(default_factory=list, max_length=50)
    listings: list[Url] = Field(default_factory=list, max_length=50)
    article_url_pattern: str | None = Field(default=None, max_length=500)
    topic: str | None = Field(default=None, pattern=_SLUG)
    render: bool = Field(
        default=False,
        description="Fetch through the browser and read the text and links from the "
        "rendered DOM (JavaScript-built outlets; needs the browser).",
    )
    enabled: bool = True


class SourcePatch(_SourceFields):
    """Changes to an outlet. Keys left out (or null) stay as they are; an empty string
    clears `article_url_pattern` or `topic`."""

    base_url: Url | None = None
    languages: list[LangCode] | None = Field(default=None, max_length=20)
    sitemaps: list[Url] | None = Field(default=None, max_length=50)
    feeds: list[Url] | None = Field(default=None, max_length=50)
    listings: list[Url] | None = Field(default=None, max_length=50)
    article_url_pattern: str | None = Field(default=None, max_length=500)
    topic: str | None = Field(default=None, pattern=_SLUG_OR_EMPTY)
    render: bool | None = None
    enabled: bool | None = None


class RecheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    url: Url = Field(description="Any URL the article was seen under.")


class RecheckOut(BaseModel):
    article_id: int
    url: str
    next_check: datetime
    detail: str


# -- notifications ---------------------------------------------------------------------

NotifyKind = Literal[
    "discovered",
    "edited",
    "removed",
    "restored",
    "moved",
    "unreachable",
    "reachable",
    "removed_together",
]


# As archive.DEFAULT_NOTIFY_KINDS (test_notify_api checks they agree).
_DEFAULT_NOTIFY_KINDS: tuple[NotifyKind, ...] = (
    "edited",
    "removed",
    "restored",
    "removed_together",
)


class NotifyIn(BaseModel):
    """A notification subscription, with the keys of a `[[notify]]` entry in
    sources.toml (a topic is given as its keywords here)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(pattern=_SLUG, description="Unique slug, e.g. desk-email.")
    url: str = Field(
        min_length=3, max_length=2048, description="Apprise URL: mailto://…, json://…, tgram://…"
    )
    sources: list[Annotated[str, StringConstraints(pattern=_SLUG)]] = Field(
        default_factory=list, max_length=100, description="Source names; empty: every source."
    )
    keywords: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=200, description="Any of them in title or text."
    )
    kinds: list[NotifyKind] = Field(
        default_factory=lambda: list(_DEFAULT_NOTIFY_KINDS), max_length=7
    )
    min_significance: float = Field(default=0.0, ge=0.0, le=1.0)
    mode: Literal["immediate", "digest"] = "immediate"
    enabled: bool = True


class NotifyOut(BaseModel):
    """A subscription as `presswatch notify list --json` shows it (URL redacted)."""

    name: str
    url: str
    sources: list[str]
    topic: str | None
    keywords: list[str]
    kinds: list[str]
    min_significance: float
    mode: str
    origin: str
    enabled: bool
    created_at: datetime | None
    matched: int
    pending: int
    sent: int
    unconfirmed: int
    failures: int
    last_error: str | None
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    next_attempt_at: datetime | None


class NotifyList(BaseModel):
    data: list[NotifyOut]
    count: int


class NotifyHealthOut(BaseModel):
    """A subscription's delivery health, public: no URL, filters or error text (they
    can name people's addresses); the admin API and `presswatch status` have those."""

    name: str
    mode: str
    enabled: bool
    matched: int
    pending: int
    sent: int
    unconfirmed: int
    failures: int
    last_success_at: datetime | None
    next_attempt_at: datetime | None


class NotifyHealthList(BaseModel):
    data: list[NotifyHealthOut]
    count: int


# -- case files ---------------------------------------------------------------------------


class CaseArticleOut(BaseModel):
    article_id: int
    url: str
    status: str
    tags: list[str]
    added_at: datetime
    added_by: str


class CaseNoteOut(BaseModel):
    id: int
    article_id: int | None
    text: str
    author: str
    at: datetime
    audit_id: int = Field(description="The audit entry whose log leaf commits to the text.")


class CaseOut(BaseModel):
    name: str
    created_at: datetime
    created_by: str
    articles: list[CaseArticleOut]
    notes: list[CaseNoteOut]


class CaseSummaryOut(BaseModel):
    name: str
    created_at: datetime
    created_by: str
    articles: int
    notes: int


class CaseList(BaseModel):
    data: list[CaseSummaryOut]
    count: int


class CaseArticleIn(BaseModel):
    article: str = Field(max_length=2000, description="The article's id or any of its URLs.")
    tags: list[str] = Field(default_factory=list, max_length=20)


class CaseNoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    article: str | None = Field(
        default=None, max_length=2000, description="The article the note is about, if one."
    )


# -- saving a page now and the audit log ------------------------------------------------------


class SaveIn(BaseModel):
    url: str = Field(min_length=1, max_length=2000, description="The address to capture now.")
    source: str | None = Field(
        default=None,
        max_length=64,
        description="The source to record it under (default: the one on the address's host).",
    )
    note: str = Field(default="", max_length=1000, description="Why (kept in the audit log).")


class SaveOut(BaseModel):
    ok: bool
    url: str
    source: str
    capture_id: int
    outcome: str = Field(description="The capture's outcome: new, edited, unchanged, unreachable…")
    http_status: int | None
    article_id: int | None
    status: str | None = Field(description="The article's status, or null when none was made.")
    versions: int
    next_check: datetime | None
    audit_leaf_index: int = Field(description="The save's audit entry in the transparency log.")
    rendered: bool = Field(description="Whether the browser rendered the new version.")


class AuditOut(BaseModel):
    id: int
    seq: int
    leaf_index: int = Field(description="The entry's leaf in the transparency log (seq - 1).")
    at: datetime
    actor: str
    action: str
    object_kind: str
    object_id: str
    detail: dict[str, Any]
    leaf_hash: str


class AuditList(BaseModel):
    data: list[AuditOut]
    count: int = Field(description="Entries on this page.")
    total: int = Field(description="Entries in the whole audit log.")
    offset: int
    limit: int
