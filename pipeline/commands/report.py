"""``imdb-pipeline report``: re-render a past run's report and write the index of runs."""

from __future__ import annotations

import argparse
import logging
import os
import posixpath

from pipeline import predict
from pipeline.commands import common

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    from pipeline.config import DEFAULT_OUTPUT

    parser = common.add_command(
        subparsers,
        "report",
        help="re-render the report of a run and the index of runs",
        description=(
            "Render the report of a run (the newest by default) from its artifacts, found through ML "
            "Metadata, into OUTPUT/reports/<run>/report.html, and list every run with its key metrics "
            "in OUTPUT/reports/index.html (--reports: another folder)."
        ),
    )
    for flag, what, default, text in (
        (
            "--output",
            "folder",
            DEFAULT_OUTPUT,
            f"the output directory of the runs (default: ./{DEFAULT_OUTPUT})",
        ),
        (
            "--reports",
            "folder",
            None,
            "the folder to write the reports and the index to (default: OUTPUT/reports; "
            "another one when the output cannot be written to)",
        ),
        ("--run", "run id", None, "run id (as listed in the index; default: the newest run)"),
        (
            "--pipeline-name",
            "pipeline name",
            None,
            "render a run of this pipeline (its newest, or --run); the index lists every run",
        ),
    ):
        # An empty pipeline name is told with the pipelines the store holds runs of.
        empty = None if flag == "--pipeline-name" else ""
        metavar = "FOLDER" if what == "folder" else None
        parser.add_argument(
            flag, default=default, action=common.Once, what=what, empty=empty, metavar=metavar, help=text
        )


def main(args: argparse.Namespace) -> int:
    common.configure_logging(verbose=False)
    predict.import_tensorflow(serving_only=False)
    from pipeline import rerender
    from pipeline.config import METADATA_FILE, absolute_path
    from pipeline.run_records import RunNotFoundError
    from pipeline.stored_uris import moved_from

    output = absolute_path(args.output)
    reports = absolute_path(args.reports) if args.reports is not None else None
    elsewhere = moved_from(posixpath.join(output, METADATA_FILE), output)
    if elsewhere is not None and os.path.exists(elsewhere):  # a moved output is refused by render_run
        logger.warning(
            "%s was copied or moved: its ML Metadata store records the artifacts under %s, which the "
            "report reads (ML Metadata keeps absolute paths)",
            output,
            elsewhere,
        )
    try:
        path = rerender.render_run(output, args.run, args.pipeline_name, reports)
        index = rerender.write_index(output, reports)  # every run, whichever run was rendered
    except RunNotFoundError as error:
        empty = args.pipeline_name is not None and not args.pipeline_name.strip()
        return common.refuse("report", f"--pipeline-name is empty: {error}" if empty else error)
    except rerender.OutputMovedError as error:
        return common.refuse("report", error)
    except rerender.ReportError as error:
        return common.refuse("report", f"FAILED: {error}", common.EXIT_FAILED)
    print(f"report: {path}")
    print(f"index:  {index}")
    return common.EXIT_OK
