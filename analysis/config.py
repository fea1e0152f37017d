"""The analysis role's configuration: anomaly detection and reports.

Loaded from defaults < the `[analysis]` table of the TOML file named by `LOGSHIP_CONFIG` (if
set) < `.env` < the environment (`LOGSHIP_<KEY>`, and `DATABASE_URL`). Template mining has no
settings on purpose: one default configuration serves every kind of log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from logship.config import doc_field, load
from logship.database_url import DEFAULT_DATABASE_URL
from logship.errors import ConfigError

CONFIG_ENV = "LOGSHIP_CONFIG"
SECTION = "analysis"


@dataclass
class AnalysisConfig:
    """Settings of anomaly detection (periodic task) and of `logship report`."""

    database_url: str = doc_field(
        DEFAULT_DATABASE_URL,
        "PostgreSQL URL holding log_events; used by detection and `logship report`.",
        env=("DATABASE_URL",),
    )
    window_s: int = doc_field(300, "Length of one detection window; windows align to the epoch.")
    baseline_windows: int = doc_field(
        12, "Previous windows a rate is compared with (median and MAD of their values)."
    )
    min_history_windows: int = doc_field(
        6, "Baseline windows a source must have had events in before its rates are judged."
    )
    sensitivity_z: float = doc_field(
        4.0, "Robust z-score (|x - median| / 1.4826 MAD) at or above which a rate is a spike."
    )
    min_spike_events: int = doc_field(
        10, "Events of a template (or errors of a source) a window needs to count as a spike."
    )
    min_error_rate_increase: float = doc_field(
        0.05, "Error rate a window must exceed its baseline median by (0.05 = 5 points)."
    )
    silence_after_s: int = doc_field(
        900, "A regularly active source with no event for this long is reported as silent."
    )
    new_templates: bool = doc_field(
        True, "Report templates never seen before (only once the database has older events)."
    )
    max_anomalies_per_kind: int = doc_field(
        100, "Anomalies of one kind written per window at most (the highest scores)."
    )

    def validate(self) -> None:
        """Raise ConfigError naming the key when a value cannot work."""
        for name in (
            "window_s",
            "baseline_windows",
            "sensitivity_z",
            "min_spike_events",
            "silence_after_s",
            "max_anomalies_per_kind",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"key {name!r} must be > 0 (got {getattr(self, name)!r})")
        if not 0 <= self.min_history_windows <= self.baseline_windows:
            raise ConfigError(
                "key 'min_history_windows' must be between 0 and 'baseline_windows' "
                f"(got {self.min_history_windows})"
            )
        if not 0 <= self.min_error_rate_increase <= 1:
            raise ConfigError(
                "key 'min_error_rate_increase' must be between 0 and 1 "
                f"(got {self.min_error_rate_increase})"
            )


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
    dotenv: Path | None = Path(".env"),
) -> AnalysisConfig:
    """The analysis settings from the file in LOGSHIP_CONFIG (or `path`) and the environment."""
    env = os.environ if environ is None else environ
    if path is None and env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
    return load(
        AnalysisConfig,
        path=path,
        section=SECTION if path is not None else None,
        environ=env,
        dotenv=dotenv,
        overrides=overrides,
    )
