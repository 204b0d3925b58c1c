"""Cluster keywords: distinct, and damped when frequent in every cluster."""

from pipeline.cluster import distinct_keywords


def test_distinct_keywords_drop_repeats_inside_phrases():
    words = ["waiting list", "waiting", "list", "referral", "months", "referral months", "gp"]
    assert distinct_keywords(words, 4) == ("waiting list", "referral months", "gp")


def test_distinct_keywords_keep_order_and_count():
    assert distinct_keywords(["a", "b", "c"], 2) == ("a", "b")
    assert distinct_keywords([], 5) == ()
    # a phrase that extends a kept word takes its place
    assert distinct_keywords(["staff", "rude", "staff attitude", "attitude"], 3) == ("staff attitude", "rude")
