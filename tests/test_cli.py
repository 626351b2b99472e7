"""The console script: help, usage errors and failed runs give the right exit codes."""

from pathlib import Path
import subprocess
import sys

CLI = str(Path(sys.executable).with_name("imdb-pipeline"))


def _cli(*args, cwd):
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_help_lists_options_with_defaults(tmp_path):
    result = _cli("run", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--trainer.epochs EPOCHS" in result.stdout
    assert "(default: 4)" in result.stdout


def test_configuration_errors_exit_2_and_name_the_field(tmp_path):
    result = _cli("run", "--data", str(tmp_path / "missing"), "--output", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert f"configuration error: data: {tmp_path / 'missing'} does not exist" in result.stderr
    result = _cli("run", "--trainer.epochs", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "trainer.epochs must be between 1 and 1000, got 0" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_failing_step_exits_1_with_its_error_and_pushes_nothing(tmp_path):
    dataset = tmp_path / "aclImdb"
    for folder, name, text in [
        ("train/pos", "0_9.txt", "A wonderful film."),
        ("train/pos", "1_3.txt", "Rated 3 yet filed as positive."),
        ("test/neg", "0_2.txt", "Dull."),
    ]:
        (dataset / folder).mkdir(parents=True, exist_ok=True)
        (dataset / folder / name).write_text(text)
    output = tmp_path / "out"
    result = _cli("run", "--data", str(dataset), "--output", str(output), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "imdb-pipeline run: FAILED:" in result.stderr
    assert "train/pos/1_3.txt" in result.stderr
    # The error is stated once, plainly: no library's traceback (that is for --verbose).
    assert "Traceback" not in result.stderr
    assert not (output / "serving").exists()


def test_predict_reports_a_missing_model_clearly(tmp_path):
    result = _cli("predict", "--model", str(tmp_path), "text", cwd=tmp_path)
    assert result.returncode == 2
    assert "holds no SavedModel" in result.stderr


def test_python_dash_m_pipeline_is_the_same_command_line(tmp_path):
    module = [sys.executable, "-m", "pipeline"]
    by_module = subprocess.run(
        [*module, "run", "--trainer.epochs", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    by_script = _cli("run", "--trainer.epochs", "0", cwd=tmp_path)
    assert by_module.returncode == by_script.returncode == 2
    assert by_module.stderr == by_script.stderr
    help_text = subprocess.run([*module, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert help_text.returncode == 0
    assert "{run,compile,predict,score,neighbors,report}" in help_text.stdout
