"""Every setting histbot reads, in one place.

This is the only module that looks at the environment (or a `.env` file). Everything else
receives a `Settings` instance, so tests can build one explicitly and nothing hides a
dependency on the process environment.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES_DIR = REPO_ROOT / "seeds"
DISCORD_API_V10 = "https://discord.com/api/v10"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    """histbot configuration, read from environment variables or `.env`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    discord_token: SecretStr | None = Field(
        default=None,
        validation_alias=_env("DISCORD_TOKEN"),
        description="The bot token from the Discord developer portal. Never logged.",
    )
    discord_api_base: str = Field(
        default=DISCORD_API_V10,
        validation_alias=_env("DISCORD_API_BASE"),
        description="REST base URL (a REST proxy, or the loopback stand-in in tests).",
    )
    dev_guild_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        validation_alias=_env("HISTBOT_DEV_GUILD_IDS"),
        description="Comma-separated guild IDs whose commands are synced instantly.",
    )
    sync_commands_on_start: bool = Field(
        default=True,
        validation_alias=_env("HISTBOT_SYNC_ON_START"),
        description="Sync application commands when the bot starts.",
    )
    sources_dir: Path = Field(
        default=DEFAULT_SOURCES_DIR,
        validation_alias=_env("HISTBOT_SOURCES_DIR"),
        description="Folder holding the texts and their sources.toml manifest.",
    )
    data_dir: Path = Field(
        default=REPO_ROOT / "data",
        validation_alias=_env("HISTBOT_DATA_DIR"),
        description="Folder for the index caches, the study-session and the upload databases.",
    )
    index_cache: Path | None = Field(
        default=None,
        validation_alias=_env("HISTBOT_INDEX_CACHE_DIR"),
        description="Folder for the shipped texts' index and all sentence vectors (default: "
        "index-cache/ in the data dir); instances may share it, as it is keyed by content.",
    )
    ask_cooldown_seconds: float = Field(
        default=5.0,
        ge=0,
        validation_alias=_env("HISTBOT_ASK_COOLDOWN"),
        description="Per-user cooldown between /ask (and mention) questions; 0 disables it.",
    )
    search_cooldown_seconds: float = Field(
        default=3.0,
        ge=0,
        validation_alias=_env("HISTBOT_SEARCH_COOLDOWN"),
        description="Per-user cooldown between /search calls; 0 disables it.",
    )
    message_content: bool = Field(
        default=False,
        validation_alias=_env("HISTBOT_MESSAGE_CONTENT"),
        description=(
            "Read questions from ordinary messages (mentions, replies, study threads). "
            "Needs the privileged Message Content intent enabled in the developer portal."
        ),
    )
    log_level: str = Field(
        default="INFO",
        validation_alias=_env("HISTBOT_LOG_LEVEL"),
        description="Python logging level name.",
    )
    search_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        validation_alias=_env("HISTBOT_SEARCH_WORKERS"),
        description="Threads for quick library look-ups (passages, sections) off the event loop.",
    )
    search_processes: int = Field(
        default=2,
        ge=0,
        le=64,
        validation_alias=_env("HISTBOT_SEARCH_PROCESSES"),
        description=(
            "Worker processes that answer questions and searches, so their CPU time never "
            "competes with the event loop; 0 runs them on the threads instead."
        ),
    )
    upload_max_mb: float = Field(
        default=10.0,
        gt=0,
        le=256,
        validation_alias=_env("HISTBOT_UPLOAD_MAX_MB"),
        description="The largest file /library add accepts, in MB (refused before download).",
    )
    upload_max_texts: int = Field(
        default=20,
        ge=1,
        validation_alias=_env("HISTBOT_UPLOAD_MAX_TEXTS"),
        description="Texts a server may add of its own.",
    )
    upload_max_passages: int = Field(
        default=50_000,
        ge=1,
        validation_alias=_env("HISTBOT_UPLOAD_MAX_PASSAGES"),
        description="Passages a server's own texts may hold in all.",
    )
    library_role: str = Field(
        default="",
        validation_alias=_env("HISTBOT_LIBRARY_ROLE"),
        description=(
            "A role whose members may add and remove a server's texts, besides members with "
            "Manage Server (empty: Manage Server only)."
        ),
    )
    library_memory_mb: int = Field(
        default=512,
        ge=1,
        validation_alias=_env("HISTBOT_LIBRARY_MEMORY_MB"),
        description=(
            "Memory each process (the bot, each search worker) may spend on servers' own "
            "libraries; beyond it the least recently used are dropped and loaded again when "
            "asked."
        ),
    )

    shutdown_timeout_seconds: float = Field(
        default=10.0,
        ge=0,
        le=600,
        validation_alias=_env("HISTBOT_SHUTDOWN_TIMEOUT"),
        description=(
            "On SIGTERM or SIGINT, histbot exits within this many seconds, having answered "
            "the questions in hand (what is still owed then is answered by the next start). "
            "At most the stop timeout of whatever runs it (docker stop: 10 s by default)."
        ),
    )

    @field_validator("dev_guild_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @property
    def database_path(self) -> Path:
        """SQLite file for study sessions."""
        return self.data_dir / "histbot.sqlite3"

    @property
    def journal_path(self) -> Path:
        """SQLite file of interactions acknowledged and not yet answered (see README)."""
        return self.data_dir / "interactions.sqlite3"

    @property
    def heartbeat_path(self) -> Path:
        """File the running bot rewrites while connected: what the health check reads."""
        return self.data_dir / "heartbeat"

    @property
    def index_cache_dir(self) -> Path:
        """Where the shipped texts' index and the sentence vectors are cached, keyed by the
        texts' content."""
        return self.index_cache or self.data_dir / "index-cache"

    @property
    def uploads_database_path(self) -> Path:
        """SQLite file for the texts servers added (`/library add`)."""
        return self.data_dir / "library.sqlite3"

    @property
    def server_index_cache_dir(self) -> Path:
        """Where each server's library index is cached, a folder per server."""
        return self.data_dir / "server-indexes"

    @property
    def upload_max_bytes(self) -> int:
        return int(self.upload_max_mb * 2**20)

    @property
    def library_memory_bytes(self) -> int:
        return self.library_memory_mb * 2**20


class EnvFileError(ValueError):
    """A `.env` file that cannot be read as text; the message names it and says what to do."""


def env_file_encoding(path: Path = Path(".env")) -> str:
    """How to decode a `.env` file: UTF-8 (with or without a byte-order mark), or UTF-16
    with one (what Windows PowerShell 5 writes with `echo ... > .env`). EnvFileError for
    anything else; "utf-8" when there is no file."""
    try:
        head = path.read_bytes()
    except FileNotFoundError:
        return "utf-8"
    except OSError as exc:
        raise EnvFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvFileError(
            f"{path} is not UTF-8 text (byte 0x{head[exc.start]:02x} at offset {exc.start}): "
            "save it as UTF-8"
        ) from None
    return "utf-8"
