"""Typed pipeline configuration, built once from defaults, a YAML file and flags.

Precedence: built-in defaults < ``--config FILE`` < command-line flags. Every
value is checked when the configuration is built, before any work starts, and
an error names the offending field.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
import posixpath
from typing import Any

import yaml

from components.embeddings.options import EmbeddingOptions, Word2VecOptions
from components.evaluator.options import EvaluationOptions
from components.example_gen.options import validate_eval_percent
from components.options import Options, OptionsError
from components.trainer.options import TrainerOptions
from components.transform.options import TransformOptions

SAMPLE_DATA = Path(__file__).resolve().parent / "data" / "aclImdb_sample.tar.gz"
DEFAULT_OUTPUT = "imdb-pipeline-output"
DEFAULT_PIPELINE_NAME = "imdb_sentiment"
DEFAULT_MODEL_NAME = "imdb_sentiment"

# Beam's DirectRunner first tries the Prism runner, which downloads a binary at
# start-up; FnApiRunner is the engine DirectRunner falls back to for batch
# pipelines, named explicitly so a run works offline. Used unless the Beam
# arguments name a runner.
DEFAULT_RUNNER_ARG = "--runner=FnApiRunner"

# Option sections, in data-flow order: config-file keys and flag prefixes.
SECTIONS: dict[str, type[Options]] = {
    TransformOptions.SECTION: TransformOptions,
    Word2VecOptions.SECTION: Word2VecOptions,
    EmbeddingOptions.SECTION: EmbeddingOptions,
    TrainerOptions.SECTION: TrainerOptions,
    EvaluationOptions.SECTION: EvaluationOptions,
}
TOP_LEVEL_KEYS = ("data", "vectors", "output", "pipeline_name", "model_name", "eval_percent", "beam_args")


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Everything one pipeline run needs.

    Attributes:
        data: The Large Movie Review Dataset: an ``aclImdb/`` directory or the
            ``aclImdb_v1.tar.gz`` archive (local or on a Beam-supported
            filesystem such as ``gs://``).
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
    transform: TransformOptions = dataclasses.field(default_factory=TransformOptions)
    word2vec: Word2VecOptions = dataclasses.field(default_factory=Word2VecOptions)
    embedding: EmbeddingOptions = dataclasses.field(default_factory=EmbeddingOptions)
    trainer: TrainerOptions = dataclasses.field(default_factory=TrainerOptions)
    evaluation: EvaluationOptions = dataclasses.field(default_factory=EvaluationOptions)
    beam_args: tuple[str, ...] = (DEFAULT_RUNNER_ARG,)

    def __post_init__(self) -> None:
        try:
            validate_eval_percent(self.eval_percent)
        except ValueError as error:
            raise OptionsError(str(error)) from error
        for name in ("pipeline_name", "model_name"):
            value = getattr(self, name)
            if not value or not all(c.isalnum() or c in "_-." for c in value):
                raise OptionsError(f"{name} must be letters, digits, '_', '-' or '.', got {value!r}")
        if not _is_remote(self.data) and not Path(self.data).exists():
            raise OptionsError(f"data: {self.data} does not exist")
        if self.vectors is not None and not _is_remote(self.vectors) and not Path(self.vectors).is_file():
            raise OptionsError(f"vectors: {self.vectors} is not a file")

    @property
    def pipeline_root(self) -> str:
        """Artifacts of every step, one folder per step and execution."""
        return posixpath.join(self.output, "pipeline_root")

    @property
    def metadata_path(self) -> str:
        """The ML Metadata SQLite store (local runs)."""
        return posixpath.join(self.output, "metadata.sqlite")

    @property
    def serving_model_dir(self) -> str:
        """Where the pusher writes ``<integer version>/`` directories (TF Serving's layout)."""
        return posixpath.join(self.output, "serving", self.model_name)


def _is_remote(path: str) -> bool:
    return "://" in path


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
