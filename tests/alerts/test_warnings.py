"""Warning levels from crafted gauge series: thresholds, hysteresis, minimum durations, area aggregation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.detection import Severity
from alerts.detector import Detector
from alerts.disaster.gauges import Ladder, LevelTracker
from alerts.disaster.warnings import GaugeThresholds, GaugeWarningDetector, WarningLevel, river_ladder
from devices.models import Family, Reading

T0 = 1_780_000_000.0
RIVER_ONLY = GaugeThresholds(
    rain_1h_mm=None, rain_3h_mm=None, rain_24h_mm=None, river_level_m=river_ladder(10.0, 12.0),
    river_rise_m_per_h=None, displacement_mm=None, displacement_rate_mm_per_h=None,
)  # fmt: skip


def obs(device: str, ts: float, seq: int = 0, **values: float) -> Reading:
    return Reading(device, Family.TERMINAL, ts, seq, dict(values))


def levels(dets: list) -> list[WarningLevel]:
    return [WarningLevel(int(d.features["level"])) for d in dets]


def test_level_names_and_order() -> None:
    assert sorted(WarningLevel, reverse=True)[0] is WarningLevel.RED
    assert list(WarningLevel) == sorted(WarningLevel)
    assert [lv.grade for lv in WarningLevel] == ["", "IV", "III", "II", "I"]
    assert WarningLevel.RED.colour == "red" and WarningLevel.ORANGE.label_zh == "橙色预警"


def test_detector_protocol_and_non_terminal_ignored() -> None:
    det = GaugeWarningDetector({"g1": "village-a"})
    assert isinstance(det, Detector) and det.name == "disaster_warning"
    assert det.observe(Reading("w1", Family.WEARABLE, T0, 0, {"river_level_m": 99.0})) == []


def test_exact_threshold_edges() -> None:
    tracker = LevelTracker(Ladder(1.0, 2.0, 3.0, 4.0, hysteresis=0.5), lower_after_s=0)
    assert tracker.update(0.999999, T0) == 0
    assert tracker.update(1.0, T0 + 1) == 1  # >= raises
    assert tracker.update(4.0, T0 + 2) == 4
    assert tracker.update(3.5, T0 + 3) == 4  # inside the hysteresis band: still red
    assert tracker.update(3.4999, T0 + 4) == 3  # below 4.0 - 0.5: released (no minimum duration here)


def test_noisy_river_gauge_does_not_flap() -> None:
    det = GaugeWarningDetector({"g1": "village-a"}, {"g1": RIVER_ONLY})
    out = []
    for i in range(36):  # 3 h of a gauge bouncing 9.95 / 10.05 around the 10.0 m warning level
        out += det.observe(obs("g1", T0 + 300 * i, i, river_level_m=10.05 if i % 2 else 9.95))
    assert levels(out) == [WarningLevel.BLUE, WarningLevel.YELLOW]
    assert out[0].subject_id == "village-a" and out[1].device_id == "g1"
    assert out[1].features["river_level_m"] == pytest.approx(10.05)
    assert out[1].severity is Severity.WARNING


def test_lowering_needs_margin_and_duration() -> None:
    det = GaugeWarningDetector({"g1": "a"}, {"g1": RIVER_ONLY})
    det.observe(obs("g1", T0, river_level_m=10.2))
    assert det.area_level("a") is WarningLevel.YELLOW
    t = T0 + 60
    # Below the threshold but inside the 0.1 m margin: never released, however long.
    for i in range(20):
        assert det.observe(obs("g1", t + 300 * i, river_level_m=9.91)) == []
    start = t + 6000
    det.observe(obs("g1", start, river_level_m=9.85))  # below 10.0 - 0.1
    assert det.observe(obs("g1", start + 1799, river_level_m=9.85)) == []
    assert det.observe(obs("g1", start + 1000, river_level_m=9.85)) == []  # out of order: dropped
    assert levels(det.advance(start + 1800)) == [WarningLevel.BLUE]  # exactly the 30 min minimum duration
    assert det.area_level("a") is WarningLevel.BLUE


def test_short_spike_below_min_duration_does_not_raise() -> None:
    cfg = GaugeThresholds(**{**_fields(RIVER_ONLY), "raise_after_s": 600})
    det = GaugeWarningDetector({"g1": "a"}, {"g1": cfg})
    assert det.observe(obs("g1", T0, river_level_m=12.5)) == []
    assert det.observe(obs("g1", T0 + 300, river_level_m=12.5)) == []
    assert det.observe(obs("g1", T0 + 599, river_level_m=9.0)) == []  # spike over before 10 min
    assert det.observe(obs("g1", T0 + 900, river_level_m=12.1)) == []
    out = det.observe(obs("g1", T0 + 1500, river_level_m=12.2))
    assert levels(out) == [WarningLevel.RED] and out[0].severity is Severity.CRITICAL


def _fields(cfg: GaugeThresholds) -> dict:
    return {name: getattr(cfg, name) for name in cfg.__dataclass_fields__}


def test_rain_accumulation_windows_and_ageing() -> None:
    det = GaugeWarningDetector({"r1": "a"})
    out = []
    for i in range(12):  # 2 mm every 5 min: 24 mm in the hour
        out += det.observe(obs("r1", T0 + 300 * (i + 1), i, rainfall_mm=2.0))
    assert levels(out) == [WarningLevel.BLUE]  # 1 h: 20 mm = blue; 24 mm is below yellow's 30 mm
    assert det.terminal_metrics("r1")["rain_1h_mm"] == (pytest.approx(24.0), 1)
    for i in range(12, 36):  # another 2 h at 6 mm / 5 min: 72 mm/h -> red on the 1 h sum
        out += det.observe(obs("r1", T0 + 300 * (i + 1), i, rainfall_mm=6.0))
    assert det.area_level("a") is WarningLevel.RED
    last = T0 + 300 * 36
    # Rain stops: the 1 h and 3 h sums age out; the 24 h sum (168 mm, orange) holds the level.
    # advance() is called as time passes (every 5 min here); a level is released 30 min after its sum fell.
    seen = [lv for k in range(1, 12 * 26) for lv in levels(det.advance(last + 300 * k))]
    assert seen == [WarningLevel.ORANGE, WarningLevel.YELLOW, WarningLevel.BLUE, WarningLevel.NONE]
    assert det.area_level("a") is WarningLevel.NONE


def test_rise_rate_and_displacement_rate() -> None:
    det = GaugeWarningDetector({"g1": "a", "s1": "b"})
    for i in range(13):  # river rising 0.4 m/h, far below any level ladder (none configured)
        det.observe(obs("g1", T0 + 300 * i, i, river_level_m=5.0 + 0.4 * i / 12))
    assert det.area_level("a") is WarningLevel.ORANGE
    assert det.terminal_metrics("g1")["river_rise_m_per_h"][0] == pytest.approx(0.4)
    for i in range(7):  # landslide creeping 6 mm/h from a 10 mm baseline
        det.observe(obs("s1", T0 + 600 * i, i, displacement_mm=10.0 + i))
    assert det.area_level("b") is WarningLevel.ORANGE  # rate 6 mm/h >= 5; cumulative 16 mm < 20


def test_area_is_max_over_terminals_and_imports() -> None:
    det = GaugeWarningDetector({"g1": "a", "g2": "a"}, {"g1": RIVER_ONLY, "g2": RIVER_ONLY})
    det.observe(obs("g1", T0, river_level_m=12.0))
    det.observe(obs("g2", T0, river_level_m=10.0))
    assert det.area_level("a") is WarningLevel.RED
    for k in range(1, 8):
        det.observe(obs("g1", T0 + 600 * k, k, river_level_m=8.0))
    assert det.area_level("a") is WarningLevel.YELLOW  # g2 still holds yellow
    out = det.set_external("a", "cma-123", WarningLevel.ORANGE, T0 + 5000)
    assert levels(out) == [WarningLevel.ORANGE] and out[0].device_id == "cma-123"
    assert levels(det.set_external("a", "cma-123", WarningLevel.NONE, T0 + 5001)) == [WarningLevel.YELLOW]
    assert det.levels() == {"a": WarningLevel.YELLOW}


def test_ladder_rejects_descending_thresholds() -> None:
    with pytest.raises(ValueError, match="ascend"):
        Ladder(3, 2, 4, 5)
    with pytest.raises(ValueError, match="guarantee"):
        river_ladder(12, 10)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=9.9, max_value=10.6, allow_nan=False), min_size=2, max_size=60))
def test_noise_inside_the_margin_never_lowers(values: list[float]) -> None:
    tracker = LevelTracker(river_ladder(10.0, 12.0), lower_after_s=0)
    changes, level = 0, tracker.update(10.0, T0)
    for k, v in enumerate(values, start=1):
        new = tracker.update(v, T0 + 60 * k)
        changes += new != level
        level = new
    assert level >= 2 and changes == 0  # never below 10.0 - 0.1: yellow holds however the noise goes
