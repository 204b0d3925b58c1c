"""The default taxonomy with the real embedding model: hand-written utterances (not the
taxonomy's examples) go to the expected code and theme, and small talk gets no suggestion."""

import pytest

from pipeline.artifacts import Clustering, Segment
from pipeline.config import TAXONOMY_DIR, load_config
from pipeline.embed import make_embedder
from pipeline.mapping import map_to_taxonomy
from pipeline.taxonomy import load_taxonomy

UTTERANCES = [
    ("The psychiatrist gives me three minutes and never asks what I think about the dose.",
     "barrier.control.authority_slope"),
    ("Since my pension is so small I'm terrified of what happens when my parents pass away.",
     "barrier.safety.life_security_threatened"),
    ("They strapped me down in the seclusion room, and the hospital still calls that treatment.",
     "root.systems.no_trauma_sensitivity"),
    ("What we need is a peer worker who meets you in the emergency room and stays with you.",
     "solution.organisational.crisis_advocacy"),
    ("In my family a man who doesn't earn is a disgrace, and I carry that shame every day.",
     "root.culture.shame_and_pressure"),
    ("There ought to be more open places in town where anyone is welcome as they are.",
     "solution.cultural.open_accepting_community"),
]
SMALL_TALK = ["We had a lovely lunch and then watched the football on television.",
              "The train was late again so I missed the start of the film."]


class SentencesOnly:
    """The real model without its token vectors, like an embedder that cannot give them."""

    def __init__(self, embedder):
        self.name, self.encode = embedder.name, embedder.encode


@pytest.mark.e2e
@pytest.mark.parametrize("word_matches", [True, False], ids=["word matches", "sentence vectors alone"])
def test_default_taxonomy_with_the_real_model(word_matches):
    config = load_config()
    embedder = make_embedder(config.embedding)
    if not word_matches:  # scored with a calibration of its own, so it still suggests
        embedder = SentencesOnly(embedder)
    taxonomy = load_taxonomy(TAXONOMY_DIR / "nakanishi2021.yaml")
    texts = [text for text, _ in UTTERANCES] + SMALL_TALK
    segments = [Segment(f"m#{i}.1", "m", i, "User 1", "user", t, 0, len(t)) for i, t in enumerate(texts)]
    mapping = map_to_taxonomy(segments, embedder.encode(texts), Clustering([], {}), taxonomy, embedder,
                              config.mapping)
    for i, (_, expected) in enumerate(UTTERANCES):
        suggestions = mapping.segments[f"m#{i}.1"]
        assert expected in [s.code_id for s in suggestions], (texts[i], suggestions)
        assert suggestions[0].path[0] == expected.split(".")[0]  # the right theme first
    firsts = [mapping.segments[f"m#{i}.1"][0].code_id for i in range(len(UTTERANCES))]
    assert sum(f == e for f, (_, e) in zip(firsts, UTTERANCES)) >= len(UTTERANCES) - 1
    for i in range(len(UTTERANCES), len(texts)):
        assert mapping.segments[f"m#{i}.1"] == [], texts[i]


@pytest.mark.e2e
def test_without_token_vectors_the_mapping_suggests_as_often():
    """Sentence-only lifts are on a smaller scale: with the curves fitted for word matches,
    fewer than half of the development set's utterances got a suggestion."""
    from pathlib import Path

    from pipeline.yamlio import read_yaml

    data, _ = read_yaml(Path(__file__).resolve().parent.parent / "bench" / "nakanishi_utterances.yaml")
    texts = [text for items in data.values() for text in items]
    config = load_config()
    embedder = make_embedder(config.embedding)
    taxonomy = load_taxonomy(TAXONOMY_DIR / "nakanishi2021.yaml")
    segments = [Segment(f"m#{i}.1", "m", i, "User 1", "user", t, 0, len(t)) for i, t in enumerate(texts)]
    vectors = embedder.encode(texts)
    for reader in (embedder, SentencesOnly(embedder)):
        mapping = map_to_taxonomy(segments, vectors, Clustering([], {}), taxonomy, reader, config.mapping)
        assert sum(1 for listed in mapping.segments.values() if listed) >= 0.9 * len(texts), reader
