"""`python -m benchmarks stories` runs (so it cannot rot), and the labelled corpus it
scores is what issue 25 asks for: three or more outlets in English and Khmer, wire
stories under each outlet's own headline and intro, and other raids on the same topic
(in the provinces the wire stories covered too) that must stay apart."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from benchmarks.stories_bench import main
from benchmarks.story_corpus import OUTLETS, story_corpus


def test_the_corpus_has_shared_wire_copies_and_same_topic_stories() -> None:
    corpus = story_corpus()
    assert len({c.outlet for c in corpus}) == len(OUTLETS) >= 3
    assert {c.article.lang for c in corpus} == {"en", "km"}
    by_story = defaultdict(list)
    for c in corpus:
        by_story[c.story].append(c)
    wires = {k: v for k, v in by_story.items() if k.startswith("wire-")}
    assert any(k.startswith("wire-km") for k in wires)
    for copies in wires.values():
        assert len({c.outlet for c in copies}) == len(copies) >= 2
        assert len({c.article.title for c in copies}) == len(copies)  # own headlines
        assert len({c.article.paragraphs[0] for c in copies}) == len(copies)  # own intros
    own = [k for k in by_story if k.startswith("own-")]
    assert len(own) >= 6 and all(len(by_story[k]) == 1 for k in own)
    # Some of them are raids in a province a wire story covered: same place, same topic.
    english = [c for c in corpus if c.article.lang == "en"]
    wire_places = {c.article.slug.split("-raid-")[0] for c in english if c.story in wires}
    own_places = {c.article.slug.split("-own-")[0] for c in english if c.story in own}
    assert wire_places & own_places


def test_the_benchmark_scores_the_corpus_and_costs_a_small_archive(tmp_path: Path) -> None:
    assert main(["--scales", "1", "--versions", "40", "--out", str(tmp_path)]) == 0
    (written,) = tmp_path.glob("stories-*.json")
    figures = json.loads(written.read_text(encoding="utf-8"))
    (quality,) = figures["quality"]
    assert quality["wrong"] == []
    assert quality["precision"] >= 0.95 and quality["recall"] >= 0.9
    (point,) = figures["cost"]["points"]
    assert point["versions"] == 40 and point["story_bytes"] > 0
