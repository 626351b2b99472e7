"""This pipeline against its peers on IMDb, side by side in one run, plus its own costs.

Systems, each trained on the official train split and scored on the official
test split, each in its own fresh process (wall time and peak memory are that
process's):

* ``tf-tutorial``: the TensorFlow word-embeddings tutorial as published
  (tensorflow.org/text/guide/word_embeddings): TextVectorization of 10,000
  words and 100 tokens, Embedding(16), average pooling, Dense(16), 15 epochs,
  batch 1,024, 20% of train held out for validation.
* ``tfidf-logreg``: TF-IDF of word unigrams and bigrams (lower-cased, HTML
  line breaks removed, min document frequency 2, sublinear tf) and logistic
  regression (scikit-learn, C=4).
* ``this pipeline``: ``imdb-pipeline run --data ARCHIVE`` with its default
  configuration, end to end (ingest, validation, word2vec, transform,
  training, evaluation, push, report); its test metrics are the Evaluator's.

With the systems: this pipeline's steps one by one (wall time, CPU time of
the process and its children, peak resident memory), from the run's own step
log lines, and its wall time over the TF-IDF peer's.

Then, for this pipeline:

* Transform throughput over the training reviews (analyse + transform with the
  pipeline's preprocessing_fn), Beam's in-memory runner and 2 worker
  processes, beside the floor: a bare tf.Transform pipeline on the same reviews
  (``floor_preprocessing_fn``), printed as a ratio;
* where the Transform's time goes: its top functions under cProfile (the
  README's "Where the Transform's time goes" says what they showed);
* serving: the pushed SavedModel's raw-text signature in a fresh process, p50
  and p99 latency for one review, and throughput at batch 256;
* how cost grows: Transform wall time and peak memory at 1x, 2x and 4x the
  training reviews (each copy with a suffix, so texts differ).

And, asked for by name (``--only ablation``), the ablation: what each branch and the injected
embeddings buy, each row ``imdb-pipeline run --data ARCHIVE`` with one change,
in its own fresh process, scored on the official test split:

* wide + deep: the defaults;
* wide only: ``--trainer.use_embeddings false`` (the n-gram branch alone);
* deep only, word2vec: ``--trainer.use_ngrams false`` (the embedding branch
  alone, word2vec trained on the run's train + unsup text, as by default);
* deep only, GloVe: that, with ``--vectors GLOVE`` (``--glove``, by default
  ``../shared/data/glove.6B.50d.top10k.txt`` from the repository root; the row
  is skipped, with the reason, when the file is absent);
* deep only, random: that, with ``--embedding.pretrained false`` (every word
  row random, with the spread of word2vec's vectors).

The runs share one output folder (``--ablation-output``, by default
``<results>/ablation-pipeline``), so TFX's cache re-uses the steps a change
does not touch (ExampleGen, Transform, Word2Vec, ...): the table lists the
steps each run executed, and its wall time is for those. The defaults run
first, so on a new folder that row pays for the shared steps.

Prints the tables and writes ``results.json`` and ``results.png`` under the
results folder. Not part of the tests; about 30 minutes on 2 cores.

Usage (from the repository root)::

    .venv/bin/python benchmarks/imdb_benchmark.py --data ../shared/data/aclImdb_v1.tar.gz
        [--results benchmarks/results/<time>] [--only systems,transform,serving,scaling,ablation]
        [--scales 1,2,4] [--cores 1,2] [--examples DIR] [--glove FILE] [--ablation-output DIR]
        [--run-output DIR]

``--only transform --examples <output>/pipeline_root/FileBasedExampleGen/examples/<id>/Split-train``
measures the Transform on the train split of an earlier run (no ``--data``
needed); ``--cores 1,2`` repeats the Transform rows pinned to 1, then 2 CPUs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
from pathlib import Path
import re
import shutil
import string
import sys
import tarfile
import tempfile
import time

import _measure
import psutil

REPOSITORY = Path(__file__).resolve().parents[1]
PARTS = ("systems", "transform", "serving", "scaling", "ablation")
# What runs without --only: the ablation's five pipeline runs are asked for by name.
DEFAULT_PARTS = ("systems", "transform", "serving", "scaling")
# The GloVe subset the ablation's GloVe row uses, relative to the repository root.
DEFAULT_GLOVE = Path("..", "shared", "data", "glove.6B.50d.top10k.txt")
_REVIEW = re.compile(r"(?:^|/)(train|test)/(pos|neg)/\d+_\d+\.txt$")


# ---------------------------------------------------------------- measurements


def run_child(mode: str, args: dict, workdir: Path) -> dict:
    """Runs ``mode`` in a fresh Python process and returns the JSON it writes."""
    out = workdir / f"{mode}-{len(list(workdir.glob(mode + '-*')))}.json"
    arguments = ["--child", mode, "--child-args", json.dumps(args), "--child-out", str(out)]
    return _measure.run_child(__file__, arguments, mode, result_file=out, cwd=REPOSITORY)


def load_imdb(archive: str) -> dict[str, tuple[list[str], list[int]]]:
    """{train, test: (texts, labels)} from the published archive, in archive order."""
    splits: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    with tarfile.open(archive, "r|*") as tar:
        for member in tar:
            match = _REVIEW.search(member.name)
            if member.isfile() and match:
                texts, labels = splits[match.group(1)]
                texts.append(tar.extractfile(member).read().decode("utf-8"))
                labels.append(1 if match.group(2) == "pos" else 0)
    return splits


# ---------------------------------------------------------------- child modes


def child_tf_tutorial(args: dict) -> dict:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import numpy as np
    from sklearn.metrics import roc_auc_score
    import tensorflow as tf
    import tf_keras as keras

    started = time.monotonic()
    data = load_imdb(args["data"])
    keras.utils.set_random_seed(123)
    texts, labels = data["train"]
    order = np.random.default_rng(123).permutation(len(texts))
    cut = int(len(texts) * 0.8)
    train_ds = tf.data.Dataset.from_tensor_slices(
        ([texts[i] for i in order[:cut]], [labels[i] for i in order[:cut]])
    ).batch(1024)
    val_ds = tf.data.Dataset.from_tensor_slices(
        ([texts[i] for i in order[cut:]], [labels[i] for i in order[cut:]])
    ).batch(1024)

    def custom_standardization(input_data):
        lowercase = tf.strings.lower(input_data)
        stripped_html = tf.strings.regex_replace(lowercase, "<br />", " ")
        return tf.strings.regex_replace(stripped_html, f"[{re.escape(string.punctuation)}]", "")

    vectorize = keras.layers.TextVectorization(
        standardize=custom_standardization, max_tokens=10_000, output_mode="int", output_sequence_length=100
    )
    vectorize.adapt(train_ds.map(lambda text, label: text))
    model = keras.Sequential(
        [
            vectorize,
            keras.layers.Embedding(10_000, 16, name="embedding"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(
        optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    model.fit(train_ds, validation_data=val_ds, epochs=15, verbose=0)
    test_texts, test_labels = data["test"]
    logits = model.predict(tf.constant(test_texts), batch_size=1024, verbose=0)[:, 0]
    return {
        "accuracy": float(np.mean((logits > 0) == np.array(test_labels))),
        "auc": float(roc_auc_score(test_labels, logits)),
        "seconds": time.monotonic() - started,
        "peak_rss_mb": _measure.peak_rss_mb(),
    }


def child_tfidf_logreg(args: dict) -> dict:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    started = time.monotonic()
    data = load_imdb(args["data"])
    vectorizer = TfidfVectorizer(
        preprocessor=lambda text: text.lower().replace("<br />", " "),
        ngram_range=(1, 2),
        min_df=2,
        sublinear_tf=True,
    )
    train_x = vectorizer.fit_transform(data["train"][0])
    model = LogisticRegression(C=4.0, max_iter=1000).fit(train_x, data["train"][1])
    scores = model.predict_proba(vectorizer.transform(data["test"][0]))[:, 1]
    labels = np.array(data["test"][1])
    return {
        "accuracy": float(np.mean((scores > 0.5) == labels)),
        "auc": float(roc_auc_score(labels, scores)),
        "seconds": time.monotonic() - started,
        "peak_rss_mb": _measure.peak_rss_mb(),
    }


class _StepMeter:
    """Wall time, CPU time and peak memory of each pipeline step, from the run's own step log lines.

    The steps run one after another in the pipeline's process (Beam workers,
    if any, are its children): a step's CPU time is the process's and its
    children's user + system time between its start and end lines, and its
    peak memory the highest resident memory of the process and its children
    (see :meth:`_rss_mb`) sampled every 0.1 s in between.
    """

    _START = re.compile(r"^Step \d+/\d+ (\S+): start$")
    _END = re.compile(r"^Step \d+/\d+ (\S+): (\w+) in ")

    def __init__(self):
        import logging
        import threading

        self._process = psutil.Process()
        self.steps: list[dict] = []
        self._current: dict | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        handler = logging.Handler()
        handler.emit = self._on_record
        logging.getLogger("pipeline.step_log").addHandler(handler)

    def __enter__(self):
        self._sampler.start()
        return self

    def __exit__(self, *error):
        self._stop.set()
        self._sampler.join()

    def _cpu(self) -> float:
        times = os.times()
        return (
            times.user
            + times.system
            + times.children_user
            + times.children_system
            + self._live_children_cpu()
        )

    def _live_children_cpu(self) -> float:
        total = 0.0
        for child in self._process.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # the child ended meanwhile; os.times() has it then
                cpu = child.cpu_times()
                total += cpu.user + cpu.system
        return total

    def _rss_mb(self) -> float:
        """The process's resident set plus its children's private (unique) memory.

        Not the sum of their resident sets: a child that imports TensorFlow
        maps the same library files as this process, and those pages (about
        415 MB of a 723 MB TensorFlow process) are in memory once.
        """
        total = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # the child ended meanwhile
                total += child.memory_full_info().uss
        return total / 2**20

    def _sample(self):
        while not self._stop.wait(0.1):
            with self._lock:
                if self._current is not None:
                    self._current["peak_rss_mb"] = max(self._current["peak_rss_mb"], self._rss_mb())

    def _on_record(self, record):
        message = record.getMessage()
        with self._lock:
            if match := self._START.match(message):
                self._current = {
                    "step": match.group(1),
                    "wall": time.monotonic(),
                    "cpu": self._cpu(),
                    "peak_rss_mb": self._rss_mb(),
                }
            elif (match := self._END.match(message)) and self._current is not None:
                step = self._current
                self.steps.append(
                    {
                        "step": step["step"],
                        "state": match.group(2),
                        "seconds": time.monotonic() - step["wall"],
                        "cpu_seconds": self._cpu() - step["cpu"],
                        "peak_rss_mb": max(step["peak_rss_mb"], self._rss_mb()),
                    }
                )
                self._current = None


def child_pipeline(args: dict) -> dict:
    """``imdb-pipeline run --data DATA --output OUTPUT [options]``, with ``options`` from ``args["options"]``.

    With ``args["log"]``, the run's log also goes to that file (the benchmark
    keeps the child's own output until it ends).
    """
    import logging

    from pipeline import cli
    from pipeline.config import DEFAULT_PIPELINE_NAME
    from pipeline.run_records import CACHED, EXECUTED
    from pipeline.summary import summarize_latest_run

    if args.get("log"):
        handler = logging.FileHandler(args["log"])
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        # On the project's loggers: the command line sets the root logger's handlers itself.
        for name in ("pipeline", "components"):
            logging.getLogger(name).addHandler(handler)
    started = time.monotonic()
    with _StepMeter() as meter:
        code = cli.main(["run", "--data", args["data"], "--output", args["output"], *args.get("options", [])])
    seconds = time.monotonic() - started
    if code != 0:
        raise SystemExit(f"imdb-pipeline run exited with {code}")
    summary = summarize_latest_run(os.path.join(args["output"], "metadata.sqlite"), DEFAULT_PIPELINE_NAME)
    return {
        "accuracy": summary.metrics["accuracy"],
        "auc": summary.metrics["auc"],
        "seconds": seconds,
        "peak_rss_mb": _measure.peak_rss_mb(),
        "blessed": summary.blessed,
        "pushed": summary.pushed_destination,
        "executed_steps": [node for node, state in summary.steps if state == EXECUTED],
        "cached_steps": [node for node, state in summary.steps if state == CACHED],
        "steps": meter.steps,
    }


def _train_examples(output: str) -> str:
    """The train split files of the pipeline run's ExampleGen output."""
    (examples,) = sorted(Path(output, "pipeline_root", "FileBasedExampleGen", "examples").iterdir())
    return str(examples / "Split-train")


def floor_preprocessing_fn(inputs: dict) -> dict:
    """A bare tf.Transform text pipeline, the floor the pipeline's Transform is compared with.

    Lower-case, a regex clean, a whitespace split, one vocabulary
    (``compute_and_apply_vocabulary``) and padding: the least any Transform
    giving fixed-length token ids does.
    """
    import tensorflow as tf
    import tensorflow_transform as tft

    from components.transform.options import TransformOptions
    from schemas import features

    options = TransformOptions()
    text = tf.strings.regex_replace(tf.strings.lower(inputs[features.TEXT]), r"<br\s*/?>|[^a-z0-9' ]", " ")
    ids = tft.compute_and_apply_vocabulary(
        tf.strings.split(text), top_k=options.top_k, vocab_filename="floor"
    )
    return {features.TOKEN_IDS: ids.to_tensor(default_value=0, shape=[None, options.max_length])}


def _profile_top(profile, limit: int = 15) -> list[dict]:
    """The functions with the most own time in a cProfile profile, with their cumulative time."""
    import pstats

    stats = pstats.Stats(profile)
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        where = filename.split("site-packages/")[-1] if filename != "~" else "built-in"
        rows.append(
            {"function": f"{name} ({where}:{line})", "calls": calls, "own": own, "cumulative": cumulative}
        )
    rows.sort(key=lambda row: row["own"], reverse=True)
    return rows[:limit]


def _cpu_with_children() -> float:
    """CPU seconds of this process's threads and of its child processes, ended or running."""
    times = os.times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):  # the child ended meanwhile; os.times() has it then
            cpu = child.cpu_times()
            total += cpu.user + cpu.system
    return total


def child_transform(args: dict) -> dict:
    """Analyse + transform of ``copies`` x the training reviews.

    ``preprocessing``: ``pipeline`` (the pipeline's preprocessing_fn with its
    default options) or ``floor`` (``floor_preprocessing_fn``). ``profile``:
    run under cProfile and report the top functions (slower; not a timing).
    ``cpus``: the CPUs the process (and Beam's worker processes) may use.
    CPU time counts this process's threads and its worker processes.
    """
    if args.get("cpus"):
        os.sched_setaffinity(0, args["cpus"])  # before any thread or worker process starts
    import cProfile

    import apache_beam as beam
    import tensorflow as tf
    import tensorflow_transform.beam as tft_beam
    from tfx_bsl.tfxio import tf_example_record

    from components.file_patterns import tfrecord_compression
    from components.transform.executor import transform_input_schema
    from components.transform.options import TransformOptions
    from components.transform.preprocessing import make_preprocessing_fn
    from schemas import features
    from schemas.schema import load_raw_schema

    workdir = Path(args["workdir"])
    source = [str(f) for f in sorted(Path(args["train_dir"]).glob("*"))]
    records = [
        record.numpy()
        for record in tf.data.TFRecordDataset(source, compression_type=tfrecord_compression(source))
    ]
    copies = int(args.get("copies", 1))
    input_file = workdir / f"train-x{copies}.tfrecord.gz"
    with tf.io.TFRecordWriter(str(input_file), options="GZIP") as writer:
        for copy in range(copies):
            for record in records:
                if copy:
                    example = tf.train.Example.FromString(record)
                    text = example.features.feature[features.TEXT].bytes_list.value
                    text[0] = text[0] + f" (copy {copy})".encode()
                    record = example.SerializeToString()
                writer.write(record)
    reviews = len(records) * copies
    schema = transform_input_schema(load_raw_schema())
    tfxio = tf_example_record.TFExampleRecord(file_pattern=str(input_file), schema=schema)
    preprocessing = args.get("preprocessing", "pipeline")
    preprocessing_fn = (
        floor_preprocessing_fn if preprocessing == "floor" else make_preprocessing_fn(TransformOptions())
    )
    output_dir = workdir / f"transform-x{copies}-{args['mode']}-{preprocessing}"
    # Timed in process CPU seconds, not wall seconds: on a loaded machine wall
    # time mostly measures the other jobs. A call's time includes the work of
    # TensorFlow's threads while it waits for them.
    profile = cProfile.Profile(time.process_time) if args.get("profile") else None
    if profile:
        profile.enable()
    started = time.monotonic()
    cpu_started = _cpu_with_children()
    with (
        beam.Pipeline(argv=args["beam_args"]) as pipeline,
        tft_beam.Context(temp_dir=str(output_dir / "tmp")),
    ):
        data = pipeline | "Read" >> tfxio.BeamSource()
        (transformed, _), transform_fn = (
            data,
            tfxio.TensorAdapterConfig(),
        ) | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn, output_record_batches=True)
        _ = transform_fn | tft_beam.WriteTransformFn(str(output_dir / "transform_fn"))
        _ = (
            transformed
            | "Rows" >> beam.Map(lambda batch_and_passthrough: batch_and_passthrough[0].num_rows)
            | "Count" >> beam.CombineGlobally(sum)
            | "Write" >> beam.io.WriteToText(str(output_dir / "count"))
        )
    seconds = time.monotonic() - started
    cpu_seconds = _cpu_with_children() - cpu_started
    if profile:
        profile.disable()
    return {
        "reviews": reviews,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "reviews_per_second": reviews / seconds,
        "reviews_per_cpu_second": reviews / cpu_seconds,
        "peak_rss_mb": _measure.peak_rss_mb(),
        **({"profile": _profile_top(profile)} if profile else {}),
    }


def child_serving(args: dict) -> dict:
    import numpy as np
    import tensorflow as tf

    from pipeline.predict import resolve_model_dir
    from schemas import features

    texts = load_imdb(args["data"])["test"][0]
    loaded_at = time.monotonic()
    serve = tf.saved_model.load(resolve_model_dir(args["model"])).signatures[features.TEXT_SIGNATURE]
    load_seconds = time.monotonic() - loaded_at

    def call(batch):
        return serve(**{features.TEXT_INPUT: tf.constant(batch)})[features.PROBABILITY_OUTPUT].numpy()

    for text in texts[:20]:
        call([text])  # warm-up: tracing and caches
    latencies = []
    for text in texts[100:600]:
        started = time.perf_counter()
        call([text])
        latencies.append((time.perf_counter() - started) * 1000)
    call(texts[:256])
    batches = [texts[i : i + 256] for i in range(0, 256 * 20, 256)]
    started = time.perf_counter()
    for batch in batches:
        call(batch)
    batch_seconds = time.perf_counter() - started
    return {
        "load_seconds": load_seconds,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "batch256_reviews_per_second": 256 * len(batches) / batch_seconds,
        "peak_rss_mb": _measure.peak_rss_mb(),
    }


CHILDREN = {
    "tf-tutorial": child_tf_tutorial,
    "tfidf-logreg": child_tfidf_logreg,
    "pipeline": child_pipeline,
    "transform": child_transform,
    "serving": child_serving,
}


# ---------------------------------------------------------------- ablation


def ablation_runs(glove: Path) -> list[dict]:
    """The ablation's runs, in the order they run: each one change to the defaults or to deep only.

    ``skipped`` says why a run cannot be made (the GloVe file is absent).
    """
    deep_only = ["--trainer.use_ngrams", "false"]
    return [
        {"run": "wide + deep (the defaults)", "options": []},
        {"run": "wide only (no embedding branch)", "options": ["--trainer.use_embeddings", "false"]},
        {"run": "deep only, word2vec (the default embeddings)", "options": deep_only},
        {
            "run": f"deep only, GloVe ({glove.name})",
            "options": [*deep_only, "--vectors", str(glove)],
            **({} if glove.is_file() else {"skipped": f"no GloVe file at {glove} (--glove)"}),
        },
        {
            "run": "deep only, random initialisation (no pretrained vectors)",
            "options": [*deep_only, "--embedding.pretrained", "false"],
        },
    ]


def run_ablation(data: str, glove: Path, output: Path, workdir: Path, save) -> list[dict]:
    """Runs :func:`ablation_runs` one after another on one output folder; ``save(rows)`` after each."""
    rows: list[dict] = []
    for run in ablation_runs(glove):
        if "skipped" in run:
            print(f"ablation: {run['run']}: skipped, {run['skipped']}", flush=True)
            rows.append(run)
            continue
        log = workdir / f"ablation-{len(rows) + 1}.log"
        print(
            f"ablation: {run['run']}: {' '.join(run['options']) or 'no options'} (log: {log}) ...", flush=True
        )
        result = run_child(
            "pipeline",
            {"data": data, "output": str(output), "options": run["options"], "log": str(log)},
            workdir,
        )
        rows.append({**run, **result})
        save(rows)
    return rows


def print_ablation(rows: list[dict]) -> None:
    print_table(
        "Ablation (official test split; one shared output folder: steps a run did not execute were TFX cache "
        "hits, so wall time is for the executed steps)",
        ["run", "options", "test accuracy", "AUC", "wall time", "executed steps"],
        [
            [row["run"], " ".join(row["options"]) or "-", "skipped", "", "", row["skipped"]]
            if "skipped" in row
            else [
                row["run"],
                " ".join(row["options"]) or "-",
                f"{100 * row['accuracy']:.2f}%",
                f"{row['auc']:.4f}",
                f"{row['seconds']:.0f} s",
                ", ".join(row["executed_steps"]) or "none",
            ]
            for row in rows
        ],
    )


# ---------------------------------------------------------------- report


def print_table(title: str, columns: list[str], rows: list[list]) -> None:
    widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = results.get("systems", [])
    if not systems:
        return
    names = [s["system"] for s in systems]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    bars = left.barh(
        names, [100 * s["accuracy"] for s in systems], color=["#888", "#888", "#2a6"][: len(names)]
    )
    left.bar_label(bars, fmt="%.1f%%", padding=3)
    left.set_xlim(75, 95)
    left.set_xlabel("test accuracy (%)")
    left.invert_yaxis()
    bars = right.barh(names, [s["seconds"] for s in systems], color="#57a")
    right.bar_label(bars, fmt="%.0f s", padding=3)
    right.set_xlabel("wall time (s)")
    right.invert_yaxis()
    right.set_yticklabels([])
    figure.suptitle("IMDb, official test split (25,000 reviews), 2 CPU cores")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="aclImdb_v1.tar.gz")
    parser.add_argument("--results", help="results folder (default benchmarks/results/<time>)")
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_PARTS),
        help=f"comma-separated parts: {', '.join(PARTS)} (default: all but ablation)",
    )
    parser.add_argument("--scales", default="1,2,4", help="multiples of the training reviews for scaling")
    parser.add_argument(
        "--examples",
        help="for transform: an ExampleGen train split folder (Split-train) to use instead of running the pipeline",
    )
    parser.add_argument(
        "--cores",
        default="all",
        help="for transform: comma-separated CPU counts to pin each run to (e.g. 1,2), or all",
    )
    parser.add_argument(
        "--glove",
        default=str(REPOSITORY / DEFAULT_GLOVE),
        help="for ablation: the GloVe vectors of the 'deep only, GloVe' row (default: "
        f"{DEFAULT_GLOVE} from the repository root); the row is skipped when the file is absent",
    )
    parser.add_argument(
        "--ablation-output",
        help="for ablation: the output folder its runs share (default <results>/ablation-pipeline); "
        "steps a run's change does not touch are cache hits",
    )
    parser.add_argument(
        "--run-output",
        help="the output folder of this pipeline's run (systems, and the run serving, transform and scaling "
        "use), kept for a later look (e.g. benchmarks/trainer_options.py --output); by default a temporary "
        "folder, removed at the end with the rest of the benchmark's scratch",
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--child-args", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        from pipeline.gc_at_exit import freeze_gc_at_exit

        freeze_gc_at_exit()
        result = CHILDREN[args.child](json.loads(args.child_args))
        Path(args.child_out).write_text(json.dumps(result, indent=2))
        return 0

    if args.examples and not Path(args.examples).is_dir():
        parser.error(f"--examples must be a folder of TFRecord files, got {args.examples}")
    parts = set(args.only.split(","))
    if unknown := parts - set(PARTS):
        parser.error(f"--only: unknown parts {sorted(unknown)}; the parts are {', '.join(PARTS)}")
    needs_data = parts != {"transform"} or not args.examples
    if needs_data and (not args.data or not Path(args.data).is_file()):
        parser.error("--data must be the aclImdb_v1.tar.gz archive")
    if args.run_output is not None:
        run_output = Path(args.run_output)
        if not args.run_output or run_output.is_file():
            parser.error(f"--run-output must be a folder for the pipeline's run, got {args.run_output!r}")
        if (
            run_output.is_dir()
            and any(run_output.iterdir())
            and not (run_output / "metadata.sqlite").is_file()
        ):
            parser.error(f"--run-output: {run_output} holds files but no pipeline run (metadata.sqlite)")
        if "systems" in parts and (run_output / "metadata.sqlite").is_file():
            parser.error(
                f"--run-output: {run_output} holds a run already; systems times a run into an empty folder"
            )
    data = str(Path(args.data).resolve()) if args.data else None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    results_dir = Path(args.results or REPOSITORY / "benchmarks" / "results" / stamp)
    results_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="imdb-benchmark-"))
    try:
        return _benchmark(args, parts, data, stamp, results_dir, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _benchmark(
    args: argparse.Namespace, parts: set[str], data: str | None, stamp: str, results_dir: Path, workdir: Path
) -> int:
    """The parts asked for; ``workdir`` holds the scratch of the children (removed by the caller)."""
    pipeline_output = Path(args.run_output).resolve() if args.run_output else workdir / "pipeline"
    results: dict = {"data": data, "started": stamp, "machine_cpus": os.cpu_count()}

    if "systems" in parts:
        systems = []
        for name in ("tf-tutorial", "tfidf-logreg"):
            print(f"running {name} ...", flush=True)
            systems.append({"system": name, **run_child(name, {"data": data}, workdir)})
        print("running this pipeline ...", flush=True)
        systems.append(
            {
                "system": "this pipeline",
                **run_child("pipeline", {"data": data, "output": str(pipeline_output)}, workdir),
            }
        )
        results["systems"] = systems
        print_table(
            "Systems (official test split)",
            ["system", "test accuracy", "AUC", "wall time", "peak memory"],
            [
                [
                    s["system"],
                    f"{100 * s['accuracy']:.2f}%",
                    f"{s['auc']:.4f}",
                    f"{s['seconds']:.0f} s",
                    f"{s['peak_rss_mb']:.0f} MB",
                ]
                for s in systems
            ],
        )

        steps = systems[-1]["steps"]
        print_table(
            "This pipeline, step by step (CPU: the process and its children; peak: resident memory during the step, the children's private memory added)",
            ["step", "state", "wall time", "CPU time", "peak memory"],
            [
                [
                    step["step"],
                    step["state"],
                    f"{step['seconds']:.1f} s",
                    f"{step['cpu_seconds']:.1f} s",
                    f"{step['peak_rss_mb']:.0f} MB",
                ]
                for step in steps
            ],
        )
        peer = next(s for s in systems if s["system"] == "tfidf-logreg")
        print(f"this pipeline / tfidf-logreg wall time: {systems[-1]['seconds'] / peer['seconds']:.1f}x")

    needs_run = parts & {"serving", "scaling"} or ("transform" in parts and not args.examples)
    if needs_run and not (pipeline_output / "metadata.sqlite").exists():
        print("running this pipeline (for its artifacts) ...", flush=True)
        run_child("pipeline", {"data": data, "output": str(pipeline_output)}, workdir)

    if "transform" in parts:
        train_dir = args.examples or _train_examples(str(pipeline_output))
        rows = []
        in_memory = ["--runner=FnApiRunner", "--direct_running_mode=in_memory"]
        two_processes = [
            "--runner=FnApiRunner",
            "--direct_running_mode=multi_processing",
            "--direct_num_workers=2",
        ]
        for cores in args.cores.split(","):
            cpus = sorted(os.sched_getaffinity(0))[: int(cores)] if cores != "all" else None
            where = f"{cores} core{'s' if cores != '1' else ''}" if cpus else "all cores"
            for label, preprocessing, beam_args in (
                ("this pipeline, in-memory runner (the default)", "pipeline", in_memory),
                ("this pipeline, 2 worker processes", "pipeline", two_processes),
                (
                    "floor: bare tf.Transform (lower, regex, split, one vocabulary, pad), in-memory",
                    "floor",
                    in_memory,
                ),
            ):
                print(f"transform throughput: {label}, {where} ...", flush=True)
                result = run_child(
                    "transform",
                    {
                        "train_dir": train_dir,
                        "workdir": str(workdir),
                        "mode": "throughput",
                        "preprocessing": preprocessing,
                        "beam_args": beam_args,
                        "cpus": cpus,
                    },
                    workdir,
                )
                rows.append({"run": label, "cores": where, **result})
            floor = rows[-1]
            for row in rows[-3:]:
                row["cpu_ratio_to_floor"] = floor["cpu_seconds"] / row["cpu_seconds"]
                row["wall_ratio_to_floor"] = floor["seconds"] / row["seconds"]
        results["transform"] = rows
        print_table(
            "Transform throughput (training reviews, analyse + transform; / floor: the floor's time over the run's)",
            [
                "run",
                "cores",
                "reviews",
                "wall time",
                "CPU time",
                "reviews/s",
                "reviews/CPU s",
                "/ floor (wall)",
                "/ floor (CPU)",
                "peak memory (main process)",
            ],
            [
                [
                    r["run"],
                    r["cores"],
                    f"{r['reviews']:,}",
                    f"{r['seconds']:.1f} s",
                    f"{r['cpu_seconds']:.1f} s",
                    f"{r['reviews_per_second']:.0f}",
                    f"{r['reviews_per_cpu_second']:.0f}",
                    f"{r['wall_ratio_to_floor']:.2f}",
                    f"{r['cpu_ratio_to_floor']:.2f}",
                    f"{r['peak_rss_mb']:.0f} MB",
                ]
                for r in rows
            ],
        )
        print("transform profile (cProfile, in-memory runner) ...", flush=True)
        profiled = run_child(
            "transform",
            {
                "train_dir": train_dir,
                "workdir": str(workdir),
                "mode": "profile",
                "profile": True,
                "beam_args": in_memory,
            },
            workdir,
        )
        results["transform_profile"] = profiled["profile"]
        print_table(
            f"Where the Transform's time goes (cProfile in process CPU seconds, main thread's calls, "
            f"{profiled['cpu_seconds']:.0f} s profiled; "
            "own time: in the function itself)",
            ["function", "calls", "own", "cumulative"],
            [
                [row["function"], f"{row['calls']:,}", f"{row['own']:.1f} s", f"{row['cumulative']:.1f} s"]
                for row in profiled["profile"]
            ],
        )

    if "serving" in parts:
        print("serving ...", flush=True)
        model_dir = str(pipeline_output / "serving" / "imdb_sentiment")
        serving = run_child("serving", {"data": data, "model": model_dir}, workdir)
        results["serving"] = serving
        print_table(
            "Serving (pushed SavedModel, raw-text signature, fresh process)",
            ["load", "p50 (1 review)", "p99 (1 review)", "throughput (batch 256)", "peak memory"],
            [
                [
                    f"{serving['load_seconds']:.1f} s",
                    f"{serving['p50_ms']:.1f} ms",
                    f"{serving['p99_ms']:.1f} ms",
                    f"{serving['batch256_reviews_per_second']:.0f} reviews/s",
                    f"{serving['peak_rss_mb']:.0f} MB",
                ]
            ],
        )

    if "scaling" in parts:
        train_dir = _train_examples(str(pipeline_output))
        rows = []
        for copies in (int(s) for s in args.scales.split(",")):
            print(f"transform at {copies}x ...", flush=True)
            result = run_child(
                "transform",
                {
                    "train_dir": train_dir,
                    "workdir": str(workdir),
                    "mode": "scale",
                    "copies": copies,
                    "beam_args": ["--runner=FnApiRunner"],
                },
                workdir,
            )
            rows.append({"copies": copies, **result})
        results["scaling"] = rows
        base = rows[0]
        print_table(
            "How Transform cost grows (in-memory runner)",
            ["data", "reviews", "wall time", "time / 1x", "peak memory", "memory / 1x"],
            [
                [
                    f"{r['copies']}x",
                    f"{r['reviews']:,}",
                    f"{r['seconds']:.0f} s",
                    f"{r['seconds'] / base['seconds']:.2f}",
                    f"{r['peak_rss_mb']:.0f} MB",
                    f"{r['peak_rss_mb'] / base['peak_rss_mb']:.2f}",
                ]
                for r in rows
            ],
        )

    if "ablation" in parts:

        def save(rows: list[dict]) -> None:
            # After each run, so that an interrupted ablation keeps the runs that finished.
            (results_dir / "results.json").write_text(json.dumps({**results, "ablation": rows}, indent=2))

        output = Path(args.ablation_output or results_dir / "ablation-pipeline").resolve()
        results["ablation"] = run_ablation(data, Path(args.glove).resolve(), output, workdir, save)
        print_ablation(results["ablation"])

    (results_dir / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, results_dir / "results.png")
    print(f"\nwrote {results_dir / 'results.json'} and {results_dir / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
