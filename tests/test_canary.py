"""The canary: a fresh TensorFlow-only process probes the candidate; only a sound model may be pushed.

The models probed here are real SavedModels with the project's two serving
signatures: a tiny Keras word-count scorer, made good, NaN-producing (it
averages over zero words, the bug class of issue 11) or wrong on purpose.
"""

import json
import logging
import os
from pathlib import Path
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from tfx.types import standard_artifacts, standard_component_specs

from components.artifacts import infra_blessing as canary_results
from components.artifacts import pushed_model
from components.canary import checks
from components.canary.options import CanaryOptions
from components.canary.probes import PROBES
from components.options import OptionsError
from components.pusher import executor as pusher_executor
from components.pusher import publish
from components.pusher.options import PushOptions
from schemas import features

GOOD_WORDS = "wonderful|brilliant|beautiful|perfect|best|loved"
BAD_WORDS = "awful|boring|terrible|stupid|painful|worst|avoid"


class _WordScorer(tf.Module):
    """Keras Dense on (good words, bad words) / words, behind the project's two signatures."""

    def __init__(self, weight: float, divide_by_zero: bool, examples_bias: float):
        super().__init__()
        self.dense = keras.layers.Dense(1, activation="sigmoid")
        self.dense.build((None, 2))
        self.dense.set_weights([np.array([[weight], [-weight]], np.float32), np.zeros(1, np.float32)])
        self.divide_by_zero = divide_by_zero
        self.examples_bias = examples_bias

    def _score(self, text, bias=0.0):
        words = tf.strings.split(tf.strings.regex_replace(tf.strings.lower(text), "[^a-z]+", " "))
        good = tf.cast(tf.strings.regex_full_match(words, GOOD_WORDS), tf.float32)
        bad = tf.cast(tf.strings.regex_full_match(words, BAD_WORDS), tf.float32)
        count = tf.cast(words.row_lengths(), tf.float32)
        if not self.divide_by_zero:
            count = tf.maximum(count, 1.0)
        counts = tf.stack([tf.reduce_sum(good, axis=1) / count, tf.reduce_sum(bad, axis=1) / count], axis=1)
        return {features.PROBABILITY_OUTPUT: tf.squeeze(self.dense(counts), -1) + bias}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=features.TEXT_INPUT)])
    def serve_text(self, text):
        return self._score(text)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=features.EXAMPLES_INPUT)])
    def serve_examples(self, examples):
        parsed = tf.io.parse_example(examples, {features.TEXT: tf.io.FixedLenFeature([], tf.string)})
        return self._score(parsed[features.TEXT], self.examples_bias)


def _saved_model(path: Path, weight=20.0, divide_by_zero=False, examples_bias=0.0) -> str:
    module = _WordScorer(weight, divide_by_zero, examples_bias)
    tf.saved_model.save(
        module,
        str(path),
        signatures={
            features.TEXT_SIGNATURE: module.serve_text.get_concrete_function(),
            features.EXAMPLES_SIGNATURE: module.serve_examples.get_concrete_function(),
        },
    )
    return str(path)


def _in_process(model_dir: str, probe_name: str) -> float:
    text = next(p.text for p in PROBES if p.name == probe_name)
    served = tf.saved_model.load(model_dir).signatures[features.TEXT_SIGNATURE]
    return float(served(**{features.TEXT_INPUT: tf.constant([text])})[features.PROBABILITY_OUTPUT][0])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("canary-models")
    return {
        "good": _saved_model(root / "good"),
        "nan": _saved_model(root / "nan", divide_by_zero=True),
        "wrong": _saved_model(root / "wrong", weight=-20.0),
        "disagree": _saved_model(root / "disagree", examples_bias=0.01),
    }


def test_the_probe_set_is_fixed():
    assert [(p.name, len(p.text), p.expected) for p in PROBES] == [
        ("empty", 0, None),
        ("whitespace", 8, None),
        ("html_only", 18, None),
        ("punctuation_only", 17, None),
        ("non_latin", 83, None),
        ("invalid_utf8", 36, None),
        ("long_review", 100_000, None),
        ("clear_positive", 175, "positive"),
        ("clear_negative", 154, "negative"),
    ]
    invalid = next(p.text for p in PROBES if p.name == "invalid_utf8")
    with pytest.raises(UnicodeDecodeError):
        invalid.decode("utf-8")
    non_latin = next(p.text for p in PROBES if p.name == "non_latin").decode("utf-8")
    assert not any("a" <= c.lower() <= "z" for c in non_latin)


def test_a_good_model_passes_and_the_results_file_records_every_probe(models, tmp_path):
    options = CanaryOptions()
    outputs = checks.run_probes(models["good"], options)
    # The probe process loaded nothing but TensorFlow (no TFX, tf.Transform, Beam or project code).
    assert outputs["loaded_modules"] == []
    assert "error" not in outputs
    result = checks.evaluate(outputs, options)
    assert result.failures == ()

    blessing = standard_artifacts.InfraBlessing()
    blessing.uri = str(tmp_path / "blessing")
    os.makedirs(blessing.uri)
    canary_results.write_result(blessing, result)
    assert sorted(os.listdir(blessing.uri)) == [canary_results.BLESSED_FILE, canary_results.RESULTS_FILE]
    assert blessing.get_int_custom_property(canary_results.BLESSED_PROPERTY) == 1
    assert blessing.get_string_custom_property(canary_results.FAILURES_PROPERTY) == ""
    written = canary_results.read_result(blessing.uri)
    assert sorted(written) == [
        "batch_seconds",
        "blessed",
        "failures",
        "first_batch_seconds",
        "limits",
        "load_seconds",
        "probes",
        "process",
    ]
    assert written["blessed"] is True and written["failures"] == []
    assert written["limits"] == {"max_load_seconds": 60.0, "max_batch_seconds": 5.0}
    assert written["process"] == {"python": outputs["python"], "loaded_modules": [], "error": None}
    assert sorted(written["batch_seconds"]) == sorted(checks.SIGNATURES)
    assert (
        0
        < written["load_seconds"]
        == blessing.get_float_custom_property(canary_results.LOAD_SECONDS_PROPERTY)
    )
    assert [(row["name"], row["bytes"], row["expected"], row["ok"]) for row in written["probes"]] == [
        (p.name, len(p.text), p.expected, True) for p in PROBES
    ]
    for row in written["probes"]:
        assert sorted(row["probabilities"]) == sorted(checks.SIGNATURES)
        # What the fresh process saw is what this process computes with the same model.
        for value in row["probabilities"].values():
            assert value == pytest.approx(_in_process(models["good"], row["name"]), abs=1e-6)
    by_name = {row["name"]: row["probabilities"][features.TEXT_SIGNATURE] for row in written["probes"]}
    assert by_name["empty"] == pytest.approx(0.5)  # no words: the bias alone
    assert by_name["clear_positive"] > 0.5 > by_name["clear_negative"]


def test_a_model_that_returns_nan_is_refused_naming_the_probe_and_signature(models):
    outputs = checks.run_probes(models["nan"], CanaryOptions())
    result = checks.evaluate(outputs, CanaryOptions())
    # The scorer keeps only the letters a-z: these probes have no word, and 0/0 is NaN.
    wordless = ["empty", "whitespace", "punctuation_only", "non_latin"]
    assert result.failures == tuple(
        f"probe {name!r} via {signature}: nan is not a finite probability in [0, 1]"
        for name in wordless
        for signature in ("serving_default", "serving_tf_example")
    )
    assert [row["name"] for row in result.details["probes"] if not row["ok"]] == wordless
    assert result.to_json()["probes"][0]["probabilities"] == {
        "serving_default": "nan",
        "serving_tf_example": "nan",
    }


def test_a_model_that_gets_the_clear_reviews_wrong_is_refused(models):
    result = checks.evaluate(checks.run_probes(models["wrong"], CanaryOptions()), CanaryOptions())
    positive = _in_process(models["wrong"], "clear_positive")
    negative = _in_process(models["wrong"], "clear_negative")
    assert result.failures == (
        f"probe 'clear_positive' scored {positive:.4f}; a positive review must score > 0.5",
        f"probe 'clear_negative' scored {negative:.4f}; a negative review must score < 0.5",
    )


def test_signatures_that_disagree_are_refused(models):
    result = checks.evaluate(checks.run_probes(models["disagree"], CanaryOptions()), CanaryOptions())
    empty = _in_process(models["disagree"], "empty")
    assert len(result.failures) == len(PROBES)
    assert result.failures[0] == (
        f"probe 'empty': the signatures disagree (serving_default {empty:.6f}, "
        f"serving_tf_example {empty + 0.01:.6f})"
    )


def test_limits_exceeded_are_refused_naming_the_limit(models):
    options = CanaryOptions(max_load_seconds=0.001, max_batch_seconds=0.0001)
    result = checks.evaluate(checks.run_probes(models["good"], options), options)
    assert len(result.failures) == 3
    assert re.fullmatch(
        r"loading the model took \d+\.\d{3} s, over canary\.max_load_seconds \(0\.001 s\)", result.failures[0]
    ), result.failures[0]
    for failure, signature in zip(result.failures[1:], checks.SIGNATURES, strict=True):
        assert re.fullmatch(
            rf"a batch of 9 probes via {signature} took \d+\.\d{{3}} s, over canary\.max_batch_seconds "
            r"\(0\.0001 s\)",
            failure,
        ), failure


def test_a_folder_that_is_not_a_savedmodel_is_refused_with_tensorflows_reason(tmp_path):
    result = checks.evaluate(checks.run_probes(str(tmp_path), CanaryOptions()), CanaryOptions())
    assert len(result.failures) == 1
    assert result.failures[0].startswith(
        f"the model could not be served by plain TensorFlow: OSError: SavedModel file does not exist at: {tmp_path}"
    )
    assert all(not row["ok"] and row["probabilities"] == {} for row in result.details["probes"])


def test_a_probe_process_that_imported_more_than_tensorflow_is_refused():
    outputs = {"loaded_modules": ["tensorflow_transform", "tfx"], "error": "stopped"}
    result = checks.evaluate(outputs, CanaryOptions())
    assert result.failures == (
        "the probe process imported tensorflow_transform, tfx besides TensorFlow",
        "the model could not be served by plain TensorFlow: stopped",
    )


def test_the_probe_process_names_forbidden_modules_it_finds_loaded(models, tmp_path):
    # The same script, started in a process that imported TFX first: the check must see it.
    request = tmp_path / "request.json"
    result = tmp_path / "result.json"
    request.write_text(
        json.dumps(
            {
                "model_dir": models["good"],
                "probes": [{"name": "x", "text_base64": ""}],
                "text_signature": features.TEXT_SIGNATURE,
                "text_input": features.TEXT_INPUT,
                "examples_signature": features.EXAMPLES_SIGNATURE,
                "examples_input": features.EXAMPLES_INPUT,
                "text_feature": features.TEXT,
                "output": features.PROBABILITY_OUTPUT,
                "repeats": 0,
            }
        )
    )
    script = (
        "import runpy, sys, tfx.types; "
        f"sys.argv = [{str(checks.PROBE_SCRIPT)!r}, {str(request)!r}, {str(result)!r}]; "
        f"runpy.run_path({str(checks.PROBE_SCRIPT)!r}, run_name='__main__')"
    )
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    outputs = json.loads(result.read_text())
    assert outputs["loaded_modules"] == ["tfx"]
    assert checks.evaluate(outputs, CanaryOptions(), PROBES[:1]).failures == (
        "the probe process imported tfx besides TensorFlow",
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_load_seconds": 0}, "canary.max_load_seconds must be between 0.001 and 3600.0, got 0.0"),
        ({"max_batch_seconds": -1}, "canary.max_batch_seconds must be between 0.0001 and 600.0, got -1.0"),
        ({"max_batch_seconds": "fast"}, "canary.max_batch_seconds must be a number, got 'fast'"),
    ],
)
def test_canary_options_are_checked(values, message):
    with pytest.raises(OptionsError) as raised:
        CanaryOptions(**values)
    assert str(raised.value) == message


def _artifact(artifact_type, uri, **int_properties):
    artifact = artifact_type()
    artifact.uri = str(uri)
    os.makedirs(uri, exist_ok=True)
    for name, value in int_properties.items():
        artifact.set_int_custom_property(name, value)
    return artifact


def _push(models, name: str, tmp_path, serving):
    """The Pusher's ``Do`` on the model ``name``, blessed by the Evaluator and judged by a real canary run.

    Returns:
        The model, infra blessing and pushed-model artifacts.
    """
    model = _artifact(standard_artifacts.Model, tmp_path / "model")
    os.symlink(models[name], tmp_path / "model" / "Format-Serving")
    blessing = _artifact(standard_artifacts.ModelBlessing, tmp_path / "blessing", blessed=1)
    infra_blessing = _artifact(standard_artifacts.InfraBlessing, tmp_path / "infra")
    canary_results.write_result(
        infra_blessing, checks.evaluate(checks.run_probes(models[name], CanaryOptions()), CanaryOptions())
    )
    pushed = _artifact(standard_artifacts.PushedModel, tmp_path / "pushed")
    pusher_executor.Executor().Do(
        {
            standard_component_specs.MODEL_KEY: [model],
            standard_component_specs.MODEL_BLESSING_KEY: [blessing],
            standard_component_specs.INFRA_BLESSING_KEY: [infra_blessing],
        },
        {standard_component_specs.PUSHED_MODEL_KEY: [pushed]},
        {"serving_model_dir": str(serving), "options": PushOptions().to_json()},
    )
    return model, infra_blessing, pushed


def test_the_pusher_refuses_a_model_the_canary_refused_and_leaves_the_served_version(
    models, tmp_path, caplog
):
    serving = tmp_path / "serving" / "imdb"
    publish.push(models["good"], str(serving), {"model": {"uri": "earlier"}}, keep_versions=5)
    (served_before,) = publish.list_versions(str(serving))
    files_before = sorted(p.relative_to(serving) for p in serving.rglob("*"))

    with caplog.at_level(logging.INFO, logger=pusher_executor.logger.name):
        model, _infra_blessing, pushed = _push(models, "nan", tmp_path, serving)
    assert pushed.get_int_custom_property("pushed") == 0
    assert publish.list_versions(str(serving)) == [served_before]
    assert sorted(p.relative_to(serving) for p in serving.rglob("*")) == files_before
    assert (
        f"Pusher: model {model.uri} not pushed: the canary refused it (probe 'empty' via serving_default: nan is "
        "not a finite probability in [0, 1]; probe 'empty' via serving_tf_example: nan is not a finite "
        "probability in [0, 1]; probe 'whitespace' via serving_default: nan is not a finite probability in "
    ) in caplog.text


def test_the_pusher_pushes_a_model_both_blessings_passed_and_records_the_canary(models, tmp_path):
    serving = tmp_path / "serving" / "imdb"
    _model, infra_blessing, pushed = _push(models, "good", tmp_path, serving)
    assert pushed.get_int_custom_property("pushed") == 1
    (version,) = publish.list_versions(str(serving))
    manifest = pushed_model.read_manifest(str(serving / str(version)))
    assert manifest["canary"]["uri"] == infra_blessing.uri
    assert manifest["canary"]["blessed"] is True
    assert sorted(manifest["canary"]["batch_seconds"]) == sorted(checks.SIGNATURES)
