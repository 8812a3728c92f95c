"""Options several commands share, with one help text each."""

from __future__ import annotations

import argparse

SEARCH_MODES = ("auto", "local", "global")
_MODE_HELP = (
    "local: about a thing; global: about the whole corpus (community reports); auto: chosen per question "
    "(default: KG_SEARCH, auto)"
)


def add_namespace(parser: argparse.ArgumentParser, help: str = "") -> None:
    parser.add_argument(
        "--namespace",
        "-n",
        help=help
        or "the index to use: each namespace is a separate graph (default: KG_NAMESPACE, 'default')",
    )


def add_budget(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--budget",
        type=int,
        metavar="TOKENS",
        help="most tokens of graph context an answer is written from (default: KG_CONTEXT_BUDGET, 12000)",
    )


def add_mode(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=SEARCH_MODES, help=_MODE_HELP)
