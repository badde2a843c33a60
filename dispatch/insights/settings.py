"""The statistics' settings: the county's response-time targets (HUB_INSIGHTS__TARGETS, JSON)."""

from __future__ import annotations

from pydantic import Field, field_validator

from dispatch.insights.engine import DEFAULT_TARGETS, STAGES
from ingest.settings import Section

SEVERITIES = ("critical", "warning", "info")


class InsightsSettings(Section):
    """What the bureau's statistics compare response times with."""

    targets: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_TARGETS.items()},
        description="Seconds from the alert to each stage (ack, dispatch, on_scene, resolved) per severity (critical, "
        'warning, info), e.g. {"ack": {"critical": 60}}; a stage or severity left out has no target',
    )

    @field_validator("targets")
    @classmethod
    def _known(cls, targets: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for stage, per in targets.items():
            if stage not in STAGES:
                raise ValueError(f"unknown stage {stage!r}; one of {list(STAGES)}")
            for severity, seconds in per.items():
                if severity not in SEVERITIES:
                    raise ValueError(f"unknown severity {severity!r}; one of {list(SEVERITIES)}")
                if seconds <= 0:
                    raise ValueError(f"the target of {stage}/{severity} must be more than 0 s")
        return targets
