"""Clustering and mapping on synthetic segments with the fake embedder."""

import re

import numpy as np
import pytest

from pipeline.artifacts import UNCLUSTERED, Segment
from pipeline.cluster import cluster
from pipeline.config import ClusteringConfig, MappingConfig
from pipeline.mapping import map_to_taxonomy
from pipeline.taxonomy import parse_taxonomy
from pathlib import Path

TOPICS = {
    "waiting": "waiting list months referral appointment delay queue",
    "medication": "tablets medication side effects dose drowsy pills",
    "work": "job work employer money benefits wages career",
}


def make_segments(per_topic=20):
    rng = np.random.default_rng(0)
    segments = []
    for topic, words in TOPICS.items():
        vocab = words.split()
        for i in range(per_topic):
            text = " ".join(rng.choice(vocab, size=8))
            segments.append(Segment(segment_id=f"{topic}#{i}.1", source=f"{topic}.txt", turn_id=i,
                                    speaker="User 1", role="user", text=text, start=0, end=len(text)))
    return segments


def test_clusters_recover_topics(fake_embedder):
    segments = make_segments()
    vectors = fake_embedder.encode([s.text for s in segments])
    result = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, selection_method="eom"))
    assert len(result.clusters) == 3
    for c in result.clusters:
        assert len({sid.split("#")[0] for sid in c.segment_ids}) == 1
        assert c.keywords and len(c.representative_ids) == 5
        assert set(c.representative_ids) <= set(c.segment_ids)
    assert result.coords.shape == (60, 2)


def test_clustering_is_deterministic(fake_embedder):
    segments = make_segments()
    vectors = fake_embedder.encode([s.text for s in segments])
    a = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, selection_method="eom"))
    b = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, selection_method="eom"))
    assert a.assignments == b.assignments
    assert [c.keywords for c in a.clusters] == [c.keywords for c in b.clusters]


def test_hdbscan_tree_is_kept_for_a_change_of_cluster_size_only(fake_embedder):
    segments = make_segments()
    vectors = fake_embedder.encode([s.text for s in segments])
    kept, computed = {}, []

    def keep(inputs, compute):
        key = repr(sorted(inputs.items()))
        if key not in kept:
            computed.append(key)
            kept[key] = compute()
        return kept[key]

    for size in (5, 8):
        config = ClusteringConfig(min_cluster_size=size, selection_method="eom")
        with_tree = cluster(segments, vectors, config, keep=keep)
        plain = cluster(segments, vectors, config)
        assert with_tree.assignments == plain.assignments
        assert [c.keywords for c in with_tree.clusters] == [c.keywords for c in plain.clusters]
    assert len(computed) == 1  # the second size took the tree kept by the first
    cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, min_samples=2), keep=keep)
    assert len(computed) == 2  # min_samples changes the tree


def test_min_cluster_size_auto_grows_with_the_corpus():
    from pipeline.cluster import chosen_min_cluster_size

    auto = ClusteringConfig()
    assert auto.min_cluster_size == "auto"
    assert [chosen_min_cluster_size(auto, n) for n in (60, 3000, 5199, 5200, 10334, 20000)] == [12, 12, 12, 13, 25, 50]
    assert chosen_min_cluster_size(ClusteringConfig(min_cluster_size=8), 10334) == 8
    with pytest.raises(ValueError):
        ClusteringConfig(min_cluster_size=1)
    with pytest.raises(ValueError):
        ClusteringConfig(min_cluster_size="large")


def test_tiny_corpus_degrades_with_a_note(fake_embedder):
    segments = make_segments(per_topic=2)
    vectors = fake_embedder.encode([s.text for s in segments])
    result = cluster(segments, vectors, ClusteringConfig())
    assert result.clusters == []
    assert set(result.assignments.values()) == {UNCLUSTERED}
    assert "no clusters were formed" in result.notes[0]


def test_two_hundred_segments_in_no_cluster_still_get_a_clustering(fake_embedder):
    """From 200 segments on a keyword must be in two topics' texts; with every segment
    unclustered there is one such text, and that must not fail."""
    segments = [s for s in make_segments(per_topic=70) if s.source == "waiting.txt"] * 3
    segments = [Segment(**{**s.__dict__, "segment_id": f"w#{i}.1", "turn_id": i}) for i, s in enumerate(segments)]
    vectors = fake_embedder.encode([s.text for s in segments])
    result = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5000))
    assert len(segments) >= 200 and result.clusters == []
    assert set(result.assignments.values()) == {UNCLUSTERED}
    assert "no clusters were formed: no group of 70 or more segments" in " ".join(result.notes)


def test_mapping_ranks_and_abstains(fake_embedder):
    taxonomy = parse_taxonomy({
        "id": "t", "label": "T", "codes": [
            {"id": "access", "label": "Access", "codes": [
                {"id": "access.waiting", "label": "Waiting", "examples": ["waiting list months referral delay"]}]},
            {"id": "treatment", "label": "Treatment", "codes": [
                {"id": "treatment.meds", "label": "Medication", "examples": ["tablets medication side effects dose"]}]},
        ]}, {}, Path("t.yaml"))
    segments = make_segments()
    vectors = fake_embedder.encode([s.text for s in segments])
    clustering = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, selection_method="eom"))
    mapping = map_to_taxonomy(segments, vectors, clustering, taxonomy, fake_embedder, MappingConfig())
    by_topic = {}
    for c in clustering.clusters:
        topic = c.segment_ids[0].split("#")[0]
        by_topic[topic] = mapping.clusters[c.cluster_id]
    assert by_topic["waiting"][0].code_id == "access.waiting"
    assert by_topic["waiting"][0].path == ("access",)
    assert by_topic["medication"][0].code_id == "treatment.meds"
    assert by_topic["work"] == []  # nothing fits: no suggestion, not the nearest code
    scores = [s.score for s in by_topic["waiting"]]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    assert set(mapping.segments) == {s.segment_id for s in segments}


def test_outliers_join_the_nearest_cluster_only_when_similar_enough():
    from pipeline.cluster import join_nearest

    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.8, 0.2], [-1, 0]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([0, 0, 1, 1, UNCLUSTERED, UNCLUSTERED])
    joined = join_nearest(labels, vectors, threshold=0.5)
    assert joined.tolist() == [0, 0, 1, 1, 0, UNCLUSTERED]  # the opposite vector stays out
    assert labels.tolist()[-2:] == [UNCLUSTERED, UNCLUSTERED]  # the input is not changed
    assert join_nearest(np.full(3, UNCLUSTERED), vectors[:3], 0.0).tolist() == [UNCLUSTERED] * 3


def test_fitting_on_a_sample_assigns_the_rest(fake_embedder):
    segments = make_segments(per_topic=50)
    vectors = fake_embedder.encode([s.text for s in segments])
    result = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, selection_method="eom", sample_above=100))
    assert any("random sample of 100" in note for note in result.notes)
    assert len(result.clusters) == 3
    for c in result.clusters:
        assert len({sid.split("#")[0] for sid in c.segment_ids}) == 1
    assert sum(len(c.segment_ids) for c in result.clusters) > 100  # segments outside the sample joined


def test_the_sample_note_counts_the_segments_that_stay_unclustered(fake_embedder):
    """Segments outside the sample that are like no cluster stay unclustered, and the note
    says how many, rather than that every other segment joined a cluster."""
    segments = make_segments(per_topic=50)
    vectors = fake_embedder.encode([s.text for s in segments])
    # The fake embedder's vectors have no negative part: these point away from every cluster.
    odd = -np.abs(np.random.default_rng(1).normal(size=(4, 64))).astype(np.float32)
    segments += [Segment(f"odd#{i}.1", "odd.txt", i, "User 1", "user", f"odd {i}", 0, 5) for i in range(4)]
    vectors = np.vstack([vectors, odd / np.linalg.norm(odd, axis=1, keepdims=True)])
    config = ClusteringConfig(min_cluster_size=5, selection_method="eom", sample_above=100)
    result = cluster(segments, vectors, config)
    sample = set(np.random.default_rng(config.random_state).choice(len(segments), size=100, replace=False).tolist())
    stay = sum(result.assignments[s.segment_id] == UNCLUSTERED for i, s in enumerate(segments) if i not in sample)
    assert stay >= 1
    (note,) = [note for note in result.notes if "random sample of 100" in note]
    assert note.endswith(f"; {54 - stay} of the other 54 joined the nearest cluster; {stay} stay unclustered "
                         "(not similar enough to any cluster: clustering.outlier_threshold)"), note


def test_without_outlier_reduction_the_samples_own_outliers_stay_unclustered(fake_embedder, monkeypatch):
    """Above sample_above the segments outside the sample join the nearest cluster; the
    sample's own outliers join too only where outliers are reduced."""
    import pipeline.cluster as cluster_module

    labels = np.array([0, 0, UNCLUSTERED, 1, UNCLUSTERED, UNCLUSTERED])
    vectors = np.eye(6, dtype=np.float32)
    vectors[2] = vectors[4] = vectors[5] = vectors[0]
    assert cluster_module.join_nearest(labels, vectors, 0.5, rows=np.array([4, 5])).tolist() == [0, 0, -1, 1, 0, 0]
    calls = []
    real = cluster_module.join_nearest
    monkeypatch.setattr(cluster_module, "join_nearest", lambda *a, **k: calls.append(k.get("rows")) or real(*a, **k))
    segments = make_segments(per_topic=50)
    vectors = fake_embedder.encode([s.text for s in segments])
    for reduce in (True, False):
        calls.clear()
        config = ClusteringConfig(min_cluster_size=5, selection_method="eom", sample_above=100, reduce_outliers=reduce)
        cluster(segments, vectors, config)
        sample = np.random.default_rng(config.random_state).choice(len(segments), size=100, replace=False)
        (rows,) = [r for r in calls if r is not None] or [None]
        assert (rows is None) if reduce else sorted(rows) == sorted(set(range(len(segments))) - set(sample.tolist()))


def test_a_cluster_keybert_leaves_without_keywords_gets_its_counted_words_not_stop_words():
    """KeyBERT may keep none of a small cluster's candidates; its c-TF-IDF words stand in
    (the count of every word, stop words too, was for clusters of stop words alone)."""
    rng = np.random.default_rng(0)
    groups = [["The waiting list for therapy was very long", "I waited months on the waiting list",
               "Long wait for the therapy referral"],
              ["Staff on the ward were kind", "The nurses on the ward were caring", "Ward staff kind and caring"]]
    segments, vectors = [], []
    for g, texts in enumerate(groups):
        centre = rng.normal(size=32) * 5
        for i in range(15):
            text = texts[i % 3] + ("" if i < 3 else f" {['yes', 'so', 'and'][i % 3]}")
            segments.append(Segment(f"s{g}#{i}.1", f"f{i % 4}.txt", i, f"P{i % 5}", "user", text, 0, len(text)))
            vectors.append(centre + rng.normal(size=32))

    class Embedder:  # token-free stand-in whose candidate vectors fit no cluster
        def encode(self, texts):
            return np.array([np.random.default_rng(len(t)).normal(size=32) for t in texts], dtype=np.float32)

    result = cluster(segments, np.array(vectors, dtype=np.float32),
                     ClusteringConfig(representation="keybert", min_cluster_size=5), embedder=Embedder())
    stop = {"for", "the", "and", "on", "were", "was", "very", "so", "yes"}
    assert result.clusters and all(c.keywords for c in result.clusters)
    assert all(not set(k.split()) <= stop and not set(k.split()) & stop for c in result.clusters for k in c.keywords)


def test_keyword_scores_are_read_as_bertopic_reads_them():
    from scipy import sparse

    from pipeline.cluster import _bertopic, top_values

    BERTopic = _bertopic().__mro__[1]
    for rows, columns, density in [(40, 3000, 0.02), (4, 60, 0.05)]:  # the second has rows of < 30 words
        matrix = sparse.csr_matrix(sparse.random(rows, columns, density=density, random_state=0))
        indices = BERTopic._top_n_idx_sparse(matrix, 30)
        expected = BERTopic._top_n_values_sparse(matrix, indices)
        assert np.array_equal(top_values(matrix, indices), expected)


def test_bertopic_is_imported_without_the_parts_the_pipeline_never_uses():
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from pipeline.cluster import _bertopic\n"
        "Topics = _bertopic()\n"
        "heavy = [m for m in ('torch', 'transformers', 'umap', 'spacy', 'plotly') if m in sys.modules]\n"
        "blocked = [m for m, v in sys.modules.items() if m.startswith('bertopic') and v is None]\n"
        "print(Topics.__mro__[1].__name__, heavy, blocked)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout.split()
    assert out == ["BERTopic", "[]", "[]"]


def test_mmr_and_keybert_keywords_come_from_the_runs_model(fake_embedder):
    segments = make_segments()
    vectors = fake_embedder.encode([s.text for s in segments])
    plain = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, selection_method="eom"))
    for representation in ("mmr", "keybert"):
        config = ClusteringConfig(min_cluster_size=5, selection_method="eom", representation=representation)
        result = cluster(segments, vectors, config, embedder=fake_embedder)
        assert result.assignments == plain.assignments  # keywords change, clusters do not
        for c in result.clusters:
            topic = c.segment_ids[0].split("#")[0]
            assert c.keywords and set(" ".join(c.keywords).split()) <= set(TOPICS[topic].split())
    with pytest.raises(ValueError, match="needs the run's embedder"):
        cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, representation="mmr"))


def test_exact_neighbours_match_a_full_sort_whatever_the_blocks():
    from pipeline.cluster import _exact_neighbours, _normalised

    vectors = _normalised(np.random.default_rng(3).normal(size=(300, 16)).astype(np.float32))
    sims = vectors @ vectors.T
    expected = np.argsort(-sims, axis=1, kind="stable")[:, :7]
    for block in (64, 100, 1024):
        indices, distances, _ = _exact_neighbours(vectors, 7, block=block)
        assert np.array_equal(indices, expected)
        assert distances[:, 0].max() == 0.0
        assert np.allclose(distances[:, 1:], 1 - np.take_along_axis(sims, expected, axis=1)[:, 1:], atol=1e-6)


def _line_of_members(n=8):
    """Unit vectors fanning out from one direction: member i is the i-th closest to the centre."""
    angles = np.linspace(0.0, 1.2, n)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


def test_representatives_closest_ignore_who_spoke():
    from pipeline.cluster import _representatives

    vectors = _line_of_members()
    centre_order = _representatives(np.arange(8), vectors, 8)
    got = _representatives(np.arange(8), vectors, 3)
    assert list(got) == list(centre_order[:3])


def test_representatives_take_each_speaker_before_a_second_quote_of_one():
    from pipeline.cluster import _representatives

    vectors = _line_of_members()
    order = list(_representatives(np.arange(8), vectors, 8))
    # The three closest members are one talkative speaker's; two others speak further out.
    voices = [("m1.txt", "User 9")] * 8
    for i in order[3:5]:
        voices[i] = ("m1.txt", "User 2")
    for i in order[5:]:
        voices[i] = ("m2.txt", "User 3")
    got = list(_representatives(np.arange(8), vectors, 3, voices))
    assert {voices[i][1] for i in got} == {"User 9", "User 2", "User 3"}
    assert got == [order[0], order[3], order[5]]  # each speaker's closest, still closest first


def test_representatives_then_each_speaker_per_source_then_the_closest_left():
    from pipeline.cluster import _representatives

    vectors = _line_of_members()
    order = list(_representatives(np.arange(8), vectors, 8))
    # Interviews: "Participant" in every file is a different person.
    voices = [("a.txt", "Participant")] * 8
    voices[order[6]] = ("b.txt", "Participant")
    got = list(_representatives(np.arange(8), vectors, 3, voices))
    assert got == [order[0], order[1], order[6]]
    # Fewer voices than quotes: the closest members fill the rest.
    assert list(_representatives(np.arange(8), vectors, 8, voices)) == order


def test_quotes_come_from_many_speakers_by_default(fake_embedder):
    from dataclasses import replace

    # One talkative speaker says two thirds of everything.
    segments = [replace(s, speaker=f"User {i % 7}" if i % 3 == 0 else "User 0")
                for i, s in enumerate(make_segments())]
    vectors = fake_embedder.encode([s.text for s in segments])
    speaker = {s.segment_id: s.speaker for s in segments}
    spread = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, selection_method="eom"))
    closest = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, selection_method="eom",
                                                           representatives_from="closest"))
    assert spread.assignments == closest.assignments
    for c in spread.clusters:
        speakers_in_cluster = {speaker[sid] for sid in c.segment_ids}
        assert len({speaker[sid] for sid in c.representative_ids}) == min(5, len(speakers_in_cluster))
    # The closest members alone quote fewer people here.
    assert any(len({speaker[sid] for sid in c.representative_ids}) < 5 for c in closest.clusters)


def topic_segments(topics: dict[str, list[str]], per_topic=20):
    """Segments drawn from each topic's list of texts (word-for-word, any script)."""
    rng = np.random.default_rng(0)
    segments = []
    for topic, texts in topics.items():
        for i in range(per_topic):
            text = " ".join(rng.choice(texts, size=2))
            segments.append(Segment(segment_id=f"{topic}#{i}.1", source=f"{topic}.txt", turn_id=i,
                                    speaker="User 1", role="user", text=text, start=0, end=len(text)))
    return segments


@pytest.mark.parametrize("topics, expected", [
    # Chinese and Japanese: BERTopic's own cleaning left no letter to count (a crash).
    ({"wait": ["我很难预约到医生", "等了三个月"], "pills": ["药物让我早上很困", "副作用很大"]}, "医生"),
    ({"wait": ["予約が取れない", "三か月待った"], "pills": ["薬で朝眠い", "副作用がつらい"]}, "予約"),
    # Hiragana alone (no kanji): its pairs are its words.
    ({"wait": ["よやくがとれない", "まちました"], "pills": ["くすりでねむい", "つらいです"]}, "よや"),
    # French keeps its accents ("très", not "trs").
    ({"wait": ["très longue attente", "attente à l'hôpital"], "pills": ["médicaments lourds", "effets secondaires"]},
     "très"),
    # Hindi keeps its vowel signs ("डॉक्टर", not "डकटर"): they are combining marks.
    ({"wait": ["डॉक्टर से मिलना", "बहुत इंतज़ार"], "pills": ["दवा से नींद", "दुष्प्रभाव भारी"]}, "डॉक्टर"),
    # Nothing but stop words: the clusters keep keywords made of them.
    ({"no": ["no not at all", "I don't know"], "yes": ["yes I do", "it is what it is"]}, "not"),
])
def test_keywords_in_any_script_and_of_stop_words_alone(fake_embedder, topics, expected):
    segments = topic_segments(topics)
    vectors = fake_embedder.encode([s.text for s in segments])
    result = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5, selection_method="eom"))
    assert result.clusters and all(c.keywords for c in result.clusters)
    assert any(expected in keyword for c in result.clusters for keyword in c.keywords)
    # Chinese and Japanese: two-character words, not whole phrases.
    assert all(len(k) == 2 for c in result.clusters for k in c.keywords if re.search(r"[\u3040-\u9fff]", k))


def groups_of_sentences(groups: list[list[str]], per_group=15, seed=0):
    """Segments cycling through each group's sentences, with vectors close to a centre per
    group (so the clusters are the groups whatever the words)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(groups), 64))
    segments, vectors = [], []
    for i in range(per_group * len(groups)):
        group = i % len(groups)
        text = groups[group][i // len(groups) % len(groups[group])]
        segments.append(Segment(f"s{i}#1.1", "a.txt", i, f"User {i % 7}", "user", text, 0, len(text)))
        vector = centres[group] + 0.05 * rng.normal(size=64)
        vectors.append(vector / np.linalg.norm(vector))
    return segments, np.array(vectors, dtype=np.float32)


def test_two_word_keywords_never_span_two_segments():
    """BERTopic counts a cluster's segments joined by spaces: "months long." followed by "I
    waited ages" gave the keyword "long waited", which nobody said."""
    from pipeline.cluster import _vectorizer, topic_text

    segments, vectors = groups_of_sentences([
        ["The waiting list for therapy was months long.", "I waited ages to see a psychiatrist.",
         "The referral took half a year."],
        ["The tablets make me drowsy every morning.", "Side effects wore off after weeks.",
         "My dose was doubled in spring."]])
    result = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5))
    assert len(result.clusters) == 2
    analyse = _vectorizer(ClusteringConfig(), len(segments)).build_analyzer()
    text = {s.segment_id: s.text for s in segments}
    for c in result.clusters:
        said = {word for sid in c.segment_ids for word in analyse(topic_text([text[sid]])[0])}
        pairs = [k for k in c.keywords if " " in k]
        assert pairs and set(pairs) <= said, (c.keywords, set(pairs) - said)


WAITING = ["The waiting list for therapy was months long.", "I waited ages to see a psychiatrist.",
           "The referral took half a year."]


def test_a_cluster_of_stop_words_alone_gets_keywords_of_its_own_words():
    """"I really don't know what to say" beside clusters with words of their own: the usual
    count leaves it nothing (it had keywords () and label ""), so it is counted again with
    stop words; the other clusters keep their keywords."""
    segments, vectors = groups_of_sentences([
        ["I really don't know what to say about that.", "I don't know, not really.", "Yes I do, I think so."],
        WAITING])
    result = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5))
    assert len(result.clusters) == 2
    dont_know, waiting = sorted(result.clusters, key=lambda c: "know" not in " ".join(c.keywords))
    assert dont_know.label == " / ".join(dont_know.keywords[:3]) and "dont know" in dont_know.keywords
    assert "waiting" in " ".join(waiting.keywords) and not {"dont", "know", "really"} & set(" ".join(waiting.keywords).split())


def test_a_cluster_with_no_word_at_all_says_so_in_its_label():
    segments, vectors = groups_of_sentences([["😀 😀", "🙂🙂 👍", "👍"], WAITING])
    result = cluster(segments, vectors, ClusteringConfig(min_cluster_size=5))
    labels = sorted(c.label for c in result.clusters)
    assert len(labels) == 2 and labels[0] == "(no distinctive words)" and "half year" in labels[1]


def test_topic_text_cleans_ascii_as_bertopic_does():
    from bertopic import BERTopic

    from pipeline.cluster import topic_text

    rng = np.random.default_rng(1)
    alphabet = list("abcXYZ019 _-'’.,!?\n\t()é日😀")
    texts = ["".join(rng.choice(alphabet, size=int(rng.integers(0, 30)))) for _ in range(2000)]
    ascii_texts = [t for t in texts if t.isascii()]
    theirs = BERTopic(verbose=False)._preprocess_text(np.array(ascii_texts, dtype=object))
    ours = topic_text(ascii_texts)
    # The same, but where BERTopic leaves no word (spaces, or its placeholder for nothing).
    kept = [i for i, t in enumerate(theirs) if t.strip() and t != "emptydoc"]
    assert len(kept) > 200 and [ours[i] for i in kept] == [theirs[i] for i in kept]
    assert topic_text(["très bien, merci.", "日本語です。", "😀 😀", "मुझे डॉक्टर।", "ผลข้างเคียง"]) == [
        "très bien merci", "日本語です", "😀 😀", "मुझे डॉक्टर", "ผลข้างเคียง"]


def test_identical_segments_are_said_to_be_alike_not_far_apart(fake_embedder):
    segments = [Segment(f"a#{i}.1", "a.txt", i, "User 1", "user", "The tablets make me tired.", 0, 26)
                for i in range(20)]
    vectors = fake_embedder.encode([s.text for s in segments])
    result = cluster(segments, vectors, ClusteringConfig())
    assert not result.clusters
    assert any("the 20 segments are all alike (1 distinct)" in note for note in result.notes)


@pytest.mark.parametrize("copies", [6, 10])
def test_copies_of_two_texts_are_said_to_be_repeated_not_scattered(fake_embedder, copies):
    texts = ["The tablets make me so tired in the mornings."] * copies + ["We waited months for a first appointment."] * copies
    segments = [Segment(f"a#{i}.1", "a.txt", i, "User 1", "user", t, 0, len(t)) for i, t in enumerate(texts)]
    result = cluster(segments, fake_embedder.encode(texts), ClusteringConfig())
    assert not result.clusters
    assert any(f"the {2 * copies} segments are copies of a few texts (2 distinct): groups of identical segments"
               in note for note in result.notes), result.notes
    assert not any("scattered" in note or "all alike" in note for note in result.notes)


def test_no_word_in_two_clusters_still_gives_keywords():
    """From 200 segments a word must be in two clusters' text; Thai, written without spaces,
    can have none such (sklearn: "no terms remain"), and the clusters keep keywords of their own."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 64))
    words = ["นัดหมาย", "หมอ", "ยา", "ผลข้างเคียง", "ง่วงนอน", "รอนาน"]
    segments, vectors = [], []
    for i in range(240):
        group = i % 3
        text = f"{words[group]}เรื่องที่{i}ครับ{words[group + 3]}มี{i * 7}ครั้ง"  # one "word" each
        segments.append(Segment(f"s{i}#1.1", "a.txt", i, f"User {i % 7}", "user", text, 0, len(text)))
        vector = centres[group] + 0.05 * rng.normal(size=64)
        vectors.append(vector / np.linalg.norm(vector))
    result = cluster(segments, np.array(vectors, dtype=np.float32), ClusteringConfig())
    assert result.clusters and all(c.keywords for c in result.clusters)


def test_the_fallback_count_leaves_the_usual_settings_for_the_next():
    """A later count (the rest of the segments joining a sampled fit) uses stop words again."""
    from pipeline.cluster import _vectorizer

    counter = _vectorizer(ClusteringConfig(), 10)
    usual = (counter.min_df, list(counter.stop_words), counter.token_pattern)
    counter.fit_transform(["yes I do", "no not at all"])  # nothing but stop words: the fallback
    assert (counter.min_df, list(counter.stop_words), counter.token_pattern) == usual
    assert "tablets" in counter.fit(["the tablets make me tired", "the tablets again"]).get_feature_names_out()
