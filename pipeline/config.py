"""The run configuration: one YAML file merged over configs/default.yaml, validated by pydantic."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      ValidationInfo, field_validator)

from .errors import ThemesError, where
from .yamlio import read_yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.yaml"
TAXONOMY_DIR = PROJECT_ROOT / "configs" / "taxonomies"


class _Section(BaseModel):
    # strict: a value of the wrong kind is refused, not converted (``max_sentences: true`` is
    # not 1, ``random_state: '42'`` not 42); a whole number still does for a decimal one.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ColumnsConfig(_Section):
    """Column names for one-utterance-per-row tables (Excel, CSV, TSV, JSONL). ``None``: the column
    of the key's own name, where present (``text`` must be); ``""``: do not use one (any key
    but ``text``)."""

    text: str | None = None
    speaker: str | None = None
    source: str | None = None
    timestamp: str | None = None
    id: str | None = None
    role: str | None = None

    @field_validator("text")
    @classmethod
    def _text_is_read(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the text is what is read: name its column, or leave the key out for the column "
                             "named 'text' (or one with a usual name for text)")
        return value


def _saved_run(info: ValidationInfo) -> bool:
    """Whether a run folder's own config.yaml is being read again (export, decisions): it was
    valid when the run was made, so checks added since then do not refuse it."""
    return bool(info.context and info.context.get("saved_run"))


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _within(low: float, high: float):
    """A bound added after runs were made with wider values: a run folder's own config.yaml
    keeps what it was made with."""
    def check(value, info: ValidationInfo):
        if not _saved_run(info) and not low <= value <= high:
            raise ValueError(f"must be from {_plain(low)} to {_plain(high)}")
        return value
    return AfterValidator(check)


def _not_blank(what: str):
    def check(value: str, info: ValidationInfo) -> str:
        if not _saved_run(info) and not value.strip():
            raise ValueError(f"must name {what}")
        return value
    return AfterValidator(check)


_EXPONENT = re.compile(r"[-+]?[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+")


def _number(value: Any) -> Any:
    """'1e-3' -> 0.001: YAML 1.1, which PyYAML reads, wants a dot ('1.0e-3') to see a number."""
    return float(value) if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()) else value


# A decimal number, also written 1e-3.
Number = Annotated[float, BeforeValidator(_number)]


class InputConfig(_Section):
    paths: list[str] = Field(default_factory=list)
    on_error: Literal["fail", "skip"] = "fail"
    columns: ColumnsConfig = Field(default_factory=ColumnsConfig)
    max_file_mb: Number = Field(50.0, gt=0)


# The role of a turn without a speaker label: speakers.UNLABELLED_ROLE, repeated here because
# speakers imports this module.
UNLABELLED_ROLE = "respondent"
# Excluded by default; accepted even where no role has this name (there it excludes nothing), so a
# config that replaces speakers.roles, and the config.yaml saved in its run folders, still load.
DEFAULT_EXCLUDED = ("facilitator",)


def role_names(roles: dict[str, list[str]], overrides: dict[str, dict[str, list[str]]],
               unknown_role: str) -> list[str]:
    """Every role a segment can get (speakers.role_of), in the order the config names them."""
    named = [*roles, *(role for table in overrides.values() for role in table), unknown_role, UNLABELLED_ROLE]
    return list(dict.fromkeys(named))


class SpeakersConfig(_Section):
    roles: dict[str, list[str]] = Field(default_factory=dict)
    # source-name glob -> {role: [label patterns]}, tried before ``roles`` for matching sources.
    overrides: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    unknown_role: Annotated[str, _not_blank("a role")] = "unknown"
    exclude_from_clustering: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDED))

    @field_validator("exclude_from_clustering")
    @classmethod
    def _known_roles(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if _saved_run(info) or not {"roles", "overrides", "unknown_role"} <= info.data.keys():
            return value  # one of them is refused already, with its own message
        known = role_names(info.data["roles"], info.data["overrides"], info.data["unknown_role"])
        for role in value:
            if role not in known and role not in DEFAULT_EXCLUDED:
                raise ValueError(f"'{role}' is not a role; the roles are {', '.join(known)}")
            # A role written in the plural or in capitals in roles ("facilitators:", "Facilitator:")
            # leaves the one excluded with no label:
            # its speakers would be clustered and quoted without a word.
            near = [k for k in known if k not in value and k.lower().rstrip("s") == role.lower().rstrip("s")]
            if role not in known and near:
                raise ValueError(f"'{role}' (left out of clustering) is a role no pattern of speakers.roles or "
                                 f"speakers.overrides gives, but '{near[0]}' is one: did you mean '{role}' there?")
        return value


# The languages segment.py splits into sentences: spaCy's tokenizer for the language with its
# rule-based sentencizer (xx: the multi-language tokenizer, what any other code would get), or,
# for ja and zh, a rule of its own on 。！？ (no spaces between words for spaCy to split on).
SPACY_LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "pt")
LANGUAGES = (*SPACY_LANGUAGES, "ja", "zh", "xx")


class SegmentationConfig(_Section):
    language: str = "en"
    max_sentences: int = Field(3, ge=1)
    max_chars: int = Field(600, ge=20)
    min_words: int = Field(3, ge=0)
    cluster_backchannels: bool = False

    @field_validator("language")
    @classmethod
    def _supported_language(cls, value: str, info: ValidationInfo) -> str:
        if value not in LANGUAGES and not _saved_run(info):
            raise ValueError(f"should be {', '.join(SPACY_LANGUAGES)}, ja or zh, "
                             "or xx for another language written with spaces between words")
        return value


class EmbeddingConfig(_Section):
    model: Annotated[str, _not_blank("a model: the packaged one, a folder or a cached name")] = "all-MiniLM-L6-v2"
    backend: Literal["onnx-int8", "torch"] = "onnx-int8"
    batch_size: int = Field(64, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "cpu"
    normalize: bool = True


class CacheConfig(_Section):
    # An empty name would be the folder themes runs from.
    dir: Annotated[str, _not_blank("a folder")] = ".cache/themes"
    enabled: bool = True


class ClusteringConfig(_Section):
    random_state: Annotated[int, _within(0, 2**32 - 1)] = 42  # UMAP's and NumPy's seeds
    # "auto": 12, or one in every 400 segments clustered where that is more (cluster.py).
    min_cluster_size: Literal["auto"] | int = "auto"
    min_samples: int | None = Field(4, ge=1)
    selection_method: Literal["eom", "leaf"] = "leaf"
    umap_n_neighbors: int = Field(15, ge=2)
    umap_n_components: int = Field(5, ge=2)
    umap_min_dist: Annotated[Number, _within(0.0, 1.0)] = 0.0  # at most UMAP's spread, 1
    umap_n_epochs: int | None = Field(None, ge=10)
    top_n_words: int = Field(10, ge=1)
    representatives: int = Field(5, ge=1)
    representatives_from: Literal["many_speakers", "closest"] = "many_speakers"
    reduce_outliers: bool = True
    outlier_threshold: Number = Field(0.35, ge=0.0, le=1.0)
    stop_words: str | None = "english"  # english or null (checked below)
    reduce_frequent_words: bool = True
    representation: Literal["c-tf-idf", "mmr", "keybert"] = "c-tf-idf"
    mmr_diversity: Number = Field(0.3, ge=0.0, le=1.0)
    sample_above: int | None = Field(20000, ge=100)

    @field_validator("min_cluster_size", mode="before")
    @classmethod
    def _auto_or_size(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 2):
            return value
        raise ValueError("should be auto or a whole number of at least 2")

    @field_validator("stop_words", mode="before")
    @classmethod
    def _english_or_none(cls, value: Any, info: ValidationInfo) -> Any:
        # cluster.stop_words builds only the English list; any other value would drop it silently.
        if value is None or value == "english" or _saved_run(info) and isinstance(value, str):
            return value
        raise ValueError("should be english (English stop words and spoken fillers) or null (none)")


class MappingConfig(_Section):
    threshold: Number = Field(0.2, ge=0.0, le=1.0)
    cluster_threshold: Number = Field(0.2, ge=0.0, le=1.0)
    top_k: int = Field(3, ge=1)
    turn_context: Annotated[Number, _within(0.0, 100.0)] = 1.0
    # Lift per BM25 unit of words a segment shares with a code's profile (mapping.py); 0: meaning only.
    shared_words: Annotated[Number, _within(0.0, 10.0)] = 0.03


class OutputConfig(_Section):
    dir: Annotated[str, _not_blank("a folder")] = "runs/default"


class DecisionsConfig(_Section):
    # One store for the project, outside run folders; $THEMES_DECISIONS overrides it.
    path: Annotated[str, _not_blank("a file")] = "decisions/decisions.jsonl"


class PrivacyConfig(_Section):
    pseudonymise: bool = False
    key_path: Annotated[str, _not_blank("a file")] = "private/pseudonym_key.json"
    names_file: Annotated[str, _not_blank("a file (or leave the key out)")] | None = None


class Config(_Section):
    input: InputConfig = Field(default_factory=InputConfig)
    speakers: SpeakersConfig = Field(default_factory=SpeakersConfig)
    segmentation: SegmentationConfig = Field(default_factory=SegmentationConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    clustering: ClusteringConfig = Field(default_factory=ClusteringConfig)
    taxonomy: str = "nakanishi2021"
    mapping: MappingConfig = Field(default_factory=MappingConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    decisions: DecisionsConfig = Field(default_factory=DecisionsConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)

    @field_validator("taxonomy")
    @classmethod
    def _taxonomy_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a taxonomy name, a file path or 'none'")
        return value


# Sections whose value in a user config replaces the default as a whole instead of merging.
REPLACED_WHOLE = {("speakers", "roles"), ("input", "paths"), ("input", "columns")}


def merge(base: dict, override: dict, prefix: tuple = ()) -> dict:
    """Deep-merge ``override`` over ``base`` (dicts merge, everything else replaces). A section
    left empty (``clustering:`` with every key under it commented out) keeps the default's."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        path = prefix + (key,)
        if value is None and isinstance(out.get(key), dict) and path not in REPLACED_WHOLE:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict) and path not in REPLACED_WHOLE:
            out[key] = merge(out[key], value, path)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _validate(data: dict, sources: list[tuple[Path, dict]], saved_run: bool = False) -> Config:
    try:
        return Config.model_validate(data, context={"saved_run": saved_run})
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        key = ".".join(str(part) for part in loc)
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        # Name the file that set the key (the user config wins over the default).
        for path, lines in reversed(sources):
            for depth in range(len(loc), 0, -1):
                if loc[:depth] in lines:
                    raise ThemesError(f"{where(path, lines[loc[:depth]], key)}: {message}") from None
        raise ThemesError(f"{where(sources[-1][0], key=key)}: {message}") from None


def with_text_column(config: Config, name: str) -> Config:
    """``config`` reading the text from column ``name`` (``--text-column``), checked as
    ``input.columns.text`` is; the other columns stay."""
    try:
        columns = ColumnsConfig(**{**config.input.columns.model_dump(), "text": name})
    except ValidationError as err:
        raise ThemesError(f"--text-column: {err.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    config.input.columns = columns
    return config


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None, saved_run: bool = False) -> Config:
    """Load configs/default.yaml, merge the user's file over it, then CLI ``overrides``.
    ``saved_run``: the file is a run folder's config.yaml, read again after the run (checks
    added since that run was made do not refuse it)."""
    sources: list[tuple[Path, dict]] = []
    data: dict = {}
    for source in [DEFAULT_CONFIG] + ([Path(path)] if path else []):
        loaded, lines = read_yaml(source)
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ThemesError(f"{source}: a config must be a mapping of sections (input, speakers, ...)")
        data = merge(data, loaded)
        sources.append((source, lines))
    if overrides:
        data = merge(data, overrides)
    return _validate(data, sources, saved_run)


def shipped_taxonomies() -> dict[str, Path]:
    """The shipped taxonomies' names (lower case) -> their files in configs/taxonomies/."""
    return {path.stem.lower(): path for path in sorted(TAXONOMY_DIR.glob("*.yaml"))}


def resolve_taxonomy_path(value: str) -> Path | None:
    """``none`` -> None; a shipped name, in any case -> configs/taxonomies/NAME.yaml; else the
    path of an existing file. Anything else is refused, listing the shipped names."""
    name = value.strip().lower()
    if name == "none":
        return None
    shipped = shipped_taxonomies()
    if name in shipped:
        return shipped[name]
    if Path(value).is_file():
        return Path(value)
    if Path(value).is_dir():
        raise ThemesError(f"taxonomy: '{value}' is a folder, not a codebook; name the file")
    raise ThemesError(f"taxonomy: '{value}' is not a shipped taxonomy ({', '.join(shipped)}) "
                      "and no file of that name exists")


def dump_config(config: Config) -> dict:
    return config.model_dump(mode="json")
