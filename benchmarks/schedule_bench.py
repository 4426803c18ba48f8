"""The recheck planner at scale: `due_articles` over a large archive, SQLite and PostgreSQL.

    python -m benchmarks.schedule_bench [--articles 1000000] [--due 100000]
        [--database-url URL]... [--sqlite] [--out DIR]

Builds a migrated archive (the project's migrations, so the indexes measured are the
ones users get) holding `--articles` synthetic articles over 1,000 sources: `--due` of
them due now (1% of those never scheduled), the rest due over the next weeks. Rows go
in by bulk insert (SQLite, one transaction) or COPY (PostgreSQL). Then, three times
each (the best counts):

- `sql`: the due pass's SQL alone, executed and every row fetched by the driver:
  the database time of planning one recheck pass;
- `orm`: `archive.due_articles` as the crawler calls it, which also builds the
  Article objects (Python time on top of the database's);
- `one_source`: the pass for one source (`sources=[...]`), as `recheck --source` runs;
- `first_1000`: the pass with `limit=1000`.

Records each statement's plan (SQLite `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN
(ANALYZE, BUFFERS)` with its execution time) and writes
`<out>/schedule-<UTC time>.json`. PostgreSQL: each URL names a server; a database
`pw_schedule_bench` is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from archive.content import normalize_url
from archive.store import due_articles, due_articles_statements, make_engine, migrate
from benchmarks.report import write_figures

RESULTS = Path(__file__).resolve().parent / "results"
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
SOURCES = 1000
BENCH_DB = "pw_schedule_bench"
COLUMNS = (
    "id, source_id, url, fetch_url, status, first_seen, last_checked, version_count,"
    " pending_count, next_check, hints, etag, last_full_fetch"
)
URL_COLUMNS = "id, article_id, url, kind, first_seen"


def example_base(source: int) -> str:
    """The base URL of synthetic source number `source` (0-based) of this benchmark."""
    return f"https://outlet{source}.example/"


@dataclass(frozen=True)
class Fill:
    """What a bulk fill writes: `sources` sources named `outlet<n>` at `base_url(n)` and
    `articles` synthetic articles, `due` of them due at `now`; `with_urls` also gives
    each article its canonical `article_urls` row, which discovery reads to know it."""

    articles: int
    due: int
    seed: int
    sources: int = SOURCES
    base_url: Callable[[int], str] = example_base
    with_urls: bool = False
    now: datetime = NOW

    def source_rows(self) -> Iterator[tuple[Any, ...]]:
        """(id, name, base_url) of each source."""
        for s in range(1, self.sources + 1):
            yield s, f"outlet{s - 1}", self.base_url(s - 1)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Synthetic articles: every `articles // due`-th one is due at `now` (the first
        1% of those never scheduled), the rest due over the next 30 days; ids are not in
        the order of due times, as a real archive's are not. Article `i` is
        `<base_url(i % sources)>news/<i>/` in source `1 + i % sources`."""
        rng = random.Random(self.seed)
        step = self.articles // self.due
        never = max(1, self.due // 100)
        naive_now = self.now.replace(tzinfo=None)
        for i in range(1, self.articles + 1):
            slot = i // step if i % step == 0 else 0
            next_check: datetime | None
            if 0 < slot <= never:
                next_check = None
            elif 0 < slot <= self.due:
                next_check = naive_now - timedelta(seconds=rng.randrange(0, 14 * 86400))
            else:
                next_check = naive_now + timedelta(seconds=rng.randrange(1, 30 * 86400))
            seen = naive_now - timedelta(days=rng.randrange(1, 700))
            url = f"{self.base_url(i % self.sources)}news/{i}/"
            yield (
                i,
                1 + i % self.sources,
                url,
                url,
                "live",
                seen,
                seen,
                1,
                0,
                next_check,
                "{}",
                f'"{i:x}"',
                seen,
            )

    def url_rows(self) -> Iterator[tuple[Any, ...]]:
        """Each article's canonical URL as discovery looks it up (`known_urls_of`)."""
        for row in self.rows():
            yield (row[0], row[0], normalize_url(row[2]), "canonical", row[5])


def _sqlite_value(value: Any) -> Any:
    # As SQLAlchemy's SQLite DateTime stores them, so that comparisons with its bound
    # parameters are the ones a real archive sees.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def fill_sqlite(path: Path, fill: Fill) -> None:
    """Bulk-insert `fill` into the migrated SQLite archive at `path`."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        with conn:
            conn.executemany(
                "INSERT INTO sources (id, name, base_url, languages, config, enabled,"
                " created_at) VALUES (?, ?, ?, '[]', '{}', 1, ?)",
                [(*row, _sqlite_value(fill.now)) for row in fill.source_rows()],
            )
            conn.executemany(
                f"INSERT INTO articles ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (tuple(map(_sqlite_value, row)) for row in fill.rows()),
            )
            if fill.with_urls:
                conn.executemany(
                    f"INSERT INTO article_urls ({URL_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                    (tuple(map(_sqlite_value, row)) for row in fill.url_rows()),
                )
        conn.execute("ANALYZE")
    finally:
        conn.close()


def fill_postgres(engine: Engine, fill: Fill) -> None:
    """`fill_sqlite` for a migrated PostgreSQL archive, by COPY."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(  # type: ignore[attr-defined]
            "COPY sources (id, name, base_url, languages, config, enabled, created_at) FROM STDIN"
        ) as copy:
            for row in fill.source_rows():
                copy.write_row((*row, "[]", "{}", True, fill.now))
        with cur.copy(f"COPY articles ({COLUMNS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in fill.rows():
                copy.write_row(row)
        if fill.with_urls:
            with cur.copy(f"COPY article_urls ({URL_COLUMNS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in fill.url_rows():
                    copy.write_row(row)
            # Ids were given, not drawn: a crawl's own inserts must not collide with them.
            for table, last in (
                ("articles", fill.articles),
                ("article_urls", fill.articles),
                ("sources", fill.sources),
            ):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})")
        raw.commit()
        driver = raw.driver_connection
        assert driver is not None
        driver.autocommit = True  # VACUUM refuses to run in a transaction
        cur = driver.cursor()
        cur.execute("VACUUM ANALYZE articles")
        cur.execute("ANALYZE sources")
    finally:
        raw.close()


def _compiled(engine: Engine, **kwargs: Any) -> list[str]:
    dialect = postgresql.dialect() if engine.dialect.name == "postgresql" else sqlite.dialect()
    return [
        str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        for stmt in due_articles_statements(now=NOW, **kwargs)
    ]


def _plan(engine: Engine, sql: str) -> dict[str, Any]:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            lines = [row[0] for row in conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))]
            return {
                "statement": sql,
                "plan": lines,
                "execution": [ln for ln in lines if ln.startswith(("Execution", "Planning"))],
            }
        rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
        return {"statement": sql, "plan": [str(row[-1]) for row in rows]}


def _best(fn: Callable[[], int], repeat: int = 3) -> dict[str, Any]:
    times = []
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = fn()
        times.append(time.perf_counter() - started)
    return {
        "rows": rows,
        "best_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
    }


def measure(engine: Engine) -> dict[str, Any]:
    cases: dict[str, dict[str, Any]] = {
        "pass": {},
        "one_source": {"sources": ["outlet0"]},  # due articles in it
        "first_1000": {"limit": 1000},
    }
    out: dict[str, Any] = {}
    for name, kwargs in cases.items():
        statements = _compiled(engine, **kwargs)

        def run_sql(statements: list[str] = statements) -> int:
            with engine.connect() as conn:
                return sum(len(conn.exec_driver_sql(sql).all()) for sql in statements)

        def run_orm(kwargs: dict[str, Any] = kwargs) -> int:
            with Session(engine) as session:
                return len(due_articles(session, now=NOW, **kwargs))

        out[name] = {
            "sql": _best(run_sql),
            "orm": _best(run_orm),
            "statements": [_plan(engine, sql) for sql in statements],
        }
    return out


@contextmanager
def postgres_database(server_url: str, name: str = BENCH_DB) -> Iterator[str]:
    """A fresh database `name` on the server, dropped afterwards: its URL."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench_one(
    url: str, kind: str, articles: int, due: int, seed: int, path: Path | None
) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        migrate(engine)
        started = time.perf_counter()
        if kind == "sqlite":
            assert path is not None
            engine.dispose()
            fill_sqlite(path, Fill(articles, due, seed))
        else:
            fill_postgres(engine, Fill(articles, due, seed))
        filled = time.perf_counter() - started
        result = {"database": kind, "fill_s": round(filled, 1), **measure(engine)}
        return result
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.schedule_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        help="a PostgreSQL server to measure on (repeatable), e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="only the PostgreSQL URLs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not 0 < args.due <= args.articles:
        parser.error("--due must be between 1 and --articles")
    runs = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="pw-schedule-") as tmp:
            path = Path(tmp) / "archive.sqlite3"
            runs.append(
                bench_one(f"sqlite:///{path}", "sqlite", args.articles, args.due, args.seed, path)
            )
    for server in args.database_url:
        with postgres_database(server) as url:
            runs.append(bench_one(url, "postgresql", args.articles, args.due, args.seed, None))
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "articles": args.articles,
        "due": args.due,
        "sources": SOURCES,
        "runs": runs,
    }
    path = write_figures(args.out, "schedule", result)
    for run in runs:
        p = run["pass"]
        print(
            f"{run['database']}: {result['articles']} articles, {p['sql']['rows']} due: "
            f"SQL {p['sql']['best_s']} s, due_articles {p['orm']['best_s']} s; "
            f"one source {run['one_source']['sql']['best_s']} s, "
            f"first 1000 {run['first_1000']['sql']['best_s']} s"
        )
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
