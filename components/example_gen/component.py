"""The IMDb ExampleGen: TFX's FileBasedExampleGen with this package's executor and driver (which
fingerprints the input files, so an unchanged dataset is a cache hit)."""

from __future__ import annotations

import os

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2

from components.example_gen import options, reader, spans
from components.example_gen.driver import Driver
from components.example_gen.executor import Executor, make_custom_config
from components.example_gen.options import ExampleGenOptions, is_remote, validate_eval_percent
from schemas import features

# Name of the single input split: the whole dataset, cut into splits by the executor.
INPUT_SPLIT = "all"
DIRECTORY_PATTERN = spans.DIRECTORY_PATTERN
# Folder that the published archive unpacks to.
ARCHIVE_TOP_FOLDER = "aclImdb"


def dataset_root(folder: str) -> str | None:
    """``folder`` or its ``aclImdb/``, whichever first holds ``train/`` or ``test/``; None if neither does."""
    for root in (folder, os.path.join(folder, ARCHIVE_TOP_FOLDER)):
        if any(fileio.isdir(os.path.join(root, name)) for name in (reader.TRAIN_DIR, reader.TEST_DIR)):
            return root
    return None


def dataset_input(data_path: str) -> tuple[str, str]:
    """Returns (input_base, pattern) of the ExampleGen for spans or one dataset (:func:`dataset_location`).

    Both are glob patterns, as TFX's driver and the reader use them: glob characters in the user's
    path (``[``, ``*``, ``?``) are escaped, so ``/data/imdb [v1]/aclImdb`` reads that folder.
    """
    if spans.has_span_placeholder(data_path):
        return spans.glob_input(*spans.split_at_placeholder(data_path))
    base, name = dataset_location(data_path)
    return spans.glob_input(base, name or "")


def dataset_location(data_path: str) -> tuple[str, str | None]:
    """Where one dataset is: (folder, archive file name) or (dataset root, None).

    ``data_path`` is the archive (``.tar.gz``, ``.tgz``, ``.tar``), a dataset root (holding ``train/``
    or ``test/``) or a folder holding ``aclImdb/``; FileNotFoundError when it does not exist,
    ValueError when it is none of these.
    """
    path = data_path.rstrip("/") or data_path
    # A remote path is not checked: a pipeline for a cluster may be compiled where its data is not readable.
    remote = is_remote(path)
    if not remote and not fileio.exists(path):
        raise FileNotFoundError(f"IMDb dataset not found: {data_path} does not exist")
    if options.is_archive(path) and (remote or not fileio.isdir(path)):
        return os.path.dirname(path), os.path.basename(path)
    if remote:
        return path, None
    if not fileio.isdir(path):
        raise ValueError(
            f"{data_path} is not an IMDb dataset: expected an archive ({', '.join(options.ARCHIVE_SUFFIXES)}) "
            "or a folder"
        )
    root = dataset_root(path)
    if root is not None:
        return root, None
    raise ValueError(
        f"{data_path} is not an IMDb dataset: "
        f"expected train/ and test/ folders or an {ARCHIVE_TOP_FOLDER}/ folder"
    )


def make_output_config(eval_percent: int) -> example_gen_pb2.Output:
    """Returns the output config that holds out ``eval_percent`` % of the train movies for eval.

    The executor also writes test and unsup, which the base ExampleGen could not produce by hashing.
    """
    eval_percent = validate_eval_percent(eval_percent)
    buckets = {features.TRAIN: 100 - eval_percent, features.EVAL: eval_percent}
    splits = [example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=n) for name, n in buckets.items()]
    return example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(splits=splits, partition_feature_name=features.MOVIE_ID)
    )


def create_example_gen(
    data_path: str,
    eval_percent: int = 10,
    span: int | None = None,
    options: ExampleGenOptions | None = None,
    num_spans: int = 1,
) -> FileBasedExampleGen:
    """Returns the ExampleGen over an IMDb archive or folder (see :func:`dataset_input`).

    Its Examples have splits train, eval, test and unsup, and the records set aside in
    ``quarantine/``. With a span placeholder in ``data_path`` it ingests the newest span, or
    ``span``; with ``num_spans`` > 1, the ``num_spans`` spans ending there, as one dataset.
    """
    spans.check_span(data_path, span)
    spans.check_num_spans(data_path, span, num_spans)
    output_config = make_output_config(eval_percent)
    input_base, pattern = dataset_input(data_path)
    example_gen = FileBasedExampleGen(
        input_base=input_base,
        input_config=example_gen_pb2.Input(
            splits=[example_gen_pb2.Input.Split(name=INPUT_SPLIT, pattern=pattern)]
        ),
        output_config=output_config,
        range_config=spans.span_range(span, num_spans),
        # Always set, so that changed options change the step's cache key.
        custom_config=make_custom_config(options or ExampleGenOptions()),
        custom_executor_spec=executor_spec.BeamExecutorSpec(Executor),
    )
    # TFX's driver with a fingerprint that a broken symbolic link cannot fail (see driver.py).
    example_gen.driver_class = Driver
    return example_gen
