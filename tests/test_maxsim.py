"""Token-level matching (MaxSim): word vectors, the index, the matrix, and how mapping uses it."""

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline.artifacts import Clustering, Segment
from pipeline.config import MappingConfig
from pipeline.embed import word_vectors
from pipeline.mapping import (SENTENCE_WEIGHT, TOKEN_WEIGHT, _blend_turns, build_profiles, lift, map_to_taxonomy,
                              match_tokens)
from pipeline.maxsim import TokenIndex, can_match, match, maxsim_matrix
from pipeline.taxonomy import parse_taxonomy


def word_vector(word: str, dimension: int = 32) -> np.ndarray:
    digest = hashlib.md5(word.encode()).digest()
    vector = np.zeros(dimension, dtype=np.float32)
    vector[digest[0] % dimension] = 1.0
    vector[digest[1] % dimension] += 0.5
    return vector / np.linalg.norm(vector)


class WordEmbedder:
    """A sentence is the unit mean of its words' vectors; its tokens are those vectors (no
    context), called from the end backwards as a threaded embedder may."""

    name = "words"

    def encode(self, texts, progress=None):
        out = np.stack([self._tokens(t).mean(axis=0) for t in texts]) if texts else np.zeros((0, 32), np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    @staticmethod
    def _tokens(text):
        words = re.findall(r"\w+", text.lower())
        return np.stack([word_vector(w) for w in words]) if words else np.zeros((1, 32), np.float32)

    def encode_tokens(self, texts, each, progress=None):
        self.calls = getattr(self, "calls", 0) + 1
        for end in range(len(texts), 0, -2):  # two texts a call, the last first
            rows = list(range(max(0, end - 2), end))
            each(rows, [self._tokens(texts[i]) for i in rows])
            if progress:
                progress(len(rows))


class SentencesOnly:
    name = "sentences"

    def encode(self, texts, progress=None):
        return WordEmbedder().encode(texts)


def test_word_vectors_leave_out_special_tokens_and_punctuation():
    hidden = np.arange(5 * 4, dtype=np.float32).reshape(5, 4) + 1
    tokens = ["[CLS]", "nobody", ",", "##ed", "[SEP]"]
    vectors = word_vectors(hidden, tokens, [1, 0, 0, 0, 1])
    assert len(vectors) == 2  # "nobody" and "##ed"
    np.testing.assert_allclose(vectors[0], hidden[1] / np.linalg.norm(hidden[1]), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    only_punctuation = word_vectors(hidden[:3], ["[CLS]", "...", "[SEP]"], [1, 0, 1])
    assert only_punctuation.shape == (1, 4) and not only_punctuation.any()  # matches nothing
    unknown = word_vectors(hidden[:4], ["[CLS]", "[UNK]", "ok", "[SEP]"], [1, 0, 0, 1])  # an emoji, say
    np.testing.assert_allclose(unknown, [hidden[2] / np.linalg.norm(hidden[2])], rtol=1e-6)


def test_maxsim_is_each_query_pieces_best_match_averaged():
    rng = np.random.default_rng(0)
    texts = [rng.normal(size=(n, 8)).astype(np.float32) for n in (3, 1, 5)]
    texts = [t / np.linalg.norm(t, axis=1, keepdims=True) for t in texts]
    query = rng.normal(size=(4, 8)).astype(np.float32)
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    other = query[:2] * -1
    expected = [[np.mean([max(float(q @ d) for d in text) for q in one]) for text in texts] for one in (query, other)]
    np.testing.assert_allclose(TokenIndex(texts).maxsim([query, other]), expected, rtol=1e-5)


def test_maxsim_matrix_reads_each_distinct_text_once_in_the_callers_order():
    embedder = WordEmbedder()
    index = TokenIndex([embedder._tokens(t) for t in ["waiting list", "tablets dose"]])
    seen = []
    scores = maxsim_matrix(["tablets", "waiting", "tablets"], index, embedder, seen.append)
    assert sum(seen) == 3
    assert scores[0, 1] == pytest.approx(1.0) and scores[1, 0] == pytest.approx(1.0)
    np.testing.assert_array_equal(scores[0], scores[2])


def test_an_embedder_without_token_vectors_gives_no_matches():
    assert not can_match(SentencesOnly())
    assert match(["a"], ["b"], ["c"], SentencesOnly()) is None


CODEBOOK = {"id": "t", "label": "T", "codes": [
    {"id": "a", "label": "Waiting", "examples": ["waiting list referral months", "delay queue"]},
    {"id": "b", "label": "Medication", "examples": ["tablets dose drowsy", "side effects"]},
]}


@pytest.fixture
def taxonomy():
    return parse_taxonomy(CODEBOOK, {}, Path("t.yaml"))


def test_lift_adds_the_weighted_word_matches(taxonomy):
    embedder = WordEmbedder()
    texts = ["months on the waiting list", "the dose made me drowsy"]
    profiles = build_profiles(taxonomy, embedder)
    tokens = match_tokens(texts, taxonomy, embedder)
    assert tokens.profile_texts == profiles.texts
    sentences, _, _ = lift(embedder.encode(texts), profiles)
    both, _, _ = lift(embedder.encode(texts), profiles, tokens=tokens)
    zero = type(tokens)(tokens.profile_texts, np.zeros_like(tokens.segments), np.zeros_like(tokens.background))
    only_sentences, _, _ = lift(embedder.encode(texts), profiles, tokens=zero)
    # With no word evidence the lift is the sentence lift at its weight; with it, each text's
    # own code gains most.
    np.testing.assert_allclose(only_sentences, SENTENCE_WEIGHT * sentences, rtol=1e-5, atol=1e-6)
    gain = both - only_sentences
    assert gain[0, 0] > gain[0, 1] and gain[1, 1] > gain[1, 0]
    assert TOKEN_WEIGHT > 0


def test_token_matches_for_other_profile_texts_are_refused(taxonomy):
    embedder = WordEmbedder()
    tokens = match_tokens(["a dose"], taxonomy, embedder)
    stale = type(tokens)(tokens.profile_texts[:-1] + ["something else"], tokens.segments, tokens.background)
    with pytest.raises(ValueError, match="other profile texts"):
        lift(embedder.encode(["a dose"]), build_profiles(taxonomy, embedder), tokens=stale)


def test_mapping_makes_token_matches_when_not_given_and_uses_given_ones(taxonomy):
    embedder = WordEmbedder()
    segments = [Segment(f"m#{i}.1", "m", i, "User 1", "user", t, 0, len(t))
                for i, t in enumerate(["months on the waiting list", "the dose made me drowsy"])]
    clustering = Clustering([], {})
    made = map_to_taxonomy(segments, embedder.encode([s.text for s in segments]), clustering, taxonomy, embedder,
                           MappingConfig())
    assert embedder.calls == 3  # profile texts, segments, background sentences
    tokens = match_tokens([s.text for s in segments], taxonomy, embedder)
    given = map_to_taxonomy(segments, embedder.encode([s.text for s in segments]), clustering, taxonomy, embedder,
                            MappingConfig(), tokens)
    assert embedder.calls == 6  # only match_tokens above ran the model
    assert made.segments == given.segments
    assert made.segments["m#0.1"][0].code_id == "a" and made.segments["m#1.1"][0].code_id == "b"


def test_word_matches_are_read_in_their_turns_context():
    segments = [Segment(f"m#{turn}.{part}", "m", turn, "U", "user", "x", 0, 1)
                for turn, part in ((0, 1), (0, 2), (1, 1))]
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [0.3, 0.7]], dtype=np.float32)
    blended = _blend_turns(segments, scores, 1.0)
    np.testing.assert_allclose(blended[0], [0.75, 0.25])  # (own + turn mean) / 2
    np.testing.assert_allclose(blended[1], [0.25, 0.75])
    np.testing.assert_array_equal(blended[2], scores[2])  # a turn of one segment is itself
    np.testing.assert_array_equal(_blend_turns(segments, scores, 0.0), scores)


def test_the_evidence_text_is_the_closest_by_both_readings():
    taxonomy = parse_taxonomy({"id": "t", "label": "T", "codes": [
        {"id": "a", "label": "Access", "examples": ["waiting", "waiting list months delay queue referral"]},
        {"id": "b", "label": "Medication", "examples": ["tablets dose drowsy"]}]}, {}, Path("t.yaml"))
    embedder = WordEmbedder()
    profiles = build_profiles(taxonomy, embedder)
    texts = ["waiting list"]
    _, _, by_sentence = lift(embedder.encode(texts), profiles)
    _, _, by_both = lift(embedder.encode(texts), profiles, tokens=match_tokens(texts, taxonomy, embedder))
    # The one-word example is nearer as a sentence; word by word the longer one holds both words.
    assert profiles.texts[by_sentence[0, 0]] == "waiting"
    assert profiles.texts[by_both[0, 0]] == "waiting list months delay queue referral"
