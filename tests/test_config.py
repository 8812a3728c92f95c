"""Settings: every one documented in .env.example, and the parsing helpers behave."""

from __future__ import annotations

import re
from pathlib import Path

from kg.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from .env.example"
    assert documented - fields == set(), ".env.example names settings the code does not read"


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
