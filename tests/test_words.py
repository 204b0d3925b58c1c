"""Words: the stop words and stems shared by keywords and by code matching."""

from pipeline.words import SPOKEN_STOP_WORDS, content_words, english_stop_words, stem


def test_stop_words_are_scikit_learns_list_read_without_importing_it():
    import subprocess
    import sys

    code = ("import sys; from pipeline.words import english_stop_words; words = english_stop_words(); "
            "print(len(words), 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(len(english_stop_words())), "False"]
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert english_stop_words() == frozenset(ENGLISH_STOP_WORDS)


def test_content_words_drop_stop_words_fillers_and_apostrophes():
    words = content_words("Yeah, I've been waiting, haven't I? Nobody rang about the referrals…")
    assert words == [("waiting", "wait"), ("rang", "rang"), ("referrals", "referr")]
    assert "yeah" in SPOKEN_STOP_WORDS and "ive" in SPOKEN_STOP_WORDS
    assert content_words("don’t") == [] and content_words("") == []


def test_stems_join_the_forms_of_a_word():
    assert stem("waiting") == stem("waited") == stem("waits") == "wait"
    assert stem("listened") == stem("listening") == "listen"


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400))
def test_any_text_gives_lower_case_content_words(text):
    for word, root in content_words(text):
        assert len(word) >= 3 and word == word.lower() and word not in english_stop_words()
        assert root == stem(word)


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(max_size=200), min_size=1, max_size=5))
def test_shared_words_of_any_text_are_finite_and_never_negative(texts):
    from pipeline.mapping import _bm25_weights, shared_words, words_in_common
    from types import SimpleNamespace

    stems, bm25 = _bm25_weights([["wait", "list"], ["dose"], []])
    profiles = SimpleNamespace(leaf_ids=["a", "b", "c"], stems=stems, bm25=bm25)
    words = [content_words(t) for t in texts]
    scores = shared_words(words, profiles)
    assert scores.shape == (len(texts), 3) and (scores >= 0).all() and (scores[:, 2] == 0).all()
    for w in words:
        assert set(words_in_common(w, 0, profiles)) <= {word for word, _ in w}


def test_content_words_whichever_way_an_accent_was_typed():
    import unicodedata

    typed = "my décision and the rôle"
    assert content_words(unicodedata.normalize("NFD", typed)) == content_words(typed)
    assert [w for w, _ in content_words(typed)] == ["décision", "rôle"]
