"""Compiling the pipeline for Kubeflow Pipelines / Vertex AI Pipelines (TFX's Kubeflow V2 runner).

The same ``create_pipeline(config)`` is compiled into a pipeline job spec
(JSON) that Vertex AI Pipelines or Kubeflow Pipelines 2.x runs; every step runs
in the given container image, and the orchestrator provides ML Metadata.
Schedules are created when the spec is submitted: :func:`schedule_commands`
gives the exact calls for both services.
"""

from __future__ import annotations

import os
import re

from pipeline.config import PipelineConfig
from pipeline.pipeline import create_pipeline

_CRON_FIELD = re.compile(r"^[\d*/,\-]+$")


class ScheduleError(ValueError):
    """A cron expression that is not five fields of digits, ``*``, ``/``, ``,`` and ``-``."""


def validate_cron(expression: str) -> str:
    """Returns a standard five-field cron expression (minute hour day month weekday) or raises."""
    fields = expression.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(field) for field in fields):
        raise ScheduleError(
            f"schedule must be a five-field cron expression (minute hour day-of-month month day-of-week), "
            f"e.g. '0 3 * * *'; got {expression!r}"
        )
    return " ".join(fields)


def compile_pipeline(config: PipelineConfig, output_file: str, image: str) -> dict:
    """Writes the Kubeflow V2 pipeline job spec for ``config`` and returns it."""
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=os.path.dirname(os.path.abspath(output_file)),
        output_filename=os.path.basename(output_file),
    )
    return runner.run(create_pipeline(config, portable=True), write_out=True)


def schedule_commands(spec_file: str, cron: str, config: PipelineConfig) -> str:
    """Python snippets that create a recurring run of the compiled spec on Vertex AI and on KFP."""
    cron = validate_cron(cron)
    return f"""\
# Vertex AI Pipelines (pip install google-cloud-aiplatform; gcloud auth application-default login):
from google.cloud import aiplatform
aiplatform.init(project="MY_PROJECT", location="MY_REGION")
job = aiplatform.PipelineJob(
    display_name="{config.pipeline_name}",
    template_path="{spec_file}",
    pipeline_root="{config.pipeline_root}",
)
job.create_schedule(display_name="{config.pipeline_name}-schedule", cron="{cron}")

# Kubeflow Pipelines 2.x (its cron has a leading seconds field):
import kfp
client = kfp.Client(host="https://MY_KFP_HOST")
experiment = client.create_experiment("{config.pipeline_name}")
client.create_recurring_run(
    experiment_id=experiment.experiment_id,
    job_name="{config.pipeline_name}-schedule",
    cron_expression="0 {cron}",
    pipeline_package_path="{spec_file}",
)
"""
