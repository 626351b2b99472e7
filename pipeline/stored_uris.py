"""Artifact URIs in ML Metadata stores written before paths were made absolute (relative to where a run started).

Such a URI is resolved from its ``pipeline_root/`` (or ``serving/``) part on, below the output folder
that holds the store; any other relative URI (a vectors file) relative to the output folder's parent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import urllib.parse

from components.example_gen.options import is_remote
from pipeline.config import PIPELINE_ROOT_DIR, SERVING_DIR

logger = logging.getLogger(__name__)


def is_relative(uri: str) -> bool:
    return bool(uri) and not is_remote(uri) and not os.path.isabs(uri)


def resolve_stored_uri(uri: str, output: str) -> str:
    """The absolute form of a URI recorded in the store of ``output`` (an absolute local folder)."""
    if not is_relative(uri):
        return uri
    parts = os.path.normpath(uri).split(os.sep)
    output_parts = os.path.normpath(output).split(os.sep)
    markers = [i for i, part in enumerate(parts) if part in (PIPELINE_ROOT_DIR, SERVING_DIR)]
    if markers:
        # The part before the marker is the output as the old run named it: prefer
        # the marker where it names the same folder (the end of ``output``).
        matching = [i for i in markers if i and output_parts[-i:] == parts[:i]]
        start = (matching or markers)[0]
        return os.path.join(output, *parts[start:])
    return os.path.normpath(os.path.join(os.path.dirname(output), uri))


def make_store_uris_absolute(metadata_path: str, output: str) -> int:
    """Rewrites the relative artifact URIs of a local ML Metadata store as absolute ones; returns how many.

    Run once per run, under the run lock, before the pipeline starts: then TFX's
    resolvers (the Evaluator's baseline), its cache and the steps read every
    earlier artifact from wherever the run is started.
    """
    if is_remote(metadata_path) or not os.path.isfile(metadata_path):
        return 0
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = metadata_path
    connection.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE
    store = metadata_store.MetadataStore(connection)
    relative = [artifact for artifact in store.get_artifacts() if is_relative(artifact.uri)]
    for artifact in relative:
        artifact.uri = resolve_stored_uri(artifact.uri, output)
    if relative:
        store.put_artifacts(relative)
        logger.info(
            "ML Metadata: %d artifact URIs recorded relative to an earlier working folder now name their "
            "files in %s",
            len(relative),
            output,
        )
    return len(relative)


def read_only(metadata_path: str) -> contextlib.closing[sqlite3.Connection]:
    """A read-only connection to a local ML Metadata store (``sqlite3.Error`` if it cannot be opened)."""
    return contextlib.closing(sqlite3.connect(f"file:{urllib.parse.quote(metadata_path)}?mode=ro", uri=True))


def recorded_output(metadata_path: str) -> str | None:
    """The output folder a local ML Metadata store's newest artifact under a ``pipeline_root/`` names (the
    part before it); None without one. Another than the store's own: the output was copied or moved."""
    if not os.path.isfile(metadata_path):
        return None
    try:
        with read_only(metadata_path) as store:
            for (stored,) in store.execute("SELECT uri FROM Artifact ORDER BY id DESC"):
                parts = stored.split("/") if stored and os.path.isabs(stored) else []
                if PIPELINE_ROOT_DIR in parts[1:]:
                    return "/".join(parts[: len(parts) - parts[::-1].index(PIPELINE_ROOT_DIR) - 1]) or "/"
    except sqlite3.Error:  # not a store (pre-flight says so), or one without artifacts yet
        return None
    return None


def moved_from(metadata_path: str, output: str) -> str | None:
    """The other output folder the store at ``metadata_path`` records its artifacts in, if it does: the
    output was copied (that folder is another) or moved (it is gone); None when it is ``output``."""
    recorded = recorded_output(metadata_path)
    if recorded is None or os.path.realpath(recorded) == os.path.realpath(output):
        return None
    return recorded
