"""Publishing a SavedModel version so that a model server never sees it half-written.

Locally a version is assembled in a hidden folder and renamed into place (atomic);
on an object store it is copied into place and ``manifest.json`` written last.
:func:`push` holds ``<model_dir>/.push.lock`` (local only) so two pushes never interleave.
"""

from collections.abc import Iterable, Iterator
import contextlib
import dataclasses
import logging
import os
import re
import shutil
import time
import uuid

import tensorflow as tf
from tfx.utils import io_utils

from components import file_lock
from components.artifacts.pushed_model import (
    ManifestError,
    list_versions,
    read_manifest,
    served_versions,
    write_manifest,
)

logger = logging.getLogger(__name__)

PUSH_LOCK_FILE = ".push.lock"
_INCOMING_PREFIX = ".incoming-"
# The staging folders publish() names (ASCII digits: \d would also match other scripts'), and no
# other name: only these are ever removed as stale.
_INCOMING_NAME = re.compile(rf"{re.escape(_INCOMING_PREFIX)}[0-9]+-[0-9a-f]{{8}}")


class PushError(RuntimeError):
    """Publishing a version failed; the versions already served are untouched."""


def next_version(existing: Iterable[int], now: float | None = None) -> int:
    """The push time in seconds, or one more than the highest existing version: versions only increase."""
    candidate = int(time.time() if now is None else now)
    return max([candidate, *(version + 1 for version in existing)])


def _is_local(path: str) -> bool:
    return "://" not in path


def publish(source_dir: str, model_dir: str, manifest: dict, now: float | None = None) -> tuple[int, str]:
    """Copies ``source_dir`` to a new version under ``model_dir`` with ``manifest.json``; returns the version
    number and folder. :class:`PushError` if copying or renaming failed (the partial copy is removed,
    existing versions untouched).
    """
    tf.io.gfile.makedirs(model_dir)
    local = _is_local(model_dir)
    for _attempt in range(10):
        version = next_version(list_versions(model_dir), now)
        final_dir = os.path.join(model_dir, str(version))
        if local:
            staging = os.path.join(model_dir, f"{_INCOMING_PREFIX}{version}-{uuid.uuid4().hex[:8]}")
        elif tf.io.gfile.exists(final_dir):
            continue  # another push took this version
        else:
            staging = final_dir
        try:
            io_utils.copy_dir(source_dir, staging)
            write_manifest(staging, manifest, version)
            if local:
                try:
                    os.rename(staging, final_dir)  # atomic; fails if another push took this version
                except OSError:
                    if os.path.exists(final_dir):
                        tf.io.gfile.rmtree(staging)
                        continue
                    raise
            return version, final_dir
        except (OSError, tf.errors.OpError) as error:
            if tf.io.gfile.exists(staging):
                tf.io.gfile.rmtree(staging)
            raise PushError(
                f"pushing the model to {final_dir} failed ({error}); the versions already in {model_dir} "
                "are unchanged"
            ) from error
    raise PushError(f"could not find a free version number under {model_dir} after 10 attempts")


@dataclasses.dataclass(frozen=True)
class PushResult:
    """What :func:`push` did: the serving version, whether it was copied, the versions removed."""

    version: int
    version_dir: str
    copied: bool
    removed: tuple[int, ...]


@contextlib.contextmanager
def push_lock(model_dir: str) -> Iterator[None]:
    """Holds a local model directory's push lock; :class:`PushError` at once if another holds it."""
    if not _is_local(model_dir):
        logger.info("Pusher: %s is on an object store, which has no locks; push not serialised", model_dir)
        yield
        return
    os.makedirs(model_dir, exist_ok=True)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(
                file_lock.exclusive_lock(os.path.join(model_dir, PUSH_LOCK_FILE), remove=True)
            )
        except file_lock.LockHeldError as error:
            raise PushError(
                f"another push to {model_dir} is in progress ({error.holder}); nothing was pushed and the "
                "versions already served are unchanged"
            ) from None
        yield


def push(
    source_dir: str, model_dir: str, manifest: dict, keep_versions: int, now: float | None = None
) -> PushResult:
    """Publishes ``source_dir`` unless its model is the newest, then retention, under :func:`push_lock`.

    The newest version's model is told by its manifest; a damaged one is logged and the model pushed.
    :class:`PushError` if another push holds the lock or publishing failed (served versions unchanged).
    """
    with push_lock(model_dir):
        remove_stale_incoming(model_dir)
        versions = list_versions(model_dir)
        try:
            newest = read_manifest(os.path.join(model_dir, str(versions[-1]))) if versions else None
        except ManifestError as error:
            logger.warning("Pusher: %s; the model is pushed as a new version", error)
            newest = None
        model_uri = manifest.get("model", {}).get("uri")
        if newest and model_uri is not None and newest.get("model", {}).get("uri") == model_uri:
            version, version_dir, copied = versions[-1], os.path.join(model_dir, str(versions[-1])), False
        else:
            version, version_dir = publish(source_dir, model_dir, manifest, now)
            copied = True
        removed = apply_retention(model_dir, keep_versions, protect={version})
    return PushResult(version, version_dir, copied, tuple(removed))


def remove_stale_incoming(model_dir: str) -> list[str]:
    """Deletes the partial copies a killed push left in a local ``model_dir``; returns their names.

    Call it holding :func:`push_lock`: then no other push is copying, so every
    staging folder :func:`publish` named (``.incoming-<version>-<8 hex digits>``)
    is a leftover. Nothing else is touched: not a version, not another hidden
    name, not a symbolic link. A folder that cannot be removed is logged and left.
    """
    if not _is_local(model_dir) or not os.path.isdir(model_dir):
        return []
    removed = []
    for name in sorted(os.listdir(model_dir)):
        path = os.path.join(model_dir, name)
        if not _INCOMING_NAME.fullmatch(name) or os.path.islink(path) or not os.path.isdir(path):
            continue
        try:
            shutil.rmtree(path)
        except OSError as error:
            logger.warning(
                "Pusher: could not remove the partial copy %s left by an earlier push: %s", path, error
            )
            continue
        logger.info("Pusher: removed %s, a partial copy left by an earlier push that was stopped", path)
        removed.append(name)
    return removed


def apply_retention(model_dir: str, keep: int, protect: Iterable[int] = ()) -> list[int]:
    """Deletes the versions below the newest ``keep`` that TF Serving serves (holding a SavedModel, or a
    link to one), never one in ``protect``; returns those deleted.

    Nothing above the newest kept version is deleted (a folder being copied in by hand), nor a numbered
    folder without a SavedModel, nor what stays reaches through links: every entry of the model folder
    that stays (a kept version, an alias such as ``stable -> 1``) keeps the links on its way, the folder
    it ends in and, for a folder, what the links inside it reach. Links are never followed: a version that
    is a link is removed as a link, a link inside a version folder is removed, not what it points to.
    """
    served = [int(os.path.basename(folder)) for folder in served_versions(model_dir)[:keep]]
    kept = set(served) | set(protect)
    if not kept:
        return []
    retired = {
        str(version)
        for version in list_versions(model_dir)
        if version < max(kept)
        and version not in kept
        and tf.saved_model.contains_saved_model(os.path.join(model_dir, str(version)))
    }
    if _is_local(model_dir):
        retired -= _reached(model_dir, retired)
    for name in retired:
        path = os.path.join(model_dir, name)
        if not _is_local(model_dir):
            tf.io.gfile.rmtree(path)
        elif os.path.islink(path):
            os.unlink(path)
        else:
            shutil.rmtree(path)  # unlinks the links inside, never follows them
    return sorted(map(int, retired))


def _reached(model_dir: str, retired: set[str]) -> set[str]:
    """The ``retired`` entries of a local model folder that the others reach through links, directly, through
    a retired entry they reach, or through the links inside a folder outside the model folder they end in
    (not one holding the model folder: that would be every version's links)."""
    real_dir = os.path.realpath(model_dir)
    queue = [os.path.join(real_dir, name) for name in os.listdir(model_dir) if name not in retired]
    reached: set[str] = set()
    walked: set[str] = set()  # the folders outside the model folder queued
    while queue:
        path = queue.pop()
        links = (
            [path]
            if os.path.islink(path)
            else [  # os.walk lists links to folders, never enters them
                os.path.join(root, name)
                for root, folders, files in os.walk(path)
                for name in folders + files
                if os.path.islink(os.path.join(root, name))
            ]
        )
        paths: set[str] = set()
        for link in links:
            paths.add(_resolve(link, paths))
        for found in paths - walked:
            name = os.path.relpath(found, real_dir).split(os.sep)[0]
            if name in retired - reached:
                reached.add(name)
                queue.append(os.path.join(real_dir, name))
            elif (
                name == os.pardir and os.path.isdir(found) and os.path.commonpath([found, real_dir]) != found
            ):
                walked.add(found)
                queue.append(found)
    return reached


def _resolve(path: str, links: set[str], chain: frozenset[str] = frozenset()) -> str:
    """The real path of the absolute ``path``, adding to ``links`` each link met on the way as its folder's
    real path and its name: one folder named two ways is one.

    A link is followed unless it is on the ``chain`` being followed (a loop) or 40 links are (Linux's
    ``MAXSYMLINKS``: no program gets further); the path then goes on through it unresolved."""
    real = os.sep
    for part in path.split(os.sep):
        if part in ("", "."):
            continue
        step = os.path.dirname(real) if part == ".." else os.path.join(real, part)
        if part != ".." and os.path.islink(step):
            links.add(step)
            if step not in chain and len(chain) < 40:
                step = _resolve(os.path.join(real, os.readlink(step)), links, chain | {step})
        real = step  # its folder is real, and it is not a link, or one not followed
    return real
