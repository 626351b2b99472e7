"""One module per artifact this pipeline writes or reads: its layout, writer, reader and checks.

As ``tft.TFTransformOutput`` is for a transform output, each module here is the
one place that knows an artifact's file and property names; the step that
writes it and every step, report or command that reads it import the module,
never the writer's executor. The modules are light (TFX, Beam and TFMA are
imported inside the functions that need them), so a reader does not pull in
its writer's stack.

* :mod:`~components.artifacts.types`: the custom TFX artifact types.
* :mod:`~components.artifacts.quarantine`: the Examples artifact's quarantine and ingest summary.
* :mod:`~components.artifacts.transform_graph`: vocabulary and token counts of a TransformGraph.
* :mod:`~components.artifacts.embedding_vectors`: EmbeddingVectors (the Word2Vec output).
* :mod:`~components.artifacts.embedding_matrix`: EmbeddingMatrix (the aligned matrix).
* :mod:`~components.artifacts.model`: the embedding files of a Model, and the ModelRun history.
* :mod:`~components.artifacts.evaluation`: ModelEvaluation metrics and ModelBlessing.
* :mod:`~components.artifacts.infra_blessing`: the canary's InfraBlessing.
* :mod:`~components.artifacts.pushed_model`: PushedModel properties and the version manifest.
* :mod:`~components.artifacts.run_report`: the RunReport and the inputs it is built from.
* :mod:`~components.artifacts.ref`: an artifact as a URI and custom properties.
* :mod:`~components.artifacts.files`: reading the small JSON files artifacts hold.
"""
