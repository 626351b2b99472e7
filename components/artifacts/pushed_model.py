"""The PushedModel artifact (TFX's properties) and ``manifest.json``, the lineage of a pushed version."""

import dataclasses
import datetime
import json
import logging
import os
import re
from typing import Any

import tensorflow as tf

from components import versions
from components.artifacts import embedding_matrix, lineage
from components.artifacts import evaluation as evaluation_artifact
from components.artifacts import infra_blessing as canary_results
from components.artifacts import model as model_artifact
from components.artifacts.files import DamagedFileError, read_json, write_json

logger = logging.getLogger(__name__)

# Custom properties of TFX's PushedModel.
PUSHED_PROPERTY = "pushed"
PUSHED_VERSION_PROPERTY = "pushed_version"
PUSHED_DESTINATION_PROPERTY = "pushed_destination"
MANIFEST_FILE = "manifest.json"


@dataclasses.dataclass(frozen=True)
class Push:
    """What a Pusher did: whether it pushed (None: no Pusher output), and the version and destination if so."""

    pushed: bool | None
    version: str | None = None
    destination: str | None = None


def read_push(pushed_model: Any) -> Push | None:
    """The push a PushedModel (an ``ArtifactRef``, or None) records."""
    if pushed_model is None:
        return Push(pushed=None)
    properties = pushed_model.properties
    if not properties.get(PUSHED_PROPERTY):
        return Push(pushed=False)
    return Push(True, properties.get(PUSHED_VERSION_PROPERTY), properties.get(PUSHED_DESTINATION_PROPERTY))


def served_model(
    models: list[Any],
    pushes: list[Any],
    pushed_model_id: dict[int, int],
    excluded_ids: set[int],
    serving_model_dir: str,
) -> Any | None:
    """The served model: that of the highest version in ``serving_model_dir`` that is a SavedModel folder
    (the one TF Serving serves: after a roll-back that removed newer versions, an older one), less the
    models in ``excluded_ids`` (then the next lower version's).

    A version is the model the push into its folder pushed (``pushed_model_id``: PushedModel id -> id of
    the Model it was pushed from) or, for a folder no push wrote (a version copied or renamed by hand to
    serve it again), the Model its ``manifest.json`` names. A version that is neither, or whose Model in
    the pipeline root lost a file the Evaluator or the warm start reads (``model.incomplete``), is skipped.
    """
    model_by_id = {model.id: model for model in models}
    model_by_uri = {model.uri.rstrip("/"): model for model in models}
    model_by_destination = {
        push.get_string_custom_property(PUSHED_DESTINATION_PROPERTY).rstrip("/"): model_by_id.get(
            pushed_model_id.get(push.id)
        )
        for push in sorted(pushes, key=lambda artifact: artifact.id)
        if push.get_int_custom_property(PUSHED_PROPERTY) == 1
    }
    for folder in served_versions(serving_model_dir):
        model = model_by_destination.get(folder)
        if model is None:
            try:
                uri = ((read_manifest(folder) or {}).get("model") or {}).get("uri")
            except ManifestError:
                uri = None
            model = model_by_uri.get(uri.rstrip("/")) if uri else None
        if model is None or model.id in excluded_ids:
            continue
        if fault := model_artifact.incomplete(model.uri):
            logger.warning(
                "The model served from %s is no longer whole in the pipeline root (%s: %s): "
                "the next lower version, if any, is taken as the served one",
                folder,
                model.uri,
                fault,
            )
            continue
        return model
    return None


def pushed_from(store: Any, pushes: list[Any]) -> dict[int, int]:
    """PushedModel id -> id of the Model its Pusher execution read (its ``model`` input), from lineage."""
    from tfx.types import standard_component_specs as keys

    execution_by_push = {
        push: execution
        for execution, push in lineage.writes(
            store, keys.PUSHED_MODEL_KEY, artifact_ids=(p.id for p in pushes)
        )
    }
    model_by_execution = dict(lineage.reads(store, keys.MODEL_KEY, execution_ids=execution_by_push.values()))
    return {
        push: model_by_execution[execution]
        for push, execution in execution_by_push.items()
        if execution in model_by_execution
    }


def build_manifest(
    model_name: str,
    model: Any,
    blessing: Any | None,
    examples: Any | None,
    transform_graph: Any | None,
    embedding: Any | None,
    evaluation: Any | None,
    infra_blessing: Any | None = None,
) -> dict[str, Any]:
    """The lineage of a pushed version from TFX artifacts (None when the pipeline has no such input)."""
    from tfx.components.evaluator import constants as evaluator_constants
    from tfx.components.example_gen import utils as example_gen_utils

    manifest: dict[str, Any] = {
        "model_name": model_name,
        "pushed_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "model": {"uri": model.uri, "artifact_id": model.id},
        "code": versions.code_version(),
        # The same versions the run report records.
        "libraries": versions.library_versions(),
    }
    if examples is not None:
        manifest["data"] = {
            "examples_uri": examples.uri,
            # ExampleGen's driver records the span as a custom property.
            "span": examples.get_int_custom_property(example_gen_utils.SPAN_PROPERTY_NAME),
            "input_fingerprint": examples.get_string_custom_property(
                example_gen_utils.FINGERPRINT_PROPERTY_NAME
            )
            or None,
        }
    if transform_graph is not None:
        manifest["transform"] = {"transform_graph_uri": transform_graph.uri}
    if embedding is not None:
        coverage = embedding_matrix.read_coverage(embedding.uri) or {}
        manifest["embedding"] = {
            "matrix_uri": embedding.uri,
            "vocabulary_sha256": embedding.get_string_custom_property(
                embedding_matrix.VOCABULARY_SHA256_PROPERTY
            ),
            "source": coverage.get("vectors_path"),
            "source_format": coverage.get("vectors_format"),
            "coverage": {
                key: coverage.get(key)
                for key in ("vocabulary_words", "exact", "lowercase", "missing", "word_share", "token_share")
            },
        }
    if evaluation is not None:
        result = evaluation_artifact.read_evaluation(evaluation.uri)
        manifest["evaluation"] = {
            "uri": evaluation.uri,
            "metrics": result.candidate_metrics,
            "baseline_metrics": result.baseline_metrics or None,
            # Slice name (full_review = the test split, first_sentence, rating=7, length_bucket=0-99 ...)
            # -> example_count, accuracy, auc (null where undefined: a slice of one label).
            "slices": {
                metrics.name: metrics.as_dict()
                for metrics in evaluation_artifact.read_slice_metrics(evaluation.uri, result.candidate_model)
            },
        }
    if blessing is not None:
        manifest["blessing"] = {
            "uri": blessing.uri,
            "blessed": bool(
                blessing.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY)
            ),
        }
    if infra_blessing is not None:
        canary = canary_results.read_result(infra_blessing.uri) or {}
        manifest["canary"] = {
            "uri": infra_blessing.uri,
            "blessed": bool(infra_blessing.get_int_custom_property(canary_results.BLESSED_PROPERTY)),
            "load_seconds": canary.get("load_seconds"),
            "batch_seconds": canary.get("batch_seconds"),
        }
    return manifest


def is_version_name(name: str) -> bool:
    """Whether ``name`` names a version: its number as written (``17``), so the number names it back; not
    ``0017`` (a backup copy, say), not ``²`` or other scripts' digits, which ``str.isdigit`` takes."""
    return re.fullmatch(r"0|[1-9][0-9]*", name) is not None


def list_versions(model_dir: str) -> list[int]:
    """Integer version directories under ``model_dir``, ascending (hidden temporaries excluded): folders
    whose names are versions (:func:`is_version_name`), not files."""
    if not tf.io.gfile.isdir(model_dir):
        return []
    names = (name.rstrip("/") for name in tf.io.gfile.listdir(model_dir))
    return sorted(
        int(name)
        for name in names
        if is_version_name(name) and tf.io.gfile.isdir(os.path.join(model_dir, name))
    )


def without_alias(path: str) -> str:
    """``path``, or for a local symbolic link not named as a version (an alias: ``stable`` -> ``17``) the version
    it leads to: its links followed (relative to their folder) up to a version's name or what is no link."""
    link, seen = path.rstrip("/") or path, set()
    while os.path.islink(link) and not is_version_name(os.path.basename(link)) and link not in seen:
        seen.add(link)
        link = os.path.join(os.path.dirname(link), os.readlink(link))
    return link if seen else path


def served_versions(model_dir: str) -> list[str]:
    """The version folders of ``model_dir`` TF Serving would serve, highest first: those holding a SavedModel
    (a file, or a folder emptied, where a version was is skipped)."""
    folders = (
        os.path.join(model_dir, str(version)).rstrip("/") for version in reversed(list_versions(model_dir))
    )
    return [folder for folder in folders if tf.saved_model.contains_saved_model(folder)]


def write_manifest(version_dir: str, manifest: dict, version: int) -> None:
    """Writes ``manifest.json`` of a version, with its ``version``."""
    write_json(os.path.join(version_dir, MANIFEST_FILE), {**manifest, "version": version}, sort_keys=True)


class ManifestError(DamagedFileError):
    """A version's ``manifest.json`` is damaged (the message names the file and the fault)."""


def read_manifest(version_dir: str) -> dict | None:
    """The ``manifest.json`` of a pushed version (None when it has none yet): a JSON object whose ``model``
    and ``data``, where present, are objects, with ``model.uri`` a string and ``data.span`` a span number.

    Raises:
        ManifestError: A folder, unreadable, not UTF-8 (a BOM included), not JSON, or not of that shape.
    """
    path = os.path.join(version_dir, MANIFEST_FILE)
    try:
        manifest = read_json(path)
    except DamagedFileError as error:
        raise ManifestError(str(error)) from None
    if manifest is None:
        return None
    problem = _shape_problem(manifest)
    if problem:
        raise ManifestError(f"{path}: {problem}")
    return manifest


def _shape_problem(manifest: Any) -> str | None:
    if not isinstance(manifest, dict):
        return f"the document is {_kind(manifest)}, not an object"
    for key in ("model", "data"):
        if not isinstance(manifest.get(key, {}), dict):
            return f"{key} is {_kind(manifest[key])}, not an object"
    uri = manifest.get("model", {}).get("uri", "")
    if not isinstance(uri, str):
        return f"model.uri is {_kind(uri)}, not a string"
    span = manifest.get("data", {}).get("span")
    if span is not None and (type(span) is not int or span < 0):  # type(): True is an int
        return f"data.span is {_kind(span)}, not a span number (0 or more)"
    return None


def _kind(value: Any) -> str:
    """A JSON value as a message names it: its type, or a scalar as written (shortened)."""
    if isinstance(value, dict | list | str):
        return {dict: "an object", list: "an array", str: "a string"}[type(value)]
    text = json.dumps(value)
    return text if len(text) <= 40 else f"{text[:40]}..."
