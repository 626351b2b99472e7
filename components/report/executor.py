"""Report executor: reads the run's artifacts, renders ``report.html``, copies it beside a pushed model."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components.report import collect, render
from components.versions import library_versions

logger = logging.getLogger(__name__)

REPORT_STEP = "Report"
REPORT_KEY = "report"
PIPELINE_NAME_KEY = "pipeline_name"
STEP_PROPERTIES_KEY = "step_properties"
# Beside report.html: what the page cannot show machine-readably (the versions
# of the environment that ran the steps), for re-rendering the report later.
REPORT_DATA_FILE = "report.json"
VERSIONS_KEY = "versions"
# Folder of the report inside a pushed version directory.
PUSHED_REPORT_DIR = "report"


class Executor(base_executor.BaseExecutor):
    """Renders the run report from whichever of its inputs the run produced."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        started = time.monotonic()
        output = artifact_utils.get_single_instance(output_dict[REPORT_KEY])
        inputs = {
            key: collect.artifact_ref(artifacts[0].mlmd_artifact)
            for key, artifacts in input_dict.items()
            if artifacts
        }
        logger.info("Report: start, from %s", ", ".join(key for key in collect.INPUT_KEYS if key in inputs))
        versions = library_versions()
        report = collect.collect_report(
            inputs,
            json.loads(exec_properties[STEP_PROPERTIES_KEY]),
            versions,
            title=f"{exec_properties[PIPELINE_NAME_KEY]} run report",
        )
        html = render.render_report(report)

        tf.io.gfile.makedirs(output.uri)
        path = os.path.join(output.uri, render.REPORT_FILE)
        with tf.io.gfile.GFile(path, "w") as f:
            f.write(html)
        with tf.io.gfile.GFile(os.path.join(output.uri, REPORT_DATA_FILE), "w") as f:
            json.dump({VERSIONS_KEY: versions, "generated_at": report.generated_at}, f, indent=2)
        # Beside the pushed version's model, when the run pushed one.
        destination = report.lineage.pushed_destination
        copied = os.path.join(destination, PUSHED_REPORT_DIR) if destination else None
        if copied:
            tf.io.gfile.makedirs(copied)
            tf.io.gfile.copy(path, os.path.join(copied, render.REPORT_FILE), overwrite=True)
        logger.info(
            "Report done in %.1f s: %s (%s KB)%s",
            time.monotonic() - started,
            path,
            f"{len(html.encode('utf-8')) // 1024:,}",
            f", copied to {copied}" if copied else "",
        )
