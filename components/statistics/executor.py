"""Executors of StatisticsGen and DriftCheck: read artifacts, call stats.py / drift.py, write artifacts."""

from __future__ import annotations

import dataclasses
import logging

import apache_beam as beam
from tfx.dsl.components.base import base_beam_executor, base_executor
from tfx.types import artifact_utils

from components.artifacts import drift_anomalies, statistics, transform_graph
from components.artifacts.files import DamagedFileError
from components.beam_utils import ReadSplits
from components.component_spec import Artifacts, Properties, optional_instance
from components.plural import counted
from components.statistics import drift
from components.statistics.options import DriftAction, DriftOptions
from components.statistics.stats import ComputeStatistics

logger = logging.getLogger(__name__)

EXAMPLES_KEY = "examples"
TRANSFORM_GRAPH_KEY = "transform_graph"
STATISTICS_KEY = statistics.STATISTICS_KEY
BASELINE_STATISTICS_KEY = "baseline_statistics"
ANOMALIES_KEY = drift_anomalies.ANOMALIES_KEY


def _write(
    computed: tuple[statistics.Statistics, dict], uri: str, spans: tuple, vocabulary: list[str]
) -> None:
    """Writes ComputeStatistics' element, with the (first, last) span, into the artifact at ``uri``."""
    found, token_counts = computed
    found = dataclasses.replace(found, first_span=spans[0], span=spans[1])
    statistics.write_statistics(found, uri, token_counts, vocabulary)


def _against_previous(
    current: statistics.Statistics, current_uri: str, previous: statistics.Statistics, previous_uri: str
) -> tuple[dict[str, dict[str, int]] | None, list[str] | None]:
    """This span's token counts per split and the previous span's vocabulary, for drift.check;
    (None, None), and a log line saying why, when either artifact lacks them or they are damaged."""
    try:
        vocabulary = statistics.read_vocabulary(previous_uri, previous.vocabulary_size)
        counts = {
            name: statistics.read_token_counts(current_uri, name, split.tokens)
            for name, split in current.splits.items()
        }
    except DamagedFileError as error:
        logger.warning(
            "DriftCheck: %s: each span's out-of-vocabulary share is measured against its own vocabulary",
            error,
        )
        return None, None
    if vocabulary is not None and None not in counts.values():
        return counts, vocabulary
    lacking = (
        f"{previous_uri} holds no {statistics.VOCABULARY_FILE}"
        if vocabulary is None
        else f"{current_uri} holds no {statistics.SPLIT_PREFIX}*/{statistics.TOKEN_COUNTS_FILE}"
    )
    logger.info(
        "DriftCheck: %s (statistics written before it was kept): "
        "each span's out-of-vocabulary share is measured against its own vocabulary",
        lacking,
    )
    return None, None


class StatisticsGenExecutor(base_beam_executor.BaseBeamExecutor):
    """Computes every split's statistics in one Beam pipeline and writes the ExampleStatistics artifact."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
        graph = artifact_utils.get_single_instance(input_dict[TRANSFORM_GRAPH_KEY])
        output = artifact_utils.get_single_instance(output_dict[STATISTICS_KEY])
        split_names = artifact_utils.decode_split_names(examples.split_names)
        logger.info("StatisticsGen: start, splits %s of %s", ", ".join(split_names), examples.uri)
        _max_length, vocabulary = transform_graph.read_transform(graph.uri)
        span, first_span = statistics.span_of(examples), statistics.first_span_of(examples)

        with self._make_beam_pipeline() as pipeline:
            _ = (
                pipeline
                | "ReadSplits" >> ReadSplits(examples, split_names)
                | "ComputeStatistics" >> ComputeStatistics(split_names, vocabulary)
                | "Write" >> beam.Map(_write, output.uri, (first_span, span), vocabulary)
            )

        written = statistics.read_statistics(output.uri)
        output.split_names = examples.split_names
        if span is not None:
            output.span = span
            output.set_int_custom_property(statistics.SPAN_PROPERTY, span)
            statistics.set_first_span(output, first_span)
        for name, split in written.splits.items():
            output.set_int_custom_property(f"{name}_examples", split.examples)
        logger.info("StatisticsGen: done, %s", statistics.describe(written))


class DriftCheckExecutor(base_executor.BaseExecutor):
    """Compares this span's statistics with the previous span's, and train with test; stops or warns."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        options = DriftOptions.from_exec_properties(exec_properties)
        current_artifact = artifact_utils.get_single_instance(input_dict[STATISTICS_KEY])
        baseline = optional_instance(input_dict, BASELINE_STATISTICS_KEY)
        anomalies = artifact_utils.get_single_instance(output_dict[ANOMALIES_KEY])
        current = statistics.read_statistics(current_artifact.uri)
        previous = statistics.read_statistics(baseline.uri) if baseline is not None else None
        first_span = current.earliest_span
        skipped: list[drift_anomalies.NotCompared] = []
        without = "no earlier span"
        if previous is not None and None not in (previous.span, first_span) and previous.span >= first_span:
            # Only the portable resolver (latest statistics) can hand over statistics of a span this run reads.
            name, previous_name = current.span_name("this span"), previous.span_name("the previous span")
            what = f"{name} against the baseline handed over"
            reason = f"{baseline.uri} holds {previous_name}, not before this run's {name}"
            skipped.append(
                drift_anomalies.NotCompared(drift_anomalies.DRIFT, None, previous_name, what, reason)
            )
            previous, without = None, f"no baseline: {drift_anomalies.not_earlier(previous_name)}"
        logger.info(
            "DriftCheck: start, %s against %s",
            current.span_name("this span"),
            f"{previous.span_name('the previous span')} ({baseline.uri})" if previous else without,
        )
        token_counts, previous_vocabulary = (
            _against_previous(current, current_artifact.uri, previous, baseline.uri)
            if previous is not None
            else (None, None)
        )
        thresholds = options.thresholds()
        findings = drift.check(
            current, previous, thresholds, options.min_examples, skipped, token_counts, previous_vocabulary
        )
        for entry in skipped:
            logger.warning("DriftCheck: %s", entry.message)
        over = [finding for finding in findings if finding.exceeded]
        stops = [finding for finding in over if options.action(finding.check) == DriftAction.STOP]
        warnings = [finding for finding in over if options.action(finding.check) != DriftAction.STOP]
        drift_anomalies.write_anomalies(
            anomalies,
            findings,
            current.span,
            previous.span if previous else None,
            warnings,
            (current.first_span, previous.first_span if previous else None),
            skipped,
        )
        for finding in warnings:
            logger.warning("DriftCheck: %s (warn only)", finding.message)
        logger.info(
            "DriftCheck: done, %s, %d over their threshold", counted(len(findings), "comparison"), len(over)
        )
        if stops:
            raise drift.DriftError(
                "data drift: "
                + "; ".join(finding.message for finding in stops)
                + " (its action is stop: nothing is trained; set drift.<check>_action to warn to go on)"
            )
