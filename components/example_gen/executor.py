"""TFX executor of the IMDb ExampleGen: reviews -> tf.train.Example in four splits; checks that fail the
step after the quarantine summary is written."""

from __future__ import annotations

import logging
import os
from typing import Any

from google.protobuf import wrappers_pb2
from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2, range_config_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components.artifacts import quarantine, statistics
from components.beam_utils import WriteExamples, set_examples_format
from components.example_gen import errors, ingest, quarantining, reader, spans
from components.example_gen.errors import ImdbDataError
from components.example_gen.options import ExampleGenOptions, validate_eval_percent
from components.plural import counted
from schemas import features

logger = logging.getLogger(__name__)


def eval_percent_from_output_config(output_config: example_gen_pb2.Output) -> int:
    """The eval percentage of an output config ``component.make_output_config`` built; any other refused."""
    splits = [(split.name, split.hash_buckets) for split in output_config.split_config.splits]
    partition = output_config.split_config.partition_feature_name
    if (
        [name for name, _buckets in splits] != [features.TRAIN, features.EVAL]
        or sum(buckets for _name, buckets in splits) != 100
        or partition != features.MOVIE_ID
    ):
        raise ValueError(
            f"output_config must split into '{features.TRAIN}' and '{features.EVAL}' with hash_buckets "
            f"(100 - p, p) and partition_feature_name '{features.MOVIE_ID}' (see make_output_config); "
            f"got splits {splits} and partition_feature_name {partition!r}"
        )
    return validate_eval_percent(splits[1][1])


def make_custom_config(options: ExampleGenOptions) -> example_gen_pb2.CustomConfig:
    """Packs the options into FileBasedExampleGen's ``custom_config`` exec property.

    Their JSON in a StringValue, not a Struct: a Struct would turn whole numbers into floats, which
    the options' type checks refuse.
    """
    config = example_gen_pb2.CustomConfig()
    config.custom_config.Pack(wrappers_pb2.StringValue(value=options.to_json()))
    return config


def options_from_exec_properties(exec_properties: dict[str, Any]) -> ExampleGenOptions:
    """The options packed by :func:`make_custom_config`; the defaults when there is no custom config."""
    config = example_gen_pb2.CustomConfig()
    if serialized := exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY):
        proto_utils.json_to_proto(serialized, config)
    if not config.HasField("custom_config"):
        return ExampleGenOptions()
    value = wrappers_pb2.StringValue()
    if not config.custom_config.Unpack(value):
        raise ValueError(
            f"custom_config must hold the example_gen options as a StringValue (see make_custom_config), "
            f"got {config.custom_config.type_url}"
        )
    return ExampleGenOptions.from_json(value.value)


def split_problems(split_folders: dict[str, dict[str, int]], eval_percent: int) -> str:
    """Says why the splits cannot train, validate and evaluate a classifier; "" when they can.

    train and test need both labels (blessing on one label measures nothing), eval needs reviews for
    early stopping; unsup may be empty.
    """
    problems = []
    for split, dataset_dir in ((features.TRAIN, reader.TRAIN_DIR), (features.TEST, reader.TEST_DIR)):
        pos, neg = (split_folders.get(split, {}).get(folder, 0) for folder in (reader.POS, reader.NEG))
        if pos and neg:
            continue
        missing = [
            f"{dataset_dir}/{folder}/" for folder, n in ((reader.POS, pos), (reader.NEG, neg)) if not n
        ]
        problems.append(
            f"the {split} split has {pos} positive and {neg} negative reviews, a classifier needs both "
            f"(is {' or '.join(missing)} missing, empty or all set aside?)"
        )
    if not sum(split_folders.get(features.EVAL, {}).values()):
        problems.append(
            f"the {features.EVAL} split is empty: eval_percent {eval_percent} took no movie of the "
            f"{sum(split_folders.get(features.TRAIN, {}).values())} train reviews; "
            "raise eval_percent or add reviews"
        )
    return "; ".join(problems)


def failure(bad_records: str, splits_problem: str, kept: quarantine.KeptQuarantine) -> ImdbDataError:
    """The error that fails the run: the bad records' problem (a :class:`TooManyBadRecordsError`), else the
    splits' (one of them is not ""), then where the quarantine is kept, or why it could not be."""
    if not (bad_records or splits_problem):
        raise ValueError("failure() needs the bad records' problem or the splits'")
    lost = f"The quarantine could not be kept ({kept.error}): TFX deletes it with the failed run's outputs"
    if bad_records:
        files = f"{kept.folder}/{quarantine.FILE_PREFIX}-*{quarantine.FILE_SUFFIX}"
        where = lost if kept.folder is None else f"Every one is in {files} with its reason and raw bytes"
        return quarantining.TooManyBadRecordsError(
            f"{bad_records}. {where}; fix them and run again, or raise the limit"
        )
    summary = f"{kept.folder}/{quarantine.SUMMARY_FILE}"
    where = lost if kept.folder is None else f"What was read and set aside is kept in {summary}"
    return ImdbDataError(f"{splits_problem}. {where}")


# What this executor writes, as TFX names it (see beam_utils.WriteExamples): unspecified means the default.
_OUTPUT_FORMATS = {
    standard_component_specs.OUTPUT_DATA_FORMAT_KEY: (example_gen_pb2.PayloadFormat, "FORMAT_TF_EXAMPLE"),
    standard_component_specs.OUTPUT_FILE_FORMAT_KEY: (example_gen_pb2.FileFormat, "FORMAT_TFRECORDS_GZIP"),
}


def check_output_formats(exec_properties: dict[str, Any]) -> None:
    """Raises ValueError for an ``output_data_format`` / ``output_file_format`` this executor does not write."""
    for key, (enum, written) in _OUTPUT_FORMATS.items():
        value = exec_properties.get(key) or 0
        if value not in (0, enum.Value(written)):
            name = enum.Name(value) if value in enum.values() else f"not a {enum.DESCRIPTOR.name}"
            raise ValueError(
                f"{key} must be {written} ({enum.Value(written)}) or unset: this ExampleGen writes "
                f"tf.train.Example records to TFRecord files; got {value} ({name})"
            )


def input_patterns(exec_properties: dict[str, Any]) -> list[str]:
    """The file patterns of the input splits, joined to ``input_base``: the whole dataset, or one per span."""
    input_config = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input()
    )
    if not input_config.splits:
        raise ValueError("input_config must have a split (the whole dataset, or one per span)")
    base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    return [os.path.join(base, split.pattern) for split in input_config.splits]


def record_first_span(examples: types.Artifact, exec_properties: dict[str, Any]) -> None:
    """Records the first span of a window of several spans on the Examples (the driver's ``span`` is its last)."""
    entry = exec_properties.get(standard_component_specs.RANGE_CONFIG_KEY)
    several = spans.range_spans(
        proto_utils.json_to_proto(entry, range_config_pb2.RangeConfig()) if entry else None
    )
    span = statistics.span_of(examples)
    if several and span is not None:
        statistics.set_first_span(examples, span - several[0] + 1)


class Executor(base_beam_executor.BaseBeamExecutor):
    """Not a ``BaseExampleGenExecutor``, whose ``Do`` writes only the hash splits (train and eval)."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        """Raises TooManyBadRecordsError or ImdbDataError (see :func:`failure`) after writing."""
        check_output_formats(exec_properties)
        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        examples.split_names = artifact_utils.encode_split_names(list(reader.OUTPUT_SPLITS))
        logger.info("ExampleGen: start, writing examples to %s", examples.uri)
        quarantine_dir = os.path.join(examples.uri, quarantine.QUARANTINE_DIR)
        output_config_json = exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY]
        eval_percent = eval_percent_from_output_config(
            proto_utils.json_to_proto(output_config_json, example_gen_pb2.Output())
        )
        options = options_from_exec_properties(exec_properties)
        patterns = input_patterns(exec_properties)
        logger.info(
            "ExampleGen: reading IMDb reviews from %s, %d%% of train movies to eval",
            ", ".join(patterns),
            eval_percent,
        )
        pipeline = self._make_beam_pipeline()
        splits = pipeline | "IngestImdbReviews" >> ingest.IngestImdbReviews(
            patterns, eval_percent, options, quarantine_dir
        )
        for split, split_examples in splits.items():
            _ = split_examples | f"WriteSplit[{split}]" >> WriteExamples(
                artifact_utils.get_split_uri([examples], split)
            )
        try:
            with errors.beam_logs_without((ImdbDataError,)):
                pipeline.run().wait_until_finish()
        except Exception as error:
            # The archive or dataset is named in the message; Beam's step name is not the user's concern.
            cause = errors.error_in(error, (ImdbDataError,))
            if cause is None:
                raise
            raise cause from error
        summary = quarantine.read_summary(quarantine_dir)
        for name, value in summary.artifact_properties().items():
            examples.set_int_custom_property(name, value)
        record_first_span(examples, exec_properties)
        bad_records = quarantining.bad_records_problem(summary, options)
        problems = split_problems(summary.split_folders, eval_percent)
        # TFX deletes a failed execution's outputs: a failed run keeps a copy of its quarantine first,
        # and every line the user reads names the folder written (or says why none was).
        failed = bool(bad_records or problems)
        kept = (
            quarantine.keep_quarantine(examples.uri) if failed else quarantine.KeptQuarantine(quarantine_dir)
        )
        shown = kept.folder or "a quarantine that could not be kept"
        if summary.set_aside:
            logger.warning(
                "ExampleGen: set aside %s in %s: %s",
                counted(summary.set_aside, "record"),
                shown,
                summary.describe_reasons(),
            )
        if no_movie_id := summary.describe_no_movie_id(reader.OUTPUT_SPLITS):
            logger.warning("ExampleGen: %s (see %s)", no_movie_id, shown)
        if failed:
            raise failure(bad_records, problems, kept)
        set_examples_format(examples)
        logger.info(
            "ExampleGen: done, examples per split: %s",
            ", ".join(f"{split}={summary.split_size(split)}" for split in reader.OUTPUT_SPLITS),
        )
