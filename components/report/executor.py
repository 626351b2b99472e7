"""Report executor: reads the run's artifacts, renders ``report.html``, copies it beside a pushed model."""

import json
import logging
import time

from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components.artifacts import run_report
from components.artifacts.ref import artifact_ref
from components.component_spec import Artifacts, Properties
from components.report import read_inputs, render
from components.versions import library_versions

logger = logging.getLogger(__name__)

PIPELINE_NAME_KEY = "pipeline_name"
STEP_PROPERTIES_KEY = "step_properties"


class Executor(base_executor.BaseExecutor):
    """Renders the run report from whichever of its inputs the run produced."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        started = time.monotonic()
        output = artifact_utils.get_single_instance(output_dict[run_report.REPORT_KEY])
        inputs = {
            key: artifact_ref(artifacts[0].mlmd_artifact)
            for key, artifacts in input_dict.items()
            if artifacts
        }
        logger.info(
            "Report: start, from %s", ", ".join(key for key in run_report.INPUT_KEYS if key in inputs)
        )
        versions = library_versions()
        report = read_inputs.collect_report(
            inputs,
            json.loads(exec_properties[STEP_PROPERTIES_KEY]),
            versions,
            title=f"{exec_properties[PIPELINE_NAME_KEY]} run report",
        )
        html = render.render_report(report)

        # Copied beside the pushed version's model, when the run pushed one.
        path, copied = run_report.write_report(
            output.uri, html, versions, report.generated_at, report.lineage.push.destination
        )
        logger.info(
            "Report done in %.1f s: %s (%s KB)%s",
            time.monotonic() - started,
            path,
            f"{len(html.encode('utf-8')) // 1024:,}",
            f", copied to {copied}" if copied else "",
        )
