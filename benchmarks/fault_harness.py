"""Services of one's own to fail, and the crawl's own helper processes to find and kill:
shared by the service-fault tests (tests/test_service_faults.py) and `python -m
benchmarks faults`, so both fail exactly the same things.

Each service runs on a port of its own, in a directory of its own, so stopping it never
disturbs anything else on the machine: `redis-server`, a PostgreSQL cluster made with
`initdb`, and a Meilisearch server from a binary the caller names (none ships in a
package registry here: ../shared/tools/build-meilisearch builds one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass
class OwnRedis:
    """A redis-server of one's own, on its own port, in its own directory."""

    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None


@dataclass
class OwnPostgres:
    """A PostgreSQL cluster of one's own (initdb into a temporary directory, its own
    port, run as the `postgres` user since PostgreSQL refuses to run as root). `url`
    names `database` on it: `fresh_database()` gives a copy naming a new, empty one on
    the same cluster (stopping either stops the cluster)."""

    port: int
    workdir: Path
    bin_dir: Path
    database: str = "postgres"

    @classmethod
    def find_binaries(cls) -> Path | None:
        """The newest installed server's bin directory, or None."""
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        return found[-1].parent if found else None

    @classmethod
    def make(cls, port: int, bin_dir: Path) -> OwnPostgres:
        """A new cluster, initialised and started, under a fresh directory outside any
        test's tmp_path (the postgres user must be able to reach it)."""
        workdir = Path(tempfile.mkdtemp(prefix="pw-pg-"))
        if os.geteuid() == 0:
            shutil.chown(workdir, "postgres", "postgres")
        server = cls(port, workdir, bin_dir)
        server.init()
        server.start()
        return server

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    def fresh_database(self) -> OwnPostgres:
        """A new empty database on this (running) cluster, as an `OwnPostgres` naming it."""
        name = f"pw_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return replace(self, database=name)

    def drop_database(self) -> None:
        """Drop the database `url` names (its connections cut); the cluster stays."""
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
            autocommit=True, connect_timeout=30,
        ) as conn:  # fmt: skip
            conn.execute(statement.encode())

    @property
    def running(self) -> bool:
        return (self.workdir / "db" / "postmaster.pid").exists()

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, check=False, timeout=120
        )
        assert done.returncode == 0, f"{command[0]} failed: {done.stdout}{done.stderr}"

    def init(self) -> None:
        self._as_postgres(
            str(self.bin_dir / "initdb"), "-D", str(self.workdir / "db"), "-A", "trust",
            "-U", "postgres", "--no-sync", "--no-instructions",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.workdir} -h 127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.workdir / "db"), "-o", options,
            "-l", str(self.workdir / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        # Immediate: the server goes as in a crash, its connections cut.
        self._as_postgres(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.workdir / "db"), "-m", "immediate",
            "-w", "stop",
        )  # fmt: skip

    def remove(self) -> None:
        if self.running:
            self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class OwnMeilisearch:
    """A Meilisearch server of one's own, from the binary at `binary`, on its own port,
    its data in `workdir` (kept across a stop and start, as a real restart keeps it)."""

    binary: Path
    port: int
    workdir: Path
    key: str = "presswatch-fault-key-0123456789"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(self.binary), "--http-addr", f"127.0.0.1:{self.port}", "--master-key",
             self.key, "--db-path", str(self.workdir / "data.ms"), "--no-analytics",
             "--env", "development"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            assert self.proc.poll() is None, "meilisearch exited at start"
            assert time.monotonic() < deadline, "meilisearch did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None


def meilisearch_binary() -> Path | None:
    """The Meilisearch server to start: `MEILI_BIN`, else `meilisearch` on PATH."""
    named = os.environ.get("MEILI_BIN") or shutil.which("meilisearch")
    return Path(named) if named and Path(named).is_file() else None


# -- the crawl's own processes ----------------------------------------------------------


def children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        listings = list(Path(f"/proc/{pid}/task").glob("*/children"))
    except OSError:
        return []  # the process ended meanwhile (a helper killed, or replaced)
    for listed in listings:
        try:
            kids.extend(int(k) for k in listed.read_text().split())
        except OSError:
            continue  # the task ended meanwhile
    return kids


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (the crawl's helpers hang under its fork server)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = children(todo.pop())
        found.extend(kids)
        todo.extend(kids)
    return found


def writer_of(crawl_pid: int, warc_dir: Path) -> int | None:
    """The crawl's writer process: its one helper that holds a WARC file open."""
    warc_dir = warc_dir.resolve()
    for pid in descendants(crawl_pid):
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = Path(os.readlink(fd))
            except OSError:
                continue
            if target.parent == warc_dir:
                return pid
    return None


def extraction_workers_of(crawl_pid: int, warc_dir: Path) -> list[int]:
    """The crawl's helpers (children of its fork server, itself a child of the crawl)
    other than the writer; [] until the writer is known by its open WARC file."""
    writer = writer_of(crawl_pid, warc_dir)
    if writer is None:
        return []
    helpers = [pid for server in children(crawl_pid) for pid in children(server)]
    return [pid for pid in helpers if pid != writer]
