"""Mapping: profiles, lift, calibration, abstaining, evidence, turn context (fake embedder)."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline.artifacts import Cluster, Clustering, Segment
from pipeline.config import MappingConfig
from pipeline.mapping import (BACKGROUND, CODE_CALIBRATION, FIT_CALIBRATION, build_profiles, calibrate,
                              in_turn_context, lift, map_to_taxonomy, profile_texts)
from pipeline.runner import _suggestions_json
from pipeline.taxonomy import parse_taxonomy

ROOT = Path(__file__).resolve().parent.parent

CODEBOOK = {
    "id": "t", "label": "T", "codes": [
        {"id": "access", "label": "Access to services", "codes": [
            {"id": "access.waiting", "label": "Waiting times",
             "description": "waiting list months referral delay",
             "examples": ["waiting list months referral delay queue", "months on the waiting list"]},
            {"id": "access.location", "label": "Location", "examples": ["far bus travel distance clinic"]},
        ]},
        {"id": "treatment", "label": "Treatment", "codes": [
            {"id": "treatment.meds", "label": "Medication", "keywords": ["tablets", "dose"],
             "examples": ["tablets medication side effects dose drowsy"]},
        ]},
    ]}


def seg(sid, text, turn=0, backchannel=False):
    return Segment(segment_id=sid, source="m.txt", turn_id=turn, speaker="User 1", role="user", text=text,
                   start=0, end=len(text), backchannel=backchannel, clusterable=not backchannel)


@pytest.fixture
def taxonomy():
    return parse_taxonomy(CODEBOOK, {}, Path("t.yaml"))


def run(segments, taxonomy, embedder, clusters=(), **settings):
    vectors = embedder.encode([s.text for s in segments])
    clustering = Clustering(clusters=list(clusters), assignments={s.segment_id: -1 for s in segments})
    return map_to_taxonomy(segments, vectors, clustering, taxonomy, embedder, MappingConfig(**settings))


def test_profile_texts_use_every_part_of_a_code(taxonomy):
    kinds = [kind for kind, _ in profile_texts(taxonomy, "access.waiting")]
    assert kinds == ["label", "description", "example", "example"]
    assert ("keywords", "tablets, dose") in profile_texts(taxonomy, "treatment.meds")


def test_segments_get_leaf_suggestions_with_their_path(taxonomy, fake_embedder):
    segments = [seg("m#1.1", "months on the waiting list after referral delay"),
                seg("m#2.1", "the tablets dose made me drowsy", turn=1)]
    mapping = run(segments, taxonomy, fake_embedder)
    first = mapping.segments["m#1.1"][0]
    assert first.code_id == "access.waiting" and first.path == ("access",) and first.label == "Waiting times"
    assert mapping.segments["m#2.1"][0].code_id == "treatment.meds"
    assert mapping.segments["m#2.1"][0].path == ("treatment",)
    for suggestions in mapping.segments.values():
        assert {s.code_id for s in suggestions} <= {"access.waiting", "access.location", "treatment.meds"}
        assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
        assert all(0.0 <= s.score <= 1.0 for s in suggestions)
    assert "closest to its example" in first.rationale or "closest to its description" in first.rationale


def test_unrelated_talk_and_backchannels_get_no_suggestion(taxonomy, fake_embedder):
    segments = [seg("m#1.1", "football rain cancelled match weekend seaside"),
                seg("m#2.1", "waiting list", turn=1, backchannel=True)]
    mapping = run(segments, taxonomy, fake_embedder)
    assert mapping.segments == {"m#1.1": [], "m#2.1": []}


def test_threshold_zero_never_abstains_and_top_k_is_kept(taxonomy, fake_embedder):
    mapping = run([seg("m#1.1", "football rain cancelled match weekend seaside")], taxonomy, fake_embedder,
                  threshold=0.0, top_k=2)
    assert len(mapping.segments["m#1.1"]) == 2


def test_cluster_suggestions_carry_evidence_from_members(taxonomy, fake_embedder):
    waiting = [seg(f"m#{i}.1", text, turn=i) for i, text in enumerate([
        "waiting list months", "referral delay months waiting", "queue waiting list delay", "months referral"])]
    chat = [seg(f"m#{10 + i}.1", text, turn=10 + i) for i, text in enumerate([
        "football match rain", "seaside weekend trip", "film television night", "cat sofa sleeps"])]
    clusters = [Cluster(0, tuple(s.segment_id for s in waiting), (), ()),
                Cluster(1, tuple(s.segment_id for s in chat), (), ())]
    mapping = run(waiting + chat, taxonomy, fake_embedder, clusters=clusters)
    best = mapping.clusters[0][0]
    assert best.code_id == "access.waiting" and best.path == ("access",)
    assert best.evidence and set(best.evidence) <= set(clusters[0].segment_ids)
    assert re.search(r"first suggestion for [1-4] of 4 members", best.rationale)
    assert mapping.clusters[1] == []  # fits no code: shown as a candidate new theme


def test_a_clusters_evidence_is_members_the_code_is_first_for(taxonomy, fake_embedder):
    """Off-topic members (no suggestion) and members with another code first are no evidence,
    however their scores for the code compare."""
    waiting = [seg("m#1.1", "waiting list months referral delay queue", turn=1)]
    others = [seg(f"m#{i}.1", text, turn=i) for i, text in enumerate([
        "football match rain waiting", "seaside weekend trip months", "tablets medication dose waiting list"], 2)]
    members = waiting + others
    cluster = Cluster(0, tuple(s.segment_id for s in members), (), ())
    mapping = run(members, taxonomy, fake_embedder, clusters=[cluster], cluster_threshold=0.2)
    first = {sid: (s[0].code_id if s else None) for sid, s in mapping.segments.items()}
    for suggestion in mapping.clusters[0] + mapping.closest.get(0, []):
        assert suggestion.evidence
        assert all(first[sid] == suggestion.code_id for sid in suggestion.evidence), (suggestion, first)


def test_cluster_score_is_the_share_of_members_and_the_threshold_applies(taxonomy, fake_embedder):
    members = [seg(f"m#{i}.1", text, turn=i) for i, text in enumerate(
        ["waiting list months referral delay", "tablets medication side effects dose"] * 2, 1)]
    cluster = Cluster(0, tuple(s.segment_id for s in members), (), ())
    mapping = run(members, taxonomy, fake_embedder, clusters=[cluster], cluster_threshold=0.5)
    assert sorted((s.code_id, s.score) for s in mapping.clusters[0]) == [("access.waiting", 0.5),
                                                                         ("treatment.meds", 0.5)]
    below = run(members, taxonomy, fake_embedder, clusters=[cluster], cluster_threshold=0.6)
    assert below.clusters[0] == []
    # No suggestion, but the codes that came closest are kept as evidence, scores and all.
    assert sorted((s.code_id, s.score) for s in below.closest[0]) == [("access.waiting", 0.5),
                                                                      ("treatment.meds", 0.5)]
    assert "first suggestion for 2 of 4 members" in below.closest[0][0].rationale
    assert mapping.closest == {}  # a cluster with suggestions has no "closest"


def test_one_member_cannot_speak_for_a_small_cluster(taxonomy, fake_embedder):
    """In a cluster of five, one member's first suggestion is a fifth of it: not enough."""
    chat = ["football match rain", "seaside weekend trip", "film television night", "cat sofa sleeps"]
    for waiting, fits in ((1, False), (2, True)):
        members = [seg(f"x#{i}.1", text, turn=i) for i, text in
                   enumerate(["waiting list months referral delay"] * waiting + chat[:5 - waiting])]
        cluster = Cluster(0, tuple(s.segment_id for s in members), (), ())
        mapping = run(members, taxonomy, fake_embedder, clusters=[cluster], cluster_threshold=0.2)
        assert bool(mapping.clusters[0]) is fits
        assert [s.code_id for s in mapping.clusters[0] or mapping.closest[0]][0] == "access.waiting"


def test_cluster_runners_up_need_a_tenth_of_the_members(taxonomy, fake_embedder):
    waiting = [seg(f"w#{i}.1", "waiting list months referral delay", turn=i) for i in range(8)]
    meds = [seg("m#1.1", "tablets medication side effects dose", turn=20)]
    for members, listed in ((waiting + meds, ["access.waiting", "treatment.meds"]),  # 1 of 9: over a tenth
                            (waiting * 2 + meds, ["access.waiting"])):  # 1 of 17: under
        members = [seg(f"x#{i}.1", s.text, turn=i) for i, s in enumerate(members)]
        cluster = Cluster(0, tuple(s.segment_id for s in members), (), ())
        mapping = run(members, taxonomy, fake_embedder, clusters=[cluster], cluster_threshold=0.2)
        assert [s.code_id for s in mapping.clusters[0]] == listed


def test_calibration_is_monotone_and_bounded():
    lifts = np.array([[0.0, 0.1, 0.2, 0.4, 0.6]])
    p_code, p_fit = calibrate(lifts)
    assert np.all(np.diff(p_code[0]) > 0) and np.all((0 <= p_code) & (p_code <= 1))
    higher = calibrate(lifts + 0.2)[1]
    assert higher[0] > p_fit[0]
    empty_code, empty_fit = calibrate(np.zeros((0, 3)))
    assert empty_code.shape == (0, 3) and empty_fit.shape == (0,)


def test_background_lowers_codes_that_match_anything(taxonomy, fake_embedder):
    profiles = build_profiles(taxonomy, fake_embedder)
    lifts, _, _ = lift(fake_embedder.encode(list(BACKGROUND)), profiles)
    assert abs(float(np.mean(lifts))) < 0.1  # generic talk sits near zero lift


def test_turn_context_blends_segments_of_one_turn():
    segments = [seg("m#1.1", "a"), seg("m#1.2", "b"), seg("m#2.1", "c", turn=2)]
    vectors = np.eye(3, dtype=np.float32)
    alone = in_turn_context(segments, vectors, 0.0)
    assert np.allclose(alone, vectors)
    blended = in_turn_context(segments, vectors, 1.0)
    assert blended[0] @ blended[1] > 0.5  # the two parts of turn 1 now point the same way
    assert np.allclose(blended[2], vectors[2])  # a one-segment turn is unchanged
    assert np.allclose(np.linalg.norm(blended, axis=1), 1.0)


def test_mapping_is_deterministic(taxonomy, fake_embedder):
    segments = [seg(f"m#{i}.1", t, turn=i) for i, t in enumerate(["waiting months", "tablets dose", "far bus"])]
    a, b = run(segments, taxonomy, fake_embedder), run(segments, taxonomy, fake_embedder)
    assert a.segments == b.segments


def test_labels_only_codebook_still_suggests(fake_embedder):
    taxonomy = parse_taxonomy({"id": "l", "label": "L", "codes": [
        {"id": "a", "label": "waiting list delay"}, {"id": "b", "label": "medication tablets"}]}, {}, Path("l.yaml"))
    mapping = run([seg("m#1.1", "waiting list delay again")], taxonomy, fake_embedder)
    assert mapping.segments["m#1.1"][0].code_id == "a"
    assert mapping.segments["m#1.1"][0].path == ()


def test_docs_state_the_calibration_in_use():
    text = (ROOT / "docs" / "taxonomy.md").read_text(encoding="utf-8")
    for value in (*CODE_CALIBRATION, *FIT_CALIBRATION):
        assert f"{abs(value):.2f}" in text, f"docs/taxonomy.md does not give the calibration value {value}"


class BlindEmbedder:
    """Every text gets the same vector: meaning tells the codes apart not at all."""

    name = "blind"

    def encode(self, texts, progress=None):
        return np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)


def test_words_shared_with_a_code_rank_it_when_meaning_cannot(taxonomy):
    segments = [seg("m#1.1", "I waited months after the referral"),
                seg("m#2.1", "They doubled the dose again", turn=2)]
    mapping = run(segments, taxonomy, BlindEmbedder(), threshold=0.0)
    waiting, dose = mapping.segments["m#1.1"][0], mapping.segments["m#2.1"][0]
    assert waiting.code_id == "access.waiting" and dose.code_id == "treatment.meds"
    shared = waiting.rationale.split("; words in common: ")[1]
    assert set(re.findall(r"“(\w+)”", shared)) == {"waited", "months", "referral"}  # as the segment wrote them
    assert dose.rationale.endswith("; words in common: “dose”")


def test_shared_words_alone_do_not_make_a_code_fit(taxonomy):
    """Whether any code fits is read from meaning: everyday words a code happens to use
    are no evidence that the taxonomy covers the talk."""
    segments = [seg("m#1.1", "I waited months after the referral")]
    assert run(segments, taxonomy, BlindEmbedder()).segments["m#1.1"] == []
    lifts = np.array([[0.1, 0.5]])
    meaning = np.array([[0.1, 0.2]])
    assert np.allclose(calibrate(lifts, meaning)[1], calibrate(meaning)[1])
    assert np.allclose(calibrate(lifts, meaning)[0], calibrate(lifts)[0])


def test_bm25_weights_favour_rare_words_and_short_profiles():
    from pipeline.mapping import _bm25_weights

    stems, weights = _bm25_weights([["wait", "list", "list"], ["dose", "list"], ["list", "bus", "clinic", "far"]])
    assert weights.shape == (3, len(stems))
    # "list" is in every profile: it tells them apart least.
    assert weights[0, stems["wait"]] > weights[0, stems["list"]]
    # The same rare word weighs more in a shorter profile.
    assert weights[1, stems["dose"]] > weights[2, stems["bus"]]
    assert (weights[0] > 0).sum() == 2 and weights[0, stems["dose"]] == 0


def test_cluster_suggestions_name_the_words_their_members_share_with_the_code(taxonomy):
    segments = [seg("m#1.1", "I waited months for the referral"), seg("m#2.1", "still waiting, months now", turn=2),
                seg("m#3.1", "The referral took months", turn=3)]
    cluster = Cluster(cluster_id=0, segment_ids=tuple(s.segment_id for s in segments), keywords=("wait",),
                      representative_ids=("m#1.1",), label="wait")
    mapping = run(segments, taxonomy, BlindEmbedder(), clusters=[cluster], threshold=0.0)
    first = mapping.clusters[0][0]
    assert first.code_id == "access.waiting"
    # "waited" and "waiting" are one word to count (one stem), shown as the first member wrote it.
    assert set(first.words) == {"months", "waited", "referral"}
    assert "“months” (3 members)" in first.rationale and "“waited” (2 members)" in first.rationale
    # segments.csv's suggestions column carries a segment's words as well.
    column = json.loads(_suggestions_json(mapping.segments["m#1.1"]))
    assert column[0]["code_id"] == "access.waiting" and set(column[0]["words"]) == {"waited", "months", "referral"}


def test_shared_words_weight_zero_ranks_by_meaning_alone(taxonomy):
    segments = [seg("m#1.1", "I waited months after the referral")]
    ranked = run(segments, taxonomy, BlindEmbedder(), threshold=0.0).segments["m#1.1"]
    blind = run(segments, taxonomy, BlindEmbedder(), threshold=0.0, shared_words=0.0).segments["m#1.1"]
    assert ranked[0].code_id == "access.waiting"
    assert len({s.score for s in blind}) == 1  # nothing tells the codes apart


def test_a_leaf_outside_any_group_is_supported_by_the_whole_taxonomy_not_by_itself(fake_embedder):
    """CHIME's childhood factor sits at the top of a tree: its support was its own lift again."""
    from pipeline.mapping import ANCESTOR_SUPPORT, TOP_LEAVES

    book = parse_taxonomy({"id": "r", "label": "R", "codes": [
        {"id": "childhood", "label": "Childhood", "examples": ["grandmother raised me childhood"]},
        {"id": "access", "label": "Access", "codes": [
            {"id": "access.waiting", "label": "Waiting", "examples": ["waiting list months"]},
            {"id": "access.bus", "label": "Travel", "examples": ["bus travel far clinic"]}]},
    ]}, {}, Path("r.yaml"))
    profiles = build_profiles(book, fake_embedder)
    vectors = fake_embedder.encode(["my grandmother raised me", "waiting months for the bus"])
    supported, _, _ = lift(vectors, profiles)
    ancestors, profiles.ancestors = profiles.ancestors, []
    alone, _, _ = lift(vectors, profiles)
    root = profiles.leaf_ids.index("childhood")
    whole = np.sort(alone, axis=1)[:, -TOP_LEAVES:].mean(axis=1)
    assert supported[:, root] == pytest.approx(alone[:, root] + ANCESTOR_SUPPORT * whole)
    assert ancestors  # the group's leaves keep their group's support
    assert supported[1, 1] == pytest.approx(alone[1, 1] + ANCESTOR_SUPPORT * alone[1, 1:].mean())


def test_a_groups_own_description_ranks_its_codes_higher(fake_embedder):
    # Two leaves with the same text in two groups: only the groups' own descriptions differ.
    def book(described):
        return parse_taxonomy({"id": "g", "label": "G", "codes": [
            {"id": "problems", "label": "Problems", **({"description": "complaints about waiting months"}
                                                       if described else {}),
             "codes": [{"id": "problems.staff", "label": "Staff", "examples": ["staff nurse doctor"]}]},
            {"id": "ideas", "label": "Ideas", **({"description": "proposals for better opening hours"}
                                                 if described else {}),
             "codes": [{"id": "ideas.staff", "label": "Staff", "examples": ["staff nurse doctor"]}]},
        ]}, {}, Path("g.yaml"))

    described, bare = book(True), book(False)
    profiles = build_profiles(described, fake_embedder)
    assert profiles.own is not None and profiles.own.leaf_ids == ["problems", "ideas"]
    assert build_profiles(bare, fake_embedder).own is None  # labels only: judged by their leaves
    for text, first in (("staff nurse waiting months complaints", "problems.staff"),
                        ("staff nurse proposals opening hours", "ideas.staff")):
        vector = fake_embedder.encode([text])
        lifts, _, _ = lift(vector, profiles)
        assert profiles.leaf_ids[int(lifts[0].argmax())] == first
        tied, _, _ = lift(vector, build_profiles(bare, fake_embedder))
        assert tied[0, 0] == pytest.approx(tied[0, 1])  # without them, nothing tells the two apart


def test_a_groups_keywords_alone_give_it_a_profile(fake_embedder):
    book = parse_taxonomy({"id": "k", "label": "K", "codes": [
        {"id": "g", "label": "G", "keywords": ["waiting", "months"], "aliases": ["queues"],
         "codes": [{"id": "g.a", "label": "A"}, {"id": "g.b", "label": "B"}]},
        {"id": "h", "label": "H", "codes": [{"id": "h.a", "label": "C"}]},
    ]}, {}, Path("k.yaml"))
    assert build_profiles(book, fake_embedder).own.leaf_ids == ["g"]
