"""Settings: every one documented in .env.example, and the parsing helpers behave."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.config import Settings, SettingsError, load_settings, settings_problems

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from .env.example"
    assert documented - fields == set(), ".env.example names settings the code does not read"


def test_the_configuration_guide_explains_every_setting() -> None:
    example = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    guide = set(re.findall(r"`([A-Z][A-Z0-9_]*)[`=]", (ROOT / "docs" / "configuration.md").read_text()))
    assert example - guide == set(), "settings of .env.example that docs/configuration.md does not explain"


def test_defaults_need_nothing_and_point_at_the_embedded_store(tmp_path: Path) -> None:
    s = Settings(_env_file=None, kg_home=tmp_path / "h")  # type: ignore[call-arg]
    assert s.store_url == f"sqlite:///{tmp_path / 'h' / 'kg.db'}"
    assert not s.has_chat_model
    assert s.admins == set()


def test_sources_channels_and_admins_parse() -> None:
    s = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kg_sources="docs, handbook=/srv/handbook ,, notes",
        kg_channel_namespaces="C1=handbook, bad, C2 = eng",
        kg_admins="U1, U2,",
    )
    assert s.sources_for("default") == ["docs", "notes"]
    assert s.sources_for("handbook") == ["/srv/handbook"]
    assert s.sources_for("eng") == []
    assert s.channel_namespaces == {"C1": "handbook", "C2": "eng"}
    assert s.admins == {"U1", "U2"}


def test_problems_name_the_setting_to_fix() -> None:
    assert settings_problems(Settings(_env_file=None)) == []  # type: ignore[call-arg]
    s = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token="xoxb-1",
        kg_store_url="postgres://x",
        redis_url="localhost:6379",
        kg_chunk_size=100,
        kg_chunk_overlap=100,
        kg_extractor="llm",
    )
    problems = settings_problems(s)
    assert len(problems) == 5
    for name in ("SLACK_APP_TOKEN", "KG_STORE_URL", "REDIS_URL", "KG_CHUNK_OVERLAP", "KG_EXTRACTOR=llm"):
        assert sum(name in p for p in problems) == 1, name
    neo = Settings(_env_file=None, kg_store_url="neo4j://db:7687")  # type: ignore[call-arg]
    assert settings_problems(neo) == ["KG_STORE_URL points at Neo4j but NEO4J_PASSWORD is empty"]


def test_type_errors_become_one_line_per_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KG_CHUNK_SIZE", "lots")
    monkeypatch.setenv("KG_TOP_K", "0")
    with pytest.raises(SettingsError) as err:
        load_settings()
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("KG_CHUNK_SIZE:") and lines[1].startswith("KG_TOP_K:")
