"""Discovery's known URLs held as digests (crawler.known): membership answers as a set
of the URLs would, for URLs streamed in once."""

from __future__ import annotations

from crawler.known import KnownUrls


def test_known_urls_answer_membership_like_the_set_of_urls() -> None:
    urls = [f"https://outlet.example/news/{i}/" for i in range(5000)]
    known = KnownUrls(iter(urls + urls[:10]))  # a URL listed twice counts once

    assert len(known) == 5000
    assert all(url in known for url in urls)
    assert "https://outlet.example/news/5000/" not in known
    assert "https://outlet.example/news/1/x" not in known
    assert None not in known
    assert len(KnownUrls()) == 0 and "https://outlet.example/" not in KnownUrls()
