"""The import layers of pyproject.toml hold, and import-linter refuses an import that crosses them.

``make test`` and ``make lint`` run ``lint-imports`` on the checkout; these tests
run it on the checkout and on copies of it with one offending import added, so
a contract that would let such an import through fails here.
"""

import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("components", "pipeline", "schemas")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Runs import-linter with the contracts of ``root/pyproject.toml`` on the packages under ``root``."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; "
            "sys.argv = ['lint-imports', '--no-cache']; lint_imports_command()",
        ],
        cwd=root,
        # ``root`` first, so its packages are the ones analysed (not an installed checkout's).
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        }
        | {"NO_COLOR": "1", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_of_the_packages(destination: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, destination / package, ignore=shutil.ignore_patterns("__pycache__", "data")
        )
    shutil.copy(ROOT / "pyproject.toml", destination / "pyproject.toml")
    return destination


def test_the_checkout_keeps_the_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "offending", "message"),
    [
        # A step reads another step's executor instead of the artifact module.
        (
            "components/report/read_inputs.py",
            "from components.trainer import executor as _trainer_executor",
            "components.report.read_inputs -> components.trainer.executor",
        ),
        (
            "components/trainer/executor.py",
            "from components.embeddings import align as _align",
            "components.trainer.executor -> components.embeddings.align",
        ),
        # A shared module depends on a step.
        (
            "components/artifacts/embedding_matrix.py",
            "from components.embeddings import executor as _embedding_executor",
            "components.artifacts.embedding_matrix -> components.embeddings.executor",
        ),
        # A step depends on the orchestration above it.
        (
            "components/neighbors.py",
            "from pipeline import predict as _predict",
            "components.neighbors -> pipeline.predict",
        ),
        # The pipeline reaches into the report step's modules instead of its package's names.
        (
            "pipeline/rerender.py",
            "from components.report import read_inputs as _read_inputs",
            "pipeline.rerender -> components.report.read_inputs",
        ),
        # The names at the bottom depend on anything.
        (
            "schemas/features.py",
            "from components import text as _text",
            "schemas.features -> components.text",
        ),
    ],
)
def test_an_import_across_the_layers_fails_naming_it(tmp_path, module, offending, message):
    root = copy_of_the_packages(tmp_path)
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{offending}\n", encoding="utf-8")
    result = lint_imports(root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 1 kept, 1 broken." in result.stdout  # each offence breaks one of the two
    assert message in result.stdout


def test_every_module_under_components_is_in_a_layer():
    # A step or shared module left out of the layers is checked by no contract: a new step folder
    # could import another step, or a shared module a step, and lint-imports would keep both.
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = (contract["layers"] for contract in config["contracts"] if contract["type"] == "layers")
    named = [name.strip() for layer in layers for name in layer.replace(":", "|").split("|")]
    modules = sorted(
        f"components.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "components").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()
    )
    assert sorted(name for name in named if name.startswith("components.")) == modules
