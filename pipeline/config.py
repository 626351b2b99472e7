"""Typed pipeline configuration, built once from defaults, a YAML file and flags.

Precedence: built-in defaults < ``--config FILE`` < command-line flags. Every
value is checked when the configuration is built, before any work starts, and
an error names the offending field.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
import posixpath
import re
from typing import Any

import yaml

from components.canary.options import CanaryOptions
from components.embeddings.options import EmbeddingOptions, Word2VecOptions
from components.evaluator.options import EvaluationOptions
from components.example_gen.options import (
    ARCHIVE_SUFFIXES,
    ExampleGenOptions,
    is_remote,
    validate_eval_percent,
)
from components.example_gen.spans import check_span, has_span_placeholder, span_base
from components.options import Options, OptionsError
from components.pusher.options import PushOptions
from components.trainer.options import TrainerOptions
from components.transform.options import TransformOptions

SAMPLE_DATA = Path(__file__).resolve().parent / "data" / "aclImdb_sample.tar.gz"
DEFAULT_OUTPUT = "imdb-pipeline-output"
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
        if has_span_placeholder(self.data):
            fixed = span_base(self.data)
            if not is_remote(fixed) and not Path(fixed).is_dir():
                raise OptionsError(f"data: {fixed}, the folder holding the spans, does not exist")
        elif not is_remote(self.data) and not Path(self.data).exists():
            raise OptionsError(f"data: {self.data} does not exist")
        elif Path(self.data).is_file() and not self.data.lower().endswith(ARCHIVE_SUFFIXES):
            raise OptionsError(
                f"data: {self.data} is a file but not a dataset archive ({', '.join(ARCHIVE_SUFFIXES)})"
            )
        if self.span is not None and (
            isinstance(self.span, bool) or not isinstance(self.span, int) or self.span < 0
        ):
            raise OptionsError(f"span must be a whole number >= 0, got {self.span!r}")
        if self.vectors is not None and not is_remote(self.vectors) and not Path(self.vectors).is_file():
            raise OptionsError(f"vectors: {self.vectors} is not a file")
        _check_embedding_dimension(self.vectors, self.embedding, self.word2vec)
        for folder in dict.fromkeys(path for path in (self.output, self.state_dir) if not is_remote(path)):
            problem = _unwritable(folder)
            if problem:
                raise OptionsError(f"output: {problem}")

    @property
    def pipeline_root(self) -> str:
        """Artifacts of every step, one folder per step and execution."""
        return posixpath.join(self.output, "pipeline_root")

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
        return posixpath.join(self.state_dir, "metadata.sqlite")

    @property
    def serving_model_dir(self) -> str:
        """Where the pusher writes ``<integer version>/`` directories (TF Serving's layout)."""
        return posixpath.join(self.output, "serving", self.model_name)


def _check_embedding_dimension(
    vectors: str | None, embedding: EmbeddingOptions, word2vec: Word2VecOptions
) -> None:
    """Refuses a configured ``embedding.dimension`` that the vectors cannot have.

    Only the header or first record of a local file is read, and only when a
    dimension is configured (reading imports TensorFlow); a remote file is
    checked by the EmbeddingAligner. Without ``vectors``, word2vec trains
    ``word2vec.dimension``-long vectors.
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


def _unwritable(folder: str) -> str | None:
    """Why ``folder`` cannot be created or written by this process, or None (checked before any work)."""
    existing = Path(folder).absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot create {folder}: {existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write to {folder}: {existing} is not writable" + (
            "" if existing == Path(folder).absolute() else " (the nearest existing folder)"
        )
    return None


def build_config(
    file_values: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None
) -> PipelineConfig:
    """Merges config-file values and flag overrides over the defaults.

    Args:
        file_values: Parsed YAML: top-level keys plus one mapping per section.
        overrides: Flat ``{"data": ..., "trainer.epochs": 3, ...}`` from flags;
            ``None`` values are ignored.
    """
    merged: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, value in (file_values or {}).items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise OptionsError(f"{key} must be a mapping of options, got {value!r}")
            sections[key].update(value)
        elif key in TOP_LEVEL_KEYS:
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
        names_runner = any(arg == "--runner" or arg.startswith("--runner=") for arg in beam_args)
        merged["beam_args"] = tuple(beam_args) if names_runner else (DEFAULT_RUNNER_ARG, *beam_args)
    for name, options_class in SECTIONS.items():
        merged[name] = options_class.from_dict(sections[name])
    return PipelineConfig(**merged)


def load_config_file(path: str) -> dict[str, Any]:
    """Reads a YAML configuration file (``yaml.safe_load``: no arbitrary objects)."""
    try:
        with open(path, encoding="utf-8") as f:
            values = yaml.safe_load(f)
    except OSError as error:
        raise OptionsError(f"cannot read config file {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise OptionsError(f"config file {path} is not valid YAML: {error}") from error
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise OptionsError(f"config file {path} must hold a mapping of keys, got {type(values).__name__}")
    return values
