"""Text encoders shared by search and benchmarks.

:mod:`.embedder` embeds text with the packaged all-MiniLM-L6-v2 (loaded lazily, offline);
:mod:`.packed_bert` is the padding-free float32 forward for BERT encoders that both the
embedder and the benchmark runners use once it has matched transformers on their inputs.
Nothing heavy is imported by this package itself.
"""
