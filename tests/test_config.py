import pytest

from pipeline.config import (DEFAULT_CONFIG, LANGUAGES, PROJECT_ROOT, TAXONOMY_DIR, Config, load_config,
                             resolve_taxonomy_path)
from pipeline.errors import ThemesError


def test_default_loads():
    cfg = load_config()
    assert cfg.taxonomy == "nakanishi2021"
    assert resolve_taxonomy_path(cfg.taxonomy).name == "nakanishi2021.yaml"
    assert resolve_taxonomy_path("none") is None


def test_partial_user_config_merges(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("clustering:\n  min_cluster_size: 4\nspeakers:\n  roles:\n    patient: ['P*']\n")
    cfg = load_config(path)
    assert cfg.clustering.min_cluster_size == 4
    assert cfg.clustering.random_state == 42  # kept from the default
    assert cfg.speakers.roles == {"patient": ["P*"]}  # replaced as a whole


def test_unknown_key_names_file_line_and_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("clustering:\n  min_cluster_size: 4\n  min_clustr: 3\n")
    with pytest.raises(ThemesError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:3 (clustering.min_clustr): unknown key"


@pytest.mark.parametrize("body, message", [
    ("clustering:\n  min_cluster_size: one\n", r"c.yaml:2 \(clustering.min_cluster_size\)"),
    # The text cannot be left out, as the other columns can.
    ("input:\n  columns:\n    text: ''\n    speaker: ''\n", r"c.yaml:3 \(input.columns.text\): the text is what is read"),
    # Values that passed and then crashed a stage, or wrote NaN scores.
    ("clustering:\n  random_state: -1\n", r"c.yaml:2 \(clustering.random_state\): must be from 0 to 4294967295"),
    ("clustering:\n  random_state: 4294967296\n", r"c.yaml:2 \(clustering.random_state\): must be from 0"),
    ("clustering:\n  umap_min_dist: 1.5\n", r"c.yaml:2 \(clustering.umap_min_dist\)"),
    ("mapping:\n  shared_words: .inf\n", r"c.yaml:2 \(mapping.shared_words\): .*finite"),
    ("mapping:\n  turn_context: 1e39\n", r"c.yaml:2 \(mapping.turn_context\): must be from 0 to 100"),
    # The wrong kind of value is refused, not converted.
    ("segmentation:\n  max_sentences: true\n", r"c.yaml:2 \(segmentation.max_sentences\): .*integer"),
    ("clustering:\n  random_state: '42'\n", r"c.yaml:2 \(clustering.random_state\): .*integer"),
    ("segmentation:\n  cluster_backchannels: 'yes'\n", r"c.yaml:2 \(segmentation.cluster_backchannels\)"),
    ("cache:\n  dir: ''\n", r"c.yaml:2 \(cache.dir\): must name a folder"),
    ("cache:\n  dir: ' '\n", r"c.yaml:2 \(cache.dir\): must name a folder"),
    ("speakers:\n  unknown_role: ''\n", r"c.yaml:2 \(speakers.unknown_role\)"),
    # An empty name is the current folder as a path: a traceback, or a store or key in "."
    ("privacy:\n  pseudonymise: true\n  key_path: ''\n", r"c.yaml:3 \(privacy.key_path\): must name a file"),
    ("privacy:\n  names_file: ' '\n", r"c.yaml:2 \(privacy.names_file\): must name a file"),
    ("decisions:\n  path: ''\n", r"c.yaml:2 \(decisions.path\): must name a file"),
    ("embedding:\n  model: ''\n", r"c.yaml:2 \(embedding.model\): must name a model"),
    ("output:\n  dir: ''\n", r"c.yaml:2 \(output.dir\): must name a folder"),
])
def test_bad_value_names_key(tmp_path, body, message):
    path = tmp_path / "c.yaml"
    path.write_text(body)
    with pytest.raises(ThemesError, match=message):
        load_config(path)


def test_invalid_yaml_names_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("clustering:\n  min_cluster_size: [4\n")
    with pytest.raises(ThemesError, match=r"c.yaml:\d+: invalid YAML"):
        load_config(path)


def test_a_key_given_twice_is_refused_not_half_read(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("clustering:\n  min_cluster_size: 8\ntaxonomy: chime\nclustering:\n  selection_method: eom\n")
    with pytest.raises(ThemesError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:4 (clustering): the key is given twice (first at line 1); merge the two into one"
    path.write_text("base: &b\n  min_cluster_size: 8\nclustering:\n  <<: *b\n  selection_method: eom\n")
    with pytest.raises(ThemesError, match=r"c.yaml:1 \(base\): unknown key"):  # a merge key is no duplicate
        load_config(path)


def test_yaml_python_tags_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("taxonomy: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ThemesError, match="invalid YAML"):
        load_config(path)


def test_yaml_alias_explosion_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ThemesError, match="aliases"):
        load_config(path)


def test_non_scalar_key_is_a_clean_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("[]:\n")
    with pytest.raises(ThemesError, match="c.yaml"):
        load_config(path)


def _write(tmp_path, body: str):
    path = tmp_path / "c.yaml"
    path.write_text(body)
    return path


@pytest.mark.parametrize("value", ["englsh", "English", "[the, and]", "''"])
def test_stop_words_other_than_english_or_null_are_refused(tmp_path, value):
    # cluster.stop_words builds the English list or none: any other value dropped it silently.
    path = _write(tmp_path, f"clustering:\n  stop_words: {value}\n")
    with pytest.raises(ThemesError) as err:
        load_config(path)
    assert str(err.value) == (f"{path}:2 (clustering.stop_words): should be english "
                              "(English stop words and spoken fillers) or null (none)")


def test_stop_words_null_switches_them_off(tmp_path):
    assert load_config(_write(tmp_path, "clustering:\n  stop_words: null\n")).clustering.stop_words is None


def test_excluding_a_role_that_does_not_exist_is_refused(tmp_path):
    path = _write(tmp_path, "segmentation:\n  min_words: 3\nspeakers:\n  exclude_from_clustering: [facilitators]\n")
    with pytest.raises(ThemesError) as err:
        load_config(path)
    assert str(err.value) == (f"{path}:4 (speakers.exclude_from_clustering): 'facilitators' is not a role; "
                              "the roles are user, professional, facilitator, unknown, respondent")


def test_a_misspelt_role_that_leaves_the_excluded_one_without_labels_is_refused(tmp_path):
    """"facilitators:" in roles: the moderator's questions were clustered and quoted."""
    path = _write(tmp_path, "speakers:\n  roles:\n    user: ['P*']\n    facilitators: [Moderator]\n")
    with pytest.raises(ThemesError) as err:
        load_config(path)
    assert str(err.value).endswith("'facilitator' (left out of clustering) is a role no pattern of speakers.roles or "
                                   "speakers.overrides gives, but 'facilitators' is one: did you mean 'facilitator' there?")
    # Roles of other names, and roles without a facilitator at all, are as before.
    assert load_config(_write(tmp_path, "speakers:\n  roles:\n    patient: ['P*']\n    staff: [Dr*]\n"))
    for other in ("co_facilitator", "facilitator_2", "facilitation"):
        assert load_config(_write(tmp_path, f"speakers:\n  roles:\n    user: ['P*']\n    {other}: [Moderator]\n"))


def test_every_role_a_segment_can_get_may_be_excluded(tmp_path):
    from pipeline import speakers

    path = _write(tmp_path, "speakers:\n  roles:\n    patient: ['P*']\n  overrides:\n    'clinic_*':\n"
                            "      clinician: ['Dr *']\n  unknown_role: other\n"
                            "  exclude_from_clustering: [patient, clinician, other, respondent]\n")
    assert load_config(path).speakers.exclude_from_clustering == ["patient", "clinician", "other", "respondent"]
    assert speakers.UNLABELLED_ROLE == "respondent"
    with pytest.raises(ThemesError, match=r"c.yaml:8 .*'unknown' is not a role; the roles are patient, "
                                          r"clinician, other, respondent$"):
        load_config(_write(tmp_path, path.read_text().replace("other, respondent", "other, unknown")))


def test_replacing_roles_keeps_the_default_exclusion_loading(tmp_path):
    # The default excludes facilitator; a config (or a run folder's config.yaml) without that role loads.
    cfg = load_config(_write(tmp_path, "speakers:\n  roles:\n    patient: ['P*']\n"))
    assert cfg.speakers.exclude_from_clustering == ["facilitator"]


@pytest.mark.parametrize("value", ["sv", "EN", "english", "ja_JP"])
def test_unsupported_language_is_refused(tmp_path, value):
    path = _write(tmp_path, f"segmentation:\n  language: {value}\n")
    with pytest.raises(ThemesError) as err:
        load_config(path)
    assert str(err.value) == (f"{path}:2 (segmentation.language): should be en, de, fr, es, nl, it, pt, ja or zh, "
                              "or xx for another language written with spaces between words")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_accepted_language_splits_sentences(tmp_path, language):
    from pipeline.segment import sentence_spans

    cfg = load_config(_write(tmp_path, f"segmentation:\n  language: {language}\n"))
    text = {"ja": "待ち時間が長かった。でも大丈夫。", "zh": "我们等了很久。后来还好。"}.get(
        language, "We waited for hours. Then it was fine.")
    assert len(sentence_spans(text, cfg.segmentation.language)) == 2


def test_default_yaml_sets_and_docs_describe_every_key():
    import yaml

    default = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    doc = (PROJECT_ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert set(default) == set(Config.model_fields)
    for name, field in Config.model_fields.items():
        section = field.default_factory  # the section's model; None for `taxonomy`, a plain value
        if section is None:
            assert f"`{name}`" in doc, name
            continue
        assert set(default[name]) == set(section.model_fields), name
        for key in section.model_fields:
            assert f"`{name}.{key}`" in doc, f"{name}.{key}"


def test_shipped_taxonomy_names_match_in_any_case():
    for value in ("CHIME", "Chime", " chime "):
        assert resolve_taxonomy_path(value) == TAXONOMY_DIR / "chime.yaml"
    assert resolve_taxonomy_path("NONE") is None


def test_unknown_taxonomy_names_the_key_and_the_shipped_ones(tmp_path):
    with pytest.raises(ThemesError) as err:
        resolve_taxonomy_path("nope")
    assert str(err.value) == ("taxonomy: 'nope' is not a shipped taxonomy (chime, leboutillier, nakanishi2021) "
                              "and no file of that name exists")
    with pytest.raises(ThemesError, match=r"^taxonomy: '.*missing.xlsx' is not a shipped taxonomy"):
        resolve_taxonomy_path(str(tmp_path / "missing.xlsx"))
    with pytest.raises(ThemesError, match="is a folder, not a codebook; name the file"):
        resolve_taxonomy_path(str(tmp_path))


def test_an_existing_file_resolves_to_itself_even_when_bad(tmp_path):
    bad = tmp_path / "book.yaml"
    bad.write_text("id: t\nlabel: T\ncodes: []\n")
    assert resolve_taxonomy_path(str(bad)) == bad


def test_a_run_folders_saved_config_is_read_again_without_checks_added_since(tmp_path):
    saved = tmp_path / "config.yaml"
    saved.write_text("segmentation:\n  language: ko\nclustering:\n  stop_words: german\n"
                     "speakers:\n  exclude_from_clustering: [moderators]\n")
    with pytest.raises(ThemesError, match=r"config.yaml:\d+ \((segmentation.language|speakers.exclude_from_clustering)\)"):
        load_config(saved)
    config = load_config(saved, saved_run=True)  # as export and decisions read a run folder's own
    assert (config.segmentation.language, config.clustering.stop_words) == ("ko", "german")


def test_numbers_in_any_usual_notation(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("mapping:\n  threshold: 1e-1\n  cluster_threshold: 2.5E-1\n  top_k: 5\n  shared_words: 0\n")
    mapping = load_config(path).mapping
    assert (mapping.threshold, mapping.cluster_threshold, mapping.top_k, mapping.shared_words) == (0.1, 0.25, 5, 0.0)


def test_a_section_with_every_key_commented_out_keeps_the_defaults(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("clustering:\n  # min_cluster_size: 8\nmapping:\n  top_k: 5\n")
    config = load_config(path)
    assert config.clustering == load_config().clustering and config.mapping.top_k == 5


def test_bounds_added_since_a_run_do_not_refuse_its_own_config(tmp_path):
    """A run made before a bound existed (turn_context 150) is still exported and reviewed."""
    saved = tmp_path / "config.yaml"
    saved.write_text("mapping:\n  turn_context: 150\n  shared_words: 12\nclustering:\n  random_state: -1\n"
                     "speakers:\n  unknown_role: ''\n")
    config = load_config(saved, saved_run=True)
    assert (config.mapping.turn_context, config.mapping.shared_words, config.clustering.random_state) == (150, 12, -1)
    with pytest.raises(ThemesError, match=r"config.yaml:\d+ \((mapping|clustering|speakers)\.\w+\): must"):
        load_config(saved)  # a new config is held to them


def test_text_that_looks_like_a_number_stays_text(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("output:\n  dir: 2e3\nmapping:\n  threshold: 2e-1\n")
    config = load_config(path)
    assert (config.output.dir, config.mapping.threshold) == ("2e3", 0.2)


def test_half_of_a_character_escaped_in_a_config_is_refused_at_its_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text('output:\n  dir: "runs/\\udc80"\n')
    with pytest.raises(ThemesError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:2 (output.dir): '\\udc80' is half of a character")
    path.write_text('output:\n  dir: "runs/\\ud83d\\ude00"\n')  # a whole pair is its character
    assert load_config(path).output.dir == "runs/\U0001F600"


def test_a_config_that_is_a_folder_is_called_one(tmp_path):
    with pytest.raises(ThemesError, match=r": a folder, not a YAML file$"):
        load_config(tmp_path)
