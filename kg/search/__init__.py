"""From a question to a cited answer: `route` picks local or global search, `local` and `global_context` find
the context (`context`), `extractive`, `global_answer` or a model write the answer, and `answer.ask` checks its
citations and resolves them for people. `retriever` offers local search as a LangChain retriever.
"""
