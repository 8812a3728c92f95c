"""Language models: `models` makes them from settings (the only place a provider package is imported, and
only when a model is configured), `calls` makes one prompt call (whole or streamed), `client` bounds, retries
and meters the calls of a build, `structured` gets JSON out of them, `local_embeddings` embeds on this machine.
"""
