"""Checks tf.train.Examples against the raw schema: the part of TFDV's validation our schema uses.

A schema that asks for anything else is refused (:func:`check_schema_supported`), not half-checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import dataclasses
import math

import apache_beam as beam
from google.protobuf import message
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2

from components.plural import counted
from schemas import features

# How many example sources each (feature, problem) keeps as evidence.
MAX_SAMPLES = 5
# Reported as the feature of a record that is not a tf.train.Example at all.
RECORD = "<record>"
NO_SOURCE = "<no source>"

_KIND_OF_TYPE = {
    schema_pb2.INT: "int64_list",
    schema_pb2.BYTES: "bytes_list",
    schema_pb2.FLOAT: "float_list",
}

SUPPORTED = (
    "supported: feature type INT, BYTES or FLOAT; presence min_fraction 0.0 or 1.0 (with min_count 0 or 1); "
    "shape; value_count min/max; int_domain min/max (INT); an empty natural_language_domain {} (BYTES); "
    "in_environment/not_in_environment; annotations and tensor representations (not checked)"
)

# Fields that are not constraints on the data, so they need no check.
_SCHEMA_FIELDS = {"feature", "default_environment", "annotation", "tensor_representation_group"}
_FEATURE_FIELDS = {
    "name",
    "type",
    "presence",
    "shape",
    "value_count",
    "int_domain",
    "natural_language_domain",
    "in_environment",
    "not_in_environment",
    "annotation",
}
_INT_DOMAIN_FIELDS = {"min", "max", "is_categorical"}


class UnsupportedSchemaError(ValueError):
    """The schema asks for a check that this validator does not implement."""


def _set_fields(proto: message.Message) -> set[str]:
    return {field.name for field, _value in proto.ListFields()}


def _unsupported_in_feature(feature: schema_pb2.Feature) -> Iterator[str]:
    yield from sorted(_set_fields(feature) - _FEATURE_FIELDS)
    if feature.type not in _KIND_OF_TYPE:
        yield f"type {schema_pb2.FeatureType.Name(feature.type)}"
    if feature.HasField("presence"):
        if feature.presence.min_fraction not in (0.0, 1.0):
            yield f"presence.min_fraction {feature.presence.min_fraction}"
        if feature.presence.min_count > (1 if feature.presence.min_fraction == 1.0 else 0):
            yield f"presence.min_count {feature.presence.min_count}"
    if feature.HasField("int_domain"):
        for field in sorted(_set_fields(feature.int_domain) - _INT_DOMAIN_FIELDS):
            yield f"int_domain.{field}"
        if feature.type != schema_pb2.INT:
            yield "int_domain on a non-INT feature"
    if feature.HasField("natural_language_domain"):
        for field in sorted(_set_fields(feature.natural_language_domain)):
            yield f"natural_language_domain.{field}"
        if feature.type != schema_pb2.BYTES:
            yield "natural_language_domain on a non-BYTES feature"


def check_schema_supported(schema: schema_pb2.Schema) -> None:
    """Raises :class:`UnsupportedSchemaError` listing every constraint the validator would ignore."""
    problems = [f"schema: {field}" for field in sorted(_set_fields(schema) - _SCHEMA_FIELDS)]
    for feature in schema.feature:
        problems.extend(
            f"feature '{feature.name}': {problem}" for problem in _unsupported_in_feature(feature)
        )
    if problems:
        raise UnsupportedSchemaError(
            f"the schema uses constraints the example validator does not implement: {'; '.join(problems)}. "
            f"{SUPPORTED}"
        )


def _expected_count(spec: schema_pb2.Feature) -> tuple[int, int | None] | None:
    """Returns the allowed (min, max) number of values, max None for no bound; None if unconstrained."""
    if spec.HasField("shape"):
        size = math.prod(dim.size for dim in spec.shape.dim)
        return size, size
    if spec.HasField("value_count"):
        count = spec.value_count
        return count.min, count.max if count.HasField("max") else None
    return None


def _count_problem(count: int, expected: tuple[int, int | None]) -> str | None:
    low, high = expected
    if low <= count and (high is None or count <= high):
        return None
    if low == high:
        return f"has {counted(count, 'value')}, expected exactly {low}"
    if high is None:
        return f"has {counted(count, 'value')}, expected at least {low}"
    return f"has {counted(count, 'value')}, expected {low} to {high}"


def _int_domain_problem(value: int, domain: schema_pb2.IntDomain) -> str | None:
    has_min, has_max = domain.HasField("min"), domain.HasField("max")
    if has_min and has_max and not domain.min <= value <= domain.max:
        return f"value {value} outside int_domain [{domain.min}, {domain.max}]"
    if has_min and not has_max and value < domain.min:
        return f"value {value} below int_domain min {domain.min}"
    if has_max and not has_min and value > domain.max:
        return f"value {value} above int_domain max {domain.max}"
    return None


def _text_problem(value: bytes) -> str | None:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return "text is not valid UTF-8"
    if not text.strip():
        return "text is empty or whitespace only"
    return None


def check_feature(spec: schema_pb2.Feature, feature: tf.train.Feature) -> list[str]:
    """Returns the problems of one present feature against its schema entry."""
    kind = feature.WhichOneof("kind")
    values = list(getattr(feature, kind).value) if kind else []
    expected_kind = _KIND_OF_TYPE[spec.type]
    if kind is not None and kind != expected_kind:
        return [f"expected {schema_pb2.FeatureType.Name(spec.type)} ({expected_kind}), got {kind}"]
    problems = []
    expected_count = _expected_count(spec)
    if expected_count is not None:
        problem = _count_problem(len(values), expected_count)
        if problem:
            problems.append(problem)
    if spec.HasField("int_domain"):
        problems.extend(filter(None, (_int_domain_problem(value, spec.int_domain) for value in values)))
    if spec.HasField("natural_language_domain"):
        problems.extend(filter(None, (_text_problem(value) for value in values)))
    # One entry per distinct problem: two empty values are one problem of that example.
    return list(dict.fromkeys(problems))


def check_example(example: tf.train.Example, schema: schema_pb2.Schema) -> list[tuple[str, str]]:
    """The sorted (feature, problem) pairs of ``example`` against its environment's ``schema``."""
    present = example.features.feature
    known = {spec.name for spec in schema.feature}
    problems = []
    for spec in schema.feature:
        if spec.name not in present:
            if spec.presence.min_fraction == 1.0:
                problems.append((spec.name, "missing (required)"))
            continue
        problems.extend((spec.name, problem) for problem in check_feature(spec, present[spec.name]))
    problems.extend((name, "unexpected feature (not in the schema)") for name in present if name not in known)
    return sorted(problems)


def example_source(example: tf.train.Example) -> str:
    """Returns the SOURCE of an example, which names the review file in error messages."""
    feature = example.features.feature.get(features.SOURCE)
    if feature is None or not feature.bytes_list.value:
        return NO_SOURCE
    return feature.bytes_list.value[0].decode("utf-8", errors="replace")


@dataclasses.dataclass(frozen=True)
class Violation:
    """One kind of problem in one split: how many examples have it and a few of their sources."""

    feature: str
    problem: str
    count: int
    samples: tuple[str, ...]

    def describe(self) -> str:
        """E.g. ``feature 'label': value 3 outside int_domain [0, 1] in 2 examples (a.txt, b.txt)``."""
        more = ", ..." if self.count > len(self.samples) else ""
        return (
            f"feature '{self.feature}': {self.problem} in {counted(self.count, 'example')} "
            f"({', '.join(self.samples)}{more})"
        )


@dataclasses.dataclass(frozen=True)
class SplitReport:
    """What validating one split found: examples checked and violations sorted by (feature, problem)."""

    examples: int
    violations: tuple[Violation, ...] = ()


def check_serialized(record: bytes, schema: schema_pb2.Schema) -> tuple[str, list[tuple[str, str]]]:
    """Parses and checks one record; returns (source, problems)."""
    try:
        example = tf.train.Example.FromString(record)
    except message.DecodeError:
        return NO_SOURCE, [(RECORD, "not a serialized tf.train.Example")]
    return example_source(example), check_example(example, schema)


class _ReportCombineFn(beam.CombineFn):
    """Combines (source, problems) into a SplitReport.

    The accumulator, (examples, {(feature, problem): (count, samples)}), grows with the kinds of
    problems, not the data; samples keep the smallest sources, so bundle order does not matter.
    """

    def create_accumulator(self) -> tuple[int, dict]:
        return 0, {}

    def add_input(self, accumulator: tuple[int, dict], checked: tuple[str, list]) -> tuple[int, dict]:
        source, problems = checked
        return self.merge_accumulators([accumulator, (1, {tuple(key): (1, (source,)) for key in problems})])

    def merge_accumulators(self, accumulators: Iterable[tuple[int, dict]]) -> tuple[int, dict]:
        total, merged = 0, {}
        for examples, found in accumulators:
            total += examples
            for key, (count, samples) in found.items():
                old_count, old_samples = merged.get(key, (0, ()))
                merged[key] = (old_count + count, tuple(sorted({*old_samples, *samples})[:MAX_SAMPLES]))
        return total, merged

    def extract_output(self, accumulator: tuple[int, dict]) -> SplitReport:
        examples, found = accumulator
        violations = tuple(
            Violation(feature, problem, count, samples)
            for (feature, problem), (count, samples) in sorted(found.items())
        )
        return SplitReport(examples, violations)


class ValidateExamples(beam.PTransform):
    """PCollection[bytes] (serialized tf.train.Example) -> one SplitReport; refuses an unsupported schema."""

    def __init__(self, schema: schema_pb2.Schema):
        super().__init__()
        check_schema_supported(schema)
        self._schema = schema

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return (
            records
            | "Check" >> beam.Map(check_serialized, self._schema)
            | "Report" >> beam.CombineGlobally(_ReportCombineFn())
        )
