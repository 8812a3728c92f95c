"""The `kgbot` command itself, as a newcomer first meets it: version, help, and what happens without an index."""

from __future__ import annotations

import argparse
import logging
from importlib.metadata import version
from pathlib import Path

import pytest

from bot.cli import build_parser, main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"kgbot {version('kgbot')}\n"


def test_no_command_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("usage: kgbot") and "ask" in captured.out and "index" in captured.out
    assert captured.err == ""


def test_every_argument_of_every_command_says_what_it_is() -> None:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    silent = {
        f"{name} {action.dest}"
        for name, parser in commands.choices.items()
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    }
    assert silent == set()


def test_chat_without_an_index_says_how_to_build_one(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "kgbot: no index in namespace 'default' yet: build one with kgbot index PATH\n"


def test_library_notices_that_mean_nothing_to_a_user_are_dropped(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import discord
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    assert main(["stats"]) == 1  # any command: the CLI quiets them before running it
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    AsyncApp(client=AsyncWebClient(token="xoxb-from-the-environment"), signing_secret="secret")
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)  # discord.py warns once per process
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True)
    discord.Client(intents=discord.Intents.none())
    said = [r.getMessage() for r in caplog.records if r.name.startswith(("slack_bolt", "discord"))]
    assert not [m for m in said if "As you gave `client`" in m or "voice will NOT be supported" in m], said
