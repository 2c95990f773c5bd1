"""The background publisher: never blocks the caller, bounded buffer, one warning per outage."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from airflow_mwaa_extras.metrics.background import BackgroundPublisher
from airflow_mwaa_extras.metrics.publish import PublishResult


class Recorder:
    """A sender that records what it got; it can be made slow or failing."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.fail: Exception | None = None
        #: set once a send has started (the publisher's thread is inside it)
        self.entered = threading.Event()
        #: a send finishes only once this is set (cleared: every send hangs)
        self.release = threading.Event()
        self.release.set()

    def __call__(self, entries: Sequence[dict[str, Any]]) -> PublishResult:
        self.entered.set()
        self.release.wait(10)
        if self.fail is not None:
            raise self.fail
        self.calls.append(list(entries))
        return PublishResult("N", len(entries), 1)


def _entry(i: int) -> dict[str, Any]:
    return {"MetricName": "M", "Value": float(i)}


def test_submit_returns_before_a_slow_send_and_flush_waits() -> None:
    sender = Recorder()
    sender.release.clear()  # the send hangs until the test lets it finish
    publisher = BackgroundPublisher(sender, linger=0)
    publisher.submit([_entry(1)])  # returns although the send cannot finish
    assert sender.entered.wait(10)
    assert sender.calls == []
    sender.release.set()
    assert publisher.flush(5)
    assert sender.calls == [[_entry(1)]]
    assert publisher.sent_entries == 1


def test_entries_queued_while_sending_go_out_together() -> None:
    sender = Recorder()
    sender.release.clear()
    publisher = BackgroundPublisher(sender, linger=0)
    publisher.submit([_entry(0)])
    assert sender.entered.wait(10)  # the thread now waits inside the first send
    for i in range(1, 4):
        publisher.submit([_entry(i)])
    sender.release.set()
    assert publisher.flush(5)
    assert sender.calls == [[_entry(0)], [_entry(1), _entry(2), _entry(3)]]


def test_flush_gives_up_after_its_timeout() -> None:
    sender = Recorder()
    sender.release.clear()
    publisher = BackgroundPublisher(sender, linger=0)
    publisher.submit([_entry(0)])
    started = time.monotonic()
    assert publisher.flush(0.2) is False
    assert time.monotonic() - started < 1
    sender.release.set()
    assert publisher.flush(5)


def test_buffer_is_bounded_and_keeps_the_newest() -> None:
    sender = Recorder()
    sender.release.clear()
    publisher = BackgroundPublisher(sender, max_buffer=3, linger=0)
    publisher.submit([_entry(0)])
    assert sender.entered.wait(10)
    publisher.submit([_entry(i) for i in range(1, 7)])
    sender.release.set()
    assert publisher.flush(5)
    assert sender.calls[-1] == [_entry(4), _entry(5), _entry(6)]
    assert publisher.dropped_entries == 3


def test_outage_logs_one_warning_and_recovery_one_line(caplog: pytest.LogCaptureFixture) -> None:
    sender = Recorder()
    sender.fail = ConnectionError("endpoint unreachable")
    publisher = BackgroundPublisher(sender, linger=0)
    with caplog.at_level(logging.INFO, logger="airflow_mwaa_extras.metrics.background"):
        for i in range(3):
            publisher.submit([_entry(i)])
            assert publisher.flush(5)
        sender.fail = None
        publisher.submit([_entry(9)])
        assert publisher.flush(5)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "endpoint unreachable" in warnings[0].getMessage()
    assert any("published again" in r.getMessage() for r in caplog.records)
    assert (publisher.failed_sends, publisher.dropped_entries, publisher.sent_entries) == (3, 3, 1)


class Scripted:
    """A sender that answers each call with the next scripted outcome: sent, lost or unsent."""

    def __init__(self, *outcomes: str) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[list[dict[str, Any]]] = []

    def __call__(self, entries: Sequence[dict[str, Any]]) -> PublishResult:
        self.calls.append(list(entries))
        outcome = self.outcomes.pop(0) if self.outcomes else "sent"
        if outcome == "lost":
            return PublishResult("N", 0, 0, lost=len(entries), error="Read timeout")
        if outcome == "unsent":
            return PublishResult("N", 0, 0, unsent=tuple(entries), error="Could not connect")
        return PublishResult("N", len(entries), 1)


def test_undelivered_entries_go_out_with_the_next_send_and_lost_ones_never_again() -> None:
    sender = Scripted("unsent", "lost", "sent")
    publisher = BackgroundPublisher(sender, linger=0, retry_interval=60)
    publisher.submit([_entry(1)])
    assert publisher.flush(5)  # tried once: flush does not wait for the retry
    assert publisher.pending == 1
    publisher.submit([_entry(2)])  # new data: the undelivered one goes along, oldest first
    assert publisher.flush(5)
    publisher.submit([_entry(3)])
    assert publisher.flush(5)
    assert sender.calls == [[_entry(1)], [_entry(1), _entry(2)], [_entry(3)]]
    assert (publisher.sent_entries, publisher.lost_entries, publisher.pending) == (1, 2, 0)


def test_undelivered_entries_are_retried_after_the_interval_without_new_data() -> None:
    sender = Scripted("unsent", "sent")
    publisher = BackgroundPublisher(sender, linger=0, retry_interval=0.2)
    publisher.submit([_entry(1)])
    assert publisher.flush(5)
    assert publisher.wait_idle(5)  # unlike flush, it waits for the retry
    assert sender.calls == [[_entry(1)], [_entry(1)]]
    assert (publisher.sent_entries, publisher.pending) == (1, 0)


def test_wait_idle_waits_for_a_send_in_flight() -> None:
    sender = Recorder()
    sender.release.clear()
    publisher = BackgroundPublisher(sender, linger=0)
    assert publisher.wait_idle(0)  # nothing queued
    publisher.submit([_entry(1)])
    assert sender.entered.wait(10)
    assert publisher.wait_idle(0) is False  # the send has not ended
    sender.release.set()
    assert publisher.wait_idle(5)
    assert publisher.sent_entries == 1


def test_second_outage_in_a_process_does_not_warn_again(caplog: pytest.LogCaptureFixture) -> None:
    sender = Scripted("lost", "sent", "lost")
    publisher = BackgroundPublisher(sender, linger=0)
    with caplog.at_level(logging.INFO, logger="airflow_mwaa_extras.metrics.background"):
        for i in range(3):
            publisher.submit([_entry(i)])
            assert publisher.flush(5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Read timeout" in warnings[0]
    assert "1 lost, 0 kept to send again" in warnings[0]


def test_new_entries_do_not_wait_behind_a_slow_send_when_sends_may_overlap() -> None:
    slow = threading.Event()
    calls: list[list[dict[str, Any]]] = []

    def send(entries: Sequence[dict[str, Any]]) -> PublishResult:
        calls.append(list(entries))
        if len(calls) == 1:
            slow.wait(10)  # CloudWatch has not answered the first send yet
        return PublishResult("N", len(entries), 1)

    publisher = BackgroundPublisher(send, linger=0, max_in_flight=2)
    publisher.submit([_entry(1)])
    assert publisher.flush(0.3) is False  # the first send hangs
    publisher.submit([_entry(2)])
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert calls == [[_entry(1)], [_entry(2)]]
    assert publisher.flush(0.3) is False  # the first is still not tried to its end
    slow.set()
    assert publisher.flush(5)
    assert publisher.sent_entries == 2
