"""The RunReport artifact, and the artifacts a run report is built from.

A RunReport holds ``report.html`` (one self-contained page) and
``report.json`` (what the page cannot show machine-readably: the versions of
the environment that ran the steps, so the report can be re-rendered later
with them). When the run pushed a model, the page is copied into the pushed
version's ``report/`` folder.

The Report step's inputs are named as the outputs that feed them; the same
names are the keys under which ``imdb-pipeline report``, the run summary and
the run index find a run's artifacts in ML Metadata.
"""

import json
import os

import tensorflow as tf

from components.artifacts.files import read_json

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
    """Writes ``report.html`` and ``report.json`` into the RunReport at ``uri``.

    When ``pushed_destination`` (a pushed version directory) is given, copies the
    page into its ``report/`` folder.

    Returns:
        The page's path and the folder it was copied to (None when not copied).
    """
    tf.io.gfile.makedirs(uri)
    path = os.path.join(uri, REPORT_FILE)
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(html)
    with tf.io.gfile.GFile(os.path.join(uri, REPORT_DATA_FILE), "w") as f:
        json.dump({VERSIONS_KEY: versions, "generated_at": generated_at}, f, indent=2)
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
