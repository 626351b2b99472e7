"""A hostile user of what a run pushed: the downstream example, ``neighbors`` and ``score`` on odd inputs.

Each test asserts the correct behaviour (each was marked xfail, strict, while its defect stood).
They share the session's pushed model (``pushed_run``) and never change it: odd model folders are
built beside it, their versions linking to the pushed one.
"""

import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

from tests.conftest import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "classify_reviews.py"


@pytest.fixture(scope="module")
def model_dir(pushed_run) -> Path:
    """The pushed model folder (``serving/imdb_sentiment``) of the session's run: read, never changed."""
    output, first, _ = pushed_run
    assert first.returncode == 0, first.stderr
    return output / "serving" / "imdb_sentiment"


@pytest.fixture(scope="module")
def version_dir(model_dir) -> Path:
    (version,) = [path for path in model_dir.iterdir() if path.name.isdigit()]
    return version


def predicted(model: Path, text: str, cwd: Path) -> str:
    """``predict``'s probability column for ``text``."""
    result = run_cli("predict", "--model", str(model), text, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\t")[0]


def run_example(model: Path, *texts: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), str(model), *texts],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def score(model: Path, input_name: str, cwd: Path, *flags: str) -> subprocess.CompletedProcess:
    """``score`` of ``cwd/input_name`` with ``model`` into ``cwd/out``."""
    return run_cli("score", "--model", str(model), "--input", input_name, "--output", "out", *flags, cwd=cwd)


def linked_version(version_dir: Path, version: Path, *names: str) -> Path:
    """A version folder ``version`` holding links to ``names`` of the pushed version (its other files left out)."""
    for name in names:
        (version / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(version_dir / name, version / name)
    return version


def model_folder_beside(version_dir: Path, folder: Path) -> Path:
    """A model folder whose only version is a link to the pushed version (a roll-forward, as an operator makes it)."""
    folder.mkdir()
    os.symlink(version_dir, folder / version_dir.name)
    return folder


@pytest.mark.parametrize(
    "odd_entry",
    [
        # Not a version: TF Serving's integer parse and the pipeline's list_versions skip it.
        pytest.param(lambda version: "²", id="another-scripts-digit"),
        # A folder being copied in by hand above the served version (the README's retention keeps it).
        pytest.param(lambda version: str(int(version) + 100), id="numbered-folder-without-a-saved-model"),
    ],
)
def test_the_downstream_example_serves_the_version_predict_serves_beside_an_odd_folder(
    version_dir, tmp_path, odd_entry
):
    model = model_folder_beside(version_dir, tmp_path / "imdb_sentiment")
    (model / odd_entry(version_dir.name)).mkdir()
    expected = predicted(model, "a wonderful film", tmp_path)

    result = run_example(model, "a wonderful film", cwd=tmp_path)

    assert (result.returncode, result.stdout) == (0, f"{expected}\tpositive\ta wonderful film\n"), (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_neighbors_shows_a_query_word_with_a_line_break_on_one_line(model_dir, tmp_path):
    result = run_cli("neighbors", "--model", str(model_dir), "--k", "2", "great\n", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # The header, the word's heading as the neighbours are shown when not printable, its 2 neighbours.
    assert len(lines) == 4, lines
    assert lines[1] == repr("great\n")
    assert all(line.startswith("  ") for line in lines[2:])


def test_score_does_not_drop_a_folder_of_tfrecords_inside_the_input_folder_silently(
    model_dir, version_dir, tmp_path
):
    import tensorflow as tf

    def write(path: Path, *texts: str) -> None:
        with tf.io.TFRecordWriter(str(path)) as writer:
            for text in texts:
                example = tf.train.Example()
                example.features.feature["text"].bytes_list.value.append(text.encode())
                writer.write(example.SerializeToString())

    folder = tmp_path / "in"
    (folder / "sub.tfrecord").mkdir(parents=True)
    write(folder / "a.tfrecord", "a wonderful film", "awful")
    write(folder / "sub.tfrecord" / "b.tfrecord", "boring")

    result = score(model_dir, "in", tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["scored"] == 2
    assert summary["not_read"] == ["sub.tfrecord"]
    assert summary["not_read_folders"] == ["sub.tfrecord"]
    assert result.stdout == (
        f"scored 2 reviews of in with {version_dir}, set aside 0, not read 1 folder (sub.tfrecord/): out\n"
    )


def test_predict_takes_a_version_folder_whose_saved_model_is_in_text_form(version_dir, tmp_path):
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2

    version = linked_version(version_dir, tmp_path / "imdb_sentiment" / "5", "variables", "assets")
    saved_model = saved_model_pb2.SavedModel.FromString((version_dir / "saved_model.pb").read_bytes())
    (version / "saved_model.pbtxt").write_text(text_format.MessageToString(saved_model))
    by_model_folder = predicted(version.parent, "a wonderful film", tmp_path)

    result = run_cli("predict", "--model", str(version), "a wonderful film", cwd=tmp_path)

    assert (result.returncode, result.stdout) == (0, f"{by_model_folder}\ta wonderful film\n"), result.stderr


def test_score_refuses_a_zip_file_rather_than_scoring_its_bytes_as_lines(model_dir, tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "reviews.zip", "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("reviews.txt", "".join(f"review {i}: a wonderful film\n" for i in range(20)))

    result = score(model_dir, "reviews.zip", tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("imdb-pipeline score: --input reviews.zip")
    assert "zip" in result.stderr.split("reviews.zip", 1)[1]
    assert not (tmp_path / "out").exists()


def test_predict_names_the_missing_asset_of_a_damaged_version(version_dir, tmp_path):
    # assets/tokens, the vocabulary, is gone.
    version = linked_version(
        version_dir, tmp_path / "imdb_sentiment" / "7", "saved_model.pb", "variables", "assets/token_counts"
    )

    result = run_cli("predict", "--model", str(version.parent), "a wonderful film", cwd=tmp_path)

    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr.startswith(f"imdb-pipeline predict: {version}: the SavedModel cannot be loaded")
    assert f"{version}/assets/tokens" in result.stderr
    assert "No such file or directory" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_score_measures_a_json_lines_review_by_its_text_not_by_its_escaped_line(model_dir, tmp_path):
    text = "a wonderful film " + "é" * 300  # 617 bytes of UTF-8; its \u00e9 escapes make an 1,830-byte line
    (tmp_path / "reviews.jsonl").write_text(
        json.dumps({"text": text}) + "\n" + json.dumps({"text": text}, ensure_ascii=False) + "\n"
    )

    result = score(model_dir, "reviews.jsonl", tmp_path, "--max-review-bytes", "1000")

    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["scored"], summary["quarantined"]) == (2, {})
    predictions = [
        json.loads(line)
        for path in sorted((tmp_path / "out").glob("predictions-*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    assert sorted(prediction["line"] for prediction in predictions) == [1, 2]
    assert predictions[0]["probability"] == predictions[1]["probability"]


def test_score_names_its_own_flag_when_it_sets_a_review_aside_as_too_large(model_dir, tmp_path):
    (tmp_path / "reviews.txt").write_text("a" * 1500 + "\n")

    result = score(model_dir, "reviews.txt", tmp_path, "--max-review-bytes", "1000")

    assert result.returncode == 0, result.stderr
    (record,) = [
        json.loads(line)
        for path in (tmp_path / "out" / "quarantine").glob("quarantine-*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert (record["reason"], record["line"]) == ("too_large", 1)
    assert record["detail"].startswith("1,500 bytes, more than --max-review-bytes (1,000)")
    assert "example_gen" not in record["detail"]


def test_score_records_the_version_an_alias_leads_to(version_dir, tmp_path):
    model = model_folder_beside(version_dir, tmp_path / "imdb_sentiment")
    os.symlink(version_dir.name, model / "stable")
    (tmp_path / "reviews.txt").write_text("a wonderful film\n")

    result = score(model / "stable", "reviews.txt", tmp_path)

    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["model"].endswith(f"/{version_dir.name}"), summary["model"]
    assert f"/{version_dir.name}, set aside 0: out" in result.stdout
