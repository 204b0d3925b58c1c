"""Stage 5, mapping: rank taxonomy codes for every segment and every cluster, or abstain.

How a score is made (docs/taxonomy.md says the same for analysts):

1. *Profiles.* Each leaf code gets several texts: its label, its description, aliases,
   keywords and each example. All are embedded with the run's model.
2. *Similarity.* A segment's similarity to a leaf is the mean of its three best cosine
   similarities over the leaf's texts, averaged with its cosine to the leaf's profile centroid:
   one lucky example cannot carry a code, and a code with many examples is not favoured. Its
   word pieces are matched too, each in context against those of every profile text
   (``pipeline.maxsim``, the mean of the leaf's three best texts); a leaf's similarity is
   ``SENTENCE_WEIGHT`` x the first plus ``TOKEN_WEIGHT`` x the second, each above its
   background level (below).
3. *Lift.* From that similarity we subtract the leaf's mean similarity to a fixed set of
   generic, off-topic sentences (``BACKGROUND``), so codes whose wording matches any talk
   ("support", "feelings") lose their head start; and add the support of its group and theme
   (weight 0.75 shared between them), so a leaf in a well-matched group and theme ranks
   higher. A group's or theme's support is the mean lift of its five best leaves, averaged
   with the lift of its own texts when it has any besides its label (a leaf outside any group
   has the whole taxonomy's five best leaves as its support).
   *Shared words* count too: the segment's words (stemmed, stop words left out) scored
   against each leaf's profile words with BM25 (``mapping.shared_words`` lift per BM25 unit), so a
   segment that uses a code's own terms ("restraint", "waiting list") gets that evidence
   even where its meaning is spread over a long sentence.
4. *Turn context.* A segment's vector is blended with its turn's mean vector, and its word
   matches with its turn's mean matches (``mapping.turn_context``), so every part of a long
   answer is read in its context and the parts of one turn get consistent suggestions.
5. *Calibration.* Two logistic curves, fitted once on real coded text and stored below, turn
   lifts into probabilities: ``P(code)``, that this code is the analysts' code for the segment,
   and ``P(fit)``, that some code of the taxonomy fits it at all. Scores shown are ``P(code)``;
   a segment with ``P(fit)`` below ``mapping.threshold`` gets no suggestion (abstain).
6. *Clusters.* A cluster's score for a code is the share of its members whose first
   suggestion is that code (members that got none count too). When no code's share reaches
   ``mapping.cluster_threshold`` the cluster gets no suggestion and the report shows it as a
   candidate new theme, with the codes that came closest (``Mapping.closest``: first for at
   least ``RUNNER_UP_SHARE`` of its members) as evidence; otherwise runners-up follow down to
   ``RUNNER_UP_SHARE``.

Suggestions name leaves; ``path`` gives the group and theme, so a leaf always comes with its
ancestors. Everything here is deterministic: no sampling, ties broken by taxonomy order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from .artifacts import UNCLUSTERED, Clustering, Mapping, Segment, Suggestion, TokenMatch
from .config import MappingConfig
from .embed import Embedder
from .maxsim import embed_and_match, match
from .taxonomy import Taxonomy
from .words import content_words, stem

# Generic sentences a code should not match: everyday small talk and the talk that runs a group.
BACKGROUND = (
    "I agree with what was just said.",
    "Could you say a little more about that?",
    "I'm not sure, I'd have to think about it.",
    "That's a good point, I hadn't thought of it that way.",
    "Let's move on to the next question.",
    "Sorry, I lost my train of thought.",
    "It's hard to put into words.",
    "I think it depends on the situation.",
    "Yes, that happened to me as well.",
    "We talked about this last time too.",
    "The weather has been very cold this week.",
    "I took the train into town this morning.",
    "My favourite food is curry with rice.",
    "We watched a film on television last night.",
    "The shop on the corner closes at eight.",
    "I like listening to music in the evening.",
    "My cat sleeps on the sofa most of the day.",
    "The football match was cancelled because of the rain.",
    "I need to buy new shoes before winter.",
    "We went to the seaside for the weekend.",
    "The coffee here is better than last time.",
    "My phone battery keeps running out.",
    "I've been reading a novel about a detective.",
    "The bus was twenty minutes late today.",
    "We painted the kitchen a light blue colour.",
    "There are a lot of cherry blossoms in the park now.",
    "He likes to go fishing on Sundays.",
    "I forgot my umbrella at home.",
    "The new supermarket has a big car park.",
    "We had a birthday party for my niece.",
    "What time does the session finish today?",
    "Can everyone hear me at the back?",
    "Thank you all for coming today.",
    "I'll pass the microphone to the next person.",
    "I don't have much to add to that.",
    "That reminds me of something else.",
    "So what do the rest of you think?",
    "I was a bit nervous about coming here.",
    "I usually go for a walk after lunch.",
    "My son started at a new school this year.",
)

# Logistic calibration, fitted by `python bench/bench_mapping.py --fit` (see docs/taxonomy.md):
# P(code) = sigmoid(a * lift + b * (lift - best lift of the other codes) + c)
CODE_CALIBRATION = (0.71, 4.06, -2.29)
# P(fit) = sigmoid(a * best lift + c)
FIT_CALIBRATION = (5.57, -4.46)
# The same two, fitted on sentence vectors alone: for an embedder that gives no token vectors,
# whose lifts are on a smaller scale (with the curves above it would hardly ever suggest).
SENTENCE_CODE_CALIBRATION = (1.90, 8.26, -2.48)
SENTENCE_FIT_CALIBRATION = (15.16, -4.78)

# A cluster's runners-up (its second and third suggestions) need this share of its members,
# the first ``mapping.cluster_threshold``: on 70 clusters of NHS comments the right code was
# listed for 59.4 % of the clusters given a suggestion, against 53.1 % when runners-up needed
# the threshold too (bench/bench_mapping.py); the first suggestion is unchanged.
RUNNER_UP_SHARE = 0.1
# One member cannot speak for a cluster: in a cluster of five, one is already a fifth.
MIN_SUPPORTERS = 2
TOP_TEXTS = 3
# A leaf's similarity = SENTENCE_WEIGHT x (sentence vectors' lift) + TOKEN_WEIGHT x (token
# MaxSim's lift, ``pipeline.maxsim``). Chosen on the development set and the NHS fit sample
# among 0.5 to 1.25 and 1 to 3 (docs/taxonomy.md); an embedder without token vectors (a
# stand-in) is scored on sentence vectors alone, at weight 1, with a calibration of its own.
SENTENCE_WEIGHT, TOKEN_WEIGHT = 0.75, 2.5
TOP_LEAVES = 5  # 3, 4, 7, 10 and all measured; 5 ranked best on the development set and the NHS evaluation sample (docs/taxonomy.md)
ANCESTOR_SUPPORT = 0.75
# The share of a group's or theme's support that comes from its own texts (description,
# examples), when it has them; the rest is the mean lift of its best leaves.
ANCESTOR_OWN = 0.5
BM25_K1, BM25_B = 1.2, 0.75


@dataclass
class CodeProfiles:
    """Embedded profile texts of the leaves.

    ``owner[i]`` is the leaf index of ``texts[i]``; ``centroids`` (leaves, d) are the unit
    means of each leaf's text vectors; ``baseline`` (leaves,) is each leaf's mean similarity
    to ``BACKGROUND``; ``ancestors`` holds, per group or theme, the indices of the leaves its
    support is the mean of, those of the leaves under it that get it, the weight it has in
    each, and its row in ``own`` (-1: it has no texts besides its label). ``own`` profiles
    those groups' and themes' own texts the same way (its ``leaf_ids`` are their ids; it has no ancestors or words). ``stems`` numbers the
    stems of the leaves' profile words and ``bm25`` (leaves, stems) holds each stem's BM25
    weight in each leaf's profile (all its texts as one document).
    """

    leaf_ids: list[str]
    texts: list[str]
    kinds: list[str]
    owner: np.ndarray
    vectors: np.ndarray
    centroids: np.ndarray
    baseline: np.ndarray
    ancestors: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]
    stems: dict[str, int]
    bm25: np.ndarray
    own: CodeProfiles | None = None


def profile_texts(taxonomy: Taxonomy, code_id: str) -> list[tuple[str, str]]:
    """(kind, text) pairs that describe a code: label, description, aliases, keywords, examples."""
    code = taxonomy.codes[code_id]
    # The bare label: prefixing the parents' labels ("Access > General") measured worse.
    texts = [("label", code.label)]
    if code.description:
        texts.append(("description", f"{code.label}: {code.description}"))
    texts += [("alias", alias) for alias in code.aliases]
    if code.keywords:
        texts.append(("keywords", ", ".join(code.keywords)))
    texts += [("example", example) for example in code.examples]
    return texts


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def build_profiles(taxonomy: Taxonomy, embedder: Embedder) -> CodeProfiles:
    leaves, described, rows = _profile_rows(taxonomy)
    embedded = _unit(np.asarray(embedder.encode([text for _, _, text in rows] + list(BACKGROUND)),
                                dtype=np.float32))
    background = embedded[len(rows):]
    owner = np.array([index for index, _, _ in rows])
    cut = int((owner < len(leaves)).sum())  # the leaves' texts come first, then the groups'
    profiles = _profiles(leaves, rows[:cut], owner[:cut], embedded[:cut], background)
    # Leaves outside any group (all of a flat codebook's, CHIME's childhood factor) have the
    # whole taxonomy as their one ancestor: a shift that keeps their lifts on the scale of the
    # leaves in groups. (Their own few alone would echo their lifts: 1.75 times one leaf's.)
    under: dict[str, list[tuple[int, float]]] = {}
    for index, leaf_id in enumerate(leaves):
        chain = [a.id for a in taxonomy.ancestors(leaf_id)] or [""]
        for ancestor in chain:
            under.setdefault(ancestor, []).append((index, ANCESTOR_SUPPORT / len(chain)))
    own_row = {code_id: row for row, code_id in enumerate(described)}
    everyone = np.arange(len(leaves))
    profiles.ancestors = [
        (everyone if ancestor == "" else np.array([i for i, _ in pairs]), np.array([i for i, _ in pairs]),
         np.array([w for _, w in pairs], dtype=np.float32), own_row.get(ancestor, -1))
        for ancestor, pairs in under.items()]
    documents: list[list[str]] = [[] for _ in leaves]  # a leaf's profile texts as one document
    for index, _, text in rows[:cut]:
        documents[index] += [root for _, root in content_words(text)]
    profiles.stems, profiles.bm25 = _bm25_weights(documents)
    if described:
        profiles.own = _profiles(described, rows[cut:], owner[cut:] - len(leaves), embedded[cut:len(rows)],
                                 background)
    return profiles


def _profile_rows(taxonomy: Taxonomy) -> tuple[list[str], list[str], list[tuple[int, str, str]]]:
    """-> (leaves, described, rows). ``described``: the groups and themes with a description,
    examples, keywords or aliases, which get a profile of their own (one with a label only is
    judged by its leaves alone: its label added nothing on a labels-only codebook,
    bench/bench_mapping.py).
    ``rows``: (owner, kind, text) of every profile text, the leaves' first, then the described
    groups' and themes' (owner counts on from the leaves)."""
    leaves = [code.id for code in taxonomy.walk() if code.is_leaf]
    described = [code.id for code in taxonomy.walk()
                 if not code.is_leaf and (code.description or code.examples or code.keywords or code.aliases)]
    rows = [(index, kind, text) for index, code_id in enumerate(leaves + described)
            for kind, text in profile_texts(taxonomy, code_id)]
    return leaves, described, rows


def _all_profile_texts(taxonomy: Taxonomy) -> list[str]:
    """Every profile text, in the order of ``_profile_rows`` (the order of ``TokenMatch``)."""
    return [text for _, _, text in _profile_rows(taxonomy)[2]]


def match_tokens(texts: list[str], taxonomy: Taxonomy, embedder: Embedder, progress=None) -> TokenMatch | None:
    """Token-level MaxSim of ``texts`` with every profile text of the taxonomy (and of
    ``BACKGROUND``); None when the embedder gives no token vectors."""
    return match(texts, _all_profile_texts(taxonomy), list(BACKGROUND), embedder, progress)


def embed_and_match_tokens(texts: list[str], taxonomy: Taxonomy, embedder: Embedder,
                           progress=None) -> tuple[np.ndarray, TokenMatch]:
    """The sentence vectors of ``texts`` and their ``match_tokens``, from one run of the model
    (an embedder for which ``maxsim.can_embed_and_match``)."""
    return embed_and_match(texts, _all_profile_texts(taxonomy), list(BACKGROUND), embedder, progress)


def _profiles(ids: list[str], rows: list[tuple[int, str, str]], owner: np.ndarray, vectors: np.ndarray,
              background: np.ndarray) -> CodeProfiles:
    """The profiles of ``ids`` from their texts ``rows`` embedded as ``vectors`` (``owner``:
    each row's index in ``ids``), with no ancestors or words yet."""
    centroids = _unit(np.stack([vectors[owner == i].mean(axis=0) for i in range(len(ids))]))
    profiles = CodeProfiles(ids, [text for _, _, text in rows], [kind for _, kind, _ in rows], owner,
                            vectors, centroids, np.zeros(len(ids), dtype=np.float32), [], {},
                            np.zeros((len(ids), 0), dtype=np.float32))
    profiles.baseline = similarity(background, profiles)[0].mean(axis=0)
    return profiles


def _bm25_weights(documents: list[list[str]]) -> tuple[dict[str, int], np.ndarray]:
    """Stem -> column, and the (documents, stems) BM25 weight of each stem in each document."""
    stems: dict[str, int] = {}
    for words in documents:
        for word in words:
            stems.setdefault(word, len(stems))
    tf = np.zeros((len(documents), len(stems)), dtype=np.float32)
    for row, words in enumerate(documents):
        for word in words:
            tf[row, stems[word]] += 1
    n = len(documents)
    length = tf.sum(axis=1, keepdims=True)
    df = (tf > 0).sum(axis=0)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / max(float(length.mean()), 1.0))
    return stems, (idf * tf * (BM25_K1 + 1) / (tf + norm)).astype(np.float32)


def shared_words(words: list[list[tuple[str, str]]], profiles: CodeProfiles) -> np.ndarray:
    """(n, leaves) BM25 score of each text's distinct stems (``words``: its ``content_words``)
    against each leaf's profile."""
    out = np.zeros((len(words), len(profiles.leaf_ids)), dtype=np.float32)
    columns = profiles.bm25.T
    for i, text_words in enumerate(words):
        found = {profiles.stems[s] for _, s in text_words if s in profiles.stems}
        if found:
            out[i] = columns[sorted(found)].sum(axis=0)
    return out


def words_in_common(words: list[tuple[str, str]], leaf: int, profiles: CodeProfiles, k: int = 3) -> list[str]:
    """Up to ``k`` of a text's words (its ``content_words``) whose stems weigh most in the
    leaf's profile, each in the first form the text used."""
    found: dict[str, tuple[float, str]] = {}
    for word, root in words:
        column = profiles.stems.get(root)
        if column is not None and root not in found and profiles.bm25[leaf, column] > 0:
            found[root] = (float(profiles.bm25[leaf, column]), word)
    return [word for _, word in sorted(found.values(), key=lambda pair: -pair[0])[:k]]


def _by_owner(per_text: np.ndarray, owner: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """For scores (n, texts) of texts owned by ``count`` codes (``owner``: each text's code):
    (n, count) the mean of each code's ``TOP_TEXTS`` best, and (n, count) the index of its best
    text."""
    top = np.zeros((len(per_text), count), dtype=np.float32)
    best = np.zeros((len(per_text), count), dtype=int)
    for index in range(count):
        cols = np.flatnonzero(owner == index)
        block = per_text[:, cols]
        top[:, index] = np.sort(block, axis=1)[:, -min(TOP_TEXTS, len(cols)):].mean(axis=1)
        best[:, index] = cols[block.argmax(axis=1)]
    return top, best


def similarity(vectors: np.ndarray, profiles: CodeProfiles) -> tuple[np.ndarray, np.ndarray]:
    """(n, leaves) similarity per leaf (cosine units) and the index of the best profile text."""
    top, which = _by_owner(vectors @ profiles.vectors.T, profiles.owner, len(profiles.leaf_ids))
    return 0.5 * (top + vectors @ profiles.centroids.T), which


def _token_lift(scores: np.ndarray, background: np.ndarray, owner: np.ndarray, count: int) -> np.ndarray:
    """(n, count) from MaxSim ``scores`` (n, texts): each owner's ``TOP_TEXTS`` best texts'
    mean, each text's score taken above its mean with the ``background`` sentences."""
    return _by_owner(scores - background.mean(axis=0), owner, count)[0]


def lift(vectors: np.ndarray, profiles: CodeProfiles, words: list[list[tuple[str, str]]] | None = None,
         word_weight: float = MappingConfig().shared_words,
         tokens: TokenMatch | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (lifts, meaning, which). ``lifts`` (n, leaves): similarity above each leaf's
    background level, plus the words the texts share with the leaf (``words``: each text's
    ``content_words``, one per vector; None: meaning only) times ``word_weight`` per BM25
    unit, plus its ancestors' support. ``meaning``: the same without shared words (the same
    array when none count). ``which``: the index of the best profile text per leaf.
    ``tokens``: the texts' token MaxSim with the profiles (rows as ``vectors``), weighed in
    with ``TOKEN_WEIGHT`` (in ``which`` too); None: sentence vectors alone.

    An ancestor's support is the mean lift of its five best leaves, averaged (``ANCESTOR_OWN``)
    with the lift of its own texts when it has some; a leaf gets its ancestors' support with
    ``ANCESTOR_SUPPORT`` shared equally between them, so a leaf in a well-matched group and
    theme ranks higher."""
    score, which = similarity(vectors, profiles)
    lifted = score - profiles.baseline[None, :]
    own = None
    if profiles.own is not None:
        own = similarity(vectors, profiles.own)[0] - profiles.own.baseline[None, :]
    if tokens is not None:
        if tokens.profile_texts != profiles.texts + (profiles.own.texts if profiles.own else []):
            raise ValueError("token matches were made for other profile texts")
        cut = len(profiles.texts)
        lifted = SENTENCE_WEIGHT * lifted + TOKEN_WEIGHT * _token_lift(
            tokens.segments[:, :cut], tokens.background[:, :cut], profiles.owner, len(profiles.leaf_ids))
        # The text named as evidence is the one closest by both readings, weighed as above.
        both = (SENTENCE_WEIGHT * (vectors @ profiles.vectors.T)
                + TOKEN_WEIGHT * (tokens.segments[:, :cut] - tokens.background[:, :cut].mean(axis=0)))
        which = _by_owner(both, profiles.owner, len(profiles.leaf_ids))[1]
        if own is not None:
            own = SENTENCE_WEIGHT * own + TOKEN_WEIGHT * _token_lift(
                tokens.segments[:, cut:], tokens.background[:, cut:], profiles.own.owner, len(profiles.own.leaf_ids))
    meaning = _with_ancestor_support(lifted, own, profiles)
    if words is None or not word_weight:
        return meaning, meaning, which
    return (_with_ancestor_support(lifted + word_weight * shared_words(words, profiles), own, profiles),
            meaning, which)


def _with_ancestor_support(lifted: np.ndarray, own: np.ndarray | None, profiles: CodeProfiles) -> np.ndarray:
    """``own`` (n, described groups and themes): the lift of their own texts."""
    out = lifted.copy()
    for pool, rows, weights, own_row in profiles.ancestors:
        support = np.sort(lifted[:, pool], axis=1)[:, -TOP_LEAVES:].mean(axis=1)
        if own_row >= 0:
            support = (1 - ANCESTOR_OWN) * support + ANCESTOR_OWN * own[:, own_row]
        out[:, rows] += support[:, None] * weights[None, :]
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def margins(lifts: np.ndarray) -> np.ndarray:
    """(n, leaves) each leaf's lift minus the best lift among the other leaves: the lead of the
    first code over the second, and how far every other code trails the first."""
    if lifts.shape[1] < 2:
        return np.zeros_like(lifts)
    top2 = np.sort(lifts, axis=1)[:, -2:]
    others_best = np.where(lifts >= top2[:, 1:2], top2[:, 0:1], top2[:, 1:2])
    return lifts - others_best


def curves(word_matches: bool) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The (P(code), P(fit)) calibration for lifts with word matches, or on sentences alone."""
    if word_matches:
        return CODE_CALIBRATION, FIT_CALIBRATION
    return SENTENCE_CODE_CALIBRATION, SENTENCE_FIT_CALIBRATION


def calibrate(lifts: np.ndarray, meaning: np.ndarray | None = None, code=CODE_CALIBRATION,
              fit=FIT_CALIBRATION) -> tuple[np.ndarray, np.ndarray]:
    """Lifts (n, leaves) -> (P(code) (n, leaves), P(fit) (n,)), both in [0, 1]. ``meaning``:
    the lifts without shared words, which ``P(fit)`` reads (default: ``lifts``)."""
    if lifts.size == 0:
        return np.zeros_like(lifts), np.zeros(len(lifts))
    p_code = _sigmoid(code[0] * lifts + code[1] * margins(lifts) + code[2])
    p_fit = _sigmoid(fit[0] * (lifts if meaning is None else meaning).max(axis=1) + fit[1])
    return p_code, p_fit


def _turns_of(segments: list[Segment]) -> list[list[int]]:
    """The rows of each turn's segments, for turns of more than one segment."""
    turns: dict[tuple[str, int], list[int]] = {}
    for i, s in enumerate(segments):
        turns.setdefault((s.source, s.turn_id), []).append(i)
    return [rows for rows in turns.values() if len(rows) > 1]


def in_turn_context(segments: list[Segment], embeddings: np.ndarray, weight: float) -> np.ndarray:
    """Unit vectors of each segment blended with its turn's mean: x + weight * turn mean."""
    vectors = _unit(np.asarray(embeddings, dtype=np.float32))
    if weight <= 0 or not len(segments):
        return vectors
    out = vectors.copy()
    for rows in _turns_of(segments):
        mean = _unit(vectors[rows].mean(axis=0))
        out[rows] = _unit(vectors[rows] + weight * mean)
    return out


def _blend_turns(segments: list[Segment], scores: np.ndarray, weight: float) -> np.ndarray:
    """Each segment's row of ``scores`` blended with its turn's mean row, as ``in_turn_context``
    blends vectors: (row + weight * turn mean) / (1 + weight)."""
    if weight <= 0 or not len(segments):
        return scores
    out = scores.copy()
    for rows in _turns_of(segments):
        out[rows] = (scores[rows] + weight * scores[rows].mean(axis=0)) / (1 + weight)
    return out


def _order(scores: np.ndarray) -> np.ndarray:
    """Leaf indices best first; ties keep taxonomy order."""
    return np.lexsort((np.arange(len(scores)), -np.round(scores, 6)))


def _suggestion(leaf: int, score: float, profiles: CodeProfiles, taxonomy: Taxonomy, text_index: int,
                evidence: tuple[str, ...] = (), matched: str = "", shared: tuple[str, ...] | list[str] = (),
                members: list[int] | None = None) -> Suggestion:
    """``shared``: words in common with the code; ``members``: for a cluster, how many of the
    members it is first for use each of them."""
    code_id = profiles.leaf_ids[leaf]
    kind, text = profiles.kinds[text_index], profiles.texts[text_index]
    rationale = f"{matched}closest to its {kind}: “{text}”"
    if shared:
        rationale += "; words in common: " + ", ".join(
            f"“{w}”" + (f" ({n} member{'s' if n != 1 else ''})" if members else "")
            for w, n in zip(shared, members or shared))
    return Suggestion(code_id=code_id, score=round(float(score), 4), label=taxonomy.codes[code_id].label,
                      path=tuple(a.id for a in taxonomy.ancestors(code_id)), rationale=rationale,
                      evidence=evidence, words=tuple(shared))


def map_to_taxonomy(segments: list[Segment], embeddings: np.ndarray, clustering: Clustering,
                    taxonomy: Taxonomy, embedder: Embedder, settings: MappingConfig,
                    tokens: TokenMatch | None = None) -> Mapping:
    """Suggestions for every segment and every cluster, best first; [] = abstain. ``tokens``:
    the segments' ``match_tokens`` (the run keeps them in its cache); None: made here."""
    profiles = build_profiles(taxonomy, embedder)
    vectors = in_turn_context(segments, embeddings, settings.turn_context)
    if tokens is None:
        tokens = match_tokens([s.text for s in segments], taxonomy, embedder)
    if tokens is not None:
        tokens = replace(tokens, segments=_blend_turns(segments, tokens.segments, settings.turn_context))
    words = [content_words(s.text) for s in segments]
    lifts, meaning, which = lift(vectors, profiles, words, settings.shared_words, tokens)
    # Whether any code fits at all is read from meaning alone: off-topic talk shares everyday
    # words with codes ("feel", "time"), and with them counted, counsel-chat questions about
    # private life (the evaluation half, bench/bench_mapping.py) got no suggestion 29 % of the time
    # instead of 71 %.
    p_code, p_fit = calibrate(lifts, meaning, *curves(tokens is not None))
    index = {s.segment_id: i for i, s in enumerate(segments)}

    segment_suggestions: dict[str, list[Suggestion]] = {}
    firsts = np.full(len(segments), -1, dtype=int)
    first_words: list[tuple[str, ...]] = [()] * len(segments)
    for i, s in enumerate(segments):
        if s.backchannel or p_fit[i] < settings.threshold:
            segment_suggestions[s.segment_id] = []
            continue
        # Ordered by lift: the same order as P(code), without ties where P(code) underflows.
        order = _order(lifts[i])
        firsts[i] = order[0]
        segment_suggestions[s.segment_id] = [
            _suggestion(leaf, p_code[i, leaf], profiles, taxonomy, which[i, leaf],
                        shared=words_in_common(words[i], leaf, profiles))
            for leaf in order[: settings.top_k]
        ]
        first_words[i] = segment_suggestions[s.segment_id][0].words

    cluster_suggestions: dict[int, list[Suggestion]] = {}
    closest: dict[int, list[Suggestion]] = {}
    for cluster in clustering.clusters:
        rows = np.array([index[sid] for sid in cluster.segment_ids if sid in index], dtype=int)
        listed, fits = _cluster_suggestions(rows, segments, first_words, firsts, p_code, which, profiles,
                                            taxonomy, settings)
        cluster_suggestions[cluster.cluster_id] = listed if fits else []
        if listed and not fits:
            closest[cluster.cluster_id] = listed
    return Mapping(taxonomy_id=taxonomy.id, clusters=cluster_suggestions, segments=segment_suggestions,
                   threshold=settings.cluster_threshold, closest=closest)


def _cluster_suggestions(rows: np.ndarray, segments: list[Segment], first_words: list[tuple[str, ...]],
                         firsts: np.ndarray, p_code: np.ndarray, which: np.ndarray, profiles: CodeProfiles,
                         taxonomy: Taxonomy, settings: MappingConfig) -> tuple[list[Suggestion], bool]:
    """-> (codes, whether the first reaches ``cluster_threshold`` and is first for at least
    ``MIN_SUPPORTERS`` members). Codes by the share of the
    cluster's members whose first suggestion they are (members that got no suggestion count
    too), down to ``RUNNER_UP_SHARE`` of the members (or ``cluster_threshold`` where that is
    lower). ``firsts`` holds each segment's first leaf index, -1 where it abstained;
    ``first_words`` the words its first suggestion shares with that leaf."""
    if not len(rows):
        return [], False
    counts = np.bincount(firsts[rows][firsts[rows] >= 0], minlength=len(profiles.leaf_ids))
    shares = counts / len(rows)
    # Equal shares: the code the members fit better on average goes first.
    order = np.lexsort((np.arange(len(shares)), -np.round(p_code[rows].mean(axis=0), 6), -counts))
    out = []
    for leaf in order[: settings.top_k]:
        if counts[leaf] == 0 or shares[leaf] < min(RUNNER_UP_SHARE, settings.cluster_threshold):
            break
        # The evidence: of the members the code is first for, those that fit it best (a member
        # that got no suggestion, or another code first, speaks for nothing here).
        supporters = rows[firsts[rows] == leaf]
        best = supporters[np.lexsort((supporters, -np.round(p_code[supporters, leaf], 6)))[:3]]
        # The profile text most of the supporting members came closest to.
        text_index = int(np.bincount(which[best, leaf]).argmax())
        matched = f"first suggestion for {counts[leaf]} of {len(rows)} members; "
        # The words most of those members share with the code, counted once a member by stem
        # and shown in the first form a member used.
        used: Counter[str] = Counter()
        form: dict[str, str] = {}
        for i in rows[firsts[rows] == leaf]:
            for word in first_words[i]:
                used[form.setdefault(stem(word), word)] += 1
        common = used.most_common(3)
        out.append(_suggestion(leaf, shares[leaf], profiles, taxonomy, text_index,
                               tuple(segments[i].segment_id for i in best), matched,
                               [w for w, _ in common], [n for _, n in common]))
    return out, bool(out) and bool(shares[order[0]] >= settings.cluster_threshold) and counts[order[0]] >= MIN_SUPPORTERS


def no_mapping(segments: list[Segment], clustering: Clustering) -> Mapping:
    """The mapping of a run without a taxonomy (inductive analysis): nothing suggested."""
    return Mapping(taxonomy_id="", clusters={c.cluster_id: [] for c in clustering.clusters},
                   segments={s.segment_id: [] for s in segments}, threshold=1.0)


__all__ = ["map_to_taxonomy", "match_tokens", "no_mapping", "build_profiles", "lift", "calibrate", "UNCLUSTERED"]
