"""`kgbot discord` as a user runs it without the settings it needs: one clear line, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def workdir(clean_env: Path) -> Path:
    return clean_env


def test_discord_without_a_token_says_so_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["discord"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("kgbot: DISCORD_TOKEN is not set") and "docs/discord.md" in captured.err


def test_discord_with_a_malformed_server_list_says_so_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token")
    monkeypatch.setenv("KG_DISCORD_GUILDS", "123, general")
    assert main(["discord"]) == 1
    err = capsys.readouterr().err
    assert err == "kgbot: KG_DISCORD_GUILDS: 'general' is not a Discord server id (a number)\n"
