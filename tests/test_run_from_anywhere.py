"""Runs, reports and predictions work from any folder against the same --output.

One run from folder ``a/`` (output named relative to it, with a space and a
non-ASCII letter); the next run, ``report`` and ``predict`` start from folder
``b/``. Then the ML Metadata store is rewritten as the previous version wrote
it (URIs relative to ``a/``), and a run from ``b/`` still finds every earlier
artifact and the baseline.
"""

import os
from pathlib import Path

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

SMALL = ("--trainer.epochs", "2")


def _store(path: str, mode=metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE):
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = mode
    return metadata_store.MetadataStore(config)


def test_a_run_report_and_predict_from_another_folder_use_the_same_output(tmp_path):
    first_folder, other_folder = tmp_path / "a", tmp_path / "b"
    first_folder.mkdir()
    other_folder.mkdir()
    output = tmp_path / "out ü x"

    first = run_cli("run", "--output", "../out ü x", *SMALL, cwd=first_folder)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "14 steps (14 executed, 0 cached)" in first.stdout

    uris = [a.uri for a in _store(str(output / "metadata.sqlite")).get_artifacts()]
    assert uris and all(uri.startswith(f"{output}/pipeline_root/") for uri in uris if "://" not in uri)

    second = run_cli("run", "--output", str(output), *SMALL, cwd=other_folder)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "14 steps (0 executed, 14 cached)" in second.stdout

    report = run_cli("report", "--output", "../out ü x", cwd=other_folder)
    assert report.returncode == 0, report.stderr[-3000:]
    report_line, index_line = report.stdout.strip().splitlines()
    assert report_line.startswith(f"report: {output}/reports/")
    assert index_line == f"index:  {output}/reports/index.html"
    html = Path(report_line.removeprefix("report: ")).read_text(encoding="utf-8")
    assert "blessed" in html

    (version,) = os.listdir(output / "serving" / "imdb_sentiment")
    predicted = run_cli(
        "predict", "--model", f"../out ü x/serving/imdb_sentiment/{version}", "a wonderful, moving masterpiece",
        cwd=other_folder,
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    probability, text = predicted.stdout.strip().split("\t")
    assert text == "a wonderful, moving masterpiece" and float(probability) > 0.5

    # The previous version's store: local URIs relative to the folder the run started from.
    store = _store(str(output / "metadata.sqlite"))
    local = [a for a in store.get_artifacts() if "://" not in a.uri]
    for artifact in local:
        artifact.uri = os.path.relpath(artifact.uri, first_folder)
    store.put_artifacts(local)
    del store
    report = run_cli("report", "--output", str(output), cwd=other_folder)
    assert report.returncode == 0, report.stderr[-3000:]
    # Rewritten once; TFX's cache keys hold the input artifacts' URIs, so the steps after
    # ExampleGen run once more, with the earlier model as the Evaluator's baseline.
    third = run_cli("run", "--output", str(output), *SMALL, cwd=other_folder)
    assert third.returncode == 0, third.stderr[-3000:]
    assert (
        "ML Metadata: " in third.stderr
        and f"artifact URIs recorded relative to an earlier working folder now name their files in {output}"
        in third.stderr
    )
    assert "; baseline accuracy " in third.stdout
    uris = [a.uri for a in _store(str(output / "metadata.sqlite")).get_artifacts()]
    assert all(uri.startswith(f"{output}/") for uri in uris if "://" not in uri)
    fourth = run_cli("run", "--output", "../out ü x", *SMALL, cwd=first_folder)
    assert "14 steps (0 executed, 14 cached)" in fourth.stdout, fourth.stderr[-3000:]
