from __future__ import annotations

from pathlib import Path

import pytest

from kg.config import Settings

# A small corpus written for these tests: a fictional company with people, products and acronyms.
CORPUS = {
    "team.md": """# The Harbor Lights team

Harbor Lights is a small company that builds the Lantern Engine for coastal weather forecasts.
Maria Okafor leads the forecasting group at Harbor Lights. Maria Okafor designed the Lantern Engine in 2019.
The Lantern Engine combines radar data with ocean buoy readings from NOAA.
Tomas Lindqvist maintains the data pipeline that feeds the Lantern Engine.
Tomas Lindqvist and Maria Okafor meet every Monday to review forecast accuracy.
""",
    "engine.txt": """The Lantern Engine uses a technique called wave ensemble averaging.
Wave ensemble averaging runs many small simulations and averages their outputs.
The Lantern Engine publishes forecasts through the Beacon API.
The Beacon API serves forecasts to fishing fleets and to the Port Authority of Saltmere.
Forecast accuracy improved by 12 percent after wave ensemble averaging was introduced.
NOAA buoy readings arrive every ten minutes and are cleaned by the data pipeline.
""",
    "sub/history.txt": """Before the Lantern Engine, Harbor Lights relied on manual charts.
The Port Authority of Saltmere became the first customer of the Beacon API in 2020.
Maria Okafor presented the Lantern Engine at the Coastal Computing Conference.
""",
}


def write_corpus(root: Path) -> Path:
    for name, text in CORPUS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    return Settings(_env_file=None, kg_home=home, kg_chunk_size=120, kg_chunk_overlap=20)  # type: ignore[call-arg]
