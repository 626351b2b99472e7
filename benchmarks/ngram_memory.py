"""Peak memory per n-gram id of the Trainer's n-gram branch: the figure behind the memory pre-flight.

The pre-flight (``pipeline/preflight.py``, ``NGRAM_BYTES_PER_ID``) refuses more
``transform.ngram_buckets`` than the machine's memory holds, at 56 bytes per id:
the Trainer's Naive Bayes ratios (``naive_bayes_log_ratios``: two int64 counts
per id, then float64 arithmetic over them) at their peak. For each size, in a
fresh process: the libraries are loaded, the process's peak resident set size
is reset (Linux's ``/proc/self/clear_refs``), the ratios are computed for that
many ids, every id counted, and the peak's growth over the resident size
before, divided by the ids, is printed.

Usage (from the repository root; about a minute and 4 GB of memory with the
default sizes)::

    .venv/bin/python benchmarks/ngram_memory.py [--sizes 22,24,26]   # ids: 2^22, 2^24 (2^26 needs 4 GB)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys

from _measure import peak_rss_mb, run_child

REPOSITORY = Path(__file__).resolve().parents[1]
_CHUNK = 2**16


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    raise SystemExit("no VmRSS in /proc/self/status: this benchmark needs Linux")


def _batches(ids: int):
    """Every id in one positive and one negative review, 2^16 ids at a time: each count is written, as a
    full training set's are (a page of counts never written would take no memory)."""
    import tensorflow as tf

    labels = tf.constant([1, 0])
    for start in range(0, ids, _CHUNK):
        chunk = tf.range(start, min(start + _CHUNK, ids), dtype=tf.int64)
        yield tf.RaggedTensor.from_uniform_row_length(tf.concat([chunk, chunk], 0), len(chunk)), labels


def measure(ids: int) -> dict:
    """The ratios for ``ids`` n-gram ids: the peak memory's growth, per id."""
    sys.path.insert(0, str(REPOSITORY))
    from components.trainer.naive_bayes import naive_bayes_log_ratios

    next(_batches(1))  # TensorFlow's start-up is not the ratios'
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")  # resets the peak resident set size (VmHWM) to the resident size now
    before = _rss_mb()
    naive_bayes_log_ratios(_batches(ids), vocab_size=ids)
    growth = (peak_rss_mb() - before) * 2**20
    return {"ids": ids, "peak_growth_mb": round(growth / 2**20, 1), "bytes_per_id": growth / ids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="22,24", help="powers of two of the ids, comma-separated")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child)))
        return
    print(f"{'ids':>14} {'peak growth':>12} {'bytes per id':>13}")
    for power in (int(size) for size in args.sizes.split(",")):
        result = run_child(__file__, ["--child", str(2**power)], f"2^{power} ids")
        print(f"{result['ids']:>14,} {result['peak_growth_mb']:>9.1f} MB {result['bytes_per_id']:>13.1f}")


if __name__ == "__main__":
    main()
