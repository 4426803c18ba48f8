"""Group commit: many fetches recorded in the caller's one transaction, each in its own
savepoint, their WARC records sharing one fsync."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import event
from sqlalchemy.orm import Session

from archive.capture.exchange import CaptureJob, CaptureResult
from archive.capture.record import record_capture
from archive.warc.records import WarcStore


def record_captures(
    session: Session, jobs: Sequence[CaptureJob], *, warc: WarcStore
) -> list[CaptureResult | Exception]:
    """Record many fetches in the caller's one transaction (group commit), in order, each
    in its own savepoint: a fetch that fails is rolled back alone and its exception is
    returned in its place. The WARC records of the group share one fsync, done before
    this returns, so the caller's commit never names unsynced bytes. One log order: the
    leaves are appended in `jobs` order under the one log-head lock."""
    results: list[CaptureResult | Exception] = []
    # The session holds loaded rows weakly: an article or version no longer referenced
    # once `record_capture` returns would be loaded again by `then` and by the group's
    # next capture of it. Holding what the group loads until it ends saves those SELECTs.
    held: list[object] = []

    def hold(_session: Session, instance: object) -> None:
        held.append(instance)

    event.listen(session, "loaded_as_persistent", hold)
    try:
        return _record_each(session, jobs, warc, results)
    finally:
        event.remove(session, "loaded_as_persistent", hold)


def _record_each(
    session: Session,
    jobs: Sequence[CaptureJob],
    warc: WarcStore,
    results: list[CaptureResult | Exception],
) -> list[CaptureResult | Exception]:
    with warc.group():
        for job in jobs:
            try:
                with session.begin_nested():
                    result = record_capture(
                        session,
                        job.exchange,
                        warc=warc,
                        options=job.options,
                        extracted=job.extracted,
                        payload_known=job.payload_known,
                        images=job.images,
                        rendering=job.rendering,
                    )
                    if job.then is not None:
                        job.then(session, result)
            except Exception as exc:  # boundary: one fetch must not sink its group
                results.append(exc)
            else:
                results.append(result)
    return results
