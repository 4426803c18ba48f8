"""Asks a Time-Stamp Authority (RFC 3161) to timestamp a checkpoint, over the network,
through the egress policy: http(s) only (no `file:`), the address connected to checked
(`allow_networks`), one POST and no redirect followed (a TSA answers at the address the
operator set, or the answer is not its), the answer bounded in size. Building the
request and checking the token is `archive.log.timestamp`'s.
"""

from __future__ import annotations

import http.client
import secrets

from archive.egress import Networks
from archive.log import MAX_RESPONSE_BYTES, TimestampError, timestamp_request, token_from_response
from presswatch.egress import AddressRefused, post_once

__all__ = ["request_token"]


def request_token(url: str, data: bytes, *, allow: Networks, timeout_s: float = 30) -> bytes:
    """Ask the TSA at `url` to timestamp `data`; return the checked token (DER)."""
    nonce = secrets.randbits(63)
    try:
        answer = post_once(
            url,
            timestamp_request(data, nonce),
            content_type="application/timestamp-query",
            allow=allow,
            timeout_s=timeout_s,
            max_body_bytes=MAX_RESPONSE_BYTES,
        )
    except AddressRefused as exc:
        raise TimestampError(f"the TSA at {url} is not asked: {exc}; check tsa_url") from exc
    except ValueError as exc:
        raise TimestampError(f"the TSA at {url} sent more than {MAX_RESPONSE_BYTES} bytes") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise TimestampError(f"the TSA at {url} did not answer: {exc}; check tsa_url") from exc
    if 300 <= answer.status < 400:
        raise TimestampError(
            f"the TSA at {url} answered HTTP {answer.status}, a redirect; it is not followed: "
            "set tsa_url to the TSA's own address"
        )
    if answer.status != 200:
        raise TimestampError(f"the TSA at {url} answered HTTP {answer.status}; check tsa_url")
    return token_from_response(url, answer.body, data, nonce)
