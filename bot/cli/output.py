"""What the terminal shows: the console, answers with their sources, and errors a person can act on.

Each command imports what it needs when it runs: `kgbot --help` and an offline `kgbot ask` never load
LangChain, the chat SDKs or pyarrow (tests/test_startup.py checks it; bench/startup.py measures it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from kg.model import Usage
    from kg.search.answer import Answer, SourceRef


class UserError(Exception):
    """Something the user can fix; printed as one line, never as a traceback."""


def console(stderr: bool = False) -> Console:
    """A rich console that wraps to the terminal; written to a pipe, a file or CI, it never wraps at all, so
    one message stays one line for grep and log collectors."""
    from rich.console import Console

    out = Console(stderr=stderr)
    return out if out.is_terminal else Console(stderr=stderr, soft_wrap=True)


def counted(n: int, one: str, many: str = "") -> str:
    """A count with its noun in the right number: "1 document", "2 documents", "3 entities"."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def print_answer(answer: Answer, out: Console) -> None:
    print_reply(
        answer.text, answer.citations, answer.mode, answer.usage, answer.timings_ms, out, answer.search
    )
    if answer.dropped_citations:
        out.print(f"[dim]{answer.dropped_citations} citation(s) to rows not in the context were removed[/]")


def print_reply(
    text: str,
    citations: Sequence[SourceRef],
    mode: str,
    usage: Usage,
    timings: dict[str, float],
    out: Console,
    search: str = "local",
) -> None:
    from rich.markdown import Markdown
    from rich.markup import escape

    out.print(Markdown(text))
    sources = [c for c in citations if c.dataset == "Sources"]
    named = {
        d: [c.title for c in citations if c.dataset == d] for d in ("Entities", "Relationships", "Reports")
    }
    if citations:
        out.print()
        out.print(f"[bold]Sources ({len(sources)})[/]")
        for c in sources:
            out.print(
                f"  [cyan][{c.id}][/] {escape(c.title)} — {escape(c.document)}, {c.location}", highlight=False
            )  # document text and names are never read as console markup
            out.print(f"      [dim]{escape(c.excerpt)}[/]", highlight=False)
        for dataset, titles in named.items():
            if titles:
                out.print(f"  [cyan]{dataset}:[/] {escape('; '.join(titles))}", highlight=False)
    cost = (
        f" · {usage.llm_calls} model call{'s' * (usage.llm_calls != 1)}, {usage.prompt_tokens:,} prompt + "
        f"{usage.completion_tokens:,} completion tokens"
        if usage.llm_calls
        else ""
    )
    out.print(
        f"[dim]{search} search · {mode} answer · {usage.context_tokens} context tokens{cost} · "
        f"{timings.get('total', 0):.0f} ms[/]",
        highlight=False,
    )
