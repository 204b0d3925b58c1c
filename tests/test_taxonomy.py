import pytest

from pipeline.config import TAXONOMY_DIR
from pipeline.errors import ThemesError
from pipeline.taxonomy import load_taxonomy, render_tree

NAKANISHI_LEAVES = {
    "barrier.safety.lack_of_compassion", "barrier.safety.life_security_threatened",
    "barrier.control.choice_unavailable", "barrier.control.authority_slope",
    "barrier.control.disempowerment_symptoms_medication", "barrier.reunion.less_value_for_life",
    "barrier.reunion.peers_unavailable", "barrier.reunion.social_exclusion",
    "root.systems.no_trauma_sensitivity", "root.systems.lack_of_advocacy",
    "root.systems.limited_psychosocial_access", "root.culture.routines_over_values",
    "root.culture.shame_and_pressure", "root.culture.thinned_social_network",
    "solution.organisational.trauma_informed_care", "solution.organisational.crisis_advocacy",
    "solution.organisational.community_network_structure", "solution.cultural.personalised_goals",
    "solution.cultural.inclusive_design", "solution.cultural.open_accepting_community",
}


def test_default_taxonomy_keeps_published_ids():
    taxonomy = load_taxonomy(TAXONOMY_DIR / "nakanishi2021.yaml")
    assert {leaf.id for leaf in taxonomy.leaves} == NAKANISHI_LEAVES
    assert list(taxonomy.roots) == ["barrier", "root", "solution"]
    assert [a.id for a in taxonomy.ancestors("root.culture.shame_and_pressure")] == ["root", "root.culture"]
    assert all(leaf.description and leaf.examples for leaf in taxonomy.leaves)
    assert "lack_of_compassion" in render_tree(taxonomy)


@pytest.mark.parametrize("body, message", [
    ("id: t\nlabel: T\ncodes: []\n", r"t.yaml:3 \(codes\): the taxonomy has no codes"),
    ("id: t\nlabel: T\n", r"\(codes\): the taxonomy has no codes"),
    ("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n  - id: a\n    label: B\n", r"t.yaml:6 \(a\): duplicate code id"),
    ("id: t\nlabel: T\ncodes:\n  - id: a\n", r"t.yaml:4 \(a\): code has no label"),
    ("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n    colour: red\n", r"t.yaml:6 \(colour\): unknown key"),
    ("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n    codes: []\n", r"\(a\): 'codes' must be a non-empty list"),
    ("", r"t.yaml: file is empty"),
    # `codes:` written with nothing under it: neither a clear leaf nor a group.
    ("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n    codes:\n", r"t.yaml:6 \(a\): 'codes' must be a non-empty list"),
    # a dotted id that extends a leaf's id but sits elsewhere: meant as that leaf's child.
    ("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n  - id: a.x\n    label: X\n",
     r"t.yaml:6 \(a.x\): its id extends 'a', a leaf at line 4, but it is not listed under it"),
    ("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n    codes:\n      - x\n", r"t.yaml:7 \(a\): a code must be a mapping"),
    ("id: t\nlabel: T\ncodes:\n  - id: a\n    label: [A, B]\n", r"t.yaml:4 \(a\): code has no label \(a list is not text\)"),
    ("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n    examples: {x: 1}\n", r"t.yaml:4 \(a.examples\): must be a list of strings"),
    ("id: t\ncodes:\n  - id: a\n    label: A\n", r"\(label\): missing taxonomy label"),
])
def test_bad_taxonomies(tmp_path, body, message):
    path = tmp_path / "t.yaml"
    path.write_text(body)
    with pytest.raises(ThemesError, match=message):
        load_taxonomy(path)


def test_labels_only_codebook(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("id: t\nlabel: T\ncodes:\n  - id: a\n    label: Waiting times\n  - id: b\n    label: Staff attitude\n")
    taxonomy = load_taxonomy(path)
    assert [leaf.id for leaf in taxonomy.leaves] == ["a", "b"]


def test_non_utf8_taxonomy_names_the_file(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_bytes("id: t\nlabel: Th\xe8mes\ncodes:\n  - id: a\n    label: A\n".encode("latin-1"))
    with pytest.raises(ThemesError, match=r"t.yaml: not UTF-8"):
        load_taxonomy(path)


def test_dotted_ids_under_their_parent_are_fine(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n    codes:\n"
                    "      - id: a.x\n        label: X\n  - id: ab\n    label: AB\n")
    taxonomy = load_taxonomy(path)
    assert [leaf.id for leaf in taxonomy.leaves] == ["a.x", "ab"]


@pytest.mark.parametrize("name", ["nakanishi2021", "chime", "leboutillier"])
def test_shipped_taxonomies_load(name):
    taxonomy = load_taxonomy(TAXONOMY_DIR / f"{name}.yaml")
    assert taxonomy.leaves and all(leaf.description for leaf in taxonomy.leaves)
    tree = render_tree(taxonomy)
    assert any(line.startswith(f"{len(taxonomy.codes)} codes, {len(taxonomy.leaves)} codable leaves")
               for line in tree.splitlines())


def test_tree_counts_the_groups_that_have_texts_of_their_own(tmp_path):
    path = tmp_path / "book.yaml"
    path.write_text("id: b\nlabel: B\ncodes:\n"
                    "  - {id: g1, label: G1, description: Talk about waiting, codes: [{id: g1.a, label: A}]}\n"
                    "  - {id: g2, label: G2, codes: [{id: g2.b, label: B}]}\n"
                    "  - {id: g3, label: G3, keywords: [queue], codes: [{id: g3.c, label: C}]}\n", encoding="utf-8")
    assert "3 groups, 2 with their own description, examples, keywords or aliases" in render_tree(load_taxonomy(path))
    path.write_text("id: b\nlabel: B\ncodes:\n  - {id: g2, label: G2, codes: [{id: g2.b, label: B}]}\n",
                    encoding="utf-8")
    assert "1 group, none with a description, examples, keywords or aliases" in render_tree(load_taxonomy(path))


def test_check_command_prints_the_tree_and_refuses_bad_files(tmp_path):
    from conftest import themes

    good = themes("taxonomy", "check", "nakanishi2021")
    assert good.returncode == 0, good.stderr
    assert "* barrier.safety.lack_of_compassion" in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n  - id: a\n    label: B\n")
    result = themes("taxonomy", "check", bad)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {bad}:6 (a): duplicate code id"
    assert "Traceback" not in result.stderr


def test_check_and_run_take_shipped_names_in_any_case_and_name_unknown_ones(tmp_path):
    from conftest import FIXTURES, themes

    result = themes("taxonomy", "check", "CHIME")
    assert result.returncode == 0, result.stderr
    assert result.stdout == themes("taxonomy", "check", "chime").stdout
    unknown = ("error: taxonomy: 'nope' is not a shipped taxonomy (chime, leboutillier, nakanishi2021) "
               "and no file of that name exists")
    result = themes("taxonomy", "check", "nope")
    assert result.returncode == 2 and result.stderr.strip() == unknown
    config = tmp_path / "c.yaml"
    config.write_text("taxonomy: nope\n")
    result = themes("run", "--config", config, "--input", FIXTURES / "small", "--out", tmp_path / "run")
    at_its_line = unknown.replace("error: taxonomy: ", f"error: {config}:1 (taxonomy): ")  # named where it was set
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == at_its_line
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()
    result = themes("run", "--taxonomy", "nope", "--input", FIXTURES / "small", "--out", tmp_path / "run")
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == unknown  # given on the command line


def test_an_emoji_escaped_as_json_writes_it_is_its_character_and_half_of_one_is_refused(tmp_path):
    import json

    from conftest import FIXTURES, themes

    path = tmp_path / "book.json"  # json.dump writes the emoji as the pair "\ud83d\ude00"
    path.write_text(json.dumps({"id": "t", "label": "T", "codes": [
        {"id": "joy", "label": "Joy \U0001F600", "examples": ["I felt happy \U0001F600"]}]}), encoding="utf-8")
    assert "\\ud83d\\ude00" in path.read_text(encoding="utf-8")
    taxonomy = load_taxonomy(path)
    assert taxonomy.codes["joy"].label == "Joy \U0001F600"
    assert taxonomy.codes["joy"].examples == ("I felt happy \U0001F600",)
    assert taxonomy.digest  # was a UnicodeEncodeError
    lone = tmp_path / "lone.yaml"
    lone.write_text('id: t\nlabel: T\ncodes:\n  - id: a\n    label: "Joy \\ud83d"\n', encoding="utf-8")
    message = (f"error: {lone}:5 (codes.0.label): '\\ud83d' is half of a character (a surrogate escape without its "
               "pair), not text; write the character itself")
    result = themes("taxonomy", "check", lone)
    assert result.returncode == 2 and result.stderr.strip() == message
    result = themes("run", "--taxonomy", lone, "--input", FIXTURES / "small", "--out", tmp_path / "run")
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


def test_ids_labels_and_keywords_are_kept_as_written_not_typed_as_yaml_1_1_would(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("id: 1.0\nlabel: 2021\ncodes:\n"
                    "  - {id: agree, label: Yes}\n  - {id: off, label: No, keywords: [yes, no, on], aliases: 5}\n"
                    "  - {id: 010, label: 1_000, examples: [0x1F, 2021-01-01]}\n"
                    "  - id: 1.1\n    label: 1.5\n    description: 2021-01-01\n  - {id: '1.10', label: ~}\n",
                    encoding="utf-8")
    with pytest.raises(ThemesError, match=r"t.yaml:10 \(1.10\): code has no label"):  # null is still null
        load_taxonomy(path)
    path.write_text(path.read_text(encoding="utf-8").replace("label: ~", "label: null label"), encoding="utf-8")
    taxonomy = load_taxonomy(path)
    assert (taxonomy.id, taxonomy.label) == ("1.0", "2021")
    assert [(c.id, c.label) for c in taxonomy.walk()] == [
        ("agree", "Yes"), ("off", "No"), ("010", "1_000"), ("1.1", "1.5"), ("1.10", "null label")]
    assert taxonomy.codes["off"].keywords == ("yes", "no", "on") and taxonomy.codes["off"].aliases == ("5",)
    assert taxonomy.codes["010"].examples == ("0x1F", "2021-01-01")
    assert taxonomy.codes["1.1"].description == "2021-01-01"
    path.write_text("id: t\nlabel: T\ncodes:\n  - {id: !!int 5, label: A}\n", encoding="utf-8")
    with pytest.raises(ThemesError, match=r"t.yaml:4 \(id\): a code's id must be text, not a number"):
        load_taxonomy(path)


def refusal(path, text: str) -> str:
    """The one-line message that loading ``text``, written to ``path``, is refused with."""
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ThemesError) as err:
        load_taxonomy(path)
    return str(err.value)


@pytest.mark.parametrize("first, second", [("caf\u00e9", "cafe\u0301"), ("Access", "access"), ("STRASSE", "straße")])
def test_ids_that_differ_only_in_case_or_in_how_accents_are_encoded_are_refused(tmp_path, first, second):
    path = tmp_path / "t.yaml"
    text = f"id: t\nlabel: T\ncodes:\n  - id: {first}\n    label: A\n  - id: {second}\n    label: B\n"
    assert refusal(path, text) == f"{path}:6 ({second}): same id as line 4 apart from case or accents"


@pytest.mark.parametrize("code, message", [
    ('{id: "x\\ty", label: A}', r"t.yaml:4 (x\ty): the id has a control character (a tab); write it on one line"),
    ('{id: "x\\ny", label: A}', r"t.yaml:4 (x\ny): the id has a control character (a line break); write it on one line"),
    ('{id: a, label: "A\\0B"}', "t.yaml:4 (a): the label has a control character (U+0000); write it on one line"),
    ('{id: a, label: "A\\x85B"}', "t.yaml:4 (a): the label has a control character (U+0085); write it on one line"),
])
def test_a_control_character_in_an_id_or_label_is_refused(tmp_path, code, message):
    assert refusal(tmp_path / "t.yaml", f"id: t\nlabel: T\ncodes:\n  - {code}\n") == f"{tmp_path}/{message}"


@pytest.mark.parametrize("top, message", [
    ("label: T\ndescription: [one, two]", "t.yaml:3 (description): the taxonomy's description must be text, not a list"),
    ("label: T\ncitation: {a: 1}", "t.yaml:3 (citation): the taxonomy's citation must be text, not a mapping"),
    ("label: [T]", "t.yaml:2 (label): the taxonomy's label must be text, not a list"),
])
def test_a_taxonomys_own_texts_of_the_wrong_kind_are_refused_not_stored_as_python_text(tmp_path, top, message):
    assert refusal(tmp_path / "t.yaml", f"id: t\n{top}\ncodes:\n  - {{id: a, label: A}}\n") == f"{tmp_path}/{message}"


# CHIME's labels as the project's framework sheet gives them (Leamy et al. 2011, and the
# Japanese study's additions): a label is what an analyst reads and what a profile embeds.
CHIME_LABELS = {
    "connectedness": "Connectedness", "connectedness.peer_support": "Peer support and support groups",
    "connectedness.relationships": "Relationships", "connectedness.support_from_others": "Support from others",
    "connectedness.community": "Being part of the community",
    "connectedness.compassion_for_others": "Compassion for others",
    "hope": "Hope and optimism about the future", "hope.belief_in_recovery": "Belief in the possibility of recovery",
    "hope.motivation_to_change": "Motivation to change",
    "hope.hope_inspiring_relationships": "Hope-inspiring relationships",
    "hope.positive_thinking": "Positive thinking and valuing success",
    "hope.dreams_and_aspirations": "Dreams and aspirations",
    "identity": "Identity", "identity.dimensions": "Dimensions of identity",
    "identity.positive_identity": "Rebuilding/redefining a positive sense of identity",
    "identity.overcoming_stigma": "Overcoming stigma",
    "identity.not_shaped_by_norms": "Rebuilding/redefining identity not shaped by social norms",
    "meaning": "Meaning in life", "meaning.illness_experience": "Meaning of the illness experience",
    "meaning.spirituality": "Spirituality", "meaning.quality_of_life": "Quality of life",
    "meaning.social_roles_and_goals": "Meaningful social roles and goals", "meaning.rebuilding_life": "Rebuilding life",
    "empowerment": "Empowerment", "empowerment.personal_responsibility": "Personal responsibility",
    "empowerment.control_over_life": "Control over life", "empowerment.focusing_on_strengths": "Focusing on strengths",
    "positive_childhood_experiences": "Positive experiences in childhood",
}


def test_chime_keeps_the_framework_sheets_labels_and_ids():
    taxonomy = load_taxonomy(TAXONOMY_DIR / "chime.yaml")
    assert {code.id: code.label for code in taxonomy.walk()} == CHIME_LABELS


@pytest.mark.parametrize("body, message", [
    # an anchored code repeated by an alias: the repeat's line, not the anchor's
    ("id: t\nlabel: T\ncodes:\n  - &A\n    id: a\n    label: A\n  - *A\n", "t.yaml:7 (a): duplicate code id"),
    # a group copied by a merge key: the line of the merge, not '?'
    ("id: t\nlabel: T\ncodes:\n  - &G\n    id: g\n    label: G\n    codes:\n      - id: g.x\n        label: X\n"
     "  - <<: *G\n    id: h\n", "t.yaml:10 (g.x): duplicate code id"),
    ("id: t\nlabel: T\ncodes:\n  a:\n    label: A\n",
     "t.yaml:3 (codes): the taxonomy has no codes in a list: they are written as a mapping; write each as an item "
     "of a list ('- id: ...')"),
    ("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n    codes:\n      b:\n        label: B\n",
     "t.yaml:6 (a): 'codes' must be a list of child codes (each an item: '- id: ...'), not a mapping"),
])
def test_aliases_merge_keys_and_codes_written_as_a_mapping_are_named_where_they_are(tmp_path, body, message):
    assert refusal(tmp_path / "t.yaml", body) == f"{tmp_path}/{message}"


def test_a_merge_key_still_copies_a_codes_texts(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("id: t\nlabel: T\ncodes:\n  - &A\n    id: a\n    label: A\n    description: d\n"
                    "  - <<: *A\n    id: b\n", encoding="utf-8")
    taxonomy = load_taxonomy(path)
    assert [(c.id, c.label, c.description) for c in taxonomy.walk()] == [("a", "A", "d"), ("b", "A", "d")]
