"""`python -m presswatch.verify_package`: arguments, the printed verdict (escaped) and
the exit code."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archive.log import TimestampError, load_trust_roots
from presswatch.verify_package.reading import (
    MAX_SMALL_BYTES,
    Unreadable,
)
from presswatch.verify_package.result import (
    EXIT_OTHER_KEY,
    EXIT_UNREADABLE,
    Result,
)
from presswatch.verify_package.verify import verify_package


def plain(text: str) -> str:
    """`text` safe to print on a terminal: control, format and separator characters
    (escape sequences, bidirectional overrides, line breaks) shown as \\u escapes."""
    return "".join(
        f"\\u{{{ord(c):04x}}}"
        if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
        else c
        for c in text
    )


def statement_text(statement: dict[str, Any]) -> str:
    article, state, as_of = statement["article"], statement["state"], statement["as_of"]
    checkpoint = statement["checkpoint"]
    status = str(state["status"])
    if state.get("removal"):
        status += f" ({state['removal']}, removed at {state.get('removed_at')})"
    key = statement["key"] + ("" if statement["key_given"] else " (the package's own key)")
    return (
        f"article {article['key']} (id {article['id']}, source id {article['source_id']}) "
        f"was {status} as of capture {as_of['capture_id']}, fetched at "
        f"{as_of['fetched_at']} (leaf {as_of['leaf_index']}), with its "
        f"{statement['versions']} version(s) and {statement['events']} event(s) up to then, "
        f"under the checkpoint of {checkpoint['tree_size']} leaves (root "
        f"{checkpoint['root_hash']}) of log {checkpoint['origin']}, signed by key {key}"
    )


def _print_human(result: Result) -> None:
    for warning in result.warnings:
        print(plain(f"warning: {warning}"), file=sys.stderr)
    for failure in result.failures:
        print(plain(f"FAIL [{failure.reason}] {failure}"))
    if result.timestamp:
        stamp = result.timestamp
        trust = "verified against --tsa-ca" if stamp["trusted"] else "NOT verified (no --tsa-ca)"
        print(
            plain(
                f"timestamp: {stamp['time']} by {stamp['tsa']} (issuer {stamp['issuer']}, "
                f"certificate sha256 {stamp['fingerprint_sha256']}), {trust}"
            )
        )
    if result.ok and result.statement is not None and "case" in result.statement:
        case, checkpoint = result.statement["case"], result.statement["checkpoint"]
        print(
            plain(
                f"ok: case {case.get('name')} with articles {result.statement['articles']}, "
                f"{result.statement['notes']} note(s) and {result.statement['audit_entries']} "
                f"audit entries, each article's package proven, under the checkpoint of "
                f"{checkpoint['tree_size']} leaves (root {checkpoint['root_hash']}) of log "
                f"{checkpoint['origin']}"
                + ("" if result.statement["key_given"] else ", signed by the package's own key")
            )
        )
    elif result.ok and result.statement is not None:
        print(plain("ok: " + statement_text(result.statement)))
        print(
            plain(
                f"checked: {result.captures} captures, {result.versions} versions, "
                f"{result.events} events; not proven: any capture of the article after "
                f"capture {result.statement['as_of']['capture_id']} (see docs/evidence.md)"
            )
        )
    elif result.exit_code == EXIT_OTHER_KEY:
        if result.key is not None:
            print(
                "NOT PROVEN: the package is self-consistent under its own key, but its "
                "checkpoint is not signed by the key given"
            )
        else:
            print(
                "NOT PROVEN: the checkpoint is not signed by the key given, and no key at "
                "hand checks its signature"
            )
    else:
        count = len(result.failures) + result.more_failures
        more = f" ({result.more_failures} not shown)" if result.more_failures else ""
        print(f"NOT PROVEN: {count} failure(s){more}; nothing in this package is proven")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m presswatch.verify_package",
        description="Verify a Presswatch evidence package (a WACZ) offline. Exit 0: the "
        "statement it prints is proven; 1: the package fails; 2: the package or key "
        "cannot be read; 3: its checkpoint is not signed by the key given (nothing else "
        "wrong).",
    )
    parser.add_argument("package", type=Path, help="the .wacz evidence package")
    parser.add_argument(
        "--public-key",
        type=Path,
        metavar="FILE",
        help="the log's published key file, as `presswatch checkpoint --public-key` "
        "writes it (the key line, the PEM block, or both; or its --json)",
    )
    parser.add_argument(
        "--tsa-ca",
        type=Path,
        metavar="FILE",
        help="PEM certificates of the time-stamp authorities you trust; without it a "
        "timestamp is shown as unverified",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    try:
        key = _read_text(args.public_key, "key") if args.public_key else None
        roots = None
        if args.tsa_ca is not None:
            try:
                roots = load_trust_roots(args.tsa_ca.read_bytes()[: 1 << 20])
            except (OSError, TimestampError) as exc:
                raise Unreadable(f"--tsa-ca {args.tsa_ca}: {exc}") from exc
        result = verify_package(args.package, key, tsa_roots=roots)
    except Unreadable as exc:
        print(plain(f"verify_package: {exc}"), file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=True, indent=2))
    else:
        _print_human(result)
    return result.exit_code


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_bytes()[:MAX_SMALL_BYTES].decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Unreadable(f"cannot read the {what} {path}: {exc}") from exc
