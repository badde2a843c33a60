"""The synthetic accelerometer generator: shapes, rates, determinism, physical plausibility."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.falls import KINDS, generate, windows


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("rate", [25.0, 50.0, 200.0])
def test_shape_rate_and_seed(kind: str, rate: float) -> None:
    acc, impact = generate(kind, rate, seed=3)
    assert acc.dtype == np.float32 and acc.ndim == 2 and acc.shape[1] == 3
    assert len(acc) / rate > 8.0
    again, _ = generate(kind, rate, seed=3)
    np.testing.assert_array_equal(acc, again)
    if impact is not None:
        assert int(np.argmax(np.linalg.norm(acc, axis=1))) == impact


def test_fall_has_freefall_impact_and_lying() -> None:
    acc, impact = generate("fall", 50.0, seed=0)
    mag = np.linalg.norm(acc, axis=1)
    assert impact is not None
    assert 3.0 <= mag[impact] <= 6.0
    assert mag[impact - 25 : impact].min() < 0.6
    assert abs(acc[-50:, 2].mean()) > 0.9  # lying: gravity has left the y axis
    assert abs(acc[:50, 1].mean()) > 0.8  # standing before


def test_windows_cover_the_trace() -> None:
    acc, _ = generate("daily", 50.0)
    ws = windows(acc, 50.0)
    assert all(len(w) == 50 for w in ws[:-1])
    assert sum(len(w) for w in ws) == len(acc)
