"""The web server's way to save a page now: `presswatch save URL --as NAME --json` run
as a command, waited for at most `save_timeout_s`.

A command, not a call: a save runs Scrapy on Twisted's reactor, which runs once per
process and would fight uvicorn's event loop; the command also holds the archive's
lock like any crawl. The command runs with the server's own settings (its environment
and presswatch.toml, plus the data dir, database and sources the server was started
with, passed in the environment so a database password never shows in `ps`).

Past the timeout the command is left to finish (the save then shows in the audit log)
and the answer says so: killing it would cost the capture it was about to record.

Must not: pass a password, token or session secret to the command.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import threading
from collections.abc import Callable, Mapping
from typing import Any

from presswatch.settings import Settings
from presswatch.shell import presswatch_command

log = logging.getLogger(__name__)

Saver = Callable[[str, str | None, str, str], dict[str, Any]]


def _reap(proc: subprocess.Popen[str]) -> None:
    """Wait for a save past its timeout in the background, logging how it ended."""

    def wait() -> None:
        out, err = proc.communicate()
        log.info("a save past its timeout ended with exit %s: %s", proc.returncode, out[-500:])
        if err.strip():
            log.info("its diagnostics: %s", err.strip()[-500:])

    threading.Thread(target=wait, name="save-reaper", daemon=True).start()


def command_saver(settings: Settings, *, env: Mapping[str, str] | None = None) -> Saver:
    """A saver for `search_api` (`AppState.saver`) running `presswatch save` with
    `settings`' data dir, database and sources; `env` replaces this process's
    environment (tests)."""
    base_env = dict(os.environ if env is None else env)
    base_env["PRESSWATCH_DATA_DIR"] = str(settings.data_dir)
    base_env["PRESSWATCH_SOURCES"] = str(settings.sources)
    base_env["PRESSWATCH_DATABASE_URL"] = settings.resolved_database_url
    timeout_s = settings.save_timeout_s

    def save(url: str, source: str | None, note: str, actor: str) -> dict[str, Any]:
        # Values joined to their options and the address after `--`: text a person
        # typed can never be read as an option (`--as=admin` as the "address").
        command = [*shlex.split(presswatch_command()), "save", f"--as={actor}", "--json"]
        if source:
            command.append(f"--source={source}")
        if note:
            command.append(f"--note={note}")
        command += ["--", url]
        proc = subprocess.Popen(
            command,
            env=base_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a Ctrl-C of the server does not cut a save in half
        )
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _reap(proc)
            return {
                "ok": False,
                "kind": "timeout",
                "error": f"the save did not finish within {timeout_s:g}s (save_timeout_s); "
                "it goes on, and shows in the audit log when it is done",
            }
        try:
            doc: dict[str, Any] = json.loads(out)
        except ValueError:
            log.warning("presswatch save exited %s: %s", proc.returncode, err.strip()[-2000:])
            return {
                "ok": False,
                "kind": "failed",
                "error": "the save failed; the server's log says why",
            }
        return doc

    return save
