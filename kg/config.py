"""Settings from the environment and `.env`. Nothing is required: the defaults run fully offline."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DISCORD_API_URL = "https://discord.com/api/v10"


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
    kg_llm_concurrency: int = Field(4, ge=1)  # model calls in flight at once while indexing
    kg_llm_max_retries: int = Field(4, ge=0)  # retries of a rate-limited, failed or timed-out call

    # Language-model indexing (the llm extractor)
    kg_entity_types: str = "organization,person,geo,event"
    kg_gleaning: int = Field(0, ge=0, le=1)  # 1: a second extraction pass per chunk for missed entities
    kg_summary_batch: int = Field(8, ge=1)  # entities/relationships summarised per model call
    kg_report_max_tokens: int = Field(8000, ge=500)  # input of one community report

    # Indexing
    kg_max_file_mb: float = Field(50.0, gt=0)  # larger files are skipped with a message
    kg_extractor: str = "auto"  # auto | nlp | llm ("auto": llm when a model is configured)
    kg_chunk_size: int = Field(1200, ge=50)
    kg_chunk_overlap: int = Field(100, ge=0)
    kg_max_cluster_size: int = Field(10, ge=2)
    kg_seed: int = 0xDEADBEEF

    # Search
    kg_context_budget: int = Field(12000, ge=500)
    kg_top_k: int = Field(10, ge=1)
    # auto: local or global chosen per question; local: about a thing; global: about the whole corpus
    kg_search: Literal["auto", "local", "global"] = "auto"

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
    kg_discord_guilds: str = ""  # server ids to register the slash commands in (instantly); empty: globally
    discord_api_url: str = DISCORD_API_URL  # tests point it at a local server

    # `kgbot serve`: the port of /healthz, /readyz, /metrics (and /slack/events in Slack HTTP mode), and the
    # seconds a shutdown waits for questions in flight.
    kg_http_port: int = Field(8080, ge=1, le=65535)
    kg_shutdown_grace: float = Field(20.0, ge=0)

    @cached_property
    def store_url(self) -> str:
        return self.kg_store_url or f"sqlite:///{self.kg_home / 'kg.db'}"

    @property
    def admins(self) -> set[str]:
        return {a.strip() for a in self.kg_admins.split(",") if a.strip()}

    @property
    def discord_guilds(self) -> list[int]:
        ids = [g.strip() for g in self.kg_discord_guilds.split(",") if g.strip()]
        for g in ids:
            if not g.isdigit():
                raise ValueError(f"KG_DISCORD_GUILDS: '{g}' is not a Discord server id (a number)")
        return [int(g) for g in ids]

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

    @property
    def has_embedding_model(self) -> bool:
        if self.kg_embedding_model == "local":  # kg.llm.local_embeddings: on this machine, no endpoint needed
            return True
        return self.has_chat_model and bool(self.kg_embedding_model)

    @property
    def entity_types(self) -> list[str]:
        return [t.strip().upper() for t in self.kg_entity_types.split(",") if t.strip()]


class SettingsError(ValueError):
    """Settings that cannot work; one line per problem, each naming the setting to fix."""


def load_settings() -> Settings:
    """Settings from the environment and .env, with type errors turned into one line per setting."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()]
        raise SettingsError("\n".join(lines)) from None


def settings_problems(s: Settings) -> list[str]:
    """What would fail later, said at start: one clear line per problem."""
    problems: list[str] = []
    bot, app, signing = (
        x.get_secret_value() for x in (s.slack_bot_token, s.slack_app_token, s.slack_signing_secret)
    )
    if bot and not (app or signing):
        problems.append(
            "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP mode) is"
        )
    if (app or signing) and not bot:
        problems.append("SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is missing")
    if bot and not bot.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN should be a bot token starting with xoxb-")
    if app and not app.startswith("xapp-"):
        problems.append(
            "SLACK_APP_TOKEN should be an app-level token starting with xapp- (with connections:write)"
        )
    scheme = s.store_url.split("://", 1)[0] if "://" in s.store_url else ""
    if scheme not in {"sqlite", "neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"}:
        problems.append(f"KG_STORE_URL must start with sqlite:///, neo4j:// or bolt:// (got {s.store_url!r})")
    elif scheme != "sqlite" and not s.neo4j_password.get_secret_value():
        problems.append("KG_STORE_URL points at Neo4j but NEO4J_PASSWORD is empty")
    if s.redis_url and not s.redis_url.startswith(("redis://", "rediss://", "unix://")):
        problems.append("REDIS_URL must start with redis://, rediss:// or unix://")
    if s.openai_base_url and not s.openai_base_url.startswith(("http://", "https://")):
        problems.append("OPENAI_BASE_URL must be an http(s) URL, e.g. http://localhost:11434/v1 for Ollama")
    if s.kg_chunk_overlap >= s.kg_chunk_size:
        problems.append("KG_CHUNK_OVERLAP must be smaller than KG_CHUNK_SIZE")
    if s.kg_extractor not in {"auto", "nlp", "llm"}:
        problems.append("KG_EXTRACTOR must be auto, nlp or llm")
    elif s.kg_extractor == "llm" and not s.has_chat_model:
        problems.append("KG_EXTRACTOR=llm needs a model: set OPENAI_API_KEY or OPENAI_BASE_URL")
    try:
        s.discord_guilds  # noqa: B018 - parsing is the check
    except ValueError as exc:
        problems.append(str(exc))
    if not s.discord_api_url.startswith(("http://", "https://")):
        problems.append(f"DISCORD_API_URL must be an http(s) URL (default {DISCORD_API_URL})")
    return problems
