"""How a person or cron runs `presswatch` again: the command line to print in the
demo's "Explore with" hint and in the crontab block. Owns nothing else."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def presswatch_command() -> str:
    """`presswatch` as a shell can run it whatever PATH says (no activated venv, cron):
    the script installed beside the running interpreter (a venv's `bin/`), else the one
    on PATH, else `python -m presswatch.cli` with this interpreter. Shell-quoted."""
    beside = Path(sys.executable).parent / "presswatch"
    if beside.is_file() and os.access(beside, os.X_OK):
        return shlex.quote(str(beside.absolute()))
    found = shutil.which("presswatch")
    if found:
        return shlex.quote(str(Path(found).absolute()))
    return f"{shlex.quote(sys.executable)} -m presswatch.cli"
