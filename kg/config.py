"""Settings from the environment and `.env`. Nothing is required: the defaults run fully offline."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Where the embedded store, caches and logs live.
    kg_home: Path = Path(".kgbot")
    # sqlite:///path/to/file.db (default: a file in KG_HOME), neo4j://, neo4j+s:// or bolt://
    kg_store_url: str = ""
    kg_namespace: str = "default"

    neo4j_username: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"

    redis_url: str = ""

    openai_api_key: SecretStr = SecretStr("")
    openai_base_url: str = ""
    kg_chat_model: str = "gpt-4o-mini"
    kg_embedding_model: str = ""
    kg_llm_timeout: float = 60.0

    # Indexing
    kg_max_file_mb: float = Field(50.0, gt=0)  # larger files are skipped with a message
    kg_extractor: str = "auto"  # auto | nlp | llm ("auto": llm when a model is configured)
    kg_chunk_size: int = Field(1200, ge=50)
    kg_chunk_overlap: int = Field(100, ge=0)
    kg_max_cluster_size: int = Field(10, ge=2)
    kg_seed: int = 0xDEADBEEF

    # Local search
    kg_context_budget: int = Field(12000, ge=500)
    kg_top_k: int = Field(10, ge=1)

    # Chat front-ends
    kg_channel_namespaces: str = ""  # "channel_id=namespace,..."; other channels use KG_NAMESPACE
    kg_rate_per_minute: int = Field(10, ge=1)
    kg_history_turns: int = Field(12, ge=0)
    kg_sources: str = ""  # what /reindex reads: paths separated by ',' (optionally "namespace=path")
    kg_admins: str = ""  # user ids allowed to /reindex, comma separated
    slack_bot_token: SecretStr = SecretStr("")
    slack_app_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")
    slack_api_url: str = "https://slack.com/api/"
    discord_token: SecretStr = SecretStr("")

    @cached_property
    def store_url(self) -> str:
        return self.kg_store_url or f"sqlite:///{self.kg_home / 'kg.db'}"

    @property
    def admins(self) -> set[str]:
        return {a.strip() for a in self.kg_admins.split(",") if a.strip()}

    @property
    def channel_namespaces(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.kg_channel_namespaces.split(",") if "=" in item)
        return {channel.strip(): ns.strip() for channel, ns in pairs if channel.strip() and ns.strip()}

    def sources_for(self, namespace: str) -> list[str]:
        """The paths /reindex reads for `namespace`: "ns=path" entries, plain paths for the default one."""
        paths = []
        for item in (i.strip() for i in self.kg_sources.split(",")):
            if not item:
                continue
            ns, _, path = item.rpartition("=")
            if (ns.strip() or self.kg_namespace) == namespace:
                paths.append(path.strip())
        return paths

    @property
    def has_chat_model(self) -> bool:
        return bool(self.openai_api_key.get_secret_value() or self.openai_base_url)


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
