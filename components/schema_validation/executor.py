"""Executors of SchemaImporter and ExampleValidator: read artifacts, call validation.py, write artifacts."""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import apache_beam as beam
from google.protobuf import text_format
import pydantic
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import types
from tfx.dsl.components.base import base_beam_executor, base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils

from components.artifacts.files import read_json
from components.beam_utils import ReadSplits
from components.component_spec import Artifacts, Properties
from components.plural import counted
from components.schema_validation import validation
from schemas import features
from schemas.schema import schema_for_environment

logger = logging.getLogger(__name__)

SCHEMA_TEXT_KEY = "schema_text"
SCHEMA_KEY = standard_component_specs.SCHEMA_KEY
EXAMPLES_KEY = standard_component_specs.EXAMPLES_KEY
ANOMALIES_KEY = standard_component_specs.ANOMALIES_KEY
# TFX convention for the file inside a Schema artifact.
SCHEMA_FILE = "schema.pbtxt"
ANOMALIES_FILE = "anomalies.json"
# How many violations the error message spells out; anomalies.json has them all.
MAX_REPORTED_VIOLATIONS = 10


class SchemaViolationError(ValueError):
    """Examples break the schema; raised after anomalies.json is written, to stop the run."""


def parse_schema(text: str, where: str) -> schema_pb2.Schema:
    """Parses a text-format tensorflow_metadata Schema, naming ``where`` it came from on error."""
    try:
        return text_format.Parse(text, schema_pb2.Schema())
    except text_format.ParseError as error:
        raise ValueError(f"{where} is not a valid text-format tensorflow_metadata Schema: {error}") from None


def read_schema(schema_artifact: types.Artifact) -> schema_pb2.Schema:
    """Reads ``<uri>/schema.pbtxt`` of a Schema artifact."""
    path = os.path.join(schema_artifact.uri, SCHEMA_FILE)
    with fileio.open(path, "r") as file:
        return parse_schema(file.read(), path)


class SchemaImporterExecutor(base_executor.BaseExecutor):
    """Parses the schema text (so a broken schema fails here) and writes it as ``schema.pbtxt``."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        schema_artifact = artifact_utils.get_single_instance(output_dict[SCHEMA_KEY])
        logger.info("SchemaImporter: start, writing schema to %s", schema_artifact.uri)
        schema = parse_schema(exec_properties[SCHEMA_TEXT_KEY], SCHEMA_TEXT_KEY)
        io_utils.write_pbtxt_file(os.path.join(schema_artifact.uri, SCHEMA_FILE), schema)
        logger.info(
            "SchemaImporter: done, %s, environments %s",
            counted(len(schema.feature), "feature"),
            ", ".join(schema.default_environment) or "none",
        )


def violation_message(reports: dict[str, validation.SplitReport], anomalies_path: str) -> str | None:
    """Returns the error message for the violations in ``reports`` (split -> report), None if none.

    Each line names the split, the feature, the problem, how many examples and
    a few example sources, e.g. ``split 'train': feature 'label': value 3
    outside int_domain [0, 1] in 2 examples (train/pos/4_9.txt, ...)``.
    """
    lines = [
        f"split '{split}': {violation.describe()}"
        for split, report in reports.items()
        for violation in report.violations
    ]
    if not lines:
        return None
    shown = lines[:MAX_REPORTED_VIOLATIONS]
    if len(lines) > len(shown):
        shown.append(f"... and {len(lines) - len(shown)} more")
    return f"examples violate the schema (all details in {anomalies_path}):\n" + "\n".join(shown)


def _write_anomalies(
    reports: list[tuple[str, str, validation.SplitReport]], path: str, split_names: list[str]
) -> None:
    """Writes anomalies.json from (split, environment, report) triples, in the artifact's split order."""
    reports = sorted(reports, key=lambda item: split_names.index(item[0]))
    document = {
        "ok": not any(report.violations for _split, _environment, report in reports),
        "splits": {
            split: {"environment": env, **dataclasses.asdict(report)} for split, env, report in reports
        },
    }
    io_utils.write_string_file(path, json.dumps(document, indent=2) + "\n")


class ExampleValidatorExecutor(base_beam_executor.BaseBeamExecutor):
    """Validates every split of an Examples artifact against the schema of its environment."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        """Writes ``anomalies.json``; raises :class:`SchemaViolationError` if any example is invalid."""
        examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
        schema = read_schema(artifact_utils.get_single_instance(input_dict[SCHEMA_KEY]))
        validation.check_schema_supported(schema)
        anomalies = artifact_utils.get_single_instance(output_dict[ANOMALIES_KEY])
        split_names = artifact_utils.decode_split_names(examples.split_names)
        logger.info("ExampleValidator: start, checking splits %s of %s", ", ".join(split_names), examples.uri)

        reads = {split: ReadSplits(examples, [split]) for split in split_names}
        fileio.makedirs(anomalies.uri)
        anomalies.split_names = examples.split_names
        anomalies_path = os.path.join(anomalies.uri, ANOMALIES_FILE)
        with self._make_beam_pipeline() as pipeline:
            reports = []
            for split, read in reads.items():
                environment = features.environment_for_split(split)
                reports.append(
                    pipeline
                    | f"Read[{split}]" >> read
                    | f"Records[{split}]" >> beam.Values()
                    | f"Validate[{split}]"
                    >> validation.ValidateExamples(schema_for_environment(schema, environment))
                    | f"Label[{split}]" >> beam.Map(lambda report, s=split, e=environment: (s, e, report))
                )
            _ = (
                reports
                | "Flatten" >> beam.Flatten()
                | "Gather" >> beam.combiners.ToList()
                | "WriteAnomalies" >> beam.Map(_write_anomalies, anomalies_path, split_names)
            )

        # Each split's entry is ``environment`` + ``asdict`` of its report: pydantic reads the report back.
        document = read_json(anomalies_path)
        if document is None:
            raise FileNotFoundError(f"{anomalies_path} was not written: the validation left no report")
        entries = document["splits"]
        split_reports = pydantic.TypeAdapter(dict[str, validation.SplitReport]).validate_python(entries)
        counts = ", ".join(
            f"{split}={report.examples} ({counted(len(report.violations), 'problem')})"
            for split, report in split_reports.items()
        )
        logger.info("ExampleValidator: done, examples checked per split: %s", counts)
        message = violation_message(split_reports, anomalies_path)
        if message:
            raise SchemaViolationError(message)
