"""Small Beam helpers shared by the executors."""

from collections import Counter

import apache_beam as beam


def run_and_count(pipeline: beam.Pipeline, namespace: str) -> dict[str, int]:
    """Runs ``pipeline`` to completion and returns its counters in ``namespace`` by name.

    Counters let an executor report what it processed (examples per split,
    tokens, ...) on any runner, without a second pass over the data.
    """
    result = pipeline.run()
    result.wait_until_finish()
    query = result.metrics().query(beam.metrics.MetricsFilter().with_namespace(namespace))
    counts: Counter[str] = Counter()
    for counter in query["counters"]:
        counts[counter.key.metric.name] += counter.committed or counter.attempted or 0
    return dict(counts)
