"""`kgbot slack`, `kgbot discord` and `kgbot serve`: the chat apps, one alone or all of them in production.

Their settings are checked before logging starts, so a missing token is one line on stderr, not a log record.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.output import UserError

if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("discord", help="run the Discord bot (DISCORD_TOKEN)")
    p.set_defaults(run=run_discord)

    p = commands.add_parser("slack", help="run the Slack app (Socket Mode, or --http)")
    p.add_argument("--http", action="store_true", help="serve /slack/events over HTTP (SLACK_SIGNING_SECRET)")
    p.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on")
    p.add_argument("--port", type=int, default=3000, help="HTTP mode: port to listen on")
    p.set_defaults(run=run_slack)

    p = commands.add_parser(
        "serve", help="run every configured chat app, with /healthz, /readyz and /metrics (production)"
    )
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, help="port to listen on (default KG_HTTP_PORT, 8080)")
    p.set_defaults(run=run_serve)


async def run_discord(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    if not settings.discord_token.get_secret_value().strip():
        raise UserError("DISCORD_TOKEN is not set: put your Discord bot token in .env (see docs/discord.md)")
    import discord

    from bot.discord.adapter import run
    from bot.logs import secrets_of, setup_logging

    settings.discord_guilds  # noqa: B018 - a malformed list is one line before anything starts
    setup_logging(secrets_of(settings))
    try:
        await run(settings)
    except discord.LoginFailure:
        raise UserError("Discord rejected DISCORD_TOKEN; reset the bot token and update .env") from None
    return 0


async def run_slack(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from bot.logs import secrets_of, setup_logging
    from bot.slack.adapter import check_settings, serve

    check_settings(settings, args.http)
    setup_logging(secrets_of(settings))
    await serve(settings, http=args.http, host=args.host, port=args.port)
    return 0


async def run_serve(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from bot.logs import secrets_of, setup_logging
    from bot.serve import check, serve

    check(settings)  # every problem, one line each, before anything starts
    setup_logging(secrets_of(settings))
    await serve(settings, host=args.host, port=args.port)
    return 0
