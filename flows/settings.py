"""Settings of a claimwatch installation: one class, environment prefix ``CLAIMWATCH_``."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Software that processes health data must not phone home: Prefect's telemetry is off unless
# the operator turns it on explicitly (CLAIMWATCH_TELEMETRY=true).
_PRIVACY_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # the temporary server needs more than the default 20 s on a loaded 2-core machine
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


class Settings(BaseSettings):
    """Every knob of an installation; the DuckDB path is the main per-environment one."""

    model_config = SettingsConfigDict(
        env_prefix="CLAIMWATCH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    db: Path = Field(default=Path("claimwatch.duckdb"), description="DuckDB database file")
    inbox: Path = Field(default=Path("inbox"), description="directory of input files")
    key: SecretStr | None = Field(
        default=None, description="pseudonymisation secret (else a key file beside the db)"
    )
    key_file: Path | None = Field(default=None, description="key file (default: <db>.key)")
    analytics_db: Path | None = Field(
        default=None, description="read-only copy for analysts (default: <db stem>.analytics.duckdb)"
    )
    report_dir: Path | None = Field(default=None, description="run reports (default: beside the db)")
    memory_limit: str | None = Field(
        default=None,
        description="DuckDB memory limit, it spills beyond (default: a quarter of RAM, at most 1GB)",
    )
    threads: int | None = Field(default=None, description="DuckDB threads (default: all cores)")
    aggregates_max_age_days: int = Field(
        default=7, description="portfolio aggregates (peers, bank prevalence, ensemble) refreshed after"
    )
    aggregates_max_growth: float = Field(
        default=0.05, description="... or when the portfolio grew by more than this share of members"
    )
    score_sample_size: int = Field(default=200_000, description="members sampled to fit the PyOD detectors")
    score_chunk_size: int = Field(default=250_000, description="members scored per chunk")
    telemetry: bool = Field(default=False, description="allow Prefect's telemetry")
    dask_address: str | None = Field(
        default=None, description="scheduler of an existing Dask cluster to fan scoring out to"
    )
    score_partitions: int = Field(
        default=8, description="member-hash partitions scored in parallel on the Dask cluster"
    )
    nightly_cron: str = Field(default="0 2 * * *", description="nightly run schedule")
    purge_cron: str = Field(default="0 3 * * 0", description="weekly retention purge schedule")
    timezone: str = Field(default="Europe/Paris", description="timezone of the schedules")

    @property
    def resolved_memory_limit(self) -> str:
        """The memory limit given, else a quarter of the machine's RAM capped at 1 GB: with
        Python's frames and the ensemble beside it, a run stays under 2 GiB of RSS."""
        if self.memory_limit:
            return self.memory_limit
        try:
            ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):
            ram = 4 * 2**30
        return f"{max(min(ram // 4, 2**30) // 2**20, 256)}MB"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.db.with_name(self.db.name + ".key")

    @property
    def resolved_analytics_db(self) -> Path:
        return self.analytics_db or self.db.with_name(self.db.stem + ".analytics.duckdb")

    @property
    def resolved_report_dir(self) -> Path:
        return self.report_dir or self.db.parent / "reports"


def apply_privacy_defaults(settings: Settings | None = None) -> None:
    """Turn Prefect's telemetry off (unless allowed) before Prefect is imported."""
    telemetry = (
        settings.telemetry
        if settings
        else os.environ.get("CLAIMWATCH_TELEMETRY", "").lower() in {"1", "true", "yes"}
    )
    for name, value in _PRIVACY_DEFAULTS.items():
        if telemetry and name in {"PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK"}:
            continue
        os.environ.setdefault(name, value)
