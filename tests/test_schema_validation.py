"""Tests of the schema import and example validation that stand in for TFDV."""

from __future__ import annotations

import json
from pathlib import Path
import re

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from google.protobuf import text_format
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import types
from tfx.types import artifact_utils, standard_artifacts

from components.schema_validation import component, executor, validation
from components.schema_validation.validation import SplitReport, Violation
from schemas import features
from schemas.schema import RAW_SCHEMA_PATH, load_raw_schema, schema_for_environment
from tests.conftest import examples_artifact

RAW_SCHEMA = load_raw_schema()
LABELED = schema_for_environment(RAW_SCHEMA, features.LABELED_ENVIRONMENT)
UNLABELED = schema_for_environment(RAW_SCHEMA, features.UNLABELED_ENVIRONMENT)


def make_example(**values: list) -> tf.train.Example:
    """Builds an example from feature -> values; ints become int64_list, bytes bytes_list."""
    feature = {}
    for name, items in values.items():
        if all(isinstance(item, int) for item in items) and items:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=items))
        elif all(isinstance(item, float) for item in items) and items:
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=items))
        elif items:
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=items))
        else:
            feature[name] = tf.train.Feature()
    return tf.train.Example(features=tf.train.Features(feature=feature))


def labeled(source: str = "train/pos/0_9.txt", **overrides: list | None) -> tf.train.Example:
    """A valid labeled example, with some features replaced (or removed with None)."""
    values = {
        features.TEXT: [b"A wonderful film."],
        features.LABEL: [1],
        features.REVIEW_ID: [0],
        features.RATING: [9],
        features.MOVIE_ID: [b"tt0453418"],
        features.SOURCE: [source.encode()],
    }
    values.update(overrides)
    return make_example(**{name: items for name, items in values.items() if items is not None})


def unlabeled(**overrides: list | None) -> tf.train.Example:
    return labeled("train/unsup/0_0.txt", **{features.LABEL: None, features.RATING: [0], **overrides})


# --- check_example ----------------------------------------------------------------------------------

CHECK_CASES = {
    "valid labeled": (labeled(), LABELED, []),
    "valid labeled without movie id": (labeled(**{features.MOVIE_ID: None}), LABELED, []),
    "valid unlabeled": (unlabeled(), UNLABELED, []),
    "missing text": (labeled(**{features.TEXT: None}), LABELED, [("text", "missing (required)")]),
    "empty text": (
        labeled(**{features.TEXT: [b""]}),
        LABELED,
        [("text", "text is empty or whitespace only")],
    ),
    "whitespace text": (
        labeled(**{features.TEXT: [b" \n\t\xc2\xa0"]}),
        LABELED,
        [("text", "text is empty or whitespace only")],
    ),
    "invalid UTF-8": (
        labeled(**{features.TEXT: [b"caf\xe9"]}),
        LABELED,
        [("text", "text is not valid UTF-8")],
    ),
    "label 2": (labeled(**{features.LABEL: [2]}), LABELED, [("label", "value 2 outside int_domain [0, 1]")]),
    "label as bytes": (
        labeled(**{features.LABEL: [b"1"]}),
        LABELED,
        [("label", "expected INT (int64_list), got bytes_list")],
    ),
    "two labels": (
        labeled(**{features.LABEL: [0, 1]}),
        LABELED,
        [("label", "has 2 values, expected exactly 1")],
    ),
    "label without values": (
        labeled(**{features.LABEL: []}),
        LABELED,
        [("label", "has 0 values, expected exactly 1")],
    ),
    "missing label": (labeled(**{features.LABEL: None}), LABELED, [("label", "missing (required)")]),
    "unexpected feature": (
        labeled(title=[b"Up"]),
        LABELED,
        [("title", "unexpected feature (not in the schema)")],
    ),
    "label in unsup": (
        unlabeled(**{features.LABEL: [1]}),
        UNLABELED,
        [("label", "unexpected feature (not in the schema)")],
    ),
    "negative review id, rating 11, two movie ids": (
        labeled(**{features.REVIEW_ID: [-1], features.RATING: [11], features.MOVIE_ID: [b"tt1", b"tt2"]}),
        LABELED,
        [
            ("movie_id", "has 2 values, expected exactly 1"),
            ("rating", "value 11 outside int_domain [0, 10]"),
            ("review_id", "value -1 below int_domain min 0"),
        ],
    ),
}


@pytest.mark.parametrize(("example", "schema", "expected"), CHECK_CASES.values(), ids=CHECK_CASES.keys())
def test_check_example(example: tf.train.Example, schema: schema_pb2.Schema, expected: list):
    assert validation.check_example(example, schema) == expected


# --- which schemas are accepted ---------------------------------------------------------------------


def test_repo_schema_is_accepted():
    validation.check_schema_supported(RAW_SCHEMA)
    assert [feature.name for feature in LABELED.feature] == [
        "text",
        "label",
        "review_id",
        "rating",
        "movie_id",
        "source",
    ]
    assert [feature.name for feature in UNLABELED.feature] == [
        "text",
        "review_id",
        "rating",
        "movie_id",
        "source",
    ]


def test_unsupported_constraints_are_refused_by_name():
    schema = text_format.Parse(
        """
        feature { name: "text" type: BYTES natural_language_domain { coverage { min_coverage: 0.9 } } }
        feature { name: "score" type: FLOAT float_domain { min: 0 } presence { min_fraction: 0.5 } }
        feature { name: "tag" type: BYTES int_domain { min: 0 } }
        sparse_feature { name: "sparse" }
        """,
        schema_pb2.Schema(),
    )
    with pytest.raises(validation.UnsupportedSchemaError) as error:
        validation.ValidateExamples(schema)
    assert str(error.value) == (
        "the schema uses constraints the example validator does not implement: schema: sparse_feature; "
        "feature 'text': natural_language_domain.coverage; "
        "feature 'score': float_domain; feature 'score': presence.min_fraction 0.5; "
        "feature 'tag': int_domain on a non-INT feature. " + validation.SUPPORTED
    )


# --- ValidateExamples -------------------------------------------------------------------------------


def test_validate_examples_counts_and_samples():
    records = [
        labeled("train/pos/4_9.txt", **{features.LABEL: [3]}).SerializeToString(),
        labeled("train/pos/5_9.txt", **{features.LABEL: [3]}).SerializeToString(),
        labeled("train/pos/6_9.txt").SerializeToString(),
        labeled("train/neg/1_2.txt", **{features.TEXT: [b"  "], features.LABEL: [0]}).SerializeToString(),
        b"not a proto",
    ]
    with TestPipeline(runner="FnApiRunner") as pipeline:
        report = pipeline | beam.Create(records) | validation.ValidateExamples(LABELED)
        assert_that(
            report,
            equal_to(
                [
                    SplitReport(
                        5,
                        (
                            Violation("<record>", "not a serialized tf.train.Example", 1, ("<no source>",)),
                            Violation(
                                "label",
                                "value 3 outside int_domain [0, 1]",
                                2,
                                ("train/pos/4_9.txt", "train/pos/5_9.txt"),
                            ),
                            Violation("text", "text is empty or whitespace only", 1, ("train/neg/1_2.txt",)),
                        ),
                    )
                ]
            ),
        )


def test_validate_examples_keeps_the_five_smallest_sources():
    records = [labeled(f"train/pos/{i}_9.txt", **{features.LABEL: []}).SerializeToString() for i in range(9)]
    with TestPipeline(runner="FnApiRunner") as pipeline:
        report = pipeline | beam.Create(records, reshuffle=True) | validation.ValidateExamples(LABELED)
        samples = tuple(f"train/pos/{i}_9.txt" for i in range(5))
        assert_that(
            report,
            equal_to([SplitReport(9, (Violation("label", "has 0 values, expected exactly 1", 9, samples),))]),
        )


def test_validate_examples_on_an_empty_split():
    with TestPipeline(runner="FnApiRunner") as pipeline:
        report = (
            pipeline
            | beam.Create([], reshuffle=False).with_output_types(bytes)
            | validation.ValidateExamples(UNLABELED)
        )
        assert_that(report, equal_to([SplitReport(0)]))


def test_violation_describe():
    violation = Violation("label", "value 3 outside int_domain [0, 1]", 7, ("a.txt", "b.txt"))
    assert (
        violation.describe()
        == "feature 'label': value 3 outside int_domain [0, 1] in 7 examples (a.txt, b.txt, ...)"
    )
    single = Violation("text", "missing (required)", 1, ("c.txt",))
    assert single.describe() == "feature 'text': missing (required) in 1 example (c.txt)"


# --- executors --------------------------------------------------------------------------------------


def beam_context() -> executor.ExampleValidatorExecutor.Context:
    return executor.ExampleValidatorExecutor.Context(
        make_beam_pipeline_fn=lambda: beam.Pipeline(runner="FnApiRunner")
    )


def import_schema(tmp_path: Path, text: str) -> types.Artifact:
    schema = standard_artifacts.Schema()
    schema.uri = str(tmp_path / "schema")
    executor.SchemaImporterExecutor().Do(
        {}, {executor.SCHEMA_KEY: [schema]}, {executor.SCHEMA_TEXT_KEY: text}
    )
    return schema


def validate(tmp_path: Path, examples: types.Artifact, schema: types.Artifact) -> types.Artifact:
    anomalies = standard_artifacts.ExampleAnomalies()
    anomalies.uri = str(tmp_path / "anomalies")
    executor.ExampleValidatorExecutor(beam_context()).Do(
        {executor.EXAMPLES_KEY: [examples], executor.SCHEMA_KEY: [schema]},
        {executor.ANOMALIES_KEY: [anomalies]},
        {},
    )
    return anomalies


def test_schema_importer_writes_the_parsed_schema(tmp_path: Path):
    schema = import_schema(tmp_path, RAW_SCHEMA_PATH.read_text())
    written = text_format.Parse((tmp_path / "schema" / "schema.pbtxt").read_text(), schema_pb2.Schema())
    assert written == RAW_SCHEMA
    assert executor.read_schema(schema) == RAW_SCHEMA


def test_schema_importer_rejects_invalid_text(tmp_path: Path):
    with pytest.raises(ValueError) as error:
        import_schema(tmp_path, 'feature { name: "text" type: STRING }')
    assert str(error.value) == (
        "schema_text is not a valid text-format tensorflow_metadata Schema: 1:30 : "
        "'feature { name: \"text\" type: STRING }': "
        'Enum type "tensorflow.metadata.v0.FeatureType" has no value named STRING.'
    )
    assert not (tmp_path / "schema" / "schema.pbtxt").exists()


def test_example_validator_ok(tmp_path: Path):
    schema = import_schema(tmp_path, RAW_SCHEMA_PATH.read_text())
    examples = examples_artifact(
        tmp_path / "examples",
        {
            features.TRAIN: [
                labeled("train/pos/0_9.txt"),
                labeled("train/neg/1_2.txt", **{features.LABEL: [0]}),
            ],
            features.EVAL: [],
            features.UNSUP: [unlabeled()],
        },
    )

    anomalies = validate(tmp_path, examples, schema)

    assert json.loads((tmp_path / "anomalies" / "anomalies.json").read_text()) == {
        "ok": True,
        "splits": {
            "train": {"environment": "LABELED", "examples": 2, "violations": []},
            "eval": {"environment": "LABELED", "examples": 0, "violations": []},
            "unsup": {"environment": "UNLABELED", "examples": 1, "violations": []},
        },
    }
    assert artifact_utils.decode_split_names(anomalies.split_names) == ["train", "eval", "unsup"]


def test_example_validator_names_the_report_it_finds_not_written(tmp_path: Path, monkeypatch):
    """Before: a TypeError (None is not subscriptable) that named no file."""
    schema = import_schema(tmp_path, RAW_SCHEMA_PATH.read_text())
    examples = examples_artifact(tmp_path / "examples", {features.TRAIN: [labeled("train/pos/0_9.txt")]})
    monkeypatch.setattr(executor, "_write_anomalies", lambda reports, path, split_names: None)

    with pytest.raises(FileNotFoundError) as error:
        validate(tmp_path, examples, schema)

    assert str(error.value) == (
        f"{tmp_path / 'anomalies' / 'anomalies.json'} was not written: the validation left no report"
    )


def test_example_validator_stops_the_run_on_violations(tmp_path: Path):
    schema = import_schema(tmp_path, RAW_SCHEMA_PATH.read_text())
    examples = examples_artifact(
        tmp_path / "examples",
        {
            features.TRAIN: [
                labeled("train/pos/4_9.txt", **{features.LABEL: [3]}),
                labeled("train/pos/5_9.txt", **{features.LABEL: [3]}),
                labeled("train/pos/6_9.txt"),
            ],
            features.UNSUP: [unlabeled(**{features.LABEL: [1]})],
        },
    )
    anomalies_path = tmp_path / "anomalies" / "anomalies.json"

    with pytest.raises(executor.SchemaViolationError) as error:
        validate(tmp_path, examples, schema)

    assert str(error.value) == (
        f"examples violate the schema (all details in {anomalies_path}):\n"
        "split 'train': feature 'label': value 3 outside int_domain [0, 1] in 2 examples "
        "(train/pos/4_9.txt, train/pos/5_9.txt)\n"
        "split 'unsup': feature 'label': unexpected feature (not in the schema) in 1 example "
        "(train/unsup/0_0.txt)"
    )
    document = json.loads(anomalies_path.read_text())
    assert document["ok"] is False
    assert document["splits"]["train"] == {
        "environment": "LABELED",
        "examples": 3,
        "violations": [
            {
                "feature": "label",
                "problem": "value 3 outside int_domain [0, 1]",
                "count": 2,
                "samples": ["train/pos/4_9.txt", "train/pos/5_9.txt"],
            }
        ],
    }


def test_example_validator_refuses_a_split_without_files(tmp_path: Path):
    schema = import_schema(tmp_path, RAW_SCHEMA_PATH.read_text())
    examples = examples_artifact(tmp_path / "examples", {features.TRAIN: [labeled()]})
    examples.split_names = artifact_utils.encode_split_names([features.TRAIN, features.TEST])
    message = f"split 'test' of {examples.uri} has no files ({examples.uri}/Split-test/*)"
    with pytest.raises(ValueError, match=re.escape(message)):
        validate(tmp_path, examples, schema)


# --- components -------------------------------------------------------------------------------------


def test_components_wire_schema_and_anomalies():
    text = RAW_SCHEMA_PATH.read_text()
    importer = component.SchemaImporter(schema_text=text)
    examples = types.Channel(type=standard_artifacts.Examples)
    validator = component.ExampleValidator(examples=examples, schema=importer.outputs["schema"])

    assert importer.exec_properties["schema_text"] == text
    assert importer.outputs["schema"].type is standard_artifacts.Schema
    assert validator.inputs["schema"] is importer.outputs["schema"]
    assert validator.outputs["anomalies"].type is standard_artifacts.ExampleAnomalies
    assert validator.executor_spec.executor_class is executor.ExampleValidatorExecutor
