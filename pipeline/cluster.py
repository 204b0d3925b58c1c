"""Stage 4, cluster: BERTopic (UMAP + HDBSCAN) on precomputed embeddings, with c-TF-IDF
keywords and representative segments."""

from __future__ import annotations

import functools
import gc
import hashlib
import re
import sys
import types
import unicodedata
from typing import Any, Callable

import numpy as np
import regex

from .artifacts import UNCLUSTERED, Cluster, Clustering, Segment
from .config import ClusteringConfig
from .words import CJK_CHARACTER, SPOKEN_STOP_WORDS, english_stop_words

# Below this many segments UMAP and HDBSCAN have nothing to work with.
MIN_SEGMENTS_TO_CLUSTER = 12


def _umap_model(config: ClusteringConfig, n: int):
    from .cache import keep_compiled_code

    keep_compiled_code()  # UMAP's compiled functions: once a machine, not once a run
    from umap import UMAP

    return UMAP(
        n_neighbors=max(2, min(config.umap_n_neighbors, n - 1)),
        n_components=max(2, min(config.umap_n_components, n - 2)),
        min_dist=config.umap_min_dist, metric="cosine", random_state=config.random_state,
        init="spectral" if n >= 100 else "random", n_jobs=1, low_memory=True,
        n_epochs=config.umap_n_epochs,
    )


def _hdbscan_model(config: ClusteringConfig, min_cluster_size: int, memory: "TreeMemory | None" = None):
    from hdbscan import HDBSCAN

    return HDBSCAN(
        min_cluster_size=min_cluster_size, min_samples=config.min_samples, metric="euclidean",
        cluster_selection_method=config.selection_method, prediction_data=False, core_dist_n_jobs=1,
        **({"memory": memory} if memory is not None else {}),
    )


# keep(inputs, compute): the value stored under ``inputs`` (a dict of strings), or compute()'s,
# stored for next time.
Keep = Callable[[dict[str, str], Callable[[], Any]], Any]


class TreeMemory:
    """HDBSCAN's ``memory`` (its public hook for joblib.Memory): HDBSCAN's first step, the
    single-linkage tree of the map, depends on the map, ``min_samples`` and the metric but not
    on ``min_cluster_size`` or the selection method, so it is kept through ``keep`` (the stage
    cache) and a rerun that changes only those takes it from there: 0.3 s of a 10k-segment
    rerun. The tree is found exactly as without it; only where it comes from changes."""

    def __init__(self, keep: Keep):
        self.keep = keep

    def cache(self, func: Callable) -> Callable:
        def kept(X, *args, **kwargs):
            data = np.ascontiguousarray(X)
            identity = {
                "function": f"{func.__module__}.{func.__qualname__}",
                "data": hashlib.sha256(f"{data.dtype.str}{data.shape}".encode() + data.tobytes()).hexdigest(),
                "arguments": repr(args), "keywords": repr(sorted(kwargs.items())),
            }
            return self.keep(identity, lambda: func(X, *args, **kwargs))
        return kept


# min_cluster_size "auto": the agreement with human coding peaks at larger sizes on larger
# corpora (AMI on NHS comments: 12 best on 765 and 3000 of them, 24-32 on 10,334; see
# docs/config.md), so it grows by one for every 400 segments clustered beyond 12 x 400.
AUTO_MIN_CLUSTER_SIZE = 12
SEGMENTS_PER_CLUSTER_SIZE = 400


def chosen_min_cluster_size(config: ClusteringConfig, n: int) -> int:
    """``clustering.min_cluster_size`` for ``n`` segments fitted, "auto" worked out."""
    if config.min_cluster_size == "auto":
        return max(AUTO_MIN_CLUSTER_SIZE, n // SEGMENTS_PER_CLUSTER_SIZE)
    return config.min_cluster_size


# Parts of BERTopic the pipeline never uses, left out of its import: their imports (transformers
# and torch for LLM and zero-shot representations, spaCy for part-of-speech keywords, plotly
# and UMAP for BERTopic's charts, the Hugging Face Hub for saving models) took about 10 s of a
# 10k-segment rerun whose clustering itself takes 2 s. The report draws its own map.
_UNUSED_REPRESENTATIONS = ("_textgeneration", "_zeroshot", "_visual", "_llamacpp", "_openai",
                           "_litellm", "_langchain", "_pos")
_UNUSED_MODULES = ("plotting", "_save_utils")


class _LeftOut(types.ModuleType):
    """Stands in for a part of BERTopic left out of the import; any use says so."""

    def __getattr__(self, name: str):
        raise AttributeError(f"{self.__name__}.{name} is not available: the pipeline imports "
                             "BERTopic without its charts and model saving")


@functools.lru_cache(maxsize=1)
def _bertopic():
    """BERTopic, imported without the parts listed above, and told to skip its own choice of
    representative documents (the pipeline picks members closest to each cluster's centroid,
    see ``_representatives``; BERTopic's sampling took about 3 s on 10k segments)."""
    from .imports import without

    if "bertopic" not in sys.modules:
        for name in _UNUSED_MODULES:
            sys.modules.setdefault(f"bertopic.{name}", _LeftOut(f"bertopic.{name}"))
        # A representation that cannot be imported becomes BERTopic's "not installed" stand-in.
        # The collector would walk the thousands of objects this import creates many times
        # over; they live as long as the process, so they are left out of its passes.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with without(*(f"bertopic.representation.{name}" for name in _UNUSED_REPRESENTATIONS)):
                import bertopic  # noqa: F401
        finally:
            if collecting:
                gc.enable()
            gc.freeze()
    from bertopic import BERTopic

    class Topics(BERTopic):
        def _save_representative_docs(self, documents):
            self.representative_docs_ = {}

        @staticmethod
        def _top_n_values_sparse(matrix, indices):
            return top_values(matrix, indices)

    return Topics


def top_values(matrix, indices) -> np.ndarray:
    """The values of a sparse matrix at ``indices[row]`` for each row (None: 0), read at once:
    what BERTopic reads one element at a time for its keywords (0.2 s of a 10k-segment rerun)."""
    from scipy import sparse

    indices = np.asarray(indices)
    present = (np.frompyfunc(lambda value: value is not None, 1, 1)(indices).astype(bool)
               if indices.dtype == object else np.ones(indices.shape, dtype=bool))
    columns = np.where(present, indices, 0).astype(np.int64)
    if not columns.size:
        return np.zeros(columns.shape)
    rows = np.broadcast_to(np.arange(len(columns))[:, None], columns.shape)
    values = matrix[rows, columns]
    values = values.toarray() if sparse.issparse(values) else np.asarray(values)
    return np.where(present, values, 0.0)


def stop_words(setting: str | None) -> list[str] | None:
    """The configured stop-word list plus spoken fillers; None when switched off."""
    if not setting:
        return None
    base = english_stop_words() if setting == "english" else set()
    return sorted(set(base) | SPOKEN_STOP_WORDS)


# BERTopic counts a topic's words after deleting every character outside A-Z, a-z and 0-9
# (for language "english", its default): Japanese or Chinese text became empty (no vocabulary,
# a crash) and French lost its accented letters ("trs" for "très"). ``topic_text`` cleans the
# same way for every script, and gives an empty topic BERTopic's placeholder word. Words are
# told by ``regex``, whose \w (Unicode's) holds combining marks: Python's own left out the
# vowel signs of Hindi or Thai ("मझ" for "मुझे").
_NOT_WORD = regex.compile(r"[^\w ]|_")
EMPTY_TOPIC = "emptydoc"
# BERTopic joins a cluster's segments with a space before counting, so the last word of one and
# the first of the next made a two-word keyword nobody said ("person people"). Each segment is
# handed to BERTopic ending in this mark (ASCII's record separator), which survives the join;
# ``topic_text`` keeps it and ``TopicWords`` counts the words between two marks apart.
SEGMENT_BREAK = "\x1e"


def keyword_texts(texts) -> list[str]:
    """The segments' texts as BERTopic gets them: each ending in ``SEGMENT_BREAK``."""
    return [text.replace(SEGMENT_BREAK, " ") + SEGMENT_BREAK for text in texts]


def topic_text(documents) -> list[str]:
    """BERTopic's ``_preprocess_text`` (line breaks and tabs to spaces, punctuation deleted, so
    "don't" is "dont"), keeping letters and digits of any script, and ``SEGMENT_BREAK``: the
    same as BERTopic's on ASCII text. A topic of symbols alone (emoji) keeps them, for the last
    resort of ``TopicWords``."""
    out = []
    for doc in documents:
        # One form for an accented letter: "é" typed as e + a combining accent would lose it.
        doc = unicodedata.normalize("NFC", doc).replace("\n", " ").replace("\t", " ")
        pieces = doc.split(SEGMENT_BREAK)
        cleaned = [_NOT_WORD.sub("", piece) for piece in pieces]
        if not any(piece.strip() for piece in cleaned):
            cleaned = [" ".join(piece.split()) for piece in pieces]
        out.append(SEGMENT_BREAK.join(cleaned) if any(cleaned) else EMPTY_TOPIC)
    return out


# Runs of Chinese characters, kana and Japanese prolonged sound marks; hiragana alone.
_CJK_RUN = re.compile(f"{CJK_CHARACTER}+")
_HIRAGANA = re.compile(r"[\u3040-\u309f]+")


def _vectorizer(config: ClusteringConfig, n_docs: int, every_word: bool = False):
    """BERTopic's word counter. It counts over one document a topic (the unclustered segments
    are one too), and from 200 segments on a word must be in two of them (``min_df``).
    ``every_word``: stop words count too, and a word in one topic is enough."""
    from sklearn.feature_extraction.text import CountVectorizer

    class TopicWords(CountVectorizer):
        def build_analyzer(self):
            words = super().build_analyzer()

            def segment_words(text: str) -> list[str]:
                if not _CJK_RUN.search(text):
                    return words(text)
                # Chinese and Japanese have no spaces between words, and no word segmenter
                # ships: their runs give overlapping two-character words ("予約", "医者"), the
                # usual stand-in, but not pairs of hiragana alone ("ます", "して": grammar).
                out = words(_CJK_RUN.sub(" ", text))
                for run in _CJK_RUN.findall(text):
                    pairs = [run[i:i + 2] for i in range(len(run) - 1)]
                    # A run of hiragana alone, or of one character, still gives its words.
                    out += [p for p in pairs if not _HIRAGANA.fullmatch(p)] or pairs or [run]
                return out

            def analyse(doc: str) -> list[str]:
                # A cluster's segments, each counted apart: no two-word keyword spans two.
                if SEGMENT_BREAK not in doc:
                    return segment_words(doc)
                return [word for text in doc.split(SEGMENT_BREAK) if text.strip() for word in segment_words(text)]

            return analyse

        def build_tokenizer(self):
            # sklearn's own reads the pattern with ``re``, which splits words at vowel signs.
            return self.tokenizer or regex.compile(self.token_pattern).findall

        def fit_transform(self, raw_documents, y=None):
            # With every segment unclustered, or all in one cluster, there is one document,
            # in which no word can be in two: then one is enough (else sklearn refuses).
            documents = list(raw_documents)
            wanted = self.min_df, self.stop_words, self.token_pattern
            if isinstance(wanted[0], int) and len(documents) < wanted[0]:
                self.min_df = 1
            try:
                return super().fit_transform(documents, y)
            except ValueError as err:
                if "empty vocabulary" not in str(err) and "no terms remain" not in str(err):
                    raise
                # Nothing but stop words ("I don't know", "yes I do"), no word in two clusters,
                # or no letters at all (emoji): the clusters stand, their keywords come from
                # every word there is. The usual settings return for the next count.
                self.min_df, self.stop_words = 1, [EMPTY_TOPIC]
                try:
                    return super().fit_transform(documents, y)
                except ValueError:
                    self.stop_words, self.token_pattern = None, r"\S+"
                    return super().fit_transform(documents, y)
            finally:
                self.min_df, self.stop_words, self.token_pattern = wanted

    if every_word:
        return TopicWords(stop_words=[EMPTY_TOPIC], ngram_range=(1, 2), token_pattern=r"(?u)\b[^\W\d_]\w+\b")
    return TopicWords(stop_words=[*stop_words(config.stop_words), EMPTY_TOPIC], ngram_range=(1, 2),
                      token_pattern=r"(?u)\b[^\W\d_]\w+\b", min_df=2 if n_docs >= 200 else 1)


def _ctfidf(config: ClusteringConfig):
    _bertopic()
    from bertopic.vectorizers import ClassTfidfTransformer

    # Damping words frequent in every cluster ("staff", "help") leaves the words that tell
    # clusters apart (measured in bench/bench_clusters.py).
    return ClassTfidfTransformer(reduce_frequent_words=config.reduce_frequent_words)


# The label of a cluster that has no keyword even counting stop words (symbols alone).
NO_KEYWORDS_LABEL = "(no distinctive words)"


def label_of(keywords: tuple[str, ...] | list[str]) -> str:
    """A cluster's label: its first three keywords, or ``NO_KEYWORDS_LABEL``."""
    return " / ".join(keywords[:3]) or NO_KEYWORDS_LABEL


def counted_words(model, topics: list[int], n: int) -> dict[int, list[str]]:
    """Each topic's ``n`` best words by BERTopic's c-TF-IDF count (the words a representation
    such as KeyBERT then chooses among), best first."""
    matrix, words = getattr(model, "c_tf_idf_", None), model.vectorizer_model.get_feature_names_out()
    if matrix is None:
        return {}
    matrix = matrix.tocsr()
    return {topic: [w for w in _best_words(matrix[row], words, n) if EMPTY_TOPIC not in w.split()]
            for row, topic in enumerate(sorted(set(topics)))}  # BERTopic's rows: its topics in order


def _best_words(row, words, n: int) -> list[str]:
    """The ``n`` best-scoring ``words`` of a sparse c-TF-IDF row, best first (ties in column
    order), leaving out those that score nothing."""
    scores = row.toarray().ravel()
    order = np.lexsort((np.arange(len(scores)), -np.round(scores, 9)))
    return [str(words[i]) for i in order[:n] if scores[i] > 0]


def keywords_of_every_word(docs: list[str], topics: list[int], config: ClusteringConfig,
                           wanted: list[int]) -> dict[int, list[str]]:
    """Candidate keywords, best first, for the ``wanted`` topics from c-TF-IDF over every word,
    stop words included: for a cluster of stop words alone ("I really don't know what to
    say"), which the usual count leaves without keywords while the other clusters have theirs.
    ``docs`` as BERTopic got them (``keyword_texts``), ``topics`` one a doc."""
    labels = sorted(set(topics))
    by_topic: dict[int, list[str]] = {t: [] for t in labels}
    for doc, topic in zip(docs, topics):
        by_topic[topic].append(doc)
    counter = _vectorizer(config, len(docs), every_word=True)
    counts = counter.fit_transform(topic_text([" ".join(by_topic[t]) for t in labels]))
    scores = _ctfidf(config).fit(counts).transform(counts).tocsr()
    words = counter.get_feature_names_out()
    return {topic: _best_words(scores[labels.index(topic)], words, 2 * config.top_n_words) for topic in wanted}


def distinct_keywords(words: list[str], k: int) -> tuple[str, ...]:
    """The first ``k`` keywords that add something, best first: a word already inside a kept
    phrase is skipped ("waiting list", then not "waiting"), and a phrase that extends a kept
    word takes that word's place ("staff", then "staff attitude" replaces it)."""
    kept: list[str] = []
    for word in words:
        tokens = set(word.split())
        if any(tokens <= set(other.split()) for other in kept):
            continue
        inside = [i for i, other in enumerate(kept) if set(other.split()) < tokens]
        if inside:
            kept[inside[0]] = word
            kept = [w for i, w in enumerate(kept) if i not in inside[1:]]
        else:
            kept.append(word)
        if len(kept) == k:
            break
    return tuple(kept)


def embedder_backend(embedder):
    """BERTopic's embedding backend around the run's Embedder, for the parts of BERTopic that
    embed words or documents themselves (MMR and KeyBERTInspired keywords): the model already
    loaded is used, nothing is ever downloaded, and a word met in many clusters is embedded once."""
    _bertopic()
    from bertopic.backend import BaseEmbedder

    class _Backend(BaseEmbedder):
        def __init__(self):
            super().__init__()
            self.seen: dict[str, np.ndarray] = {}

        def embed(self, documents, verbose=False):
            texts = [str(d).replace(SEGMENT_BREAK, "") for d in documents]  # see keyword_texts
            new = list(dict.fromkeys(t for t in texts if t not in self.seen))
            if new:
                self.seen.update(zip(new, embedder.encode(new)))
            return np.stack([self.seen[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)

    return _Backend()


def _representation(config: ClusteringConfig, embedder):
    """BERTopic's representation model for ``clustering.representation``: None keeps the
    c-TF-IDF keywords; "mmr" re-ranks them for diversity (Maximal Marginal Relevance against
    the keywords' joint embedding); "keybert" keeps those closest to the cluster's typical
    segments. Both embed candidate words with the run's model."""
    if config.representation == "c-tf-idf":
        return None, None
    if embedder is None:
        raise ValueError(f"clustering.representation {config.representation!r} needs the run's embedder")
    _bertopic()
    from bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance

    if config.representation == "mmr":
        model = MaximalMarginalRelevance(diversity=config.mmr_diversity, top_n_words=2 * config.top_n_words)
    else:
        model = KeyBERTInspired(top_n_words=2 * config.top_n_words, random_state=config.random_state)
    return model, embedder_backend(embedder)


def _representatives(member_idx: np.ndarray, vectors: np.ndarray, k: int,
                     voices: list[tuple[str, str]] | None = None) -> np.ndarray:
    """``k`` members close to the cluster's centroid (cosine), closest first.

    ``voices`` (the (source, speaker) of every row of ``vectors``): the closest member of each
    speaker label is taken first, then of each speaker in each source (an interviewee labelled
    "Participant" in every file), and only then more members of a speaker already quoted; so
    the quotes show how many people say it. None: the ``k`` closest, whoever said them."""
    centroid = vectors[member_idx].mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    sims = vectors[member_idx] @ centroid
    order = member_idx[np.lexsort((member_idx, -np.round(sims, 6)))]
    if voices is None:
        return order[:k]
    picked: list[int] = []
    for voice in (lambda i: voices[i][1], lambda i: voices[i], lambda i: i):
        heard = {voice(i) for i in picked}
        for i in order:
            if len(picked) == k:
                break
            if voice(i) not in heard:  # a member already picked is heard at every pass
                picked.append(i)
                heard.add(voice(i))
    rank = {i: r for r, i in enumerate(order)}
    return np.array(sorted(picked, key=rank.__getitem__), dtype=member_idx.dtype)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def cluster(segments: list[Segment], embeddings: np.ndarray, config: ClusteringConfig,
            reduced: np.ndarray | None = None, embedder=None, keep: Keep | None = None) -> Clustering:
    """Cluster the clusterable ``segments``; ``embeddings`` has one row per segment given.
    ``reduced``: UMAP's map of them from ``reduce`` (same segments, embeddings and config),
    so that a rerun that changes only HDBSCAN or keyword settings skips UMAP. ``embedder``:
    the run's model, needed only by the "mmr" and "keybert" keyword representations.
    ``keep``: where HDBSCAN's single-linkage tree is kept between runs (see ``TreeMemory``)."""
    idx = np.array([i for i, s in enumerate(segments) if s.clusterable], dtype=int)
    ids = [segments[i].segment_id for i in idx]
    docs = keyword_texts(segments[i].text for i in idx)
    vectors = _normalised(embeddings[idx].astype(np.float32)) if len(idx) else np.zeros((0, 1))
    n = len(idx)
    notes: list[str] = []
    if n < MIN_SEGMENTS_TO_CLUSTER:
        notes.append(
            f"only {n} segments to cluster (at least {MIN_SEGMENTS_TO_CLUSTER} are needed): "
            "no clusters were formed; every segment is shown unclustered"
        )
        return Clustering(clusters=[], assignments={i: UNCLUSTERED for i in ids}, order=ids, notes=notes)

    BERTopic = _bertopic()
    fitted = min(n, config.sample_above) if config.sample_above else n  # the segments HDBSCAN sees
    chosen = chosen_min_cluster_size(config, fitted)
    min_cluster_size = max(2, min(chosen, fitted // 3))
    if reduced is None:
        reduced = reduce(segments, embeddings, config)
    umap_model = _umap_model(config, n) if reduced is None else _Reduced(reduced)
    if min_cluster_size < chosen:
        notes.append(f"clustering.min_cluster_size {chosen} is more than a third of the {fitted} segments "
                     f"clustered: {min_cluster_size} is used")
    elif config.min_cluster_size == "auto" and chosen > AUTO_MIN_CLUSTER_SIZE:
        notes.append(f"min_cluster_size auto: {chosen} for {fitted} segments (one in "
                     f"{SEGMENTS_PER_CLUSTER_SIZE}; set clustering.min_cluster_size for finer clusters)")
    threshold = config.outlier_threshold if config.reduce_outliers else None
    representation, backend = _representation(config, embedder)

    def model_for(fit_vectors: np.ndarray):
        model = BERTopic(
            embedding_model=backend, representation_model=representation, umap_model=umap_model,
            hdbscan_model=_JoinOutliers(_hdbscan_model(config, min_cluster_size, keep and TreeMemory(keep)),
                                        fit_vectors, threshold),
            vectorizer_model=_vectorizer(config, n), ctfidf_model=_ctfidf(config),
            top_n_words=2 * config.top_n_words, calculate_probabilities=False, verbose=False,
        )
        model._preprocess_text = topic_text  # for any script (see topic_text)
        return model

    topics, model = _fit_topics(model_for, docs, vectors, config, notes)
    topics_arr = np.array(topics)
    voices = ([(segments[i].source, segments[i].speaker) for i in idx]
              if config.representatives_from == "many_speakers" else None)

    found = sorted(t for t in set(topics) if t != UNCLUSTERED)
    keywords = {topic: distinct_keywords([w for w, _ in (model.get_topic(topic) or [])
                                          if w and EMPTY_TOPIC not in w.split()], config.top_n_words)
                for topic in found}
    if config.representation != "c-tf-idf" and any(not words for words in keywords.values()):
        # KeyBERT or MMR may keep none of a cluster's candidates: its c-TF-IDF words stand in.
        counted = counted_words(model, list(topics), 2 * config.top_n_words)
        keywords.update({t: distinct_keywords(counted.get(t, []), config.top_n_words)
                         for t in found if not keywords[t]})
    if any(not words for words in keywords.values()):
        every_word = keywords_of_every_word(docs, list(topics), config, [t for t in found if not keywords[t]])
        keywords.update({t: distinct_keywords(words, config.top_n_words) for t, words in every_word.items()})
    clusters: list[Cluster] = []
    for topic in found:
        member_idx = np.flatnonzero(topics_arr == topic)
        words = keywords[topic]
        reps = _representatives(member_idx, vectors, config.representatives, voices)
        clusters.append(Cluster(
            cluster_id=int(topic), segment_ids=tuple(ids[i] for i in member_idx),
            keywords=words, representative_ids=tuple(ids[i] for i in reps),
            label=label_of(words),
        ))
    if not clusters:
        distinct = len(np.unique(np.round(vectors, 4), axis=0))
        if distinct == 1:
            why = f"the {n} segments are all alike (1 distinct), one group that HDBSCAN does not count as a cluster"
        elif distinct <= max(n // 10, n // min_cluster_size):
            # Too few different texts to be scattered (6 + 6 copies of two sentences): the
            # groups of copies are there, HDBSCAN made no cluster of them.
            why = (f"the {n} segments are copies of a few texts ({distinct} distinct): groups of identical "
                   "segments that HDBSCAN does not count as clusters at this size")
        else:
            why = (f"no group of {min_cluster_size} or more segments stands apart from the rest (the segments may "
                   "be scattered, or all about one thing)")
        notes.append(f"no clusters were formed: {why}; every segment is shown unclustered (try a smaller "
                     "clustering.min_cluster_size or clustering.min_samples)")

    coords = _overview(model, vectors, config.random_state)
    return Clustering(
        clusters=clusters, assignments={ids[i]: int(t) for i, t in enumerate(topics)},
        order=ids, coords=coords, notes=notes,
    )


def _overview(model, vectors: np.ndarray, random_state: int) -> np.ndarray | None:
    """A 2-D map for the report: the first two principal axes of the UMAP space."""
    reduced = getattr(model.umap_model, "embedding_", None)
    if reduced is None or len(reduced) != len(vectors):
        return None
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=random_state).fit_transform(reduced).astype(np.float32)


def _fit_topics(model_for, docs: list[str], vectors: np.ndarray, config: ClusteringConfig,
                notes: list[str]) -> tuple[list[int], object]:
    """Fit BERTopic -> a topic per doc, and the fitted model. Above ``clustering.sample_above``
    docs, UMAP and HDBSCAN (the slow, memory-hungry parts) see a seeded random sample of that
    size; every other doc joins the cluster with the nearest centroid in embedding space when
    its cosine similarity reaches ``clustering.outlier_threshold`` (else it is an outlier), and
    the keywords are then counted over all members."""
    import logging

    n, size = len(docs), config.sample_above
    sample = None if not size or n <= size else np.sort(
        np.random.default_rng(config.random_state).choice(n, size=size, replace=False))
    model = model_for(vectors if sample is None else vectors[sample])
    # BERTopic resets its logger's level when constructed; its notices are not for analysts.
    logging.getLogger("BERTopic").setLevel(logging.ERROR)
    if sample is None:
        topics, _ = model.fit_transform(docs, embeddings=vectors)
        return list(topics), model
    topics = np.full(n, UNCLUSTERED, dtype=int)
    topics[sample] = model.fit_transform([docs[i] for i in sample], embeddings=vectors[sample])[0]
    # The rest join the nearest cluster; so do the sample's own outliers where outliers are
    # reduced (with clustering.reduce_outliers: false HDBSCAN's outliers stay so).
    others = np.ones(n, dtype=bool)
    others[sample] = False
    joining = None if config.reduce_outliers else np.flatnonzero(others)
    topics = join_nearest(topics, vectors, config.outlier_threshold, members=sample, rows=joining)
    model.update_topics(docs, topics=topics.tolist(), vectorizer_model=model.vectorizer_model,
                        ctfidf_model=model.ctfidf_model, top_n_words=model.top_n_words)
    joined, rest = int((topics[others] != UNCLUSTERED).sum()), n - size
    if joined == rest:
        outcome = f"the other {rest} joined the nearest cluster"
    elif not joined:
        outcome = f"none of the other {rest} was similar enough to a cluster to join it (clustering.outlier_threshold)"
    else:
        outcome = (f"{joined} of the other {rest} joined the nearest cluster; {rest - joined} stay unclustered "
                   "(not similar enough to any cluster: clustering.outlier_threshold)")
    notes.append(f"{n} segments to cluster: clusters were found on a random sample of {size} "
                 f"(clustering.sample_above); {outcome}")
    return topics.tolist(), model


def join_nearest(labels: np.ndarray, vectors: np.ndarray, threshold: float,
                 members: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
    """Each unclustered row (of ``rows``; default: all) joins the cluster whose centre (the
    mean of its ``members``' unit vectors; default: all rows) is most similar, when the cosine
    similarity reaches ``threshold``; the rest stay unclustered. BERTopic's "embeddings"
    outlier strategy."""
    labels = np.asarray(labels).copy()
    pool = np.arange(len(labels)) if members is None else np.asarray(members)
    found = sorted(set(labels[pool].tolist()) - {UNCLUSTERED})
    rest = np.flatnonzero(labels == UNCLUSTERED)
    if rows is not None:
        rest = np.intersect1d(rest, rows)
    if not found or not len(rest):
        return labels
    centroids = _normalised(np.stack([vectors[pool[labels[pool] == t]].mean(axis=0) for t in found]))
    for chunk in np.array_split(rest, max(1, len(rest) // 20000)):
        sims = vectors[chunk] @ centroids.T
        best = sims.argmax(axis=1)
        close = sims[np.arange(len(chunk)), best] >= threshold
        labels[chunk] = np.where(close, np.asarray(found)[best], UNCLUSTERED)
    return labels


class _JoinOutliers:
    """BERTopic's cluster model: HDBSCAN on the UMAP map, then (``threshold`` not None) each
    segment HDBSCAN left out joins the nearest cluster (``join_nearest`` on ``vectors``, the
    embeddings of the segments fitted) before BERTopic counts keywords, so they are counted
    once, over the final members."""

    def __init__(self, hdbscan, vectors: np.ndarray, threshold: float | None):
        self.hdbscan, self.vectors, self.threshold = hdbscan, vectors, threshold

    def fit(self, X, y=None):
        labels = np.asarray(self.hdbscan.fit(X).labels_)
        if self.threshold is not None:
            labels = join_nearest(labels, self.vectors, self.threshold)
        self.labels_ = labels
        return self


# The clustering settings UMAP's map depends on; the others (HDBSCAN, keywords, outliers) can
# change without computing it again.
UMAP_SETTINGS = ("random_state", "umap_n_neighbors", "umap_n_components", "umap_min_dist", "umap_n_epochs",
                 "sample_above")


def reduce(segments: list[Segment], embeddings: np.ndarray, config: ClusteringConfig) -> np.ndarray | None:
    """UMAP's map of the clusterable segments, (n, umap_n_components) float32, exactly as
    ``cluster`` would compute it; None where ``cluster`` does not use one fitted on all of
    them (too few segments, or more than ``sample_above``)."""
    idx = [i for i, s in enumerate(segments) if s.clusterable]
    n = len(idx)
    if n < MIN_SEGMENTS_TO_CLUSTER or (config.sample_above and n > config.sample_above):
        return None
    vectors = _normalised(embeddings[idx].astype(np.float32))
    umap_model = _umap_model(config, n)
    if n >= 4096:  # below this UMAP's own search is exact already (and its results unchanged)
        umap_model.precomputed_knn = _exact_neighbours(vectors, umap_model.n_neighbors)
    import warnings

    with warnings.catch_warnings():  # it notes that UMAP.transform needs its own index: unused here
        warnings.filterwarnings("ignore", message=r".*knn_search_index")
        return umap_model.fit_transform(vectors)


def _exact_neighbours(vectors: np.ndarray, k: int, block: int = 1024) -> tuple:
    """Each unit vector's ``k`` nearest (itself included) by cosine distance, exactly, for
    UMAP's ``precomputed_knn``: matrix products in blocks of rows, one block per core at a time
    (NumPy releases the GIL), memory at cores x block x n, where UMAP's own approximate search
    runs on one core (random_state makes it single-threaded), about 3x the time on 10k
    segments. The nearest are ordered by similarity, then index; each row's result does not
    depend on the blocks or threads."""
    from concurrent.futures import ThreadPoolExecutor

    from .embed import cpu_count

    n = len(vectors)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)

    def rows_from(start: int) -> None:
        sims = vectors[start:start + block] @ vectors.T
        rows = np.arange(len(sims))[:, None]
        sims[rows[:, 0], np.arange(start, start + len(sims))] = 2.0  # itself first, whatever ties
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.lexsort((nearest, -sims[rows, nearest]), axis=1)
        nearest = nearest[rows, order]
        indices[start:start + len(sims)] = nearest
        distances[start:start + len(sims)] = np.clip(1.0 - sims[rows, nearest], 0.0, 2.0)

    with ThreadPoolExecutor(max_workers=cpu_count()) as pool:
        list(pool.map(rows_from, range(0, n, block)))  # list(): a worker's error is raised here
    distances[:, 0] = 0.0
    return indices, distances, None


class _Reduced:
    """Hands BERTopic a UMAP map computed before (see ``reduce``) in place of fitting UMAP."""

    def __init__(self, embedding: np.ndarray):
        self.embedding_ = embedding

    def fit_transform(self, vectors, y=None):
        if len(vectors) != len(self.embedding_):
            raise ValueError("the precomputed UMAP map is for a different set of segments")
        return self.embedding_

    def transform(self, vectors):
        return self.fit_transform(vectors)
