"""The e-stop latch, the watchdog and the event log."""

from __future__ import annotations

import threading

import pytest

from lad_core.safety import EStop, SafetyLog, Watchdog


def test_estop_latches_until_explicit_reset_and_logs_both():
    log = SafetyLog()
    estop = EStop(log)
    assert estop.trigger("keyboard", "Space pressed") is True
    assert estop.trigger("api") is False  # already latched: not logged twice
    assert estop.is_set and estop.reason == "Space pressed" and estop.triggered_at is not None
    assert estop.is_set  # nothing clears it by itself
    assert estop.reset("operator") is True
    assert not estop.is_set
    kinds = [(e.kind, e.source) for e in log.events()]
    assert kinds == [("estop", "keyboard"), ("estop_reset", "operator")]
    times = [e.monotonic for e in log.events()]
    assert times == sorted(times)


def test_estop_wakes_registered_waiters_from_another_thread():
    estop = EStop()
    waker = threading.Event()
    estop.add_waker(waker)
    threading.Timer(0.01, estop.trigger, args=("thread",)).start()
    assert waker.wait(2.0)
    assert estop.is_set


def test_a_failing_listener_never_breaks_logging():
    log = SafetyLog()
    seen = []
    log.subscribe(lambda e: 1 / 0)
    unsubscribe = log.subscribe(seen.append)
    log.record("hold", "test", "first")
    unsubscribe()
    log.record("hold", "test", "second")
    assert [e.message for e in seen] == ["first"]
    assert len(log.events()) == 2


def test_watchdog_expires_without_kicks():
    now = [0.0]
    dog = Watchdog(0.1, clock=lambda: now[0])
    assert not dog.expired()  # disarmed
    dog.arm()
    now[0] = 0.09
    assert not dog.expired()
    dog.kick()
    now[0] = 0.18
    assert not dog.expired()
    now[0] = 0.2001
    assert dog.expired()
    dog.disarm()
    assert not dog.expired()
    with pytest.raises(ValueError):
        Watchdog(0.0)
