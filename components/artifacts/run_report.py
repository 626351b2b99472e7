"""The RunReport artifact (``report.html``; ``report.json``: library versions), and the Report's inputs.

The inputs are the keys under which the run summary and index find a run's
artifacts in ML Metadata; a run without a Report step maps its steps' outputs
to them as the DAG wires the Report (``pipeline.pipeline.report_input_sources``).
"""

import os

import tensorflow as tf

from components.artifacts.files import read_json, write_json

# Inputs of the Report step.
EXAMPLES = "examples"
STATISTICS = "statistics"
DRIFT = "drift"
TRANSFORM_GRAPH = "transform_graph"
EMBEDDING = "embedding"
MODEL = "model"
MODEL_RUN = "model_run"
EVALUATION = "evaluation"
BLESSING = "blessing"
INFRA_BLESSING = "infra_blessing"
PUSHED_MODEL = "pushed_model"
INPUT_KEYS = (
    EXAMPLES,
    STATISTICS,
    DRIFT,
    TRANSFORM_GRAPH,
    EMBEDDING,
    MODEL,
    MODEL_RUN,
    EVALUATION,
    BLESSING,
    INFRA_BLESSING,
    PUSHED_MODEL,
)

# The Report step's node id and output key.
REPORT_STEP = "Report"
REPORT_KEY = "report"
REPORT_FILE = "report.html"
REPORT_DATA_FILE = "report.json"
VERSIONS_KEY = "versions"
# Folder of the report inside a pushed version directory.
PUSHED_REPORT_DIR = "report"


def write_report(
    uri: str, html: str, versions: dict[str, str], generated_at: str, pushed_destination: str | None
) -> tuple[str, str | None]:
    """Writes the RunReport at ``uri``, copying the page into a pushed version's ``report/`` folder if given.

    Returns:
        The page's path and the folder it was copied to (None when not copied).
    """
    tf.io.gfile.makedirs(uri)
    path = os.path.join(uri, REPORT_FILE)
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(html)
    write_json(os.path.join(uri, REPORT_DATA_FILE), {VERSIONS_KEY: versions, "generated_at": generated_at})
    copied = os.path.join(pushed_destination, PUSHED_REPORT_DIR) if pushed_destination else None
    if copied:
        tf.io.gfile.makedirs(copied)
        tf.io.gfile.copy(path, os.path.join(copied, REPORT_FILE), overwrite=True)
    return path, copied


def read_versions(uri: str | None) -> dict[str, str] | None:
    """The library versions a RunReport recorded (``report.json``); None without one."""
    if not uri:
        return None
    data = read_json(os.path.join(uri, REPORT_DATA_FILE))
    return None if data is None else data.get(VERSIONS_KEY)
