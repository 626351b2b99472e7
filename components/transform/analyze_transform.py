"""The Transform step's Beam graph: analyse the fit splits, transform every split, encode the examples."""

from collections.abc import Callable, Mapping, Sequence

import apache_beam as beam
from tensorflow_metadata.proto.v0 import schema_pb2
import tensorflow_transform.beam as tft_beam
from tfx_bsl.coders import example_coder
from tfx_bsl.tfxio import tf_example_record

# Counters of the transformed examples, one per split, in this namespace.
METRICS_NAMESPACE = "transform"


class _EncodeAsExamples(beam.DoFn):
    """Encodes transformed Arrow RecordBatches as serialized tf.Examples, counting them per split."""

    def __init__(self, schema: schema_pb2.Schema, split: str):
        self._schema = schema
        self._encoder = None
        self._counter = beam.metrics.Metrics.counter(METRICS_NAMESPACE, split)

    def setup(self):
        self._encoder = example_coder.RecordBatchToExamplesEncoder(self._schema)

    def process(self, batch_and_passthrough):
        record_batch, _ = batch_and_passthrough
        self._counter.inc(record_batch.num_rows)
        yield from self._encoder.encode(record_batch)


class AnalyzeAndTransform(beam.PTransform):
    """{split: PCollection[serialized raw tf.Example]} -> {split: PCollection[serialized transformed tf.Example]}.

    Decodes each split with ``input_schema`` (tfxio), analyses the flattened
    ``fit_splits`` with ``preprocessing_fn``, writes the transform graph to
    ``transform_graph_uri`` (``tft.TFTransformOutput`` reads it) and transforms
    every split with it. Apply it inside a ``tft_beam.Context``.
    """

    def __init__(
        self,
        preprocessing_fn: Callable,
        input_schema: schema_pb2.Schema,
        fit_splits: Sequence[str],
        transform_graph_uri: str,
    ):
        super().__init__()
        self._preprocessing_fn = preprocessing_fn
        self._input_schema = input_schema
        self._fit_splits = tuple(fit_splits)
        self._transform_graph_uri = transform_graph_uri

    def expand(self, splits: Mapping[str, beam.PCollection]) -> dict[str, beam.PCollection]:
        tfxio = tf_example_record.TFExampleBeamRecord(
            physical_format="tfrecord", schema=self._input_schema, telemetry_descriptors=["imdb", "Transform"]
        )
        raw = {split: records | f"Decode[{split}]" >> tfxio.BeamSource() for split, records in splits.items()}
        fit = [raw[split] for split in self._fit_splits]
        fit_data = fit[0] if len(fit) == 1 else fit | "FlattenFitSplits" >> beam.Flatten()
        adapter_config = tfxio.TensorAdapterConfig()
        transform_fn = (fit_data, adapter_config) | "Analyze" >> tft_beam.AnalyzeDataset(
            self._preprocessing_fn
        )
        _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(self._transform_graph_uri)
        transformed = {}
        for split, data in raw.items():
            batches, metadata = ((data, adapter_config), transform_fn) | (
                f"Transform[{split}]" >> tft_beam.TransformDataset(output_record_batches=True)
            )
            transformed[split] = batches | f"Encode[{split}]" >> beam.ParDo(
                _EncodeAsExamples(metadata.schema, split)
            )
        return transformed
