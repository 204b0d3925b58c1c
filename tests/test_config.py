import pytest

from pipeline.config import load_config, resolve_taxonomy_path
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


def test_bad_value_names_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("clustering:\n  min_cluster_size: one\n")
    with pytest.raises(ThemesError, match=r"c.yaml:2 \(clustering.min_cluster_size\)"):
        load_config(path)


def test_invalid_yaml_names_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("clustering:\n  min_cluster_size: [4\n")
    with pytest.raises(ThemesError, match=r"c.yaml:\d+: invalid YAML"):
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
