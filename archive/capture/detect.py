"""Change and takedown detection: what one fetch means for an article.

Pure: values in, values out; no Session, clock, network or files. Two steps:

* `observe()` reads one fetch (status, network error, redirect, extracted page) and
  says what it showed: content, a not-modified answer, a removal sign (404, 410, 451,
  redirect to home or elsewhere, soft-404 notice, emptied page), a block, or nothing
  reachable.
* `judge()` weighs that observation against the article's state and returns a
  `Verdict`: the capture's outcome, the events to record, whether a new Version is
  due, and the article's next state.

The rules it enforces (design rules 2, 3 and 7): change is judged on normalized text
and metadata, never bytes; one failed fetch is never a takedown (a removal sign must
be seen on `confirmations` consecutive checks, and 5xx, timeouts, DNS and connection
errors are `unreachable`, never `removed`); a block page or a collapsed extraction is
not a version.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from archive.content.edit_images import images_differ
from archive.content.image_entries import ArticleImage, images_from_json
from archive.content.patterns import UrlPattern, compile_url_pattern
from archive.errors import ConfigError
from archive.store.models import ArticleStatus, CaptureOutcome, ChangeKind, RemovalReason

if TYPE_CHECKING:
    from archive.store.models import Article, Version

DATA_DIR = Path(__file__).parent / "data"

# Below this many characters of article text a 200 page has no article left.
EMPTIED_MAX_CHARS = 40
# A soft-404 notice is short; a long article that mentions "not found" is not one.
SOFT_404_MAX_CHARS = 700
# A challenge or consent page has little text; a long article quoting "access denied" is not one.
BLOCK_MAX_CHARS = 1000
# A collapsed page sharing less than this share of its trigrams with the last
# version is not a cut-down article but an emptied shell.
UNRELATED_MAX_SHARE = 0.5
# Average line length below which what is left reads as navigation, not prose.
FURNITURE_MAX_LINE = 40
# Collapse detection only makes sense against a last version of some length.
DEGRADED_MIN_LAST_CHARS = 300
# A path segment followed by a listing name: /category/x/, /tag/y/, /page/2/.
LISTING_PARENTS = frozenset(
    {
        "category",
        "categories",
        "tag",
        "tags",
        "section",
        "sections",
        "topic",
        "topics",
        "author",
        "page",
        "archive",
        "archives",
    }
)
# A last path segment that names a section or listing rather than an article: a listing
# name itself, or a section, search, home or language root.
SECTION_SEGMENTS = LISTING_PARENTS | frozenset(
    {"news", "search", "home", "index.html", "index.php", "en", "km", "kh"}
)


def _load_phrases(name: str) -> tuple[str, ...]:
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return tuple(
        line.strip().casefold() for line in lines if line.strip() and not line.startswith("#")
    )


# Phrases as data, so a newsroom's own wording can be added without code.
NOT_FOUND_PHRASES = _load_phrases("not_found_phrases.txt")
_BLOCK = _load_phrases("block_phrases.txt")
BLOCK_PHRASES = tuple(p for p in _BLOCK if not p.startswith("html:"))
BLOCK_MARKUP = tuple(p.removeprefix("html:") for p in _BLOCK if p.startswith("html:"))


class Seen(StrEnum):
    """What a single fetch showed, before it is weighed against the article."""

    CONTENT = "content"
    NOT_MODIFIED = "not_modified"
    REMOVAL_SIGN = "removal_sign"
    MOVED = "moved"
    BLOCKED = "blocked"
    UNREACHABLE = "unreachable"
    NOT_ARTICLE = "not_article"


@dataclass(frozen=True, slots=True)
class ContentKey:
    """The parts of a version that decide whether content changed."""

    title: str | None
    byline: str | None
    published: str | None
    text: str
    text_sha256: str
    # The article's pictures (None: unknown, never compared; archive.content.edit_images).
    images: tuple[ArticleImage, ...] | None = None

    @classmethod
    def of(cls, version: Version) -> ContentKey:
        """The content of a stored version, as it was recorded."""
        return cls(
            title=version.title,
            byline=version.byline,
            published=version.published,
            text=version.text,
            text_sha256=version.text_sha256,
            images=images_from_json(version.images),
        )

    @property
    def chars(self) -> int:
        return len(self.text)


@dataclass(frozen=True, slots=True)
class Observation:
    seen: Seen
    removal: RemovalReason | None = None
    content: ContentKey | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ArticleState:
    """What the archive knows of an article before this fetch (None: a new URL)."""

    status: ArticleStatus
    last: ContentKey
    version_count: int
    pending_removal: RemovalReason | None = None
    pending_count: int = 0
    pending_degraded_sha: str | None = None

    @classmethod
    def of(cls, article: Article, last: ContentKey) -> ArticleState:
        """An archived article's state (its row), with `last` as its last content."""
        return cls(
            status=ArticleStatus(article.status),
            last=last,
            version_count=article.version_count,
            pending_removal=(
                RemovalReason(article.pending_removal) if article.pending_removal else None
            ),
            pending_count=article.pending_count,
            pending_degraded_sha=article.pending_degraded_sha,
        )


@dataclass(frozen=True, slots=True)
class EventSpec:
    kind: ChangeKind
    how: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    """How cautious detection is. Defaults follow the design."""

    confirmations: int = 2
    degraded_ratio: float = 0.3


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: CaptureOutcome
    events: tuple[EventSpec, ...] = ()
    new_version: bool = False
    # The article's next state; None fields of a new URL mean "no article".
    status: ArticleStatus | None = None
    pending_removal: RemovalReason | None = None
    pending_count: int = 0
    pending_degraded_sha: str | None = None
    confirmed_removal: RemovalReason | None = None
    cleared_removal: bool = False


# -- observe ---------------------------------------------------------------------------


def looks_not_found(*texts: str | None) -> bool:
    """True when a short page reads as a not-found notice (English or Khmer)."""
    for text in texts:
        if not text:
            continue
        folded = text.casefold()
        if any(phrase in folded for phrase in NOT_FOUND_PHRASES):
            return True
    return False


def looks_blocked(page_title: str | None, text: str, html_head: str) -> bool:
    """True for bot-block, challenge, consent or paywall interstitials."""
    visible = " ".join(filter(None, [page_title, text[:2000]])).casefold()
    if any(phrase in visible for phrase in BLOCK_PHRASES):
        return True
    markup = html_head[:20000].casefold()
    return any(marker in markup for marker in BLOCK_MARKUP)


def _path_segments(url: str) -> list[str]:
    return [s for s in urlsplit(url).path.split("/") if s]


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _usable_pattern(article_pattern: str | None) -> UrlPattern | None:
    """The source's pattern compiled by RE2 (`archive.content.patterns`): linear in the URL,
    which the outlet chose. A stored pattern RE2 refuses (saved before patterns were
    checked) counts as no pattern: the heuristics below judge, never a guess from it."""
    if not article_pattern:
        return None
    try:
        return compile_url_pattern(article_pattern)
    except ConfigError:
        return None


def is_home_or_section(url: str, base_url: str, article_pattern: str | None) -> bool:
    """A redirect target that is the outlet's home page or a section listing."""
    pattern = _usable_pattern(article_pattern)
    segments = _path_segments(url)
    base_segments = _path_segments(base_url)
    if len(segments) <= len(base_segments) and _host(url) == _host(base_url):
        return True
    if not segments:
        return True
    if pattern is not None and pattern.search(url) is not None:
        return False
    if len(segments) >= 2 and segments[-2].casefold() in LISTING_PARENTS:
        return True  # /category/politics/, /tag/courts/, /page/2/
    if segments[-1].casefold() in SECTION_SEGMENTS:
        return True
    # With a pattern we know what articles look like: anything else is not one.
    return pattern is not None


def observe(
    *,
    status: int | None,
    error: str | None,
    requested_url: str,
    final_url: str,
    base_url: str,
    article_pattern: str | None,
    is_html: bool,
    page_title: str | None,
    content: ContentKey | None,
    html_head: str = "",
) -> Observation:
    """Say what one fetch showed. URLs are normalized (`normalize_url`)."""
    if error is not None or status is None:
        return Observation(Seen.UNREACHABLE, note=error or "no response")
    if status == 304:
        return Observation(Seen.NOT_MODIFIED)
    if status == 404:
        return Observation(Seen.REMOVAL_SIGN, RemovalReason.HTTP_404)
    if status == 410:
        return Observation(Seen.REMOVAL_SIGN, RemovalReason.HTTP_410)
    if status == 451:
        return Observation(
            Seen.REMOVAL_SIGN, RemovalReason.HTTP_451, note="unavailable for legal reasons"
        )
    if status in (401, 403, 429):
        return Observation(Seen.BLOCKED, note=f"HTTP {status}: access refused")
    if 300 <= status < 400:
        return Observation(
            Seen.UNREACHABLE, note=f"HTTP {status}: redirect not resolved (loop or limit)"
        )
    if status >= 400:
        return Observation(Seen.UNREACHABLE, note=f"HTTP {status}")
    if not (200 <= status < 300):
        return Observation(Seen.UNREACHABLE, note=f"HTTP {status}")

    text = content.text if content is not None else ""
    if is_html and looks_blocked(page_title, text, html_head) and len(text) < BLOCK_MAX_CHARS:
        return Observation(Seen.BLOCKED, note="challenge, consent or paywall page")

    moved_away = final_url != requested_url
    if moved_away and is_home_or_section(final_url, base_url, article_pattern):
        return Observation(Seen.REMOVAL_SIGN, RemovalReason.REDIRECT_HOME, note=final_url)

    if not is_html:
        if moved_away:
            return Observation(Seen.REMOVAL_SIGN, RemovalReason.REDIRECT_ELSEWHERE, note=final_url)
        return Observation(Seen.NOT_ARTICLE, note="not an HTML page")

    if len(text) <= SOFT_404_MAX_CHARS and looks_not_found(
        page_title, content.title if content else None, text
    ):
        reason = RemovalReason.SOFT_404
        if moved_away:
            reason = RemovalReason.REDIRECT_ELSEWHERE
        return Observation(Seen.REMOVAL_SIGN, reason, note="not-found notice")

    if len(text) < EMPTIED_MAX_CHARS:
        if moved_away:
            return Observation(Seen.REMOVAL_SIGN, RemovalReason.REDIRECT_ELSEWHERE, note=final_url)
        return Observation(Seen.REMOVAL_SIGN, RemovalReason.EMPTIED, note="no article text")

    if moved_away:
        return Observation(Seen.MOVED, content=content, note=final_url)
    return Observation(Seen.CONTENT, content=content)


# -- judge -----------------------------------------------------------------------------


def comparable_text(text: str, boilerplate: frozenset[str], line_hash: Any) -> str:
    """The text minus lines known to be the source's boilerplate."""
    if not boilerplate:
        return text
    return "\n".join(line for line in text.split("\n") if line_hash(line) not in boilerplate)


def changed_parts(old: ContentKey, new: ContentKey, *, same_body: bool) -> tuple[str, ...]:
    parts = []
    if (old.title or "") != (new.title or ""):
        parts.append("title")
    if not same_body:
        parts.append("body")
    if (old.byline or "") != (new.byline or ""):
        parts.append("byline")
    if (old.published or "") != (new.published or ""):
        parts.append("dates")
    if images_differ(old.images, new.images):
        parts.append("images")
    return tuple(parts)


def _live_status(version_count: int) -> ArticleStatus:
    return ArticleStatus.EDITED if version_count > 1 else ArticleStatus.LIVE


def judge_new(obs: Observation) -> Verdict:
    """A URL with no article yet: only content makes one."""
    if obs.seen in (Seen.CONTENT, Seen.MOVED) and obs.content is not None:
        return Verdict(
            CaptureOutcome.NEW,
            (EventSpec(ChangeKind.DISCOVERED),),
            new_version=True,
            status=ArticleStatus.LIVE,
        )
    if obs.seen is Seen.UNREACHABLE:
        return Verdict(CaptureOutcome.UNREACHABLE)
    if obs.seen is Seen.BLOCKED:
        return Verdict(CaptureOutcome.BLOCKED)
    return Verdict(CaptureOutcome.NOT_ARTICLE)


def judge(
    state: ArticleState,
    obs: Observation,
    policy: Policy,
    *,
    same_body: bool | None = None,
) -> Verdict:
    """Weigh one observation against a known article.

    `same_body` is the caller's comparison of the bodies with boilerplate lines
    ignored; None means compare the texts as they are.
    """
    keep = Verdict(
        CaptureOutcome.UNCHANGED,
        status=state.status,
        pending_removal=state.pending_removal,
        pending_count=state.pending_count,
        pending_degraded_sha=state.pending_degraded_sha,
    )
    was_unreachable = state.status is ArticleStatus.UNREACHABLE
    removed = state.status is ArticleStatus.REMOVED
    back: tuple[EventSpec, ...] = (EventSpec(ChangeKind.REACHABLE),) if was_unreachable else ()
    live_status = _live_status(state.version_count)

    if obs.seen is Seen.UNREACHABLE:
        if was_unreachable or removed:
            return replace(keep, outcome=CaptureOutcome.UNREACHABLE)
        return replace(
            keep,
            outcome=CaptureOutcome.UNREACHABLE,
            events=(EventSpec(ChangeKind.UNREACHABLE, detail={"error": obs.note}),),
            status=ArticleStatus.UNREACHABLE,
        )
    if obs.seen is Seen.BLOCKED:
        return replace(keep, outcome=CaptureOutcome.BLOCKED)
    if obs.seen is Seen.NOT_ARTICLE:
        return replace(keep, outcome=CaptureOutcome.NOT_ARTICLE)

    if obs.seen in (Seen.CONTENT, Seen.MOVED) and obs.content is not None:
        if _collapsed(state.last, obs.content, policy) and _unrelated(state.last, obs.content):
            # Only page furniture is left (menus, footer): the story was blanked.
            reason = (
                RemovalReason.EMPTIED
                if obs.seen is Seen.CONTENT
                else RemovalReason.REDIRECT_ELSEWHERE
            )
            obs = Observation(
                Seen.REMOVAL_SIGN, reason, note="article text gone; page furniture only"
            )

    if obs.seen is Seen.REMOVAL_SIGN:
        assert obs.removal is not None
        if removed:
            return replace(keep, outcome=CaptureOutcome.REMOVED)
        count = state.pending_count + 1 if state.pending_removal is not None else 1
        status_now = live_status if was_unreachable else state.status
        if count >= policy.confirmations:
            return Verdict(
                CaptureOutcome.REMOVED,
                (*back, EventSpec(ChangeKind.REMOVED, (obs.removal.value,), {"checks": count})),
                status=ArticleStatus.REMOVED,
                confirmed_removal=obs.removal,
            )
        return Verdict(
            CaptureOutcome.REMOVAL_PENDING,
            back,
            status=status_now,
            pending_removal=obs.removal,
            pending_count=count,
        )

    if obs.seen is Seen.NOT_MODIFIED:
        if removed:
            # A 304 says the old page is there again, without showing it: wait for a 200.
            return replace(keep, outcome=CaptureOutcome.NOT_MODIFIED)
        return Verdict(
            CaptureOutcome.NOT_MODIFIED,
            back,
            status=live_status if was_unreachable else state.status,
        )

    # CONTENT or MOVED
    assert obs.content is not None
    new = obs.content
    moved_events: tuple[EventSpec, ...] = ()
    if obs.seen is Seen.MOVED:
        moved_events = (EventSpec(ChangeKind.MOVED, detail={"to": obs.note}),)
    body_same = same_body if same_body is not None else new.text == state.last.text
    parts = changed_parts(state.last, new, same_body=body_same)

    if parts and _collapsed(state.last, new, policy):
        if state.pending_degraded_sha != new.text_sha256:
            return Verdict(
                CaptureOutcome.DEGRADED,
                back,
                status=live_status if was_unreachable else state.status,
                pending_removal=state.pending_removal,
                pending_count=state.pending_count,
                pending_degraded_sha=new.text_sha256,
            )
        # Seen twice in a row: the outlet really cut the article down.

    if removed:
        detail: dict[str, Any] = {"changed": list(parts)}
        return Verdict(
            CaptureOutcome.RESTORED,
            (*moved_events, EventSpec(ChangeKind.RESTORED, parts, detail)),
            new_version=bool(parts),
            status=_live_status(state.version_count + (1 if parts else 0)),
            cleared_removal=True,
        )
    if not parts:
        outcome = CaptureOutcome.MOVED if moved_events else CaptureOutcome.UNCHANGED
        return Verdict(outcome, (*back, *moved_events), status=live_status)
    return Verdict(
        CaptureOutcome.EDITED,
        (*back, *moved_events, EventSpec(ChangeKind.EDITED, parts)),
        new_version=True,
        status=ArticleStatus.EDITED,
    )


def _trigrams(text: str) -> set[str]:
    squeezed = " ".join(text.casefold().split())
    return {squeezed[i : i + 3] for i in range(max(0, len(squeezed) - 2))}


def _unrelated(last: ContentKey, new: ContentKey) -> bool:
    """True when most of the new text is not in the last version at all (a shell of
    navigation and footer), as opposed to a cut-down article (which is degraded)."""
    lines = [line for line in new.text.split("\n") if line.strip()]
    if not lines:
        return True
    # Menus, breadcrumbs and footers come as many short lines; prose does not.
    if sum(len(line) for line in lines) / len(lines) < FURNITURE_MAX_LINE:
        return True
    fresh = _trigrams(new.text)
    shared = len(fresh & _trigrams(last.text)) / max(1, len(fresh))
    return shared < UNRELATED_MAX_SHARE


def _collapsed(last: ContentKey, new: ContentKey, policy: Policy) -> bool:
    return last.chars >= DEGRADED_MIN_LAST_CHARS and new.chars < policy.degraded_ratio * last.chars
