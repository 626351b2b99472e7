"""Publishing a SavedModel version so that a model server never sees it half-written.

TF Serving (and anything else watching ``<serving_root>/<model_name>/``) loads
the highest integer-named version directory as soon as it appears. A version
is therefore assembled in a hidden temporary directory beside the versions,
manifest included, and renamed into place in one step: on a local (POSIX)
filesystem the rename is atomic, so watchers see either nothing or the whole
version. Object stores (``gs://``, ``s3://``) have no atomic directory rename;
there the version is copied into place and ``manifest.json`` is written last,
so a client can wait for it.
"""

from collections.abc import Iterable
import json
import logging
import os
import time
import uuid

import tensorflow as tf
from tfx.utils import io_utils

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
_INCOMING_PREFIX = ".incoming-"


class PushError(RuntimeError):
    """Publishing a version failed; the versions already served are untouched."""


def list_versions(model_dir: str) -> list[int]:
    """Integer version directories under ``model_dir``, ascending (hidden temporaries excluded)."""
    if not tf.io.gfile.isdir(model_dir):
        return []
    return sorted(
        int(name.rstrip("/")) for name in tf.io.gfile.listdir(model_dir) if name.rstrip("/").isdigit()
    )


def next_version(existing: Iterable[int], now: float | None = None) -> int:
    """The push time in seconds, or one more than the highest existing version if that is later.

    Versions only increase, even when the clock goes back or two pushes land
    in the same second.
    """
    candidate = int(time.time() if now is None else now)
    return max([candidate, *(version + 1 for version in existing)])


def read_manifest(version_dir: str) -> dict | None:
    path = os.path.join(version_dir, MANIFEST_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def _is_local(path: str) -> bool:
    return "://" not in path


def publish(source_dir: str, model_dir: str, manifest: dict, now: float | None = None) -> tuple[int, str]:
    """Copies ``source_dir`` to a new version under ``model_dir`` with ``manifest.json``.

    Returns:
        The version number and the version directory.

    Raises:
        PushError: copying or renaming failed. The temporary copy is removed;
            existing versions are never modified.
    """
    tf.io.gfile.makedirs(model_dir)
    for _attempt in range(10):
        version = next_version(list_versions(model_dir), now)
        final_dir = os.path.join(model_dir, str(version))
        incoming = os.path.join(model_dir, f"{_INCOMING_PREFIX}{version}-{uuid.uuid4().hex[:8]}")
        try:
            io_utils.copy_dir(source_dir, incoming)
            with tf.io.gfile.GFile(os.path.join(incoming, MANIFEST_FILE), "w") as f:
                json.dump({**manifest, "version": version}, f, indent=2, sort_keys=True)
            if _is_local(model_dir):
                try:
                    os.rename(incoming, final_dir)  # atomic; fails if another push took this version
                except OSError:
                    if os.path.exists(final_dir):
                        tf.io.gfile.rmtree(incoming)
                        continue
                    raise
            else:
                if tf.io.gfile.exists(final_dir):
                    tf.io.gfile.rmtree(incoming)
                    continue
                io_utils.copy_dir(incoming, final_dir)  # manifest.json is copied with the rest
                tf.io.gfile.rmtree(incoming)
            return version, final_dir
        except (OSError, tf.errors.OpError) as error:
            if tf.io.gfile.exists(incoming):
                tf.io.gfile.rmtree(incoming)
            raise PushError(
                f"pushing the model to {final_dir} failed ({error}); the versions already in {model_dir} "
                "are unchanged"
            ) from error
    raise PushError(f"could not find a free version number under {model_dir} after 10 attempts")


def apply_retention(model_dir: str, keep: int, protect: Iterable[int] = ()) -> list[int]:
    """Deletes all but the newest ``keep`` versions, never one in ``protect``; returns those deleted."""
    versions = list_versions(model_dir)
    kept = set(versions[-keep:]) | set(protect)
    removed = [version for version in versions if version not in kept]
    for version in removed:
        tf.io.gfile.rmtree(os.path.join(model_dir, str(version)))
    return removed
