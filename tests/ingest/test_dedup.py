"""Duplicate filtering by per-device sequence numbers."""

from __future__ import annotations

from ingest.dedup import Deduplicator


def test_duplicates_are_dropped_per_device() -> None:
    d = Deduplicator(window=16)
    assert d.accept("a", 1, 10.0)
    assert not d.accept("a", 1, 10.0)
    assert d.accept("b", 1, 10.0)  # another device's seq 1 is its own
    assert d.duplicates == 1


def test_out_of_order_within_window_is_accepted_once() -> None:
    d = Deduplicator(window=16)
    for seq in (1, 3, 2, 5, 4):
        assert d.accept("a", seq, float(seq))
    assert not any(d.accept("a", seq, 9.0) for seq in (1, 2, 3, 4, 5))


def test_old_seq_far_below_window_is_a_late_duplicate() -> None:
    d = Deduplicator(window=16)
    for seq in range(100):
        d.accept("a", seq, 1000.0 + seq)
    assert not d.accept("a", 3, 1003.0)  # older than anything remembered, and its clock is old too


def test_counter_reset_after_reboot_starts_a_new_window() -> None:
    d = Deduplicator(window=16)
    for seq in range(100):
        d.accept("a", seq, 1000.0 + seq)
    assert d.accept("a", 0, 5000.0)  # device rebooted: counter back to 0, clock moved forward
    assert d.accept("a", 1, 5001.0)
    assert not d.accept("a", 1, 5001.0)


def test_memory_stays_bounded() -> None:
    d = Deduplicator(window=64)
    for seq in range(100_000):
        d.accept("a", seq, float(seq))
    assert d._devices["a"].seen.bit_length() <= 64  # a 64-bit mask, however many messages came


def test_exactly_at_the_window_edge() -> None:
    d = Deduplicator(window=8)
    for seq in range(20):
        d.accept("a", seq, 100.0 + seq)
    assert not d.accept("a", 12, 50.0)  # age 7: still inside the window, seen
    assert not d.accept("a", 11, 50.0)  # age 8: just outside, older clock: a late duplicate
    assert d.accept("a", 25, 130.0) and d.accept("a", 21, 130.0)  # a gap, filled late: both new
    assert not d.accept("a", 21, 130.0)


def test_preload_recognises_stored_messages_after_restart() -> None:
    d = Deduplicator(window=64)
    d.preload("a", [1, 2, 3], last_ts=50.0)
    assert not d.accept("a", 2, 40.0)
    assert d.accept("a", 4, 51.0)


def test_a_redelivery_of_what_an_earlier_run_stored_is_replayed_once_for_the_detectors() -> None:
    d = Deduplicator(window=16)
    d.preload("a", [1, 2, 3], 100.0)  # stored by the run before a kill -9, perhaps never acked
    assert d.accept("a", 4, 104.0)
    assert not d.accept("a", 2, 102.0) and d.replayed("a", 2)  # redelivered: not stored again, detected again
    assert not d.accept("a", 2, 102.0) and not d.replayed("a", 2)  # only once
    assert not d.accept("a", 4, 104.0) and not d.replayed("a", 4)  # stored by this run: a plain duplicate
    assert not d.replayed("b", 1)  # a device the earlier run never stored
    assert d.duplicates == 3
