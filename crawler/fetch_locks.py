"""Which crawl is fetching which new article now, across the machines that share a
Redis frontier: one lock per article in Redis (`PREFIX:fetching:URL`), taken when its
request enters the downloader and released when the crawl ends (lapsing with
`redis_claim_lease_s` if it dies).

The lock's value names the crawl and the fetch (`RUN_TOKEN FETCH_ID`): a retry or a
redirect of that fetch carries its fetch id in the request's meta and passes; any other
request for the article, from another machine or from this crawl (two machines listed
it, and the shared filter that kept the second request out is gone), is dropped.

A Redis that loses its state with the connection fine (`FLUSHALL`, or restarted empty)
takes the locks of fetches still under way with it, and the archive does not know those
articles until their captures commit, a second or so later: `python -m benchmarks
faults` saw 8 of 100 articles fetched twice, 0.3 to 1.6 s apart. So the loss is noticed
and the locks are published again before anyone takes a new one:

- a key `PREFIX:frontier-epoch` holds a random value that every crawl remembers; a lock
  is taken by a Lua script only while that value is the one this crawl knows (atomic:
  no lock is taken in a Redis that lost its state without noticing);
- the crawl that notices (on a lock, or on its check every `grace_s / 8`) publishes the
  locks it holds again, then sets a new epoch (or adopts the one another crawl set);
- after noticing, a crawl waits `grace_s` before it takes a lock, by which time every
  other crawl has noticed too (each checks eight times within it) and published its own.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Long enough for every crawl's reactor to run its check (every GRACE_S / 8) on a busy
# machine; it is waited only after Redis lost its state, by new articles' fetches.
GRACE_S = 2.0

# KEYS: the epoch key, the lock; ARGV: the epoch this crawl knows, the lock's value, the
# lease in seconds. Returns -1 (the epoch changed: Redis lost its state), 1 (locked for
# this value) or the value of whoever holds the lock.
_TAKE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', tonumber(ARGV[3])) then return 1 end
return redis.call('GET', KEYS[2])
"""

OURS = "ours"
THEIRS = "theirs"


class FetchLocks:
    """The locks of one crawl (module docstring). Redis unreachable: every lock is
    granted (the frontier rides the outage out and the archive lookup still runs)."""

    def __init__(
        self,
        server: Any,
        *,
        prefix: str,
        run_token: str,
        lease_s: float,
        grace_s: float = GRACE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server = server
        self.prefix = prefix
        self.run_token = run_token
        self.lease_s = max(1, int(lease_s))
        self.grace_s = grace_s
        self.clock = clock
        self._epoch_key = f"{prefix}:frontier-epoch"
        self._epoch: str | None = None
        self._waiting_until = 0.0
        self._held: dict[str, str] = {}  # lock name -> value, published again after a loss
        self._take = server.register_script(_TAKE)

    def lock_name(self, key: str) -> str:
        return f"{self.prefix}:fetching:{key}"

    def take(self, key: str, fetch_id: str) -> str | float:
        """`OURS`, `THEIRS`, or the seconds to wait before asking again (Redis lost its
        state: the other crawls are publishing their locks again)."""
        wait = self._waiting_until - self.clock()
        if wait > 0:
            return wait
        name, value = self.lock_name(key), f"{self.run_token} {fetch_id}"
        try:
            if self._epoch is None:
                self._epoch = self._epoch_now()
            got = self._take(keys=[self._epoch_key, name], args=[self._epoch, value, self.lease_s])
            if got == -1:
                self._lost()
                return self.grace_s
        except RedisError as exc:
            log.debug("fetch lock on %s not taken (%s): Redis unreachable", key, exc)
            return OURS
        if got == 1:
            self._held[name] = value
            return OURS
        return OURS if got is not None and got.decode() == value else THEIRS

    def check(self) -> None:
        """Run every `grace_s / 8` while the crawl runs: notices a Redis that lost its
        state even when this crawl takes no lock."""
        if self._epoch is None:
            return
        try:
            now = self.server.get(self._epoch_key)
            if now is None or now.decode() != self._epoch:
                self._lost()
        except RedisError:
            pass  # the frontier says so, and rides the outage out

    def release(self) -> None:
        """The crawl ends: its locks go (what it recorded the archive knows now; what it
        did not, the next crawl fetches at once)."""
        held, self._held = sorted(self._held), {}
        if held:
            try:
                self.server.delete(*held)
            except RedisError:
                log.warning("could not release %d fetch lock(s) in Redis", len(held))

    def _epoch_now(self) -> str:
        self.server.set(self._epoch_key, uuid.uuid4().hex, nx=True)
        epoch = self.server.get(self._epoch_key)
        return epoch.decode() if epoch is not None else ""

    def _lost(self) -> None:
        # Publish first, then move the epoch on: a crawl that sees the new epoch knows
        # these locks are back.
        if self._held:
            with self.server.pipeline(transaction=False) as pipe:
                for name, value in self._held.items():
                    pipe.set(name, value, nx=True, ex=self.lease_s)
                pipe.execute()
        self._epoch = self._epoch_now()
        self._waiting_until = self.clock() + self.grace_s
        log.info(
            "the Redis frontier lost its state (flushed, or restarted empty): %d fetch "
            "lock(s) published again; new articles wait %.1f s for the other crawls' locks",
            len(self._held),
            self.grace_s,
        )
