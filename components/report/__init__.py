"""The run report: a self-contained HTML page of what a run read, learnt and decided.

What code outside the step uses (the pipeline's DAG and ``imdb-pipeline
report``) is named here; the modules behind it are the step's own, and the
import contracts in ``pyproject.toml`` keep them so.
"""

from components.report.component import Report
from components.report.read_inputs import collect_report
from components.report.render import INDEX_FILE, render_index, render_report
from components.report.sections import RunEntry, StepRecord

__all__ = [
    "INDEX_FILE",
    "Report",
    "RunEntry",
    "StepRecord",
    "collect_report",
    "render_index",
    "render_report",
]
