"""The versions of the code and libraries that ran a step: one list for the manifest and the run report."""

import importlib.metadata
from pathlib import Path
import platform
import subprocess

PACKAGE = "imdb-embedding-pipeline"
# Libraries whose versions the lineage records.
LIBRARIES = (
    "tensorflow",
    "tensorflow-transform",
    "apache-beam",
    "tfx",
    "tensorflow-model-analysis",
    "ml-metadata",
    "tf-keras",
    "gensim",
    "numpy",
)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries in ``LIBRARIES`` installed here (absent ones left out)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        version = _version(name)
        if version is not None:
            versions[name] = version
    return versions


def code_version() -> dict[str, str | None]:
    """This project's package version and, when run from a git checkout, its commit."""
    commit = None
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if result.returncode == 0:
            commit = result.stdout.strip()
    except OSError:
        pass
    return {"package": _version(PACKAGE), "git_commit": commit}
