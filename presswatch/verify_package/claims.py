"""What the manifest claims, against the leaves: which captures are the article's, its
events, versions and state, and the diffs between its versions."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from archive.content import VersionSide, diff_versions, joined_diff_stats, render_json
from presswatch.verify_package.images import image_refs
from presswatch.verify_package.reading import (
    MANIFEST,
)
from presswatch.verify_package.records import Ref, capture_refs
from presswatch.verify_package.result import (
    ARTICLE,
    REVISIT_ORIGINAL,
    Result,
    label,
    obj,
    same_time,
    sha256_hex,
    short,
)

_INTRODUCING = ("discovered", "edited", "restored")


@dataclass(frozen=True, slots=True)
class _Fields:
    """How one part of the manifest is checked against a leaf: the reason its failures
    carry, its fields (manifest key -> leaf key), and the keys compared as instants."""

    reason: str
    names: dict[str, str]
    times: tuple[str, ...] = ()


_CAPTURE_FIELDS = _Fields(
    "capture-field",
    {k: k for k in ("requested_url", "final_url", "status", "outcome")},
    times=("fetched_at",),
)
_EVENT_FIELDS = _Fields("event-field", {k: k for k in ("kind", "how", "detail")}, times=("at",))
# The article's `key` is the normalized URL, the `url` of the state in the leaf.
_ARTICLE_FIELDS = _Fields(
    "article-state",
    {"id": "id", "key": "url", "status": "status", "removal": "removal"},
    times=("removed_at", "first_seen"),
)
_VERSION_FIELDS = _Fields(
    "version-field",
    {
        "n": "n",
        "title": "title",
        "byline": "byline",
        "published": "published",
        "modified": "modified",
        "lang": "lang",
        "text_sha256": "text_sha256",
        "chars": "text_chars",
        "words": "text_words",
        "extractor": "extractor",
        "normalizer": "normalizer",
    },
)


def _images_logged(images: Any, logged: Any) -> bool:
    """A version's images as the manifest shows them, against the leaf's digest of them
    (archive.content.image_entries.images_sha256: canonical JSON); a version logged
    without images (recorded before they were kept) must show none."""
    if logged is None:
        return images is None
    if not isinstance(images, list):
        return False
    blob = json.dumps(images, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_hex(blob.encode("utf-8")) == logged


def _compare(
    result: Result,
    where: str,
    claimed: dict[str, Any],
    logged: dict[str, Any],
    fields: _Fields,
    *,
    says: str,
) -> None:
    """One failure for each field the manifest claims otherwise than the leaf logged."""
    for key, logged_key in fields.names.items():
        if claimed.get(key) != logged.get(logged_key):
            result.fail(
                fields.reason,
                where,
                f"{key} is {short(claimed.get(key))}, {says} {short(logged.get(logged_key))}",
            )
    for key in fields.times:
        if not same_time(claimed.get(key), logged.get(key)):
            result.fail(
                fields.reason,
                where,
                f"{key} is {short(claimed.get(key))}, {says} {logged.get(key)}",
            )


def check_captures(
    manifest: dict[str, Any],
    captures: list[dict[str, Any]],
    leaves: dict[int, dict[str, Any]],
    result: Result,
) -> tuple[list[tuple[int, dict[str, Any]]], list[Ref], dict[int, dict[str, Any]]]:
    """The article's captures as (capture id, leaf) in log order, every record
    reference with what its leaf commits to, and the manifest's captures by id."""
    article = obj(manifest.get("article"))
    article_id = article.get("id")
    result.captures = len(captures)
    ours: list[tuple[int, dict[str, Any]]] = []
    originals: list[tuple[int, dict[str, Any]]] = []
    refs: list[Ref] = []
    image_records: dict[tuple[str, int], Ref] = {}
    by_id: dict[int, dict[str, Any]] = {}
    for capture in captures:
        cid = capture.get("id")
        where = f"capture {cid}"
        if not isinstance(cid, int) or isinstance(cid, bool):
            result.fail(
                "manifest-shape", MANIFEST, f"a capture without an integer id: {short(cid)}"
            )
            continue
        if cid in by_id:
            result.fail("duplicate-capture", where, "listed twice in the manifest")
            continue
        by_id[cid] = capture
        leaf = leaves.get(cid)
        if leaf is None:
            result.fail(
                "unproven-capture", where, "no verified leaf for it in evidence/proofs.json"
            )
            continue
        logged = leaf["capture"]
        role = capture.get("role")
        if role == ARTICLE:
            if logged.get("article_id") != article_id or article_id is None:
                result.fail(
                    "foreign-capture",
                    where,
                    f"its leaf is a capture of article {logged.get('article_id')}, the "
                    f"package is of article {article_id}",
                )
                continue
            ours.append((cid, leaf))
        elif role == REVISIT_ORIGINAL:
            originals.append((cid, leaf))
        else:
            result.fail(
                "unknown-role",
                where,
                f"role {short(role)} is neither {ARTICLE} nor {REVISIT_ORIGINAL}",
            )
            continue
        if capture.get("leaf_index") != leaf.get("index"):
            result.fail(
                "capture-field",
                where,
                f"leaf_index {short(capture.get('leaf_index'))}, its leaf {leaf.get('index')}",
            )
        _compare(result, where, capture, logged, _CAPTURE_FIELDS, says="its leaf says")
        warc = leaf.get("warc") if isinstance(leaf.get("warc"), dict) else None
        if capture.get("warc_type") != (warc or {}).get("type"):
            result.fail("capture-field", where, "warc_type differs from its leaf's")
        refs.extend(capture_refs(capture, cid, warc, result))
        refs.extend(image_refs(capture, cid, logged, image_records, result))
    if not ours:
        result.fail(
            "no-article-capture",
            MANIFEST,
            f"no verified capture of article {short(article_id)} with role {ARTICLE}: the "
            "package proves nothing about the article",
        )
    ours.sort(key=lambda item: item[1]["index"])
    _check_originals(ours, originals, result)
    return ours, refs, by_id


def _check_originals(
    ours: list[tuple[int, dict[str, Any]]],
    originals: list[tuple[int, dict[str, Any]]],
    result: Result,
) -> None:
    """A `revisit_original` is there only as the payload source of one of the article's
    packaged revisits: an earlier response with the same payload digest."""
    revisits = [
        leaf
        for _, leaf in ours
        if (leaf.get("warc") or {}).get("type") == "revisit"
        and leaf["capture"].get("payload_sha256")
    ]
    for cid, leaf in originals:
        payload = leaf["capture"].get("payload_sha256")
        serves = (leaf.get("warc") or {}).get("type") == "response" and any(
            r["capture"].get("payload_sha256") == payload and r["index"] > leaf["index"]
            for r in revisits
        )
        if not serves:
            result.fail(
                "unreferenced-original",
                f"capture {cid}",
                "role revisit_original, but it is not the payload source of any revisit of "
                "the article in the package",
            )


# -- 6. the manifest against the leaves ----------------------------------------------------


def check_events(
    events: list[dict[str, Any]],
    versions: list[dict[str, Any]],
    ours: list[tuple[int, dict[str, Any]]],
    result: Result,
) -> None:
    numbers = {v.get("id"): v.get("n") for v in versions}
    logged: dict[Any, tuple[int, dict[str, Any]]] = {}
    for cid, leaf in ours:
        for event in leaf.get("events") or []:
            if isinstance(event, dict):
                logged[event.get("id")] = (cid, event)
    listed = set()
    for event in events:
        eid = event.get("id")
        where = f"event {label(eid)} ({label(event.get('kind'))})"
        if eid in listed:
            result.fail("duplicate-event", where, "listed twice in the manifest")
            continue
        listed.add(eid)
        if eid not in logged:
            result.fail("unlogged-event", where, "in the manifest but in no capture's leaf")
            continue
        cid, leaf_event = logged[eid]
        if event.get("capture_id") != cid:
            result.fail(
                "event-field",
                where,
                f"capture_id {short(event.get('capture_id'))}, the log says {cid}",
            )
        _compare(result, where, event, leaf_event, _EVENT_FIELDS, says="the log says")
        for key in ("from_version", "to_version"):
            vid = leaf_event.get(f"{key}_id")
            if event.get(key) != (numbers.get(vid) if vid is not None else None):
                result.fail(
                    "event-field",
                    where,
                    f"{key} is {short(event.get(key))}, the log says version id {vid}",
                )
    for eid in sorted(set(logged) - listed, key=str):
        cid, leaf_event = logged[eid]
        result.fail(
            "hidden-event",
            f"event {label(eid)} ({label(leaf_event.get('kind'))})",
            f"in the leaf of capture {cid} but missing from the manifest",
        )
    result.events = len(events)


def check_versions(
    versions: list[dict[str, Any]], ours: list[tuple[int, dict[str, Any]]], result: Result
) -> set[Any]:
    """Returns the ids of the versions whose text verified (their diffs can be checked)."""
    logged: dict[Any, dict[str, Any]] = {}
    sightings: dict[Any, list[tuple[int, Any]]] = {}
    introduced: set[Any] = set()
    for cid, leaf in ours:
        part = leaf.get("version")
        if isinstance(part, dict):
            logged.setdefault(part.get("id"), part)
            if part.get("seen"):
                sightings.setdefault(part.get("id"), []).append((cid, leaf["capture"]))
        for event in leaf.get("events") or []:
            if isinstance(event, dict) and event.get("kind") in _INTRODUCING:
                introduced.add(event.get("to_version_id"))
    listed = set()
    texts_ok: set[Any] = set()
    for version in versions:
        vid = version.get("id")
        where = f"version {label(version.get('n'))} (id {label(vid)})"
        if vid in listed:
            result.fail("duplicate-version", where, "listed twice in the manifest")
            continue
        listed.add(vid)
        part = logged.get(vid)
        if part is None:
            result.fail("unlogged-version", where, "in the manifest but in no capture's leaf")
            continue
        _compare(result, where, version, part, _VERSION_FIELDS, says="the log says")
        text = version.get("text")
        if not isinstance(text, str) or sha256_hex(text.encode("utf-8")) != part.get("text_sha256"):
            result.fail(
                "version-text",
                where,
                "its text does not hash to the text_sha256 the log commits to",
            )
        else:
            texts_ok.add(vid)
        if not _images_logged(version.get("images"), part.get("images_sha256")):
            result.fail(
                "version-field",
                where,
                "its images do not hash to the images_sha256 the log commits to",
            )
        if vid not in introduced:
            result.fail(
                "version-without-event",
                where,
                "no event of the package introduces it (a capture between the packaged "
                "ones was left out)",
            )
        seen = sightings.get(vid, [])
        if not seen:
            result.fail("version-sighting", where, "no capture of the package saw it")
            continue
        for which, (cid, cap) in (("first", seen[0]), ("last", seen[-1])):
            if version.get(f"{which}_capture_id") != cid:
                result.fail(
                    "version-sighting",
                    where,
                    f"{which}_capture_id is {short(version.get(f'{which}_capture_id'))}, the "
                    f"log's {which} sighting is capture {cid}",
                )
            if not same_time(version.get(f"{which}_seen"), cap.get("fetched_at")):
                result.fail(
                    "version-sighting",
                    where,
                    f"{which}_seen is {short(version.get(f'{which}_seen'))}, the log's {which} "
                    f"sighting was at {cap.get('fetched_at')}",
                )
    for vid in sorted(set(logged) - listed, key=str):
        result.fail(
            "hidden-version",
            f"version id {label(vid)}",
            "in a capture's leaf but missing from the manifest",
        )
    numbers = sorted(n for p in logged.values() if isinstance(n := p.get("n"), int))
    if numbers and numbers != list(range(1, numbers[-1] + 1)):
        result.fail(
            "version-gap",
            MANIFEST,
            f"the article's leaves name versions {numbers}: a version between them was "
            "left out with its captures",
        )
    result.versions = len(listed)
    return texts_ok


def check_article(
    manifest: dict[str, Any], ours: list[tuple[int, dict[str, Any]]], result: Result
) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
    """The newest article capture and the state its leaf commits to: what the package
    proves. The manifest's article must say the same."""
    article = obj(manifest.get("article"))
    if not ours:
        return None
    cid, leaf = ours[-1]
    state = leaf.get("article")
    if not isinstance(state, dict):
        result.fail(
            "no-article-state",
            f"capture {cid}",
            "the newest capture of the package does not commit to the article's state: "
            "the package cannot say what state it proves",
        )
        return None
    _compare(
        result,
        f"article {label(article.get('id'))}",
        article,
        state,
        _ARTICLE_FIELDS,
        says=f"the newest capture's leaf ({cid}) says",
    )
    return cid, leaf, state


def check_diffs(
    versions: list[dict[str, Any]],
    diffs: list[dict[str, Any]],
    texts_ok: set[Any],
    result: Result,
) -> None:
    versions = sorted(versions, key=lambda v: n if isinstance(n := v.get("n"), int) else 0)
    by_pair = {(d.get("from"), d.get("to")): d.get("diff") for d in diffs}
    expected_pairs = {
        (a.get("n"), b.get("n")) for a, b in zip(versions, versions[1:], strict=False)
    }
    for pair in sorted(set(by_pair) - expected_pairs, key=str):
        result.fail(
            "diff-mismatch", f"diff {short(pair)}", "not a diff of two consecutive versions"
        )
    for old, new in zip(versions, versions[1:], strict=False):
        pair = (old.get("n"), new.get("n"))
        where = f"diff v{pair[0]}→v{pair[1]}"
        if pair not in by_pair:
            result.fail("diff-mismatch", where, "missing from the manifest")
            continue
        if old.get("id") not in texts_ok or new.get("id") not in texts_ok:
            continue  # a text that does not verify is reported; its diff means nothing
        sides = [
            VersionSide(
                title=v.get("title"),
                byline=v.get("byline"),
                published=v.get("published"),
                modified=v.get("modified"),
                text=str(v.get("text") or ""),
                label=f"v{v.get('n')}",
            )
            for v in (old, new)
        ]
        diff = diff_versions(sides[0], sides[1])
        expected = json.loads(json.dumps(render_json(diff)))
        # Packages made before 2026-12-07 count the words of adjacent changes joined.
        earlier = {**expected, "stats": asdict(joined_diff_stats(diff.body))}
        if by_pair[pair] not in (expected, earlier):
            result.fail("diff-mismatch", where, "differs from the diff of the two versions' texts")
