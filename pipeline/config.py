"""Typed pipeline configuration, built and checked once from defaults < ``--config FILE`` < flags.

An error names the offending field; local paths are made absolute here. What they name on disk is
checked by the pre-flight (``pipeline/preflight.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import difflib
import os
from pathlib import Path
import posixpath
import re
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator
import yaml

from components.canary.options import CanaryOptions
from components.embeddings.options import EmbeddingOptions, Word2VecOptions, word2vec_dimension_conflict
from components.evaluator.options import EvaluationOptions
from components.example_gen.options import EvalPercent, ExampleGenOptions, is_remote
from components.example_gen.spans import check_num_spans, check_placeholders, check_span
from components.options import Options, OptionsError, check_text, shown
from components.pusher.options import PushOptions
from components.statistics.options import DriftOptions
from components.trainer.options import Architecture, TrainerOptions
from components.transform.options import TransformOptions

SAMPLE_DATA = Path(__file__).resolve().parent / "data" / "aclImdb_sample.tar.gz"
DEFAULT_OUTPUT = "imdb-pipeline-output"
# The output folder's layout: every artifact below PIPELINE_ROOT_DIR, pushed
# versions below SERVING_DIR, the ML Metadata store of local runs in METADATA_FILE.
PIPELINE_ROOT_DIR = "pipeline_root"
SERVING_DIR = "serving"
METADATA_FILE = "metadata.sqlite"
DEFAULT_PIPELINE_NAME = "imdb-sentiment"
DEFAULT_MODEL_NAME = "imdb_sentiment"

# Beam's DirectRunner first tries the Prism runner, which downloads a binary at
# start-up; FnApiRunner is the engine DirectRunner falls back to for batch
# pipelines, named explicitly so a run works offline. Used unless the Beam
# arguments name a runner.
DEFAULT_RUNNER_ARG = "--runner=FnApiRunner"


def is_blank(value: str) -> bool:
    """Whether a path or a name is empty or white space only: refused from a flag and a config file alike."""
    return not value.strip()


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{{name}} must be a non-empty string, got {shown(value)}")
    if is_blank(value):
        raise ValueError(
            f"{{name}} is blank (white space only), got {shown(value)}: give a value, or leave it out for its default"
        )
    return value


def _span(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{{name}} must be a whole number >= 0, got {shown(value)}")
    return value


def _num_spans(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10000:
        raise ValueError(f"{{name}} must be a whole number between 1 and 10000, got {shown(value)}")
    return value


def _beam_args(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(arg, str) for arg in value):
        raise ValueError(f"{{name}} must be a list of flags, got {shown(value)}")
    for arg in value:
        check_text("beam_args", arg)
    return with_default_runner(value)


Text = Annotated[str, BeforeValidator(_text)]


class PipelineConfig(Options):
    """Everything one pipeline run needs: the top-level options and one section per step.

    Local paths are absolute, so ML Metadata and reports name the same files from any working folder.
    """

    model_config = ConfigDict(Options.model_config, validate_default=True)  # defaults made absolute too

    data: Text = Field(
        str(SAMPLE_DATA),
        description="IMDb dataset: an aclImdb/ directory or the aclImdb_v1.tar.gz archive (local or on a "
        "Beam-supported filesystem such as gs://), or spans such as '/data/span-{SPAN}/aclImdb_v1.tar.gz' "
        "(each run ingests the newest span)",
    )
    vectors: Annotated[
        str | None, BeforeValidator(lambda value: value if value is None else _text(value))
    ] = Field(
        None, description="pretrained word-vector file; without it word2vec is trained on the run's text"
    )
    output: Text = Field(
        DEFAULT_OUTPUT, description="directory for the pipeline root, metadata store and serving root"
    )
    pipeline_name: Text = Field(DEFAULT_PIPELINE_NAME, description="TFX pipeline name (ML Metadata context)")
    model_name: Text = Field(DEFAULT_MODEL_NAME, description="model folder under the serving root")
    eval_percent: EvalPercent = Field(
        10, description="percent of training reviews, grouped by movie, held out for validation"
    )
    span: Annotated[int | None, BeforeValidator(_span)] = Field(
        None, description="ingest this span instead of the newest (data with {SPAN})"
    )
    num_spans: Annotated[int, BeforeValidator(_num_spans)] = Field(
        1,
        description="with {SPAN} in data: read this many spans together, ending at --span or the newest "
        "(the last K spans of a rolling window); every span of the range must be there",
    )
    beam_args: Annotated[tuple[str, ...], BeforeValidator(_beam_args)] = Field(
        (DEFAULT_RUNNER_ARG,), description="flags passed untouched to every Beam-based step"
    )
    example_gen: ExampleGenOptions = Field(default_factory=ExampleGenOptions)
    transform: TransformOptions = Field(default_factory=TransformOptions)
    drift: DriftOptions = Field(default_factory=DriftOptions)
    word2vec: Word2VecOptions = Field(default_factory=Word2VecOptions)
    embedding: EmbeddingOptions = Field(default_factory=EmbeddingOptions)
    trainer: TrainerOptions = Field(default_factory=TrainerOptions)
    evaluation: EvaluationOptions = Field(default_factory=EvaluationOptions)
    canary: CanaryOptions = Field(default_factory=CanaryOptions)
    push: PushOptions = Field(default_factory=PushOptions)

    @field_validator("pipeline_name")
    @classmethod
    def _kubeflow_name(cls, value: str) -> str:
        # Kubeflow Pipelines' rule for pipeline names, so the same name works everywhere.
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,127}", value):
            raise ValueError(
                "{name} must be lower-case letters, digits and '-' (starting with a letter or digit, "
                f"at most 128), got {shown(value)}"
            )
        return value

    @field_validator("model_name")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        if not all(c.isalnum() or c in "_-." for c in value):
            raise ValueError(f"{{name}} must be letters, digits, '_', '-' or '.', got {shown(value)}")
        if not value.strip("."):  # "." and ".." name the serving root and the output folder
            raise ValueError(f"{{name}} must name a folder of its own, got {shown(value)}")
        if len(value.encode("utf-8")) > 255:  # a file name's limit on every common file system
            raise ValueError(f"{{name}} must be at most 255 bytes (a folder name), got {len(value.encode())}")
        return value

    @field_validator("data", "vectors", "output")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else absolute_path(value)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        try:
            check_placeholders(self.data)
            check_span(self.data, self.span)
            check_num_spans(self.data, self.span, self.num_spans)
        except ValueError as error:
            raise OptionsError(str(error)) from error
        if self.vectors is None and (problem := word2vec_dimension_conflict(self.embedding, self.word2vec)):
            raise OptionsError(problem)
        if not self.trainer.use_embeddings and self.transform.ngram_max == 0:
            raise OptionsError(
                "trainer.use_embeddings is false and transform.ngram_max is 0: without n-grams the model would "
                "have no branch; set transform.ngram_max to 1 or more, or trainer.use_embeddings true"
            )
        if not self.trainer.use_embeddings and self.transform.ngram_buckets == 1:
            # Every n-gram of every review has the one id: its Naive Bayes ratio is log(1 / 1) = 0.
            raise OptionsError(
                "trainer.use_embeddings is false and transform.ngram_buckets is 1: every n-gram would share the "
                "one id, which weighs nothing, so the model would learn nothing; set transform.ngram_buckets to "
                "2 or more (the default is 8388608), or trainer.use_embeddings true"
            )
        widest = max(self.trainer.conv_widths)
        if (
            self.trainer.use_embeddings  # a wide-only model has no convolution
            and self.trainer.architecture == Architecture.CNN
            and self.transform.max_length < widest
        ):
            raise OptionsError(
                f"transform.max_length ({self.transform.max_length}) is shorter than the widest of "
                f"trainer.conv_widths ({widest}) with trainer.architecture cnn: raise transform.max_length "
                f"to {widest} or more, or leave out the wider convolutions"
            )
        return self

    @property
    def pipeline_root(self) -> str:
        """Artifacts of every step, one folder per step and execution."""
        return posixpath.join(self.output, PIPELINE_ROOT_DIR)

    @property
    def state_dir(self) -> str:
        """The ML Metadata store's and run lock's local folder: the output, or ~/.cache/... when that is remote."""
        if is_remote(self.output):
            return str(Path.home() / ".cache" / "imdb-pipeline" / self.pipeline_name)
        return self.output

    @property
    def metadata_path(self) -> str:
        """The ML Metadata SQLite store of local runs."""
        return posixpath.join(self.state_dir, METADATA_FILE)

    @property
    def serving_model_dir(self) -> str:
        """Where the pusher writes ``<integer version>/`` directories (TF Serving's layout)."""
        return posixpath.join(self.output, SERVING_DIR, self.model_name)


# Option sections, in data-flow order: config-file keys and flag prefixes.
SECTIONS: dict[str, type[Options]] = {
    name: field.annotation
    for name, field in PipelineConfig.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, Options)
}
TOP_LEVEL_KEYS = tuple(name for name in PipelineConfig.model_fields if name not in SECTIONS)
# Every key of a config file.
KEYS = TOP_LEVEL_KEYS + tuple(SECTIONS)
# Top-level keys that hold local paths (a config file's are relative to its folder).
PATH_KEYS = ("data", "vectors", "output")


def absolute_path(path: str, relative_to: str | None = None) -> str:
    """A local path made absolute (``~`` expanded; relative to ``relative_to`` or the working folder).

    Symbolic links are resolved (same files, same cache keys), but a file keeps its own name, whose
    suffix says what it is, and the parts yet to be made are kept as given: a symbolic link to nowhere
    or a loop there is left for the pre-flight to name. Remote URIs (``gs://...``) are returned unchanged.
    """
    if is_remote(path):
        return path
    path = os.path.expanduser(path)
    if relative_to is not None and not os.path.isabs(path):
        path = os.path.join(relative_to, path)
    path = os.path.join(os.getcwd(), path)  # not abspath: '..' after a link is above the link's target
    if os.path.isdir(path):
        return os.path.realpath(path)
    existing = nearest_existing(os.path.dirname(path))
    rest = path[len(existing) :].lstrip(os.sep)  # the parts yet to be made, and the file's name
    return os.path.join(os.path.realpath(existing), os.path.normpath(rest) if rest else rest)


def nearest_existing(path: str) -> str:
    """The absolute local ``path``, or else the nearest path above it, that exists (a link to nowhere does not)."""
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def build_config(
    file_values: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    file_dir: str | None = None,
) -> PipelineConfig:
    """Merges config-file values and flat flag ``overrides`` (``trainer.epochs``; None ignored) over the defaults.

    Relative paths of ``file_values`` are relative to ``file_dir``, the config file's folder.
    """
    merged: dict[str, Any] = {}
    for key, value in (file_values or {}).items():
        if key not in KEYS:
            raise OptionsError(f"unknown configuration key {key!r}; known: {', '.join(KEYS)}")
        if key in PATH_KEYS and isinstance(value, str) and not is_blank(value) and file_dir is not None:
            value = absolute_path(check_text(key, value), relative_to=file_dir)  # realpath fails on "\ud800"
        merged[key] = dict(value) if key in SECTIONS and isinstance(value, dict) else value
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, field = key.partition(".")
        if field:
            target = merged.setdefault(section, {})
            if isinstance(target, dict):  # else the section itself is refused, naming it
                target[field] = value
        else:
            merged[key] = value
    return PipelineConfig(**merged)


def with_default_runner(beam_args: Sequence[str]) -> tuple[str, ...]:
    """``beam_args``, led by :data:`DEFAULT_RUNNER_ARG` unless they name a runner."""
    names_runner = any(arg == "--runner" or arg.startswith("--runner=") for arg in beam_args)
    return tuple(beam_args) if names_runner else (DEFAULT_RUNNER_ARG, *beam_args)


class ConfigFile(dict):
    """The values of a YAML configuration file, and the line of each key (``section.field`` in sections)."""

    def __init__(self, path: str, values: dict[str, Any], lines: dict[str, int]):
        super().__init__(values)
        self.path = path
        self.lines = lines

    def where(self, key: str) -> str:
        """``<path>, line <n>`` of a key (``data``, ``trainer.epochs``), or the path alone."""
        line = self.lines.get(key)
        return f"{self.path}, line {line}" if line else self.path


class _KeyProblem(yaml.constructor.ConstructorError):
    """A key given twice, or one YAML reads as something else than a name: its message is shown as is."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently),
    and a key YAML reads as something else than a name (``null:``, ``true:``, ``1:``): no option has one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                if isinstance(key_node, yaml.ScalarNode):
                    problem = f"key {key_node.value!r} is not a name: YAML reads it as {shown(key)}"
                else:
                    problem = f"a key must be a name, not a {'list' if isinstance(key, list) else 'mapping'}"
                raise _KeyProblem(None, None, problem, key_node.start_mark)
            if key in seen:
                raise _KeyProblem(
                    None, None, f"key {key!r} is given twice (first on line {seen[key]})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        # Its tag does not fit: ``!!int abc``.
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            problem = f"{shown(node.value)} is no {node.tag.rsplit(':', 1)[-1]}: {error}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from error


# PyYAML follows YAML 1.1: ``010`` is 8 (octal), ``1:00`` is 60 (base 60), ``1_0`` is 10,
# ``yes``/``off`` are booleans, and ``1e-3`` is a string. This loader reads plain scalars by
# YAML 1.2's core schema instead, as JSON and a flag (``--trainer.learning_rate 1e-3``) read them:
# ``010`` is 10, ``0o10`` 8, ``0x10`` 16, ``1e-3`` 0.001; anything else (``1_0``, ``yes``) is a string.
# The spellings of true and false in YAML 1.2's core schema.
BOOL_SPELLINGS = ("true", "True", "TRUE", "false", "False", "FALSE")
_CORE_SCHEMA = {
    "tag:yaml.org,2002:bool": (f"^(?:{'|'.join(BOOL_SPELLINGS)})$", "tTfF"),
    "tag:yaml.org,2002:int": (r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    "tag:yaml.org,2002:float": (
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
}
# YAML 1.1's other implicit tags (timestamp, merge '<<', value '=') are not the core schema's: strings.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, (_pattern, _first) in _CORE_SCHEMA.items():
    _StrictLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _core_schema_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    value = loader.construct_scalar(node)
    base = {"0o": 8, "0x": 16}.get(value[:2])
    return int(value[2:], base) if base else int(value, 10)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _core_schema_int)


def read_number(text: str) -> int | float | None:
    """A number given on the command line, read as a config file reads it (``0x10`` is 16, ``1e-3``
    0.001); None where a config file would read no number (``1_0``, non-ASCII digits, ``nan``, ``3 # three``)."""
    text = text.strip()
    if not any(re.match(_CORE_SCHEMA[f"tag:yaml.org,2002:{tag}"][0], text) for tag in ("int", "float")):
        return None
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError:  # beyond Python's 4,300 digits of int(): no number either
        return None
    finally:
        loader.dispose()


def read_bool(text: str) -> bool | None:
    """A true/false given on the command line, read as a config file reads it (:data:`BOOL_SPELLINGS`, with
    spaces around it, as a file's line may hold; a tab or other blank is refused there); None for anything else
    (``1``, ``yes``, ``on``: YAML 1.1's, which a config file reads as text)."""
    text = text.strip(" ")
    return text.lower() == "true" if text in BOOL_SPELLINGS else None


def _key_lines(node: yaml.Node) -> dict[str, int]:
    """Line of each top-level key and of each ``section.field`` key below it."""
    lines: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return lines
    for key_node, value_node in node.value:
        key = str(key_node.value)
        lines[key] = key_node.start_mark.line + 1
        if isinstance(value_node, yaml.MappingNode):
            for field_node, _ in value_node.value:
                lines[f"{key}.{field_node.value}"] = field_node.start_mark.line + 1
    return lines


# The largest config file read (a configuration is a few dozen lines).
MAX_CONFIG_BYTES = 2**20


def load_config_file(path: str) -> ConfigFile:
    """Reads a YAML configuration file (safe loading): known keys, UTF-8, each key once; errors name the line."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)  # /dev/zero or a huge file would be read without end
    except OSError as error:
        raise OptionsError(f"cannot read config file {path}: {error.strerror}") from error
    if len(data) > MAX_CONFIG_BYTES:
        raise OptionsError(
            f"config file {path} is larger than {MAX_CONFIG_BYTES / 2**20:g} MiB ({MAX_CONFIG_BYTES:,} bytes), "
            "the most a config file may hold"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise OptionsError(
            f"config file {path}, line {line}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); save it as UTF-8"
        ) from error
    loader = None
    try:
        loader = _StrictLoader(text)  # refuses a control character (YAML's printable set) here
        node = loader.get_single_node()
        values = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}, line {mark.line + 1}" if mark else path
        problem = " ".join(part for part in (error.context, error.problem) if part)
        if not isinstance(error, _KeyProblem):
            problem = f"not valid YAML: {problem}"
        raise OptionsError(f"config file {where}: {problem}") from error
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise OptionsError(
            f"config file {path}, line {line}: not valid YAML: character {error.character:#06x} "
            "is not allowed (a control character)"
        ) from error
    except yaml.YAMLError as error:
        raise OptionsError(f"config file {path} is not valid YAML: {error}") from error
    except RecursionError:
        raise OptionsError(f"config file {path} is not valid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    if values is None:
        return ConfigFile(path, {}, {})
    if not isinstance(values, dict):
        raise OptionsError(f"config file {path} must hold a mapping of keys, got {type(values).__name__}")
    config_file = ConfigFile(path, values, _key_lines(node))
    for key, value in values.items():
        if key not in KEYS:
            raise OptionsError(
                f"config file {config_file.where(str(key))}: unknown key {key!r}"
                + did_you_mean(str(key), KEYS)
                + f"; known: {', '.join(KEYS)}"
            )
        if key in SECTIONS:
            if value is None:  # a section whose options are all commented out
                config_file[key] = value = {}
            if not isinstance(value, dict):
                raise OptionsError(
                    f"config file {config_file.where(key)}: {key} must be a mapping of options, got {shown(value)}"
                )
            fields = list(SECTIONS[key].model_fields)
            for field in value:
                if field not in fields:
                    raise OptionsError(
                        f"config file {config_file.where(f'{key}.{field}')}: unknown option {f'{key}.{field}'!r}"
                        + did_you_mean(str(field), fields, prefix=f"{key}.")
                        + f"; known: {', '.join(sorted(fields))}"
                    )
    return config_file


def did_you_mean(name: str, known: Iterable[str], prefix: str = "") -> str:
    """`` (did you mean <prefix><closest>?)``, or nothing when no known name is close (see :func:`closest`)."""
    close = closest(name, known)
    return f" (did you mean {prefix}{close}?)" if close else ""


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name``, ignoring case and the separators ``-``, ``_`` and ``.``."""
    by_key: dict[str, str] = {}
    for option in known:
        by_key.setdefault(_comparable(option), option)
    key = _comparable(name)
    found = (
        ([key] if key in by_key else [])
        or difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.75)
        # One letter too many, missing, wrong or two swapped (`--kk` for `--k`): too short for difflib's ratio.
        or [k for k in by_key if _one_edit_apart(key, k)]
        # A cut-short name (`--out`, `--da`): the first known name it begins (a command lists its own first).
        or [k for k in by_key if len(key) >= 2 and k.startswith(key)]
    )
    return by_key[found[0]] if found else None


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter added, removed or replaced, or two neighbours swapped."""
    if a == b:
        return False
    first_difference = len(os.path.commonprefix([a, b]))  # noqa: RUF071 - letter by letter, as wanted
    a, b = a[first_difference:], b[first_difference:]
    replaced, added, removed = a[1:] == b[1:], a == b[1:], a[1:] == b
    swapped = a[2:] == b[2:] and a[:2] == b[1::-1]
    return replaced or added or removed or swapped


def _comparable(name: str) -> str:
    return re.sub(r"[-_.]", "", name.lower())
