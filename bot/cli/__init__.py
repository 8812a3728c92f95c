"""The `kgbot` command: the terminal front-end (index, ask, chat, demo) and the launcher of the chat apps.

It lives in bot/ because `chat` and `serve` run the platform-neutral assistant core; kg/ stays a library.
One module per command (or family of commands) adds its parser and runs it; importing this package loads
nothing beyond argparse, so `kgbot --help` is instant.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from bot.cli import apps, ask, chat, demo, feedback, graphrag, index, stats
from bot.cli.output import UserError, console

if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings


class _Version(argparse.Action):
    """`--version`: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("kgbot")
        except PackageNotFoundError:
            found = "(not installed: run `make setup`)"
        print(f"kgbot {found}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kgbot", description="Knowledge-graph answers with citations.")
    parser.add_argument("--version", action=_Version, help="show kgbot's version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (index, stats, ask, chat, demo, feedback):
        module.add_command(commands)
    apps.add_commands(commands)
    graphrag.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # a bare `kgbot`: what it can do, rather than a usage error
        parser.print_help()
        return 2
    from bot.logs import quiet_library_noise
    from kg.config import SettingsError, load_settings
    from kg.store.base import StoreError

    quiet_library_noise()
    out = console()
    run: Callable[[argparse.Namespace, Settings, Console], Awaitable[int]] = args.run
    try:
        settings = load_settings()
        return asyncio.run(run(args, settings, out))
    except (UserError, SettingsError, StoreError, ValueError) as exc:
        for line in str(exc).splitlines():
            print(f"kgbot: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kgbot: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one line, details only on request
        if os.environ.get("KG_DEBUG"):
            raise
        print(
            f"kgbot: unexpected error ({type(exc).__name__}: {exc}); set KG_DEBUG=1 for details",
            file=sys.stderr,
        )
        return 2
