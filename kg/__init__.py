"""A knowledge-graph library: index documents GraphRAG-style (kg.index) and answer questions from the graph
with cited sources (kg.search). Layers, bottom first: kg.text; kg.model, kg.config, kg.prompts, kg.citations;
kg.llm, kg.store; kg.index, kg.search, kg.interop (tests/test_layering.py)."""
