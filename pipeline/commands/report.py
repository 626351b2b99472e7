"""``imdb-pipeline report``: re-render a past run's report and write the index of runs."""

from __future__ import annotations

import argparse
import sys

from pipeline.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _configure_logging, _import_tensorflow


def _add_report_parser(subparsers) -> None:
    from pipeline import config as config_module

    parser = subparsers.add_parser(
        "report",
        allow_abbrev=False,  # `--out` is refused with the closest option, as in run, never guessed
        help="re-render the report of a run and the index of runs",
        description=(
            "Render the report of a run (the newest by default) from its artifacts, found through ML "
            "Metadata, into OUTPUT/reports/<run>/report.html, and list every run with its key metrics "
            "in OUTPUT/reports/index.html."
        ),
    )
    parser.add_argument(
        "--output",
        default=config_module.DEFAULT_OUTPUT,
        help=f"the output directory of the runs (default: ./{config_module.DEFAULT_OUTPUT})",
    )
    parser.add_argument("--run", help="run id (as listed in the index; default: the newest run)")
    parser.add_argument("--pipeline-name", dest="pipeline_name", help="only runs of this pipeline")


def _report(args: argparse.Namespace) -> int:
    _configure_logging(verbose=False)
    _import_tensorflow()
    from pipeline import rerender
    from pipeline.config import absolute_path
    from pipeline.run_records import RunNotFoundError

    output = absolute_path(args.output)
    try:
        path = rerender.render_run(output, args.run, args.pipeline_name)
        index = rerender.write_index(output, args.pipeline_name)
    except RunNotFoundError as error:
        print(f"imdb-pipeline report: {error}", file=sys.stderr)
        return EXIT_USAGE
    except rerender.ReportError as error:
        print(f"imdb-pipeline report: FAILED: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"report: {path}")
    print(f"index:  {index}")
    return EXIT_OK
