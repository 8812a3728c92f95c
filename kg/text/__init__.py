"""Text handling shared by indexing, the stores and search: tokens, words, stop words, sentences, names.

The bottom layer of kg/: it imports nothing else of kgbot and nothing outside the standard library.
"""
