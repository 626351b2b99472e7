"""Re-renders the report of a past run and writes the index of runs (``imdb-pipeline report``).

The run is read from ML Metadata (``run_records.py``); the page is built by the
report step's public entry points (``components/report/__init__.py``), the
same ones its executor uses, with the versions the run recorded.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import time

import tensorflow as tf

from components import report, versions
from components.artifacts import run_report
from components.example_gen.options import is_remote
from pipeline.config import METADATA_FILE
from pipeline.run_records import CACHED, EXECUTED, RunRecord, find_run, list_runs, open_store
from pipeline.stored_uris import moved_from
from pipeline.summary import summarize

logger = logging.getLogger(__name__)

REPORTS_DIR = "reports"


class ReportError(RuntimeError):
    """A run's artifacts cannot be read (deleted or damaged files), or the report cannot be written."""


class OutputMovedError(ReportError):
    """The run's artifacts are not where its records point: the output was moved after the run."""


def run_dir_name(run_id: str) -> str:
    """A folder name for a run id (its start time): characters other than ``[A-Za-z0-9._-]`` become ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", run_id)


def render_run(
    output: str, run_id: str | None = None, pipeline_name: str | None = None, reports: str | None = None
) -> str:
    """Re-renders a run's report (the newest by default) into ``<reports>/<run>/report.html``; its path.

    ``reports`` is ``<output>/reports`` unless given (an output that cannot be written to).

    Raises:
        RunNotFoundError: no metadata store, no run, or no run of that id.
        ReportError: the run's artifacts cannot be read, or the report written.
    """
    store = open_store(posixpath.join(output, METADATA_FILE))
    run = find_run(list_runs(store, pipeline_name, output), run_id, pipeline_name, store)
    _check_not_moved(output, run)
    started = time.monotonic()
    try:
        report_data = report.collect_report(
            run.inputs,
            run.step_properties,
            run_report.read_versions(run.report_uri) or versions.library_versions(),
            title=f"{run.pipeline_name} run report",
            run_id=run.run_id,
            steps=run.steps,
        )
        directory = posixpath.join(reports or posixpath.join(output, REPORTS_DIR), run_dir_name(run.run_id))
        path = _write_page(directory, run_report.REPORT_FILE, report.render_report(report_data))
    except (OSError, tf.errors.OpError) as error:
        raise ReportError(f"run {run.run_id}: {_describe(error)}") from error
    logger.info("Report of run %s written to %s in %.1f s", run.run_id, path, time.monotonic() - started)
    return path


def _check_not_moved(output: str, run: RunRecord) -> None:
    """Raises OutputMovedError, before anything reads them, when artifacts the report reads are missing and the
    store records another output folder that no longer exists (where the reading would fail with tf.Transform's
    own words)."""
    missing = sorted(
        ref.uri for ref in run.inputs.values() if not is_remote(ref.uri) and not os.path.exists(ref.uri)
    )
    elsewhere = moved_from(posixpath.join(output, METADATA_FILE), output) if missing else None
    if elsewhere is None or os.path.exists(elsewhere):  # a copy: the original's missing files are its failure
        return
    more = f" (and {len(missing) - 1} more of its artifacts)" if len(missing) > 1 else ""
    raise OutputMovedError(
        f"run {run.run_id}: its records point at {missing[0]}{more}, which no longer exists: the output seems "
        f"to have been moved from {elsewhere} to {output} (ML Metadata keeps absolute paths); move or copy it "
        f"back to {elsewhere} to report its runs, or run the pipeline into a new output folder"
    )


def _write_page(directory: str, name: str, html: str) -> str:
    tf.io.gfile.makedirs(directory)
    path = posixpath.join(directory, name)
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(html)
    return path


def _describe(error: Exception) -> str:
    if isinstance(error, tf.errors.OpError):
        return error.message
    return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)


def _href(index_dir: str, target: str) -> str:
    if "://" in target:
        return target
    return os.path.relpath(target, index_dir)


def run_entry(run: RunRecord, index_dir: str, show_pipeline: bool = False) -> report.RunEntry:
    """One index row: how a run ended, its metrics, blessing and push, and a link to its report."""
    summary = summarize(run)
    rerendered = posixpath.join(index_dir, run_dir_name(run.run_id), run_report.REPORT_FILE)
    if tf.io.gfile.exists(rerendered):
        href = _href(index_dir, rerendered)
    elif run.report_uri:
        href = _href(index_dir, posixpath.join(run.report_uri, run_report.REPORT_FILE))
    else:
        href = None
    return report.RunEntry(
        run_id=run.run_id,
        executed=run.count(EXECUTED),
        cached=run.count(CACHED),
        metrics=summary.metrics,
        blessed=summary.blessed,
        pushed_version=summary.pushed_version,
        report_href=href,
        outcome=run.outcome,
        pipeline_name=run.pipeline_name if show_pipeline else None,
    )


def write_index(output: str, reports: str | None = None) -> str:
    """Writes ``<reports>/index.html`` (``<output>/reports``) listing every run of every pipeline, newest
    first; returns its path.

    Raises RunNotFoundError without a store, ReportError if a run cannot be read or the index written.
    """
    store = open_store(posixpath.join(output, METADATA_FILE))
    runs = list(list_runs(store, output=output))
    index_dir = reports or posixpath.join(output, REPORTS_DIR)
    try:
        names = sorted({run.pipeline_name for run in runs}) or [""]
        entries = [run_entry(run, index_dir, show_pipeline=len(names) > 1) for run in runs]
        html = report.render_index(f"{', '.join(names)} runs", entries)
        path = _write_page(index_dir, report.INDEX_FILE, html)
    except (OSError, tf.errors.OpError) as error:
        raise ReportError(f"index of runs: {_describe(error)}") from error
    return path
