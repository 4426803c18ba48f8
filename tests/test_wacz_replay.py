"""A real replay tool reads our WACZ and our CDXJ indexes: pywb unpacks an exported
package with its own `wb-manager add --unpack-wacz` (which keeps *our* CDXJ index, only
renaming files), and a second collection is the data dir's WARC files with the indexes
Presswatch wrote beside them (pywb indexes nothing itself); served on 127.0.0.1, every
archived page comes back byte for byte from both, revisits too.

pywb lives in an environment of its own (see the README's Development section):
`PRESSWATCH_PYWB_BIN` names the directory holding `wb-manager` and `wayback`, else
`.pywb/bin` in the checkout, else the PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import select

from archive.store.models import Capture
from presswatch.runtime import Runtime
from tests import archive_helpers as h
from tests.package_checks import cli
from tests.site_server import pywb_bin, wayback

REPO = Path(__file__).resolve().parents[1]
KM = "https://khmer.example/news/4412/"
EN = "https://daily.example/news/raid/"


def get(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_pywb_replays_an_exported_wacz_and_the_cdxj_indexes_byte_for_byte(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    bin_dir = pywb_bin()
    km, en = h.km_story(KM).html, h.en_story(EN).html
    km_edited = h.khmer_byline_changed(km)
    served = {}
    for url, html, hours in ((KM, km, 0), (KM, km, 24), (KM, km_edited, 48), (EN, en, 1)):
        h.record(runtime, h.exchange(url, html, at=at(hours)))
        served[(url, at(hours).strftime("%Y%m%d%H%M%S"))] = html.encode("utf-8")
    runtime.warc.close()
    package = tmp_path / "archive.formats.wacz"
    assert cli(runtime, "export", "wacz", "-o", str(package)).exit_code == 0

    root = tmp_path / "pywb"
    root.mkdir()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    steps = (("init", "news"), ("add", "--unpack-wacz", "news", str(package)), ("init", "live"))
    for args in steps:
        done = subprocess.run(
            [str(bin_dir / "wb-manager"), *args],
            cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    live = root / "collections" / "live"
    for warc in runtime.settings.warc_dir.iterdir():
        shutil.copy(warc, live / "archive" / warc.name)
    indexes = sorted(runtime.settings.indexes_dir.glob("*.cdxj"))
    assert indexes
    for index in indexes:
        shutil.copy(index, live / "indexes" / index.name)
    with wayback(bin_dir, root, env) as port:
        with runtime.sessions() as s:
            kinds = [c.warc_type for c in s.scalars(select(Capture).order_by(Capture.seq))]
        assert kinds.count("revisit") == 1  # replayed from the response it refers to
        for collection in ("news", "live"):
            for (url, stamp), body in served.items():
                status, replayed = get(f"http://127.0.0.1:{port}/{collection}/{stamp}id_/{url}")
                assert (status, replayed) == (200, body), (collection, url, stamp)
