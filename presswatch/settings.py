"""One `Settings` object for the whole program.

Precedence: command-line flags (passed as init kwargs) > environment variables >
`presswatch.toml` > defaults. The design's bare names (`DATABASE_URL`, `MEILI_URL`,
`MEILI_MASTER_KEY`, `REDIS_URL`) work as well as the `PRESSWATCH_` ones. Every field
has a description; `tests/test_docs.py` checks the README lists each one.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from archive.egress import parse_networks
from archive.errors import ConfigError
from archive.i18n import LANGS, known_lang
from presswatch.schedule import parse_duration

CONFIG_FILE_ENV = "PRESSWATCH_CONFIG"
DEFAULT_CONFIG_FILE = "presswatch.toml"


class Settings(BaseSettings):
    """Everything an operator can set. Env vars use the `PRESSWATCH_` prefix."""

    model_config = SettingsConfigDict(
        env_prefix="PRESSWATCH_",
        extra="forbid",
        populate_by_name=True,
        validate_default=True,
    )

    data_dir: Path = Field(
        default=Path("./presswatch-data"),
        description="Directory for the SQLite DB, warc/, the search index, crawl state, "
        "lock, logs.",
    )
    sources: Path = Field(
        default=Path("./sources.toml"),
        description="The outlets to watch (also `--sources FILE`).",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PRESSWATCH_DATABASE_URL", "DATABASE_URL", "database_url"),
        description="SQLAlchemy URL of the archive DB, e.g. postgresql+psycopg://user@host/db. "
        "Default: SQLite file in the data dir.",
    )
    meili_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PRESSWATCH_MEILI_URL", "MEILI_URL", "meili_url"),
        description="Meilisearch URL; unset means the embedded SQLite FTS5 index.",
    )
    meili_master_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "PRESSWATCH_MEILI_MASTER_KEY", "MEILI_MASTER_KEY", "meili_master_key"
        ),
        description="Meilisearch API key.",
    )
    meili_index: str = Field(default="presswatch", description="Meilisearch index uid.")
    meili_search_key: SecretStr | None = Field(
        default=None,
        description="Meilisearch key allowed only to search the index, used by `presswatch "
        "serve` (the API and pages) instead of the master key; unset means the master key.",
    )
    meili_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Seconds each request to Meilisearch may take (connect and answer) "
        "before it counts as unanswered: `run` then reports Meilisearch and exits 1, a search "
        "answers 503.",
    )
    outbox_max_attempts: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Times the search backend may refuse an article's documents before they "
        "move from the outbox to the dead letters (an engine that is down does not count); "
        "`presswatch outbox retry` puts them back.",
    )
    notify_burst_limit: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="An immediate notification subscription with more events than this "
        "waiting gets one digest message instead of one message per event.",
    )
    notify_digest_hour: int = Field(
        default=7,
        ge=0,
        le=23,
        description="Hour of the day (UTC) after which daily digests are sent by the next "
        "`presswatch run` or `presswatch notify send`.",
    )
    together_outlets: int = Field(
        default=2,
        ge=2,
        le=1000,
        description="A story's copies removed at this many outlets or more within "
        "`together_days` days make one `removed_together` event.",
    )
    together_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="The window, in days from an episode's first removal, within which "
        "removals at `together_outlets` outlets count as removed together.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PRESSWATCH_REDIS_URL", "REDIS_URL", "redis_url"),
        description="Redis URL for the shared crawl queue; unset means a single-process frontier.",
    )
    redis_outage_s: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="Seconds a crawl waits for its Redis frontier to come back before it "
        "stops with exit 1 (what was captured is kept; run again once Redis is back).",
    )
    redis_claim_lease_s: float = Field(
        default=3600,
        gt=0,
        le=7 * 24 * 3600,
        description="Seconds a fetch claimed in the shared Redis frontier stays claimed: a "
        "crawl that died after taking a request from the shared queue leaves its article "
        "unfetched, and another crawl may fetch it once the claim lapses.",
    )
    database_outage_s: float = Field(
        default=60,
        gt=0,
        le=3600,
        description="Seconds a crawl waits for its database (PostgreSQL) to answer again "
        "before it stops with exit 1 (what was committed is kept; run again once it is back).",
    )
    database_connect_timeout_s: int = Field(
        default=10,
        ge=2,
        le=600,
        description="Seconds to open a connection to PostgreSQL before it counts as failed; "
        "a crawl then tries again until `database_outage_s` is up. A `connect_timeout` in "
        "DATABASE_URL wins.",
    )
    database_stall_s: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="Seconds a statement or commit on PostgreSQL may go without an answer "
        "before Presswatch asks the server whether it is still running it; if the server "
        "is not running it or does not answer either (a half-open connection: the server, "
        "or a NAT, firewall or proxy between, went silent), the connection is cut and "
        "handled as lost. Long statements the server is running are never cut.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="Key for the admin API, for cron and scripts (acts as an admin named "
        "`api-key` in the audit log); people use their own tokens instead. Unset: only "
        "admins' tokens open the admin API.",
    )
    private: bool = Field(
        default=False,
        description="Every page and API read needs a signed-in person or a token (a team "
        "that must not expose what it watches); off: reading is public.",
    )
    save_per_hour: int = Field(
        default=30,
        ge=0,
        le=10_000,
        description="Pages one person may save now (`presswatch save`, the save form, "
        "`POST /api/save`) in an hour, counted from the audit log; 0: no limit.",
    )
    save_timeout_s: float = Field(
        default=120,
        gt=0,
        le=3600,
        description="Seconds the save form and `POST /api/save` wait for a save (the "
        "fetch, the browser's rendering, the archive's lock) before answering that it "
        "did not finish.",
    )
    public_url: str | None = Field(
        default=None,
        description="The address the API and pages are reached at, e.g. "
        "https://watch.example/presswatch; the links of the feed, Memento answers, "
        "reports and notifications start with it. Unset: `serve` uses the address it "
        "listens on, reports and notifications relative links with a warning (never "
        "taken from the request's Host header).",
    )
    lang: str = Field(
        default="en",
        description="Interface language of pages (when neither the switcher's cookie nor "
        "the browser's Accept-Language names one we have), notifications and human CLI "
        "output: `en` or `km`.",
    )
    log_key_file: Path | None = Field(
        default=None,
        description="Ed25519 key that signs the transparency log's checkpoints (PEM, mode "
        "0600), made by `presswatch init` when absent; keep it out of the database and its "
        "backups. Unset: `log-key.pem` in the data dir.",
    )
    log_origin: str = Field(
        default="presswatch-log",
        pattern=r"^[^\s+]+$",
        description="Name of this archive's log: the first line of each signed checkpoint and "
        "the key name of its signature, e.g. watch.example/presswatch (no spaces or '+').",
    )
    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 Time-Stamp Authority that `presswatch checkpoint` asks to "
        "timestamp each signed checkpoint, e.g. https://freetsa.org/tsr; unset: none.",
    )
    removal_confirmations: int = Field(
        default=2,
        ge=1,
        le=20,
        description="Consecutive checks that must see a 404/410/redirect/soft-404/emptied page "
        "before it is recorded as removed.",
    )
    degraded_ratio: float = Field(
        default=0.3,
        gt=0,
        lt=1,
        description="A 200 page whose text falls below this fraction of the last version's is "
        "recorded as `degraded`, not as an edit, until a second check sees the same text.",
    )
    boilerplate_min_articles: int = Field(
        default=3,
        ge=2,
        description="A short line seen in at least this many articles of a source is boilerplate "
        "and ignored when judging edits.",
    )
    warc_max_bytes: int = Field(
        default=1_000_000_000,
        ge=1_000_000,
        description="A WARC file is closed and a new one started past this size.",
    )
    min_free_bytes: int = Field(
        default=500_000_000,
        ge=0,
        description="Free-space floor of the disks holding the data dir, the WARC files and "
        "a SQLite archive: a crawl does not start below it, and stops cleanly (exit 1) when "
        "free space falls below it mid-crawl, keeping every capture already recorded; "
        "0 turns the check off.",
    )
    max_body_bytes: int = Field(
        default=20_000_000,
        ge=100_000,
        description="Largest body kept, counted after decompression (crawls and imports): "
        "a larger one is cut at this size and recorded as a `too_large` capture, not "
        "extracted.",
    )
    max_request_bytes: int = Field(
        default=1_000_000,
        ge=1_000,
        description="Largest request body the API accepts; a larger one gets 413 before "
        "any route or API-key check reads it.",
    )
    user_agent_contact: str = Field(
        default="https://github.com/presswatch/presswatch",
        description="Contact URL put in the crawler's User-Agent.",
    )
    log_level: str = Field(default="WARNING", description="Log level of the rotating log file.")
    recheck_schedule: str = Field(
        default="6h:30m,2d:2h,14d:1d,*:7d",
        description="Recheck interval by article age, youngest first: AGE:INTERVAL pairs, "
        "`*` for any older age (units s, m, h, d, w).",
    )
    full_fetch_interval: str = Field(
        default="1d",
        description="Re-fetch an article in full at least this often, even when conditional "
        "requests keep answering 304 (ETags lie).",
    )
    image_recheck_interval: str = Field(
        default="7d",
        description="Fetch an unchanged article's images again at most this often: a page "
        "that answers 304 or sends the bytes of its version leaves its pictures alone in "
        "between, so a photo swapped under the same address is found within this interval "
        "(a page that changed fetches them at once); `0s` fetches them with every check.",
    )
    crawl_concurrency_per_host: int = Field(
        default=2, ge=1, le=16, description="Parallel requests to one host."
    )
    download_timeout_s: float = Field(
        default=30, gt=0, le=600, description="Seconds before a fetch counts as a timeout."
    )
    extract_workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Extraction worker processes during a crawl; 0 means one per CPU core.",
    )
    extract_memory_mb: int = Field(
        default=1024,
        ge=0,
        le=1_048_576,
        description="Data memory of each extraction worker, in MiB (RLIMIT_DATA); a page "
        "whose extraction needs more fails alone and is recorded as failed, instead of "
        "growing the worker until the OOM killer strikes; 0 means no limit.",
    )
    browser: bool = Field(
        default=True,
        description="Render every capture that makes a new version in headless Chromium "
        "(screenshot, rendered DOM, page requisites in the WARC); false turns screenshots "
        "off.",
    )
    browser_executable: str | None = Field(
        default=None,
        description="The Chromium to run; unset: chromium (Debian's /usr/bin/chromium) found "
        "on PATH. Nothing is ever downloaded.",
    )
    browser_workers: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Pages rendered at once during a crawl (one browser each); the crawl "
        "goes on while they render.",
    )
    browser_timeout_s: float = Field(
        default=30,
        gt=1,
        le=600,
        description="Seconds one rendering may take, the browser's start included; a page "
        "still loading a quarter of it before the end is cut off and pictured as it stands "
        "(outcome timed_out).",
    )
    browser_memory_mb: int = Field(
        default=2048,
        ge=256,
        le=1_048_576,
        description="Resident memory (MiB) the browser's processes may use together "
        "rendering one page; past it the browser is killed (outcome memory_exceeded).",
    )
    browser_max_requests: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="Requests one page may make while rendered; later ones are refused.",
    )
    browser_max_page_bytes: int = Field(
        default=100_000_000,
        ge=100_000,
        description="Bytes of sub-resources one page may fetch in all; later ones are refused.",
    )
    browser_max_screenshot_height_px: int = Field(
        default=16_384,
        ge=500,
        le=100_000,
        description="The full-page screenshot is cut at this height (a page may claim any).",
    )
    writer_process: bool = Field(
        default=True,
        description="Record captures in a writer process of the crawl's own (off the "
        "GIL Scrapy runs under); false records on a thread of the crawl process.",
    )
    lock_wait_s: float = Field(
        default=300,
        ge=0,
        le=86_400,
        description="Seconds a command typed by a person (crawl, recheck, import, reindex, "
        "init) waits for the archive's lock before it exits 1 naming the holder; 0 means "
        "do not wait.",
    )
    max_run_duration: str = Field(
        default="2h",
        description="How long one holder of the archive's lock (a `run`, a `crawl`…) is "
        "expected to take; a `run` that finds it held for longer says so on stderr and "
        "exits 1 (also `run --max-duration`). Units s, m, h, d, w.",
    )
    lock_stale_after: str = Field(
        default="6h",
        description="A `run` that has found the lock held, by any holder, for longer than "
        "this (since the first run that could not start) exits 1 naming the holder. "
        "Units s, m, h, d, w.",
    )
    backfill_wayback_url: str = Field(
        default="https://web.archive.org",
        description="Base URL of the Wayback Machine that `backfill --from-archive wayback` "
        "asks (its CDX server at /cdx/search/cdx, raw snapshots at /web/TIMESTAMPid_/URL).",
    )
    backfill_delay_s: float = Field(
        default=4.0,
        ge=0,
        le=3600,
        description="Seconds between two requests to a web archive during `backfill` (one "
        "request at a time, always): 4 s is 15 a minute. A 429 or 503 answer's "
        "Retry-After is honoured on top of it.",
    )
    backfill_retries: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Times `backfill` asks again after a 429, a 5xx, a cut-short body or a "
        "network error (waiting Retry-After, else doubling from backfill_delay_s).",
    )
    backfill_max_wait_s: float = Field(
        default=600,
        ge=0,
        le=86_400,
        description="Longest Retry-After `backfill` waits out; an archive that asks for "
        "longer stops the run (exit 1), which the next run continues.",
    )
    backfill_give_up_after: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Runs of `backfill` that may fail to fetch one snapshot before it is "
        "marked `gave_up` and its article's later snapshots are recorded without it.",
    )
    save_to_archive: bool = Field(
        default=False,
        description="Let `presswatch save-changes` ask the Wayback Machine "
        "(backfill_wayback_url) to save each page whose edit or pending removal Presswatch "
        "saw. Off by default: it tells a third party what you watch.",
    )
    save_max_per_run: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Pages `presswatch save-changes` asks the archive to save per run "
        "(paced by backfill_delay_s); the rest wait for the next run.",
    )
    allow_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks the crawler may reach although they are private, loopback or "
        "link-local (CIDRs, comma-separated in the environment, e.g. 10.20.0.0/16). Empty: "
        "every such address is refused, the cloud metadata address included. The tests and "
        "the demo set 127.0.0.1/32.",
    )
    mail_relay_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks a mail notifier (mailto://, mailtos://) may reach although "
        "they are private or loopback: a local SMTP relay, e.g. 127.0.0.1/32 for a relay on "
        "this machine. Only mail is let through; webhooks and the rest keep allow_networks.",
    )
    scrapy_settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra Scrapy settings applied to every crawl, e.g. "
        '{"AUTOTHROTTLE_TARGET_CONCURRENCY": 2} (JSON in the environment).',
    )

    @field_validator("allow_networks", "mail_relay_networks", mode="before")
    @classmethod
    def _check_allow_networks(cls, value: Any) -> list[str]:
        if value is None:
            return []
        return [str(n) for n in parse_networks(value if isinstance(value, str) else list(value))]

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if "://" not in value:
            raise ValueError(
                "must be an SQLAlchemy URL such as postgresql+psycopg://user@host/db "
                "or sqlite:////abs/path.db"
            )
        if value.startswith("postgres://") or value.startswith("postgresql://"):
            # Plain postgresql:// would pick psycopg2, which we do not install.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("backfill_wayback_url")
    @classmethod
    def _check_backfill_wayback_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} must be an absolute http(s) URL such as https://web.archive.org"
            )
        return value.strip().rstrip("/")

    @field_validator("lang")
    @classmethod
    def _check_lang(cls, value: str) -> str:
        lang = known_lang(value)
        if lang is None:
            raise ValueError(
                f"lang: {value!r} is not an interface language; use one of {', '.join(LANGS)}"
            )
        return lang

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} must be an absolute http(s) URL such as https://watch.example/"
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(f"{value!r} must have no query, fragment or user name")
        return value.rstrip("/")

    @field_validator("max_run_duration", "lock_stale_after")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        try:
            parse_duration(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        return value.strip()

    @field_validator("image_recheck_interval")
    @classmethod
    def _check_interval(cls, value: str) -> str:
        try:
            parse_duration(value, allow_zero=True)  # 0s: with every check
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
        toml_source = TomlConfigSettingsSource(settings_cls, toml_file=config_file)
        return (init_settings, env_settings, toml_source)

    # -- derived paths ---------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'presswatch.db').resolve()}"

    @property
    def warc_dir(self) -> Path:
        return self.data_dir / "warc"

    @property
    def indexes_dir(self) -> Path:
        """CDXJ indexes of the WARC files, one per file (archive/warc/cdxj.py)."""
        return self.data_dir / "indexes"

    @property
    def search_index_path(self) -> Path:
        return self.data_dir / "search.sqlite"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "presswatch.lock"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def resolved_log_key_file(self) -> Path:
        return self.log_key_file or self.data_dir / "log-key.pem"

    @property
    def backups_dir(self) -> Path:
        """SQLite copies taken before a migration (`presswatch init` after an upgrade)."""
        return self.data_dir / "backups"


def _field_name(loc: str) -> str:
    """`database_url` for an error reported under its alias `PRESSWATCH_DATABASE_URL`."""
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices) and loc in alias.choices:
            return f"{name} (env {' or '.join(str(c) for c in alias.choices if str(c).isupper())})"
    return loc


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation errors into a `ConfigError` that names each
    bad field and what to change."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"{_field_name(field)}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from exc
    except ValueError as exc:  # malformed presswatch.toml
        raise ConfigError(f"cannot read settings: {exc}") from exc


def presswatch_version() -> str:
    try:
        return version("presswatch")
    except PackageNotFoundError:
        return "0"


def user_agent(settings: Settings) -> str:
    """Who we are on the wire: every request of the crawler, the web-archive client and
    the notifiers names this version and the operator's contact."""
    return f"Presswatch/{presswatch_version()} (+{settings.user_agent_contact})"
