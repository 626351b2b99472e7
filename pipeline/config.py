"""Typed pipeline configuration, built once from defaults, a YAML file and flags.

Precedence: built-in defaults < ``--config FILE`` < command-line flags. Every
value is checked when the configuration is built, and an error names the
offending field; local paths are made absolute here, once. What the values
name on disk (the dataset, spans, vectors file, output folder) is checked by
the pre-flight, ``pipeline/preflight.py``, before any step runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import dataclasses
import difflib
import os
from pathlib import Path
import posixpath
import re
from typing import Any

import yaml

from components.canary.options import CanaryOptions
from components.embeddings.options import EmbeddingOptions, Word2VecOptions
from components.evaluator.options import EvaluationOptions
from components.example_gen.options import ExampleGenOptions, is_remote, validate_eval_percent
from components.example_gen.spans import check_span
from components.options import Options, OptionsError, check_text
from components.pusher.options import PushOptions
from components.trainer.options import TrainerOptions
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

# Option sections, in data-flow order: config-file keys and flag prefixes.
SECTIONS: dict[str, type[Options]] = {
    ExampleGenOptions.SECTION: ExampleGenOptions,
    TransformOptions.SECTION: TransformOptions,
    Word2VecOptions.SECTION: Word2VecOptions,
    EmbeddingOptions.SECTION: EmbeddingOptions,
    TrainerOptions.SECTION: TrainerOptions,
    EvaluationOptions.SECTION: EvaluationOptions,
    CanaryOptions.SECTION: CanaryOptions,
    PushOptions.SECTION: PushOptions,
}
# Top-level keys that hold local paths (made absolute).
PATH_KEYS = ("data", "vectors", "output")
TOP_LEVEL_KEYS = (
    "data",
    "vectors",
    "output",
    "pipeline_name",
    "model_name",
    "eval_percent",
    "span",
    "beam_args",
)


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Everything one pipeline run needs.

    Attributes:
        data: The Large Movie Review Dataset: an ``aclImdb/`` directory or the
            ``aclImdb_v1.tar.gz`` archive (local or on a Beam-supported
            filesystem such as ``gs://``); a ``{SPAN}`` placeholder in the path
            (e.g. ``/data/span-{SPAN}/aclImdb_v1.tar.gz``) makes each run
            ingest the newest span.
        vectors: Optional pretrained word-vector file; without it word2vec is
            trained on the run's own text.
        output: The one directory that holds the pipeline root, the ML Metadata
            store and the serving root.
        pipeline_name: TFX pipeline name (ML Metadata context).
        model_name: Folder under the serving root that receives the versions.
        eval_percent: Share of the training reviews, grouped by movie, held out
            as the eval split for training-time validation.
        beam_args: Flags passed untouched to every Beam-based step.
    """

    data: str = str(SAMPLE_DATA)
    vectors: str | None = None
    output: str = DEFAULT_OUTPUT
    pipeline_name: str = DEFAULT_PIPELINE_NAME
    model_name: str = DEFAULT_MODEL_NAME
    eval_percent: int = 10
    span: int | None = None
    example_gen: ExampleGenOptions = dataclasses.field(default_factory=ExampleGenOptions)
    transform: TransformOptions = dataclasses.field(default_factory=TransformOptions)
    word2vec: Word2VecOptions = dataclasses.field(default_factory=Word2VecOptions)
    embedding: EmbeddingOptions = dataclasses.field(default_factory=EmbeddingOptions)
    trainer: TrainerOptions = dataclasses.field(default_factory=TrainerOptions)
    evaluation: EvaluationOptions = dataclasses.field(default_factory=EvaluationOptions)
    canary: CanaryOptions = dataclasses.field(default_factory=CanaryOptions)
    push: PushOptions = dataclasses.field(default_factory=PushOptions)
    beam_args: tuple[str, ...] = (DEFAULT_RUNNER_ARG,)

    def __post_init__(self) -> None:
        for name in ("data", "output", "pipeline_name", "model_name", "vectors"):
            value = getattr(self, name)
            if not (value is None and name == "vectors") and (not isinstance(value, str) or not value):
                raise OptionsError(f"{name} must be a non-empty string, got {value!r}")
            if value is not None:
                check_text(name, value)
        for arg in self.beam_args if isinstance(self.beam_args, (list, tuple)) else ():
            if isinstance(arg, str):
                check_text("beam_args", arg)
        try:
            validate_eval_percent(self.eval_percent)
        except ValueError as error:
            raise OptionsError(str(error)) from error
        # Kubeflow Pipelines' rule for pipeline names, so the same name works everywhere.
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,127}", self.pipeline_name):
            raise OptionsError(
                f"pipeline_name must be lower-case letters, digits and '-' (starting with a letter or "
                f"digit, at most 128), got {self.pipeline_name!r}"
            )
        if not all(c.isalnum() or c in "_-." for c in self.model_name):
            raise OptionsError(
                f"model_name must be letters, digits, '_', '-' or '.', got {self.model_name!r}"
            )
        try:
            check_span(self.data, self.span)
        except ValueError as error:
            raise OptionsError(str(error)) from error
        if self.span is not None and (
            isinstance(self.span, bool) or not isinstance(self.span, int) or self.span < 0
        ):
            raise OptionsError(f"span must be a whole number >= 0, got {self.span!r}")
        if self.embedding.dimension and self.vectors is None:
            check_embedding_dimension(None, self.embedding, self.word2vec)
        # Made absolute once, here: ML Metadata, manifests and reports then name the
        # same files whichever folder a later run or report is started from.
        for name in ("data", "vectors", "output"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, absolute_path(value))

    @property
    def pipeline_root(self) -> str:
        """Artifacts of every step, one folder per step and execution."""
        return posixpath.join(self.output, PIPELINE_ROOT_DIR)

    @property
    def state_dir(self) -> str:
        """Local folder for the ML Metadata store and the run lock of local runs.

        The output folder itself, unless it is remote (``gs://...``): SQLite and
        file locks need a local filesystem, so they then live in
        ``~/.cache/imdb-pipeline/<pipeline_name>/``.
        """
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


def absolute_path(path: str, relative_to: str | None = None) -> str:
    """A local path made absolute (``~`` expanded; relative to ``relative_to`` or the working folder).

    Symbolic links are resolved, so two names of the same files (``link/aclImdb``
    with ``link -> /data``, and ``/data/aclImdb``) give the same path, hence the
    same ML Metadata records and TFX cache keys. A file keeps its own name
    (only the folders above it are resolved): its suffix says what it is
    (``.tar.gz``, a vector format), which a link's target need not share.
    Remote URIs (``gs://...``) are returned unchanged.
    """
    if is_remote(path):
        return path
    path = os.path.expanduser(path)
    if relative_to is not None and not os.path.isabs(path):
        path = os.path.join(relative_to, path)
    path = os.path.abspath(path)
    resolved = os.path.realpath(path)
    if os.path.isdir(resolved):
        return resolved
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def check_embedding_dimension(
    vectors: str | None, embedding: EmbeddingOptions, word2vec: Word2VecOptions
) -> None:
    """Refuses a configured ``embedding.dimension`` that the vectors cannot have.

    Only the header or first record of a local file is read, and only when a
    dimension is configured (reading imports TensorFlow); a remote file is
    checked by the EmbeddingAligner. Without ``vectors``, word2vec trains
    ``word2vec.dimension``-long vectors. Reads the file: part of the
    pre-flight (``pipeline/preflight.py``).
    """
    if embedding.dimension == 0:
        return
    if vectors is None:
        if word2vec.dimension != embedding.dimension:
            raise OptionsError(
                f"embedding.dimension is {embedding.dimension}, but word2vec.dimension (the vectors trained "
                f"when no --vectors file is given) is {word2vec.dimension}; set them equal, or "
                "embedding.dimension to 0"
            )
        return
    if is_remote(vectors):
        return
    from components.embeddings import vectors as vector_files  # imports TensorFlow

    try:
        actual = vector_files.read_dimension(vectors, embedding.vectors_format)
    except vector_files.VectorFileError as error:
        raise OptionsError(f"vectors: {error}") from error
    problem = embedding.dimension_conflict(actual, vectors)
    if problem:
        raise OptionsError(problem)


def build_config(
    file_values: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    file_dir: str | None = None,
) -> PipelineConfig:
    """Merges config-file values and flag overrides over the defaults.

    Checks values only; :func:`pipeline.preflight.check` then checks what they
    name on the file system.

    Args:
        file_values: Parsed YAML: top-level keys plus one mapping per section.
        overrides: Flat ``{"data": ..., "trainer.epochs": 3, ...}`` from flags;
            ``None`` values are ignored.
        file_dir: The folder of the config file: relative paths in
            ``file_values`` are relative to it (flags: to the working folder).
    """
    merged: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, value in (file_values or {}).items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise OptionsError(f"{key} must be a mapping of options, got {value!r}")
            sections[key].update(value)
        elif key in TOP_LEVEL_KEYS:
            if key in PATH_KEYS and isinstance(value, str) and value and file_dir is not None:
                value = absolute_path(value, relative_to=file_dir)
            merged[key] = value
        else:
            raise OptionsError(
                f"unknown configuration key {key!r}; known: {', '.join(TOP_LEVEL_KEYS + tuple(SECTIONS))}"
            )
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, field = key.partition(".")
        if field:
            sections[section][field] = value
        else:
            merged[key] = value
    if "beam_args" in merged:
        beam_args = merged["beam_args"]
        if not isinstance(beam_args, (list, tuple)) or not all(isinstance(arg, str) for arg in beam_args):
            raise OptionsError(f"beam_args must be a list of flags, got {beam_args!r}")
        merged["beam_args"] = with_default_runner(beam_args)
    for name, options_class in SECTIONS.items():
        merged[name] = options_class.from_dict(sections[name])
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


class _DuplicateKeyError(yaml.constructor.ConstructorError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
                seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:
                continue  # an unhashable key: construct_mapping below says so
            if first is not None:
                raise _DuplicateKeyError(
                    None, None, f"key {key!r} is given twice (first on line {first})", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


# PyYAML follows YAML 1.1, where a float needs a dot and a signed exponent: ``1e-3``,
# ``1E+2`` and ``1.0e3`` are read as strings. YAML 1.2, JSON and a flag
# (``--trainer.learning_rate 1e-3``) read them as numbers, and so does this loader.
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


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


def load_config_file(path: str) -> ConfigFile:
    """Reads a YAML configuration file: a mapping of known keys, UTF-8, each key once.

    Safe loading only (no arbitrary objects). Every problem is an
    :class:`OptionsError` naming the file and, where there is one, the line.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise OptionsError(f"cannot read config file {path}: {error.strerror}") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise OptionsError(
            f"config file {path}, line {line}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); save it as UTF-8"
        ) from error
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        values = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}, line {mark.line + 1}" if mark else path
        problem = " ".join(part for part in (error.context, error.problem) if part)
        if not isinstance(error, _DuplicateKeyError):
            problem = f"not valid YAML: {problem}"
        raise OptionsError(f"config file {where}: {problem}") from error
    except yaml.YAMLError as error:
        raise OptionsError(f"config file {path} is not valid YAML: {error}") from error
    finally:
        loader.dispose()
    if values is None:
        return ConfigFile(path, {}, {})
    if not isinstance(values, dict):
        raise OptionsError(f"config file {path} must hold a mapping of keys, got {type(values).__name__}")
    lines = _key_lines(node)
    config_file = ConfigFile(path, values, lines)
    for key, value in values.items():
        if not isinstance(key, str) or (key not in TOP_LEVEL_KEYS and key not in SECTIONS):
            raise OptionsError(
                f"config file {config_file.where(str(key))}: unknown key {key!r}"
                + _did_you_mean(str(key), TOP_LEVEL_KEYS + tuple(SECTIONS))
                + f"; known: {', '.join(TOP_LEVEL_KEYS + tuple(SECTIONS))}"
            )
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise OptionsError(
                    f"config file {config_file.where(key)}: {key} must be a mapping of options, got {value!r}"
                )
            fields = [field.name for field in dataclasses.fields(SECTIONS[key])]
            for field in value:
                if field not in fields:
                    raise OptionsError(
                        f"config file {config_file.where(f'{key}.{field}')}: unknown option {key}.{field}"
                        + _did_you_mean(str(field), fields, prefix=f"{key}.")
                        + f"; known: {', '.join(sorted(fields))}"
                    )
    return config_file


def _did_you_mean(name: str, known: Sequence[str], prefix: str = "") -> str:
    close = closest(name, known)
    return f" (did you mean {prefix}{close}?)" if close else ""


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name``, ignoring case and the separators ``-``, ``_`` and ``.``."""
    by_key: dict[str, str] = {}
    for option in known:
        by_key.setdefault(_comparable(option), option)
    key = _comparable(name)
    if key in by_key:
        return by_key[key]
    matches = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.75)
    return by_key[matches[0]] if matches else None


def _comparable(name: str) -> str:
    return re.sub(r"[-_.]", "", name.lower())
