"""Reading back what ``imdb-pipeline score`` wrote, for the tests: predictions (either format) and quarantine."""

import glob
import json
import os

import tensorflow as tf

from components.artifacts import quarantine
from components.artifacts.quarantine import QuarantinedRecord
from pipeline import score
from tests.imdb_files import record_of_line


def _json_lines(pattern: str) -> list[str]:
    lines = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as file:
            lines.extend(line for line in file if line.strip())
    return lines


def _prediction(example: tf.train.Example) -> dict:
    """A tf.train.Example prediction as a dict (a float32 probability, as TFRecords hold it)."""
    prediction = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        value = getattr(feature, kind).value[0]
        prediction[name] = value.decode("utf-8") if kind == "bytes_list" else value
    return prediction


def read_predictions(output: str) -> list[dict]:
    """Every prediction in ``output`` (either format), in no particular order."""
    prefix = os.path.join(glob.escape(output), score.PREDICTIONS_PREFIX)
    found = [json.loads(line) for line in _json_lines(f"{prefix}-*{score.SUFFIXES[score.JSON_LINES]}")]
    for path in sorted(glob.glob(f"{prefix}-*{score.SUFFIXES[score.TFRECORD]}")):
        records = tf.data.TFRecordDataset(path, compression_type="GZIP").as_numpy_iterator()
        found.extend(_prediction(tf.train.Example.FromString(raw)) for raw in records)
    return found


def read_quarantine(output: str) -> list[QuarantinedRecord]:
    """Every record set aside, in no particular order."""
    pattern = f"{quarantine.FILE_PREFIX}-*{quarantine.FILE_SUFFIX}"
    lines = _json_lines(os.path.join(glob.escape(output), quarantine.QUARANTINE_DIR, pattern))
    return [record_of_line(line) for line in lines]
