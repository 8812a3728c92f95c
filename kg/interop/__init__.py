"""Interoperability with Microsoft GraphRAG: its output tables read into our index and written from it (see
graphrag.py for the table layout)."""
