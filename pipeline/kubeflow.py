"""Compiling the pipeline for Kubeflow Pipelines / Vertex AI Pipelines (TFX's Kubeflow V2 runner).

The same ``create_pipeline(config)`` is compiled by TFX's Kubeflow V2 runner
into one of the two files the orchestrators load (every step runs in the given
container image, and the orchestrator provides ML Metadata):

- ``kfp``: a KFP pipeline package, the YAML of the ``PipelineSpec`` (with the
  pipeline root as its default), which ``kfp.Client().create_run_from_pipeline_package``
  and ``create_recurring_run`` read; Vertex AI reads it too.
- ``vertex``: a Vertex AI ``PipelineJob`` in JSON (display name, the
  ``PipelineSpec`` and the runtime configuration with the pipeline root), the
  ``template_path`` of ``aiplatform.PipelineJob``; KFP's client refuses it.

The target is named (``--target``) or follows from the file's extension
(``.yaml``/``.yml`` or ``.json``); :func:`resolve_target` refuses a
contradiction. :func:`client_commands` gives the
exact calls for the file that was written.
"""

from __future__ import annotations

import json
import os
import re

from pipeline.config import PipelineConfig
from pipeline.pipeline import create_pipeline

_CRON_FIELD = re.compile(r"^[\d*/,\-]+$")


KFP = "kfp"
VERTEX = "vertex"
TARGETS = (KFP, VERTEX)
# The extensions each orchestrator's client reads for the file it takes.
EXTENSIONS = {KFP: (".yaml", ".yml"), VERTEX: (".json",)}


class TargetError(ValueError):
    """An output file name whose extension does not fit the target, or names none."""


def resolve_target(output_file: str, target: str | None = None) -> str:
    """The orchestrator ``output_file`` is for: ``target`` if given, else the extension's.

    Raises:
        TargetError: the extension is none of :data:`EXTENSIONS`, or belongs to
            the other target.
    """
    extension = os.path.splitext(output_file)[1].lower()
    by_extension = next((name for name, endings in EXTENSIONS.items() if extension in endings), None)
    if target is not None and target not in TARGETS:
        raise TargetError(f"--target must be one of {', '.join(TARGETS)}, got {target!r}")
    if by_extension is None:
        wanted = (
            EXTENSIONS[target] if target else tuple(e for endings in EXTENSIONS.values() for e in endings)
        )
        raise TargetError(
            f"--output-file {output_file}: the name must end with {' or '.join(wanted)} "
            "(.yaml/.yml: a Kubeflow Pipelines package; .json: a Vertex AI pipeline job)"
        )
    if target is not None and target != by_extension:
        raise TargetError(
            f"--output-file {output_file} is a {_DESCRIPTION[by_extension]} name, but --target is {target} "
            f"(a {_DESCRIPTION[target]}): name the file {' or '.join('*' + e for e in EXTENSIONS[target])}"
        )
    return by_extension


_DESCRIPTION = {KFP: "Kubeflow Pipelines package (YAML)", VERTEX: "Vertex AI pipeline job (JSON)"}


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


def compile_pipeline(config: PipelineConfig, output_file: str, image: str, target: str | None = None) -> dict:
    """Writes the file ``target`` loads (see the module docstring); returns the Vertex AI job.

    Returns:
        The pipeline job as TFX's runner built it (``displayName``,
        ``pipelineSpec``, ``runtimeConfig``); for ``kfp`` the file holds its
        ``pipelineSpec`` with ``defaultPipelineRoot`` set.

    Raises:
        TargetError: see :func:`resolve_target`.
    """
    from google.protobuf import json_format
    from kfp.compiler import pipeline_spec_builder
    from kfp.pipeline_spec import pipeline_spec_pb2
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

    target = resolve_target(output_file, target)
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=image)
    )
    job = runner.run(create_pipeline(config, portable=True), write_out=False)
    directory = os.path.dirname(os.path.abspath(output_file))
    os.makedirs(directory, exist_ok=True)
    if target == VERTEX:
        with open(output_file, "w", encoding="utf-8") as file:
            json.dump(job, file, sort_keys=True, indent=1)
    else:
        # Parsed strictly into KFP's own proto and written by KFP's compiler, so the file is
        # exactly what `kfp.compiler.Compiler` would write for a pipeline with this spec.
        spec = json_format.ParseDict(job["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
        spec.default_pipeline_root = config.pipeline_root
        pipeline_spec_builder.write_pipeline_spec_to_file(
            pipeline_spec=spec,
            pipeline_description=f"{config.pipeline_name}: IMDb sentiment, compiled with TFX's Kubeflow V2 runner",
            platform_spec=pipeline_spec_pb2.PlatformSpec(),
            package_path=output_file,
        )
    return job


def task_count(job: dict) -> int:
    """Tasks of the compiled DAG (TFX compiles a latest-blessed-model resolver into two)."""
    return len(job["pipelineSpec"]["root"]["dag"]["tasks"])


def client_commands(spec_file: str, target: str, config: PipelineConfig, cron: str | None = None) -> str:
    """Python snippets that submit (or, with ``cron``, schedule) the compiled file on each service.

    Each service's snippet names the file that service loads: a KFP package
    (YAML) serves both, a Vertex AI job (JSON) only Vertex AI, so for it the
    Kubeflow part says how to compile the package instead.
    """
    cron = validate_cron(cron) if cron is not None else None
    name = config.pipeline_name
    vertex_call = (
        f'job.create_schedule(display_name="{name}-schedule", cron="{cron}")' if cron else "job.submit()"
    )
    vertex = f"""\
# Vertex AI Pipelines (pip install google-cloud-aiplatform; gcloud auth application-default login):
from google.cloud import aiplatform
aiplatform.init(project="MY_PROJECT", location="MY_REGION")
job = aiplatform.PipelineJob(
    display_name="{name}",
    template_path="{spec_file}",
    pipeline_root="{config.pipeline_root}",
)
{vertex_call}
"""
    if target != KFP:
        return (
            vertex
            + f"""
# Kubeflow Pipelines 2.x loads a pipeline package, not this Vertex AI job: compile one with
#   imdb-pipeline compile --target kfp --output-file {os.path.splitext(spec_file)[0]}.yaml ... (same options)
"""
        )
    if cron:
        kfp_call = f"""\
experiment = client.create_experiment("{name}")
client.create_recurring_run(
    experiment_id=experiment.experiment_id,
    job_name="{name}-schedule",
    cron_expression="0 {cron}",  # KFP's cron has a leading seconds field
    pipeline_package_path="{spec_file}",
)
"""
    else:
        kfp_call = f"""\
client.create_run_from_pipeline_package(
    "{spec_file}",
    experiment_name="{name}",
    pipeline_root="{config.pipeline_root}",
)
"""
    return (
        vertex
        + f"""
# Kubeflow Pipelines 2.x (pip install kfp):
import kfp
client = kfp.Client(host="https://MY_KFP_HOST")
{kfp_call}"""
    )
