"""The node's one settings object: environment ``TRADEACCORD_*`` and an optional file.

Built by the outermost caller (CLI command, test fixture) and passed down explicitly; never
constructed at import time. The settings file ``DIR/node.env`` holds ``KEY=value`` lines
with the same names as the environment; the environment wins over the file, and explicit
command-line options win over both.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.limits import Limits
from protocol.validation_profile import DEFAULT_PROFILE, ValidationProfile


class Settings(BaseSettings):
    """Node and CLI configuration. Every field maps to ``TRADEACCORD_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="TRADEACCORD_", extra="ignore",
                                      env_file=None)

    authority_dir: Path | None = None
    passphrase: SecretStr | None = None
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///DIR/node.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    host: str = "127.0.0.1"
    port: int = 8700
    node_url: str = "http://127.0.0.1:8700"
    api_key: SecretStr | None = None
    # Delivery worker
    worker_poll_seconds: float = 0.2
    delivery_timeout_seconds: float = 10.0
    # The retry schedule: exponential backoff with full jitter, capped, for a deadline (as
    # message hubs do), so that a partner's outage of hours leaves no dead letters.
    delivery_backoff_base_seconds: float = Field(default=1.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=600.0, gt=0)
    delivery_deadline_seconds: float = Field(
        default=86_400.0, gt=0,
        description="how long a message is retried before it goes dead (never past its "
        "envelope's expiresAt)")
    delivery_max_attempts: int | None = Field(
        default=None, ge=1, description="also dead after this many attempts (none: the "
        "deadline alone)")
    # Envelopes in flight at once: in all, and to any one peer (the worker keeps that many
    # sends going, claiming another as soon as one ends).
    delivery_concurrency: int = Field(default=8, ge=1)
    delivery_peer_concurrency: int = Field(default=4, ge=1)
    delivery_batch_size: int = 50
    # Longer than the delivery deadline, so that a message retried for a day is still fresh
    # when it finally arrives.
    envelope_ttl_seconds: int = 172_800
    # Most documents in one POST /v1/documents:batch (one transaction)
    batch_max_documents: int = Field(default=100, ge=1, le=1000)
    # Receiving
    max_document_bytes: int = 1_048_576
    max_envelope_bytes: int = 16_777_216
    max_depth: int = 64
    max_documents_per_envelope: int = 100
    max_clock_skew_seconds: int = 300
    hold_for_review_types: list[str] = Field(default_factory=list)
    # Clearance rule sets (default: the ones shipped in the clearance package)
    reconciliation_rules: Path | None = Field(
        default=None, description="An export reconciliation rule file (JSON) instead of the "
        "shipped one")
    import_rules: Path | None = Field(
        default=None, description="An import clearance rule file (JSON) instead of the shipped "
        "one")
    # What this node checks beyond the schemas, when it receives, verifies and signs:
    # syntax (codes by pattern), standard (codes by membership), strict (and arithmetic).
    validation_profile: ValidationProfile = DEFAULT_PROFILE
    # TLS (optional): serve HTTPS and present the node certificate to peers
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    tls_ca_file: Path | None = None
    log_level: str = "info"
    # Web console: how long a sign-in lasts (a revoked API key ends it at once).
    console_session_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 24 * 3600)

    def passphrase_bytes(self) -> bytes | None:
        """The key passphrase as bytes, or None when unset or empty."""
        if self.passphrase is None or not self.passphrase.get_secret_value():
            return None
        return self.passphrase.get_secret_value().encode("utf-8")

    def limits(self) -> Limits:
        return Limits(
            max_document_bytes=self.max_document_bytes,
            max_envelope_bytes=self.max_envelope_bytes,
            max_depth=self.max_depth,
            max_documents_per_envelope=self.max_documents_per_envelope,
            max_clock_skew_seconds=self.max_clock_skew_seconds,
        )

    def resolved_database_url(self, authority_dir: Path) -> str:
        return self.database_url or f"sqlite:///{authority_dir / 'node.db'}"


def load_settings(authority_dir: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment, ``DIR/node.env`` if present, then explicit overrides."""
    env_file = None
    if authority_dir is not None and (authority_dir / "node.env").is_file():
        env_file = authority_dir / "node.env"
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    values = {key: value for key, value in overrides.items() if value is not None}
    if authority_dir is not None:
        values.setdefault("authority_dir", authority_dir)
    return settings.model_copy(update=values) if values else settings
