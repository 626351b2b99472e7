"""Where a pushed model's raw-text serving signature spends its time, and how fast it serves.

In a fresh process (``--child``), on real reviews:

* the signature itself (``serving_default``): throughput at ``--batch-size``
  (256), per wall second and per CPU second of the process (all its threads:
  the CPU figure moves less when other work shares the machine), and latency
  for one review (p50, p99);
* the pieces of a request, each timed alone at the same batch size (median
  wall and CPU time per batch), built by the Transform's own functions with
  the model's own token vocabulary file: the tokeniser
  (``components/text.py``; its passes over the text, then the split into
  tokens), the token-id lookup and padding, and the n-gram ids
  (``components/transform/preprocessing.py``: each 1..ngram_max-gram hashed
  to one of ``--ngram-buckets``, then each review's ids de-duplicated); the
  model's share is the signature's time less these pieces (the reloaded
  SavedModel holds no callable Keras model to time alone);
* with ``--ops N``, the N most expensive ops of one traced call of the
  SavedModel's own graph (whatever code exported it), from TensorFlow's step
  statistics.

The pieces are the current code; the signature is the code that exported the
model: a model exported before a speed-up shows the difference.

With ``--peer``, the TF-IDF + logistic-regression peer of
``benchmarks/imdb_benchmark.py`` is trained on ``--data`` in another fresh
process, a reference measured in the same run (machines of one kind differ by
up to 3x in speed).

Not part of the tests. Usage (from the repository root)::

    .venv/bin/python benchmarks/serving_profile.py --model imdb-pipeline-output/serving/imdb_sentiment
        [--model ANOTHER_MODEL ...] [--data aclImdb_v1.tar.gz] [--peer] [--batch-size 256] [--batches 20] [--ops 15]
        [--ngram-max 3] [--ngram-buckets 8388608] [--max-length 400]   (the model's transform options)
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
from pathlib import Path
import re
import statistics
import sys
import tarfile
import tempfile
import time

import _measure

REPOSITORY = Path(__file__).resolve().parents[1]
SAMPLE = REPOSITORY / "pipeline" / "data" / "aclImdb_sample.tar.gz"
_REVIEW = re.compile(r"(?:^|/)(test|train)/(pos|neg)/\d+_\d+\.txt$")
LATENCY_REVIEWS = 500


def read_reviews(archive: Path, limit: int) -> list[str]:
    """Up to ``limit`` labeled reviews of the archive, test split first, as published."""
    by_split: dict[str, list[str]] = {"test": [], "train": []}
    with tarfile.open(archive, "r|*") as tar:
        for member in tar:
            match = _REVIEW.search(member.name)
            if member.isfile() and match and len(by_split[match.group(1)]) < limit:
                by_split[match.group(1)].append(tar.extractfile(member).read().decode("utf-8"))
    return (by_split["test"] + by_split["train"])[:limit]


def _seconds_per_call(function, batches) -> tuple[float, float]:
    """Median wall and CPU seconds (this process, all threads) of one call over ``batches``, after a warm-up."""
    function(batches[0])
    wall, cpu = [], []
    for batch in batches:
        started, cpu_started = time.perf_counter(), time.process_time()
        function(batch)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return statistics.median(wall), statistics.median(cpu)


def _pieces(model_dir: str, options):
    """The pieces of a request as tf.functions over a batch of texts, with what each needs."""
    import tensorflow as tf

    from components.text import normalize, tokenize
    from components.transform.preprocessing import _ngram_ids
    from schemas import features

    token_table = _table(Path(model_dir) / "assets" / features.VOCABULARY_NAME, features.UNK_ID)
    spec = [tf.TensorSpec([None], tf.string)]

    def token_ids(tokens):
        # Padded to transform.max_length, as preprocessing_fn pads them.
        return token_table.lookup(tokens).to_tensor(
            default_value=features.PAD_ID, shape=[None, options.max_length]
        )

    pieces = {
        "tokeniser: normalize (regex passes)": tf.function(normalize, input_signature=spec),
        "tokeniser: whole (normalize + split + clitics)": tf.function(tokenize, input_signature=spec),
    }
    # The later pieces start from the earlier pieces' outputs, computed beforehand;
    # their shapes differ from batch to batch, which must not retrace them.
    staged_function = functools.partial(tf.function, reduce_retracing=True)
    staged = {
        "token-id lookup + padding": (lambda texts: tokenize(texts), staged_function(token_ids)),
    }
    if options.ngram_max:
        staged["n-gram ids: hashing + de-duplication"] = (
            lambda texts: tokenize(texts),
            staged_function(lambda tokens: _ngram_ids(tokens, options)),
        )
    return pieces, staged


def _table(path: Path, default: int):
    """The lookup tf.Transform's ``apply_vocabulary`` builds: line text -> line number."""
    import tensorflow as tf

    initializer = tf.lookup.TextFileInitializer(
        str(path),
        key_dtype=tf.string,
        key_index=tf.lookup.TextFileIndex.WHOLE_LINE,
        value_dtype=tf.int64,
        value_index=tf.lookup.TextFileIndex.LINE_NUMBER,
    )
    return tf.lookup.StaticHashTable(initializer, default_value=default)


def _top_ops(model_dir: str, texts: list[str], count: int) -> list[tuple[str, str, float]]:
    """(op type, node name, milliseconds) of the ``count`` slowest ops of one traced call of the SavedModel."""
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2

    from schemas import features

    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta_graph = tf.compat.v1.saved_model.load(session, ["serve"], model_dir)
        signature = meta_graph.signature_def[features.TEXT_SIGNATURE]
        feed = signature.inputs[features.TEXT_INPUT].name
        fetch = signature.outputs[features.PROBABILITY_OUTPUT].name
        session.run(fetch, {feed: texts})
        metadata = config_pb2.RunMetadata()
        options = config_pb2.RunOptions(trace_level=config_pb2.RunOptions.FULL_TRACE)
        session.run(fetch, {feed: texts}, options=options, run_metadata=metadata)
    micros: collections.Counter = collections.Counter()
    kinds = {}
    for device in metadata.step_stats.dev_stats:
        for node in device.node_stats:
            kind = node.timeline_label.split("(")[0].split("=")[-1].strip()
            # A function call's time holds its body's ops, listed on their own.
            if kind.endswith("PartitionedCall"):
                continue
            micros[node.node_name] += node.op_end_rel_micros
            kinds[node.node_name] = kind
    return [(kinds[name], name, us / 1000) for name, us in micros.most_common(count)]


def child(args: argparse.Namespace) -> dict:
    import numpy as np
    import tensorflow as tf

    from components.transform.options import TransformOptions
    from pipeline.predict import resolve_model_dir
    from schemas import features

    model_dir = resolve_model_dir(args.model[0])
    needed = args.batch_size * args.batches
    texts = read_reviews(Path(args.data) if args.data else SAMPLE, max(needed, LATENCY_REVIEWS + 100))
    texts = [texts[i % len(texts)] for i in range(max(needed, LATENCY_REVIEWS + 100))]
    started = time.perf_counter()
    loaded = tf.saved_model.load(model_dir)
    serve = loaded.signatures[features.TEXT_SIGNATURE]
    load_seconds = time.perf_counter() - started
    batches = [tf.constant(texts[i : i + args.batch_size]) for i in range(0, needed, args.batch_size)]

    def call(batch):
        return serve(**{features.TEXT_INPUT: batch})[features.PROBABILITY_OUTPUT].numpy()

    for text in texts[:20]:
        call(tf.constant([text]))
    latencies = []
    for text in texts[100 : 100 + LATENCY_REVIEWS]:
        one = tf.constant([text])
        started = time.perf_counter()
        call(one)
        latencies.append((time.perf_counter() - started) * 1000)
    call(batches[0])
    started, cpu_started = time.perf_counter(), time.process_time()
    for batch in batches:
        call(batch)
    batch_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    signature_call = _seconds_per_call(call, batches)

    options = TransformOptions(
        max_length=args.max_length, ngram_max=args.ngram_max, ngram_buckets=args.ngram_buckets
    )
    pieces, staged = _pieces(model_dir, options)
    breakdown = {}
    for name, function in pieces.items():
        breakdown[name] = _seconds_per_call(function, batches)
    for name, (prepare, function) in staged.items():
        inputs = [prepare(batch) for batch in batches]
        breakdown[name] = _seconds_per_call(function, inputs)
    result = {
        "model": model_dir,
        "reviews": len(texts),
        "batch_size": args.batch_size,
        "load_seconds": load_seconds,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "reviews_per_second": args.batch_size * len(batches) / batch_seconds,
        "reviews_per_cpu_second": args.batch_size * len(batches) / cpu_seconds,
        "signature_ms_per_batch": [seconds * 1000 for seconds in signature_call],
        "pieces_ms_per_batch": {name: [s * 1000 for s in seconds] for name, seconds in breakdown.items()},
        "peak_rss_mb": _measure.peak_rss_mb(),
    }
    if args.ops:
        result["top_ops"] = _top_ops(model_dir, texts[: args.batch_size], args.ops)
    return result


def _print_result(result: dict) -> None:
    """One model's figures: throughput, latency, the pieces of a batch and the slowest ops."""
    print(f"\nmodel {result['model']}")
    print(f"load {result['load_seconds']:.1f} s; peak memory {result['peak_rss_mb']:,.0f} MB")
    print(
        f"serving_default: {result['reviews_per_second']:,.0f} reviews/s at batch {result['batch_size']}; "
        f"({result['reviews_per_cpu_second']:,.0f} per CPU second); "
        f"one review p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms"
    )
    wall, cpu = result["signature_ms_per_batch"]
    print(f"per batch of {result['batch_size']}, median wall / CPU: signature {wall:.1f} / {cpu:.1f} ms")
    pieces = dict(result["pieces_ms_per_batch"])
    # The tokeniser's first line is a part of its second.
    timed = [times for name, times in pieces.items() if not name.startswith("tokeniser: normalize")]
    pieces["model and the rest (signature less the pieces)"] = (
        wall - sum(w for w, _ in timed),
        cpu - sum(c for _, c in timed),
    )
    for name, (piece_wall, piece_cpu) in pieces.items():
        print(
            f"  {name:48s} {piece_wall:7.1f} / {piece_cpu:7.1f} ms  {100 * piece_cpu / cpu:5.1f}% of its CPU"
        )
    if result.get("top_ops"):
        print(f"slowest ops of one traced call of the SavedModel's graph (batch {result['batch_size']}):")
        for kind, name, ms in result["top_ops"]:
            print(f"  {ms:8.1f} ms  {kind:24s} {name}")


def _child_options(args: argparse.Namespace) -> list[str]:
    """The options a child process measures one model with: all but the models and ``--peer``."""
    options = [f"--batch-size={args.batch_size}", f"--batches={args.batches}", f"--ops={args.ops}"]
    options += [f"--ngram-max={args.ngram_max}", f"--ngram-buckets={args.ngram_buckets}"]
    options += [f"--max-length={args.max_length}"]
    return options + ([f"--data={args.data}"] if args.data else [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        required=True,
        action="append",
        help="pushed model directory (or a version directory); repeat it to measure several models "
        "(before and after a change) one after the other in the same run, each in a fresh process",
    )
    parser.add_argument("--data", help="aclImdb_v1.tar.gz: its reviews (default: the bundled sample's)")
    parser.add_argument("--peer", action="store_true", help="also train the TF-IDF + logreg peer on --data")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=20, help="batches timed (default 20)")
    parser.add_argument(
        "--ngram-max", type=int, default=3, help="the model's transform.ngram_max, for the pieces (default 3)"
    )
    parser.add_argument(
        "--ngram-buckets",
        type=int,
        default=2**23,
        help="the model's transform.ngram_buckets, for the pieces (default 2**23)",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        default=400,
        help="the model's transform.max_length, for the pieces (default 400)",
    )
    parser.add_argument("--ops", type=int, default=0, help="list the N slowest ops of one traced call")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer and not args.data:
        parser.error("--peer needs --data (the full IMDb archive)")
    if args.child:
        print(json.dumps(child(args)))
        return 0

    # The children run from the repository: paths given relative to the caller's folder are made absolute.
    args.data = args.data and os.path.abspath(args.data)
    results = [
        _measure.run_child(
            __file__,
            [f"--model={os.path.abspath(model)}", *_child_options(args), "--child"],
            "serving profile",
            cwd=REPOSITORY,
        )
        for model in args.model
    ]
    print(f"{results[0]['reviews']:,} reviews from {args.data or SAMPLE.name}")
    if args.peer:
        import imdb_benchmark

        with tempfile.TemporaryDirectory(prefix="serving-profile-") as workdir:
            peer = imdb_benchmark.run_child("tfidf-logreg", {"data": args.data}, Path(workdir))
        print(f"reference: TF-IDF + logistic regression peer trains and scores in {peer['seconds']:.1f} s")
    for result in results:
        _print_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
