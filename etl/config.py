"""Configuration from the environment (operations.md, "Configuration").

Every stage takes a `Settings`; the CLI builds it from the environment, the DAGs from the
`tthc_api` connection plus the environment. Nothing here imports heavy libraries.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_API_URL = "http://127.0.0.1:8765"
DEMO_TOKEN = "demo-token"
# Public on purpose: it only protects the emulator's synthetic people. Real runs must set
# TTHC_PII_KEY; `require_pii_key` refuses to run without it outside the demo.
DEMO_PII_KEY = "tthc-demo-pseudonymization-key-not-for-production"



class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    api_url: str = DEFAULT_API_URL
    api_token: str = field(default=DEMO_TOKEN, repr=False)  # never printed
    warehouse: Path = Path("warehouse/tthc.duckdb")
    raw_dir: Path = Path("warehouse/raw")
    published: Path = Path("warehouse/published/tthc.duckdb")
    pii_key: str | None = field(default=None, repr=False)
    demo: bool = False
    # How long the extractor keeps retrying transient source faults before giving up.
    source_retry_seconds: float = 120.0
    # Read timeout per request and first backoff delay (doubling per retry) of the extractor.
    source_read_timeout: float = 30.0
    source_backoff_seconds: float = 0.5
    # Ask the source for gzip? `auto`: not from a loopback host, where bytes cost nothing and
    # compression only costs CPU on both ends (docs/decisions/0044); yes from any other host.
    source_compression: str = "auto"
    # The paper-free pilot registrations (operations.md TTHC_PILOT_FILE); None: no pilot.
    pilot_file: Path | None = None

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse.parent

    @property
    def staged_dir(self) -> Path:
        return self.warehouse_dir / "staged"

    @property
    def data_docs_dir(self) -> Path:
        return self.warehouse_dir / "data_docs"

    @property
    def published_parquet_dir(self) -> Path:
        return self.published.parent / "parquet"

    @property
    def published_duckdb1(self) -> Path:
        """The published copy in DuckDB 1.x's storage format, same file name, for older drivers."""
        return self.published.parent / "duckdb1" / self.published.name

    def with_source(self, api_url: str | None, api_token: str | None) -> "Settings":
        """Override the source (Airflow's `tthc_api` connection wins over the environment)."""
        return replace(
            self,
            api_url=(api_url or self.api_url).rstrip("/"),
            api_token=api_token or self.api_token,
        )

    def require_pii_key(self) -> bytes:
        """The pseudonymization key; outside the demo there is no default."""
        if self.pii_key:
            return self.pii_key.encode("utf-8")
        if self.demo:
            return DEMO_PII_KEY.encode("utf-8")
        raise ConfigError(
            "TTHC_PII_KEY is not set: personal data cannot be pseudonymized without a secret key. "
            "Set TTHC_PII_KEY (or TTHC_DEMO=1 to use the public demo key with the emulator)."
        )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def from_env(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    warehouse = Path(env.get("TTHC_WAREHOUSE") or "warehouse/tthc.duckdb")
    return Settings(
        api_url=(env.get("TTHC_API_URL") or DEFAULT_API_URL).rstrip("/"),
        api_token=env.get("TTHC_API_TOKEN") or DEMO_TOKEN,
        warehouse=warehouse,
        raw_dir=Path(env.get("TTHC_RAW_DIR") or "warehouse/raw"),
        published=Path(env.get("TTHC_PUBLISHED") or "warehouse/published/tthc.duckdb"),
        pii_key=env.get("TTHC_PII_KEY") or None,
        demo=_truthy(env.get("TTHC_DEMO")),
        source_retry_seconds=float(env.get("TTHC_SOURCE_MAX_RETRY_SECONDS") or 120),
        source_read_timeout=float(env.get("TTHC_SOURCE_READ_TIMEOUT_SECONDS") or 30),
        source_backoff_seconds=float(env.get("TTHC_SOURCE_BACKOFF_SECONDS") or 0.5),
        source_compression=_compression(env.get("TTHC_SOURCE_COMPRESSION")),
        pilot_file=Path(env["TTHC_PILOT_FILE"]) if (env.get("TTHC_PILOT_FILE") or "").strip() else None,
    )


SOURCE_COMPRESSIONS = ("auto", "gzip", "identity")


def _compression(value: str | None) -> str:
    choice = (value or "auto").strip().lower()
    if choice not in SOURCE_COMPRESSIONS:
        raise ConfigError(
            f"TTHC_SOURCE_COMPRESSION={value!r}: expected one of {', '.join(SOURCE_COMPRESSIONS)}"
        )
    return choice
