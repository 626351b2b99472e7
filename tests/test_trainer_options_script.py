"""benchmarks/trainer_options.py refuses a bad option set before any rerun, naming it (exit 2)."""

from pathlib import Path
import subprocess
import sys

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "trainer_options.py"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["epochs=1", "epoch=3"], "--set epoch=3: unknown option 'trainer.epoch'; known: architecture,"),
        (["epochs=0"], "--set epochs=0: trainer.epochs must be between 1 and 1000, got 0"),
        (
            ["warm_start=true"],
            "--set warm_start=true: the rerun reads the run's own inputs, which hold no earlier",
        ),
        (["epochs"], "--set takes name=value items separated by spaces, got 'epochs'"),
    ],
)
def test_a_bad_set_is_refused_before_the_first_rerun(pushed_run, sets, message):
    output, _, _ = pushed_run
    arguments = [argument for name_value in sets for argument in ("--set", name_value)]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(output), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    assert "test accuracy" not in result.stdout  # no rerun ran


def test_a_folder_without_a_run_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(tmp_path), "--set", "epochs=2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert f"--output {tmp_path} holds no metadata.sqlite" in result.stderr
