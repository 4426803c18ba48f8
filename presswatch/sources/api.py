"""The sources added through the admin API (archive rows it owns), crawled beside those
of sources.toml."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from pydantic import ValidationError

from archive.egress import parse_networks, url_refusal
from archive.store import API_FIELDS, SourceOptions, SourceOwner
from presswatch.sources.schema import SourceConfig, SourcesFile

# The package's logger, as when this was one module: log lines name it unchanged.
log = logging.getLogger(__package__)


def with_archive_sources(
    sources: SourcesFile,
    rows: Iterable[tuple[str, str, list[str], SourceOptions, bool]],
    *,
    allow_networks: Sequence[str] | None = None,
) -> SourcesFile:
    """sources.toml plus the sources added through the admin API (archive rows marked
    `managed_by = "api"`, name not in the file). The file wins on a name clash. A row
    that no longer validates, or (with `allow_networks`) names an address the egress
    policy refuses, is skipped with a warning, never crawled half-configured."""
    allow = parse_networks(allow_networks) if allow_networks is not None else None
    names = {s.name for s in sources.source}
    extra: list[SourceConfig] = []
    for name, base_url, languages, config, enabled in rows:
        if name in names or config.owner is not SourceOwner.API:
            continue
        fields = {k: getattr(config, k) for k in API_FIELDS if getattr(config, k) is not None}
        fields = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
        if fields.get("topic") not in (None, *sources.topics):
            log.warning(
                "source %s (admin API): topic %r is not in sources.toml; crawling it unfiltered",
                name,
                fields["topic"],
            )
            fields.pop("topic")
        try:
            extra.append(
                SourceConfig(
                    name=name, base_url=base_url, languages=languages, enabled=enabled, **fields
                )
            )
        except ValidationError as exc:
            log.warning("source %s (admin API) is invalid and not crawled: %s", name, exc)
            continue
        if allow is not None:
            refused = [r for _, u in extra[-1].urls() if (r := url_refusal(u, allow))]
            if refused:
                extra.pop()
                log.warning("source %s (admin API) is not crawled: %s", name, refused[0])
    if not extra:
        return sources
    return sources.model_copy(update={"source": [*sources.source, *extra]})
