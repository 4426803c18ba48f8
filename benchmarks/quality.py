"""Detection quality: mutate a seeded random 10% of the site's articles, recheck twice,
and score the archive's ChangeEvents against the ground truth.

Owns: the mutation plan (which article gets which of the ten kinds, from a fixed seed),
what each kind must and must not produce (the ground truth), applying the plan to the
site between rechecks (a 503 burst lasts one check), and the scoring: precision and
recall per event kind, false takedowns, false edits, removals reported on the first
sighting (design rule 3 says they need a confirming check), and whether the `how` of
each detected edit or removal is the right one.

Must not: look at how the archive decides anything; it reads events, as a watchdog
would. Edits change article-unique paragraphs or the headline: variants of one fixture
share many short lines, which the archive rightly learns as a source's boilerplate, so
an edit there would be invisible by design and is not what this measures.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.content import normalize_url
from archive.store import Article, ChangeEvent
from benchmarks.site import BenchSite, Edit, Mode

BURST = "503_burst"

# kind -> (what the site does, the events it must produce as {event kind: how})
KINDS: dict[str, tuple[str, dict[str, str | None]]] = {
    Edit.SMALL: (Edit.SMALL, {"edited": "body"}),
    Edit.MEDIUM: (Edit.MEDIUM, {"edited": "body"}),
    Edit.LARGE: (Edit.LARGE, {"edited": "body"}),
    Edit.HEADLINE: (Edit.HEADLINE, {"edited": "title"}),
    Edit.NOISE: (Edit.NOISE, {}),
    "http_404": (Mode.NOT_FOUND, {"removed": "http_404"}),
    "http_410": (Mode.GONE, {"removed": "http_410"}),
    "redirect_home": (Mode.REDIRECT_HOME, {"removed": "redirect_home"}),
    "soft_404": (Mode.SOFT_404, {"removed": "soft_404"}),
    # Down for the first recheck, back for the second: an outage, never a takedown.
    BURST: (Mode.UNAVAILABLE, {"unreachable": None, "reachable": None}),
}
EVENT_KINDS = ("edited", "removed", "restored", "moved", "unreachable", "reachable")


@dataclass(frozen=True, slots=True)
class Mutation:
    index: int
    kind: str
    url: str  # normalized, as the archive keys articles


def plan_mutations(
    articles: list[dict[str, Any]], *, seed: int, fraction: float = 0.1
) -> list[Mutation]:
    """A seeded random `fraction` of the articles (at least one of each kind), the kinds
    dealt round-robin after a shuffle so each gets about the same share."""
    rng = random.Random(seed)
    count = min(len(articles), max(round(len(articles) * fraction), len(KINDS)))
    chosen = sorted(rng.sample(range(len(articles)), count))
    kinds = list(KINDS)
    rng.shuffle(chosen)
    plan = [
        Mutation(i, kinds[n % len(kinds)], normalize_url(articles[i]["url"]))
        for n, i in enumerate(chosen)
    ]
    return sorted(plan, key=lambda m: m.index)


def apply_first(site: BenchSite, plan: list[Mutation]) -> None:
    """What the outlet does before the first recheck."""
    site.mutate([(m.index, KINDS[m.kind][0]) for m in plan])


def apply_second(site: BenchSite, plan: list[Mutation]) -> None:
    """Before the second recheck: the 503 burst is over."""
    site.mutate([(m.index, Mode.OK) for m in plan if m.kind == BURST])


def last_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(ChangeEvent.id))) or 0)


@dataclass(frozen=True, slots=True)
class Seen:
    url: str
    kind: str
    how: tuple[str, ...]
    event_id: int


def events_between(session: Session, after_id: int, upto_id: int | None = None) -> list[Seen]:
    stmt = (
        select(ChangeEvent.id, ChangeEvent.kind, ChangeEvent.how, Article.url)
        .join(Article, Article.id == ChangeEvent.article_id)
        .where(ChangeEvent.id > after_id)
        .order_by(ChangeEvent.id)
    )
    if upto_id is not None:
        stmt = stmt.where(ChangeEvent.id <= upto_id)
    return [
        Seen(url=row.url, kind=row.kind, how=tuple(row.how or ()), event_id=row.id)
        for row in session.execute(stmt)
    ]


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def score(
    plan: list[Mutation],
    all_urls: Iterable[str],
    first_check: list[Seen],
    second_check: list[Seen],
) -> dict[str, Any]:
    """Compare what the archive reported over both rechecks with the ground truth."""
    truth: dict[str, dict[str, str | None]] = {url: {} for url in all_urls}
    kind_of: dict[str, str] = {}
    for m in plan:
        truth[m.url] = dict(KINDS[m.kind][1])
        kind_of[m.url] = m.kind
    seen = [*first_check, *second_check]
    predicted: dict[str, set[str]] = defaultdict(set)
    hows: dict[tuple[str, str], set[str]] = defaultdict(set)
    for ev in seen:
        if ev.kind in EVENT_KINDS:
            predicted[ev.kind].add(ev.url)
            hows[(ev.url, ev.kind)].update(ev.how)

    per_kind: dict[str, Any] = {}
    for kind in EVENT_KINDS:
        expected = {u for u, t in truth.items() if kind in t}
        got = predicted.get(kind, set())
        if not expected and not got:
            continue
        tp = len(expected & got)
        per_kind[kind] = {
            "expected": len(expected),
            "reported": len(got),
            "true_positives": tp,
            "precision": _ratio(tp, len(got)),
            "recall": _ratio(tp, len(expected)),
        }

    def offenders(kind: str) -> list[dict[str, Any]]:
        out = []
        for url in sorted(predicted.get(kind, set())):
            if kind not in truth.get(url, {}):
                out.append(
                    {
                        "url": url,
                        "mutation": kind_of.get(url, "unchanged"),
                        "how": sorted(hows[(url, kind)]),
                    }
                )
        return out

    wrong_how = []
    for url, expects in truth.items():
        for kind, how in expects.items():
            if how is not None and url in predicted.get(kind, set()):
                if how not in hows[(url, kind)]:
                    wrong_how.append(
                        {
                            "url": url,
                            "mutation": kind_of[url],
                            "kind": kind,
                            "expected": how,
                            "reported": sorted(hows[(url, kind)]),
                        }
                    )
    missed = [
        {"url": url, "mutation": kind_of[url], "kind": kind}
        for url, expects in truth.items()
        for kind in expects
        if url not in predicted.get(kind, set())
    ]
    premature = sorted({ev.url for ev in first_check if ev.kind == "removed"})
    by_mutation: dict[str, Any] = {}
    for name in KINDS:
        urls = [m.url for m in plan if m.kind == name]
        found = Counter(
            f"{ev.kind}:{','.join(ev.how)}" if ev.how else ev.kind
            for ev in seen
            if ev.url in set(urls)
        )
        by_mutation[name] = {"articles": len(urls), "events": dict(sorted(found.items()))}
    edits = [k for k in (Edit.SMALL, Edit.MEDIUM, Edit.LARGE, Edit.HEADLINE)]
    removals = ["http_404", "http_410", "redirect_home", "soft_404"]

    def recall_of(names: list[str], kind: str) -> float | None:
        urls = [m.url for m in plan if m.kind in names]
        return _ratio(sum(1 for u in urls if u in predicted.get(kind, set())), len(urls))

    return {
        "articles": len(truth),
        "mutated": len(plan),
        "per_event_kind": per_kind,
        "by_mutation": by_mutation,
        "false_takedowns": offenders("removed"),
        "false_edits": offenders("edited"),
        "recall_edits": recall_of(edits, "edited"),
        "recall_removals_after_confirmation": recall_of(removals, "removed"),
        "removed_on_first_sighting": premature,
        "wrong_how": wrong_how,
        "missed": missed,
    }
