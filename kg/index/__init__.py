"""Building an index: `pipeline` runs load, chunk, extract (`extract/`: offline or with a model, cached per
chunk in `cache`), merge, summarize, communities, reports and embed, then publishes the build to a store.
"""
