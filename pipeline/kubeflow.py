"""Compiling the pipeline with TFX's Kubeflow V2 runner: a KFP package (YAML ``PipelineSpec``, which Vertex AI
reads too) or a Vertex AI ``PipelineJob`` (JSON), by ``--target`` or the file's extension (see the README).
"""

from __future__ import annotations

from collections.abc import Sequence
import contextlib
import json
import os
import re
import shlex

from components.options import check_text
from pipeline import preflight
from pipeline.config import PipelineConfig, absolute_path
from pipeline.pipeline import create_pipeline

KFP = "kfp"
VERTEX = "vertex"
# The extensions each orchestrator's client reads for the file it takes.
EXTENSIONS = {KFP: (".yaml", ".yml"), VERTEX: (".json",)}


class TargetError(ValueError):
    """An output file name whose extension does not fit the target, or names none."""


def resolve_target(output_file: str, target: str | None = None) -> str:
    """The orchestrator ``output_file`` is for; raises TargetError for an extension that is not ``target``'s."""
    # Case-sensitive, as kfp's writer and kfp.Client's package reader test the name.
    extension = os.path.splitext(output_file)[1]
    by_extension = next((name for name, endings in EXTENSIONS.items() if extension in endings), None)
    if by_extension is None:
        wanted = EXTENSIONS[target] if target else sum(EXTENSIONS.values(), ())
        raise TargetError(
            f"--output-file {output_file}: the name must end with {' or '.join(wanted)}, in lower case "
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
    """A cron expression that is not five valid fields (minute hour day-of-month month day-of-week)."""


# Each field's name, allowed values and the names it also takes, in order, as robfig/cron (KFP's
# scheduler) reads them: its day of week is 0-6 (Sunday is 0, not 7).
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day of week", 0, 6, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)


def validate_cron(expression: str) -> str:
    """A five-field cron expression by robfig/cron's rules: lists of ``*``, ``N`` or ``N-M``, each ``/STEP``;
    month and day-of-week names (``JAN``, ``MON-FRI``, in any case) for numbers.

    Raises:
        ScheduleError: naming the field that is wrong and why.
    """
    fields = expression.split()
    if len(fields) != len(_CRON_FIELDS):
        raise ScheduleError(
            "schedule must be a five-field cron expression (minute hour day-of-month month day-of-week), "
            f"e.g. '0 3 * * *'; got {expression!r}"
        )
    for text, (name, lowest, highest, names) in zip(fields, _CRON_FIELDS, strict=True):
        for element in text.split(","):
            problem = _cron_element_problem(element, lowest, highest, names)
            if problem:
                raise ScheduleError(f"schedule {expression!r}: {name} field {text!r}: {problem}")
    return " ".join(fields)


def _cron_element_problem(element: str, lowest: int, highest: int, names: tuple[str, ...]) -> str | None:
    # *, N or N-M (numbers, or names where the field has them), optionally /STEP.
    word = "[0-9]+|[A-Za-z]+" if names else "[0-9]+"
    match = re.fullmatch(rf"(?:\*|(?P<low>{word})(?:-(?P<high>{word}))?)(?:/(?P<step>[0-9]+))?", element)
    if match is None:
        return f"{element!r} is not *, N or N-M, optionally followed by /STEP"
    values = []
    for value in filter(None, (match["low"], match["high"])):
        if value.isdigit():
            values.append(_cron_number(value))
        elif value.upper() in names:
            values.append(lowest + names.index(value.upper()))
        else:
            shown = repr(element) if value == element else f"{element!r}: {value!r}"
            return f"{shown} is not a number or a name ({', '.join(names)})"
    if any(not lowest <= value <= highest for value in values):
        known = f" or {names[0]}-{names[-1]}" if names else ""
        return f"{element!r} is out of range: values are {lowest}-{highest}{known}"
    if len(values) == 2 and values[0] > values[1]:
        return f"{element!r}: the range's start is after its end"
    if match["step"] is not None and not 1 <= _cron_number(match["step"]) <= _CRON_LARGEST:
        return f"{element!r}: the step must be between 1 and {_CRON_LARGEST}"
    return None


# The largest number taken: every field's values are far below it, and robfig/cron reads a number as a Go int.
_CRON_LARGEST = 10**9 - 1


def _cron_number(digits: str) -> int:
    """The number ``digits`` spell, or one past the largest taken (not ``int()`` of thousands of digits)."""
    return int(digits) if len(digits) <= 9 else _CRON_LARGEST + 1


def check_schedule(config: PipelineConfig, cron: str | None) -> None:
    """Raises ScheduleError for a schedule of a configuration that names its span: it would train on it each time."""
    if cron is not None and config.span is not None:
        raise ScheduleError(
            f"--schedule with --span {config.span}: a scheduled run takes the newest span each time, but "
            f"--span {config.span} would pin every run to span {config.span}; drop --span (or --schedule, "
            "for one run of that span)"
        )


class OutputFileError(ValueError):
    """An ``--output-file`` that cannot be written: a folder, a path through a file, no permission."""


class PortableConfigError(ValueError):
    """A configuration only the local runner can run (the orchestrators run TFX's own ExampleGen driver)."""


def check_portable(config: PipelineConfig) -> None:
    """Raises PortableConfigError for ``num_spans`` > 1: the orchestrators run TFX's one-span ExampleGen driver."""
    if config.num_spans > 1:
        raise PortableConfigError(
            f"num_spans {config.num_spans}: on Kubeflow Pipelines and Vertex AI the ExampleGen runs TFX's own "
            "driver, which ingests one span per run; compile with num_spans 1 (the newest span, or --span)"
        )


@contextlib.contextmanager
def _replacing(output_file: str):
    """Yields a new temporary file beside ``output_file`` (proving it writable) that replaces it on success.

    Raises:
        OutputFileError: ``output_file`` is a folder, or its folder cannot be created or written.
    """
    where = f"--output-file {output_file}"
    if os.path.isdir(output_file):
        raise OutputFileError(f"{where} is a folder, not a file")
    if problem := preflight.unreachable(os.path.join(os.path.dirname(output_file), "") or "."):  # its folder
        raise OutputFileError(f"{where}: {problem}")
    directory = os.path.dirname(absolute_path(output_file))
    try:
        os.makedirs(directory, exist_ok=True)
        # The same extension: the writers choose the format by it. Made by open(), so with the umask's mode.
        name, extension = os.path.splitext(os.path.basename(output_file))
        staging = os.path.join(directory, f".{name}.{os.getpid()}.tmp{extension}")
        open(staging, "w").close()
    except OSError as error:
        raise OutputFileError(f"{where} cannot be written: {error.strerror or error} ({directory})") from None
    try:
        yield staging
        os.replace(staging, output_file)
    finally:
        if os.path.exists(staging):
            os.remove(staging)


def compile_pipeline(config: PipelineConfig, output_file: str, image: str, target: str | None = None) -> dict:
    """Writes the file ``target`` loads; returns the job as TFX's runner built it (``pipelineSpec``...).

    Raises:
        TargetError, OutputFileError, PortableConfigError, ValueError for a blank ``image``, or OptionsError
        for one not UTF-8 text.
    """
    from google.protobuf import json_format
    from kfp.compiler import pipeline_spec_builder
    from kfp.pipeline_spec import pipeline_spec_pb2
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

    target = resolve_target(output_file, target)
    if not image.strip():  # TFX would silently run every step in its own image
        raise ValueError("--image must not be empty: every step runs in it (an image with this project)")
    check_text("--image", image)
    check_portable(config)
    with _replacing(output_file) as staging:
        runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
            config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=image)
        )
        job = runner.run(create_pipeline(config, portable=True), write_out=False)
        if target == VERTEX:
            with open(staging, "w", encoding="utf-8") as file:
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
                package_path=staging,
            )
    return job


def task_count(job: dict) -> int:
    """Tasks of the compiled DAG: one per step, and the resolvers' (see :func:`resolver_tasks`)."""
    return len(job["pipelineSpec"]["root"]["dag"]["tasks"])


def resolver_tasks(job: dict, resolver_ids: Sequence[str]) -> dict[str, int]:
    """Resolver id -> its tasks in the compiled DAG: TFX compiles a latest-artifact resolver into one task
    (``<id>``), a latest-blessed-model resolver into two (``<id>-model-resolver``, ``<id>-model-blessing-resolver``)."""
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    return {node: sum(task == node or task.startswith(f"{node}-") for task in tasks) for node in resolver_ids}


def _literal(text: str) -> str:
    """A Python string literal of ``text`` (``repr``), in double quotes where that needs no escape."""
    literal = repr(text)
    return f'"{literal[1:-1]}"' if literal.startswith("'") and '"' not in text else literal


def client_commands(spec_file: str, target: str, config: PipelineConfig, cron: str | None = None) -> str:
    """Python snippets (strings as literals) that submit, or with ``cron`` schedule, the file on each service
    that loads it; for a Vertex AI job, how to compile the Kubeflow package instead."""
    cron = validate_cron(cron) if cron is not None else None
    name = config.pipeline_name
    schedule_name = name + "-schedule"
    vertex_call = (
        f"job.create_schedule(display_name={_literal(schedule_name)}, cron={_literal(cron)})"
        if cron
        else "job.submit()"
    )
    vertex = f"""\
# Vertex AI Pipelines (pip install google-cloud-aiplatform; gcloud auth application-default login):
from google.cloud import aiplatform
aiplatform.init(project="MY_PROJECT", location="MY_REGION")
job = aiplatform.PipelineJob(
    display_name={_literal(name)},
    template_path={_literal(spec_file)},
    pipeline_root={_literal(config.pipeline_root)},
)
{vertex_call}
"""
    if target != KFP:
        package = os.path.splitext(spec_file)[0] + ".yaml"
        return f"""{vertex}
# Kubeflow Pipelines 2.x loads a pipeline package, not this Vertex AI job: compile one with
#   imdb-pipeline compile --target kfp --output-file {shlex.quote(package)} ... (same options)
"""
    if cron:
        kfp_call = f"""\
experiment = client.create_experiment({_literal(name)})
client.create_recurring_run(
    experiment_id=experiment.experiment_id,
    job_name={_literal(schedule_name)},
    cron_expression={_literal("0 " + cron)},  # KFP's cron has a leading seconds field
    pipeline_package_path={_literal(spec_file)},
)
"""
    else:
        kfp_call = f"""\
client.create_run_from_pipeline_package(
    {_literal(spec_file)},
    experiment_name={_literal(name)},
    pipeline_root={_literal(config.pipeline_root)},
)
"""
    return f"""{vertex}
# Kubeflow Pipelines 2.x (pip install kfp):
import kfp
client = kfp.Client(host="https://MY_KFP_HOST")
{kfp_call}"""
