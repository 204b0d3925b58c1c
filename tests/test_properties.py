"""Property tests: arbitrary bytes given to ingest or config loading give a result or a clean
ThemesError — never another exception."""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import load_config
from pipeline.errors import ThemesError
from pipeline.ingest import ingest
from pipeline.taxonomy import load_taxonomy

SUFFIXES = [".txt", ".md", ".vtt", ".srt", ".csv", ".tsv", ".jsonl", ".docx"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes that look a little like transcripts, configs and codebooks find more paths than noise.
texty = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=1500).map(lambda t: t.encode("utf-8")),
    st.lists(st.sampled_from(["User 1: ", "Nurse 1:", "WEBVTT\n", "00:00:01.000 --> 00:00:02.000\n", "<v A>",
                              "text,speaker\n", '{"text": ', "\n", "\r", ",", "\"", "[inaudible]", "é", "。",
                              "\ufeff", "\x00", "- id: a\n", "codes:\n", "label: x\n", "&a ", "*a ", ": ", "{", "["]),
             max_size=60).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
)


@SETTINGS
@given(data=texty, suffix=st.sampled_from(SUFFIXES))
def test_ingest_arbitrary_bytes(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        try:
            transcripts, _ = ingest([path])
        except ThemesError as err:
            assert str(err) and "\n" not in str(err)
        else:
            assert transcripts and all(t.turns for t in transcripts)


@SETTINGS
@given(data=texty)
def test_config_arbitrary_bytes(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_bytes(data)
        try:
            load_config(path)
        except ThemesError as err:
            assert str(err) and "\n" not in str(err)


@SETTINGS
@given(data=texty)
def test_taxonomy_arbitrary_bytes(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "taxonomy.yaml"
        path.write_bytes(data)
        try:
            taxonomy = load_taxonomy(path)
        except ThemesError as err:
            assert str(err) and "\n" not in str(err)
        else:
            assert taxonomy.leaves
