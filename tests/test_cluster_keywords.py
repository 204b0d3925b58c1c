"""Cluster keywords: distinct, and damped when frequent in every cluster."""

from sklearn.feature_extraction.text import CountVectorizer

from pipeline.cluster import SEGMENT_BREAK, _vectorizer, distinct_keywords, keyword_texts, topic_text
from pipeline.config import ClusteringConfig


def test_distinct_keywords_drop_repeats_inside_phrases():
    words = ["waiting list", "waiting", "list", "referral", "months", "referral months", "gp"]
    assert distinct_keywords(words, 4) == ("waiting list", "referral months", "gp")


def test_distinct_keywords_keep_order_and_count():
    assert distinct_keywords(["a", "b", "c"], 2) == ("a", "b")
    assert distinct_keywords([], 5) == ()
    # a phrase that extends a kept word takes its place
    assert distinct_keywords(["staff", "rude", "staff attitude", "attitude"], 3) == ("staff attitude", "rude")


def test_a_clusters_segments_are_counted_apart_and_each_as_before():
    """One segment's words are counted as sklearn counts them (stop words left out before the
    pairs are made: "different time"); a cluster's are those of its segments, one after the
    other, and no pair is made of one segment's last word and the next one's first."""
    texts = ["It was a different time, honestly.", "The person gave it.", "People do what they can!",
             "日本語です", "très bien"]
    config = ClusteringConfig()
    analyse = _vectorizer(config, len(texts)).build_analyzer()
    plain = CountVectorizer(stop_words=_vectorizer(config, 1).stop_words, ngram_range=(1, 2),
                            token_pattern=r"(?u)\b[^\W\d_]\w+\b").build_analyzer()
    for text in texts[:3]:
        assert analyse(topic_text([text])[0]) == plain(topic_text([text])[0])
    assert "different time" in analyse(topic_text([texts[0]])[0])
    (joined,) = topic_text([" ".join(keyword_texts(texts))])  # BERTopic's join of a cluster
    assert joined.count(SEGMENT_BREAK) == len(texts)
    assert analyse(joined) == [word for text in texts for word in analyse(topic_text([text])[0])]
    assert "gave people" not in analyse(joined) and "gave people" in analyse(topic_text([" ".join(texts)])[0])
