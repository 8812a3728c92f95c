"""From a question to a cited answer: `route` picks local or global search, `local` and `global_context` find
the context (`context`), `extractive`, `global_answer` or a model write the answer, and `answer.ask` checks its
citations and resolves them for people, reporting its stages and streaming its text to a `progress.Progress`.
`chain` offers the whole answer path as a LangChain Runnable that streams, `retriever` local search as a
LangChain retriever (both import LangChain; `sync` runs them from synchronous code).
"""
