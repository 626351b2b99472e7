"""``imdb-pipeline run`` and ``imdb-pipeline compile``: the pipeline built from its configuration flags.

``run`` runs it locally; ``compile`` writes it for Kubeflow Pipelines or Vertex AI.
"""

from __future__ import annotations

import argparse
import sys

from components.options import OptionsError
from pipeline import interrupts, predict
from pipeline.cli import UsageError, add_config_arguments, config_from_args
from pipeline.commands import common


def add_run_parser(subparsers) -> None:
    parser = common.add_command(
        subparsers,
        "run",
        help="run the whole pipeline locally",
        description=(
            "Run the pipeline with TFX's LocalDagRunner: ingest, validate, transform, embed, train, "
            "evaluate and push. Exit codes: 0 success (pushed or rightly not pushed), 1 a step failed, 2 usage "
            "or configuration error, 3 another run holds the output directory, 130 interrupted (Ctrl-C), 143 "
            "terminated (SIGTERM)."
        ),
        beam=True,
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="re-run every step even when its inputs did not change"
    )
    common.add_verbose(parser)
    parser.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="show the steps, the data the run would ingest and where it would write; run nothing",
    )
    add_config_arguments(parser)


def add_compile_parser(subparsers) -> None:
    parser = common.add_command(
        subparsers,
        "compile",
        help="compile the pipeline for Kubeflow Pipelines / Vertex AI Pipelines",
        description=(
            "Compile the same pipeline with TFX's Kubeflow V2 runner into the file an orchestrator loads: "
            "a Kubeflow Pipelines 2.x package (YAML PipelineSpec, --target kfp or a .yaml/.yml name; "
            "Vertex AI reads it too) or a Vertex AI pipeline job (JSON, --target vertex or a .json name). "
            "Paths (--data, --output, --vectors) must be readable by the cluster, e.g. gs://."
        ),
        beam=True,
    )
    parser.add_argument(
        "--output-file",
        required=True,
        action=common.Once,
        what="file",
        metavar="FILE",
        help="where to write: NAME.yaml (Kubeflow Pipelines package) or NAME.json (Vertex AI job)",
    )
    parser.add_argument(
        "--target",
        choices=("kfp", "vertex"),
        help="kfp: Kubeflow Pipelines package (YAML); vertex: Vertex AI pipeline job (JSON) "
        "(default: from --output-file's extension, which must agree)",
    )
    parser.add_argument(  # an empty one is refused: TFX would silently run every step in its own image
        "--image",
        required=True,
        action=common.Once,
        what="image",
        help="container image with this project and requirements.lock installed, run by every step",
    )
    parser.add_argument(
        "--schedule",
        action=common.Once,
        what="cron expression",
        help="cron expression (e.g. '0 3 * * *'): also print the calls that create a recurring run",
    )
    add_config_arguments(parser)


def _configuration(command: str, args: argparse.Namespace, beam_args: list[str], parser):
    """The command's validated configuration after the pre-flight, or the exit code after printing why not."""
    from pipeline import preflight

    try:
        config = config_from_args(args, beam_args, parser)
        preflight.check(config, local=command == "run")
    except UsageError as error:
        return common.refuse(command, f"error: {error} (see imdb-pipeline {command} --help)")
    except OptionsError as error:
        return common.refuse(command, f"configuration error: {error}")
    return config


def run_command(args: argparse.Namespace, beam_args: list[str], parser) -> int:
    # Before anything imports TensorFlow, so its log settings apply.
    common.configure_logging(args.verbose)
    predict.import_tensorflow(verbose=args.verbose, serving_only=False)
    config = _configuration("run", args, beam_args, parser)
    if isinstance(config, int):
        return config

    from pipeline import runner
    from pipeline.lock import RunInProgressError
    from pipeline.step_log import describe_failure

    if args.dry_run:
        print(runner.describe_plan(config, enable_cache=not args.no_cache))
        return common.EXIT_OK
    try:
        summary = runner.run_pipeline(config, enable_cache=not args.no_cache, checked=True)
    except RunInProgressError as error:
        return common.refuse("run", error, common.EXIT_BUSY)
    except runner.Stopped as stopped:
        if stopped.summary is not None and stopped.summary.pushed_destination:
            # Stopped after its push (the report was left): the model is served, whatever the exit code.
            word = interrupts.stopped_word()
            print(
                f"imdb-pipeline run: {stopped.summary.push_text()} before the run was {word}", file=sys.stderr
            )
        raise
    except Exception as error:
        interrupts.raise_if_received()  # a failure that a signal caused
        common.logger.error("Pipeline failed", exc_info=args.verbose)
        return common.refuse("run", f"FAILED: {describe_failure(error)}", common.EXIT_FAILED)
    print(summary.one_line())
    return common.EXIT_OK


def compile_command(args: argparse.Namespace, beam_args: list[str], parser) -> int:
    common.configure_logging(verbose=False)
    predict.import_tensorflow(serving_only=False)
    from components.options import check_text
    from pipeline import kubeflow
    from pipeline.pipeline import create_pipeline, pipeline_steps

    try:
        check_text("--output-file", args.output_file)
        target = kubeflow.resolve_target(args.output_file, args.target)
        check_text("--image", args.image)
        if args.schedule is not None:  # an empty one too: `--schedule "$CRON"` with CRON unset
            kubeflow.validate_cron(args.schedule)
    except ValueError as error:
        return common.refuse("compile", f"configuration error: {error}")
    config = _configuration("compile", args, beam_args, parser)
    if isinstance(config, int):
        return config
    try:
        kubeflow.check_schedule(config, args.schedule)
    except kubeflow.ScheduleError as error:
        return common.refuse("compile", f"error: {error} (see imdb-pipeline compile --help)")
    try:
        job = kubeflow.compile_pipeline(config, args.output_file, args.image, target)
    except (kubeflow.OutputFileError, kubeflow.PortableConfigError) as error:
        return common.refuse("compile", error)
    pipeline = create_pipeline(config, portable=True)
    steps = pipeline_steps(pipeline)
    resolvers = [node.id for node in pipeline.components if node.id not in steps]
    resolver_tasks = ", ".join(f"{node} {n}" for node, n in kubeflow.resolver_tasks(job, resolvers).items())
    what = "Kubeflow Pipelines package" if target == kubeflow.KFP else "Vertex AI pipeline job"
    print(
        f"wrote {args.output_file}: {what} of pipeline {config.pipeline_name}, {len(steps)} steps "
        f"({kubeflow.task_count(job)} tasks: one per step, and TFX's for the resolvers: {resolver_tasks}), "
        f"image {args.image}"
    )
    print(kubeflow.client_commands(args.output_file, target, config, cron=args.schedule))
    return common.EXIT_OK
