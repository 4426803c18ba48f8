"""The Meilisearch backend, used when `MEILI_URL` is set.

Owns one Meilisearch index (`Settings.meili_index`) through the official `meilisearch`
client: its settings, the documents (one per archived version) and the searches. It
must not read the archive. This module holds the client calls; the index's settings and
documents are in `search_api.backends.meili_schema`, the filters, search parameters and
hits in `search_api.backends.meili_query`.

How it keeps the `SearchBackend` contract, following Meilisearch's documented
behaviour:

- Every task (index creation, settings, document additions and deletions) is awaited
  and its final status checked: `wait_for_task` returns failed and canceled tasks
  without raising, so a failure is turned into `SearchError` here.
- Unreachable server, timeouts, 5xx and a refused key raise `BackendUnavailable` with
  what to do; anything else Meilisearch rejects raises `SearchError`.
- Meilisearch has no OR in `q`: a query with OR alternatives runs one search per
  combination (`search_api.query.meili_queries`) and unites them here, which is exact up to
  `union_cap` hits per combination.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import requests
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchTimeoutError,
)

from archive.errors import BackendUnavailable, SearchError
from search_api.backends.base import (
    FACET_FIELDS,
    BackendHealth,
    BackendStats,
    Facets,
    IndexBuild,
    SearchBackend,
    SearchDocument,
    SearchQuery,
    SearchResult,
    SortOrder,
)
from search_api.backends.meili_query import (
    build_filter,
    filter_condition,
    filter_in,
    rank_key,
    search_params,
    snippet_params,
    to_hit,
)
from search_api.backends.meili_schema import (
    DEFAULT_MAX_TOTAL_HITS,
    RETRIEVED_ATTRIBUTES,
    TEXT_CHUNKS,
    index_settings,
    settings_changes,
    to_meili_document,
)
from search_api.query import meili_queries, parse_query

log = logging.getLogger(__name__)


class MeilisearchBackend(SearchBackend):
    """Meilisearch through the official client. `client` may be given (tests pass a
    recorder of payloads); otherwise one is built from `url` and `api_key`."""

    name = "meilisearch"

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        index_uid: str = "presswatch",
        *,
        client: Any = None,
        timeout_s: float = 10.0,
        task_timeout_ms: int = 300_000,
        batch_size: int = 1000,
        max_total_hits: int = DEFAULT_MAX_TOTAL_HITS,
        union_cap: int = 10_000,
        search_only: bool = False,
    ) -> None:
        self.url = url
        self.search_only = search_only
        self.index_uid = index_uid
        self.task_timeout_ms = task_timeout_ms
        self.batch_size = batch_size
        self.max_total_hits = max_total_hits
        self.union_cap = union_cap
        if client is None:
            import meilisearch

            client = meilisearch.Client(url, api_key, timeout=timeout_s)
        self._client = client
        self._index = client.index(index_uid)

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn the client's errors into ours, saying what was being done and what to do."""
        try:
            yield
        except (MeilisearchCommunicationError, MeilisearchTimeoutError) as exc:
            raise BackendUnavailable(
                f"Meilisearch at {self.url} did not answer while {action} ({exc.message}); "
                "start it, or unset MEILI_URL to use the embedded SQLite index"
            ) from exc
        except MeilisearchApiError as exc:
            if exc.status_code in (401, 403) or exc.code in (
                "missing_authorization_header",
                "invalid_api_key",
            ):
                raise BackendUnavailable(
                    f"Meilisearch at {self.url} refused our key while {action} "
                    f"({exc.code or exc.status_code}); set MEILI_MASTER_KEY to the master key "
                    "or to a key allowed to search, add documents and manage settings"
                ) from exc
            if exc.status_code >= 500:
                # Without an error code the body was not Meilisearch's JSON: a reverse
                # proxy's error page, which is no use on one line.
                said = (
                    f": {exc.message[:300]}"
                    if exc.code
                    else ", not an answer of Meilisearch's own: a proxy before it?"
                )
                raise BackendUnavailable(
                    f"Meilisearch at {self.url} failed while {action} "
                    f"(HTTP {exc.status_code}{said}); try again later"
                ) from exc
            raise SearchError(f"Meilisearch rejected {action}: {exc.code}: {exc.message}") from exc
        except requests.RequestException as exc:
            raise BackendUnavailable(
                f"cannot reach Meilisearch at {self.url} while {action} ({exc}); check MEILI_URL"
            ) from exc

    def _wait(self, task_info: Any, action: str, *, fine: str | None = None) -> None:
        """Await one task and insist that it succeeded (`wait_for_task` does not raise
        when a task fails or is canceled); a failure with the error code `fine` is
        what was wanted anyway."""
        task = self._client.wait_for_task(
            task_info.task_uid, timeout_in_ms=self.task_timeout_ms, interval_in_ms=50
        )
        if task.status == "failed" and fine and (task.error or {}).get("code") == fine:
            return
        if task.status != "succeeded":
            error = task.error or {}
            raise SearchError(
                f"Meilisearch task {task.uid} ({task.type}) {task.status} while {action}: "
                f"{error.get('code', 'no error code')}: {error.get('message', 'no message')}"
            )

    # -- contract: writing ---------------------------------------------------------------

    def configure(self) -> None:
        if self.search_only:
            # A search key may not read or change settings: check that it can search.
            with self._guard(f"searching index {self.index_uid!r}"):
                self._index.search("", {"limit": 0})
            return
        with self._guard(f"creating index {self.index_uid!r}"):
            try:
                self._client.get_raw_index(self.index_uid)
            except MeilisearchApiError as exc:
                if exc.code != "index_not_found":
                    raise
                # Several machines' first runs at once each find no index and create
                # it: the later ones' tasks fail with index_already_exists, which is
                # the state they wanted (found by `python -m benchmarks faults`).
                self._wait(
                    self._client.create_index(self.index_uid, {"primaryKey": "id"}),
                    f"creating index {self.index_uid!r}",
                    fine="index_already_exists",
                )
        with self._guard(f"applying settings to index {self.index_uid!r}"):
            changes = settings_changes(
                self._index.get_settings(), index_settings(self.max_total_hits)
            )
            if changes:
                log.info("updating Meilisearch settings: %s", sorted(changes))
                self._wait(self._index.update_settings(changes), "applying settings")

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        with self._guard(f"adding {len(documents)} documents"):
            tasks = [
                self._index.add_documents(
                    [to_meili_document(d) for d in documents[i : i + self.batch_size]],
                    primary_key="id",
                )
                for i in range(0, len(documents), self.batch_size)
            ]
            # Enqueue every batch first so Meilisearch can batch them together, then
            # insist that each one succeeded.
            for task in tasks:
                self._wait(task, "adding documents")

    def _delete_by_filter(self, expression: str, action: str) -> None:
        with self._guard(action):
            self._wait(self._index.delete_documents(filter=expression), action)

    def delete(self, doc_ids: Sequence[str]) -> None:
        ids = list(doc_ids)
        for i in range(0, len(ids), self.batch_size):
            self._delete_by_filter(
                filter_in("id", ids[i : i + self.batch_size]), "deleting documents"
            )

    def delete_articles(self, article_ids: Sequence[int]) -> None:
        ids = [int(a) for a in article_ids]
        for i in range(0, len(ids), self.batch_size):
            self._delete_by_filter(
                filter_in("article_id", ids[i : i + self.batch_size]), "deleting articles"
            )

    def clear(self) -> None:
        with self._guard("deleting all documents"):
            self._wait(self._index.delete_all_documents(), "deleting all documents")

    def rebuild(self) -> IndexBuild:
        return _MeiliBuild(self)

    def drop_index(self, uid: str) -> None:
        """Delete index `uid` if it exists (a rebuild's leftover or its old contents)."""
        with self._guard(f"deleting index {uid!r}"):
            try:
                self._wait(self._client.delete_index(uid), f"deleting index {uid!r}")
            except SearchError as exc:
                if "index_not_found" not in str(exc):
                    raise

    # -- contract: reading ---------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = parse_query(query.text)
        alternatives = meili_queries(parsed)
        expression = build_filter(query)
        with self._guard("searching"):
            if len(alternatives) == 1:
                return self._search_one(alternatives[0], query, expression, parsed.is_empty)
            return self._search_union(alternatives, query, expression)

    def _search_one(
        self, q: str, query: SearchQuery, expression: str | None, empty: bool
    ) -> SearchResult:
        params = search_params(query, expression, empty)
        params.update(snippet_params())
        params.update(
            page=query.page,
            hitsPerPage=query.per_page,
            attributesToRetrieve=[*RETRIEVED_ATTRIBUTES, "text", *TEXT_CHUNKS],
            showRankingScore=True,
        )
        if query.facets:
            params["facets"] = list(FACET_FIELDS)
        response = self._index.search(q, params)
        raws: list[dict[str, Any]] = list(response.get("hits", []))
        stale = {int(r["article_id"]) for r in raws if not r.get("is_current")}
        still = set() if empty else self._current_matching([q], stale)
        hits = tuple(to_hit(r, r.get("_formatted", {}), empty, still) for r in raws)
        facets = None
        if query.facets:
            dist = response.get("facetDistribution") or {}
            facets = Facets(
                source=dict(dist.get("source", {})),
                lang=dict(dist.get("lang", {})),
                status=dict(dist.get("status", {})),
            )
        return SearchResult(
            total=int(response.get("totalHits", len(raws))),
            hits=hits,
            facets=facets,
            page=query.page,
            per_page=query.per_page,
        )

    def _search_union(
        self, alternatives: list[str], query: SearchQuery, expression: str | None
    ) -> SearchResult:
        base = search_params(query, expression, False)
        per_article = query.versions == "best"
        best: dict[object, tuple[dict[str, Any], int]] = {}
        for index, q in enumerate(alternatives):
            # Every hit of every alternative (up to maxTotalHits each), a page of
            # `union_cap` at a time, so totals and facets of the union are exact.
            for offset in range(0, self.max_total_hits, self.union_cap):
                params = dict(base)
                params.update(
                    limit=min(self.union_cap, self.max_total_hits - offset),
                    offset=offset,
                    attributesToRetrieve=list(RETRIEVED_ATTRIBUTES),
                    showRankingScore=True,
                )
                raws = self._index.search(q, params).get("hits", [])
                for raw in raws:
                    key = raw["article_id"] if per_article else raw["id"]
                    held = best.get(key)
                    score = float(raw.get("_rankingScore") or 0.0)
                    if held is None or score > float(held[0].get("_rankingScore") or 0.0):
                        best[key] = (raw, index)
                if len(raws) < params["limit"]:
                    break
        by_relevance = query.sort is SortOrder.RELEVANCE
        merged = sorted(best.values(), key=lambda item: rank_key(item[0], by_relevance))
        window = merged[query.offset : query.offset + query.per_page]
        formatted: dict[str, dict[str, Any]] = {}
        for index, q in enumerate(alternatives):
            ids = [raw["id"] for raw, i in window if i == index]
            if not ids:
                continue
            params = {
                "filter": filter_in("id", ids),
                "distinct": "id",
                "limit": len(ids),
                "matchingStrategy": "all",
            }
            params.update(snippet_params())
            params["attributesToRetrieve"] = ["id", "title", "text", *TEXT_CHUNKS]
            for raw in self._index.search(q, params).get("hits", []):
                formatted[raw["id"]] = raw.get("_formatted", {})
        stale = {int(raw["article_id"]) for raw, _ in window if not raw.get("is_current")}
        still = self._current_matching(alternatives, stale)
        hits = tuple(to_hit(raw, formatted.get(raw["id"], {}), False, still) for raw, _ in window)
        facets = None
        if query.facets:
            counts: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
            for raw, _ in merged:
                for name in FACET_FIELDS:
                    value = raw.get(name)
                    if value is not None:
                        counts[name][str(value)] = counts[name].get(str(value), 0) + 1
            facets = Facets(source=counts["source"], lang=counts["lang"], status=counts["status"])
        return SearchResult(
            total=len(merged), hits=hits, facets=facets, page=query.page, per_page=query.per_page
        )

    def _current_matching(self, alternatives: list[str], article_ids: set[int]) -> set[int]:
        """Of these articles, those whose current version matches any alternative."""
        if not article_ids:
            return set()
        ids = sorted(article_ids)
        expression = (
            f"{filter_condition('is_current', '=', True)} AND {filter_in('article_id', ids)}"
        )
        found: set[int] = set()
        for q in alternatives:
            response = self._index.search(
                q,
                {
                    "filter": expression,
                    "limit": len(ids),
                    "attributesToRetrieve": ["article_id"],
                    "matchingStrategy": "all",
                },
            )
            found.update(int(h["article_id"]) for h in response.get("hits", []))
        return found

    def stats(self) -> BackendStats:
        with self._guard("reading index stats"):
            info = self._index.get_stats()
            response = self._index.search(
                "", {"page": 1, "hitsPerPage": 1, "attributesToRetrieve": ["id"]}
            )
        return BackendStats(
            backend=self.name,
            documents=int(getattr(info, "number_of_documents", 0)),
            articles=int(response.get("totalHits", 0)),
            detail={
                "url": self.url,
                "index": self.index_uid,
                "is_indexing": bool(getattr(info, "is_indexing", False)),
            },
        )

    def health(self) -> BackendHealth:
        try:
            with self._guard("checking health"):
                status = self._client.health().get("status")
                if self.search_only:
                    self._index.search("", {"limit": 0})
                else:
                    self._client.get_raw_index(self.index_uid)
        except SearchError as exc:
            return BackendHealth(self.name, False, str(exc))
        if status != "available":
            return BackendHealth(self.name, False, f"Meilisearch at {self.url} reports {status!r}")
        return BackendHealth(self.name, True, f"Meilisearch at {self.url}, index {self.index_uid}")


class _MeiliBuild(IndexBuild):
    """A rebuild into index `<uid>_rebuild` (created with the live index's settings, so
    documents are indexed once), swapped with the live index by Meilisearch's
    `/swap-indexes` -- one atomic task -- and then deleted, holding the old documents.
    The live uid never changes, so keys restricted to it keep working."""

    def __init__(self, live: MeilisearchBackend) -> None:
        self.live = live
        self.uid = f"{live.index_uid}_rebuild"
        live.drop_index(self.uid)  # left by a killed rebuild
        self.staging = MeilisearchBackend(
            live.url,
            index_uid=self.uid,
            client=live._client,
            task_timeout_ms=live.task_timeout_ms,
            batch_size=live.batch_size,
            max_total_hits=live.max_total_hits,
            union_cap=live.union_cap,
        )
        self.staging.configure()

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        self.staging.upsert(documents)

    def publish(self) -> None:
        live = self.live
        with live._guard(f"swapping index {self.uid!r} into {live.index_uid!r}"):
            live._wait(
                live._client.swap_indexes([{"indexes": [live.index_uid, self.uid]}]),
                "swapping in the rebuilt index",
            )
        live.drop_index(self.uid)

    def discard(self) -> None:
        try:
            self.live.drop_index(self.uid)
        except SearchError as exc:  # the next rebuild drops it anyway
            log.warning("could not delete the unfinished rebuild's index: %s", exc)
