"""Word2Vec and EmbeddingAligner components: word vectors, then the matrix for the vocabulary.

Examples --Word2Vec--> EmbeddingVectors (or a pretrained file brought in by an
Importer) and TransformGraph --EmbeddingAligner--> EmbeddingMatrix, which the
Trainer loads into its embedding layer.
"""

from tfx import types
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts.types import EmbeddingMatrix, EmbeddingVectors
from components.component_spec import BeamComponent, Component
from components.embeddings import executor
from components.embeddings.options import EmbeddingOptions, Word2VecOptions
from components.options import OPTIONS_KEY


class Word2VecSpec(types.ComponentSpec):
    PARAMETERS = {OPTIONS_KEY: ExecutionParameter(type=str)}
    INPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {"vectors": ChannelParameter(type=EmbeddingVectors)}


class Word2Vec(BeamComponent):
    """Trains word2vec on the tokenised train and unsup reviews; writes ``vectors.txt``."""

    SPEC_CLASS = Word2VecSpec
    OPTIONS = Word2VecOptions
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Word2VecExecutor)


class EmbeddingAlignerSpec(types.ComponentSpec):
    PARAMETERS = {OPTIONS_KEY: ExecutionParameter(type=str)}
    INPUTS = {
        "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph),
        "vectors": ChannelParameter(type=EmbeddingVectors),
    }
    OUTPUTS = {"embedding": ChannelParameter(type=EmbeddingMatrix)}


class EmbeddingAligner(Component):
    """Aligns word vectors with the Transform vocabulary: row i is the vector of token id i."""

    SPEC_CLASS = EmbeddingAlignerSpec
    OPTIONS = EmbeddingOptions
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.EmbeddingAlignerExecutor)
