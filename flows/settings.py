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
    review_db: str | None = Field(
        default=None,
        description="review store, a SQLAlchemy URL (default: SQLite <db stem>.review.sqlite beside the db;"
        " postgresql+psycopg://user@host/db for a team)",
    )
    run_nice: int = Field(
        default=10,
        description="CPU niceness of `claimwatch run` (0-19): reviewers' commands get the CPU first",
    )
    memory_limit: str | None = Field(
        default=None,
        description="DuckDB memory limit, e.g. 4GB (default: a quarter of the machine's memory, "
        "at least 256MB, at most 1GB; the file reader gets half; DuckDB spills to disk beyond it)",
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
    user: str | None = Field(
        default=None, description="actor recorded in the audit log (default: the login name)"
    )

    web_secret: SecretStr | None = Field(
        default=None,
        description="web app: secret signing the session cookie (else a 0600 file <db>.web-secret"
        " created on first start)",
    )
    web_secret_file: Path | None = Field(
        default=None, description="web app: session secret file (default: <db>.web-secret)"
    )
    web_session_hours: float = Field(default=8.0, description="web app: a login lasts this long (hours)")
    web_secure_cookie: bool = Field(
        default=False, description="web app: send the session cookie over HTTPS only (behind a TLS proxy)"
    )

    @property
    def resolved_memory_limit(self) -> str:
        return self.memory_limit or default_memory_limit()

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.db.with_name(self.db.name + ".key")

    @property
    def resolved_analytics_db(self) -> Path:
        return self.analytics_db or self.db.with_name(self.db.stem + ".analytics.duckdb")

    @property
    def resolved_review_sqlite(self) -> Path:
        return self.db.with_name(self.db.stem + ".review.sqlite")

    @property
    def resolved_web_secret_file(self) -> Path:
        return self.web_secret_file or self.db.with_name(self.db.name + ".web-secret")

    @property
    def resolved_report_dir(self) -> Path:
        return self.report_dir or self.db.parent / "reports"


def default_memory_limit() -> str:
    """A quarter of the memory this process may use (the machine's, or its cgroup's), in
    [256MB, 1GB]. DuckDB spills beyond it to a private folder, so a run completes on any history;
    the cap keeps a whole run (this limit, half of it for the file reader, Python, polars and
    the detectors) under 2 GiB of memory on a shared server. Set CLAIMWATCH_MEMORY_LIMIT higher
    where the machine is dedicated to claimwatch: less spilling, faster first loads."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        cgroup = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if cgroup.isdigit():
            total = min(total, int(cgroup))
    except OSError:
        pass
    mib = min(max(total // 4 // 2**20, 256), 1024)
    return f"{mib}MiB"


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
