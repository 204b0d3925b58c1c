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
