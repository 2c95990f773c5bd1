"""A bounded buffer of metric data that a background thread sends, off the caller's path.

Made for callers that must never wait for or fail because of CloudWatch (the task metrics
listener): ``submit`` only appends to a list and wakes a thread. What the sender reports as
never delivered (a refused connection, throttling, the time budget spent before the request)
stays queued and goes out with the next send; what may have been stored (a read timeout, a
dropped connection) is dropped and counted as lost, never sent twice. A CloudWatch outage logs
one warning per process (and one line when it recovers); the buffer never holds more than
``max_buffer`` entries.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from airflow_mwaa_extras.metrics.publish import PublishResult

__all__ = ["BackgroundPublisher", "Sender"]

log = logging.getLogger(__name__)

Sender = Callable[[Sequence[dict[str, Any]]], PublishResult]


class BackgroundPublisher:
    """Send shaped entries from a daemon thread; safe to use across ``fork()``.

    :param send: sends a list of shaped entries (batching is the sender's job) and returns what
        happened to them; an exception counts the whole list as lost.
    :param max_buffer: entries kept at most while CloudWatch is slow or down; the oldest go first.
    :param linger: seconds the thread waits after a wake-up so that entries of tasks finishing
        together share one request.
    :param retry_interval: seconds before undelivered entries are tried again (sooner when new
        entries arrive).
    :param max_in_flight: sends at once; more than 1 lets new entries go out while an earlier
        send waits for a slow CloudWatch (a process that runs several tasks, ``dags test``).
    """

    def __init__(
        self,
        send: Sender,
        *,
        max_buffer: int = 10_000,
        linger: float = 0.05,
        retry_interval: float = 5.0,
        max_in_flight: int = 1,
    ) -> None:
        self._send = send
        self._max_buffer = max_buffer
        self._linger = linger
        self._retry_interval = retry_interval
        self._max_in_flight = max(1, max_in_flight)
        self._reset_after_fork()
        self._outage = False
        self._warned = False
        self.sent_entries = 0
        self.dropped_entries = 0
        self.lost_entries = 0
        self.failed_sends = 0

    def _reset_after_fork(self) -> None:
        # A forked child (Airflow 2's task runner) inherits the lists but not the thread; what
        # the parent buffered is the parent's to send (sending it here too would double it).
        self._lock = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._retry_at = 0.0
        self._submitted = 0  # submit() calls so far
        self._taken = 0  # submit() calls whose entries were taken into a send
        self._in_flight: dict[int, int] = {}  # send number -> the first submit() call it covers
        self._sends = 0
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def _trim(self) -> None:
        overflow = len(self._pending) - self._max_buffer
        if overflow > 0:
            del self._pending[:overflow]
            self.dropped_entries += overflow

    def submit(self, entries: Sequence[dict[str, Any]]) -> None:
        """Queue entries and wake the sender; never blocks on the network."""
        if os.getpid() != self._pid:
            self._reset_after_fork()
        with self._lock:
            self._pending.extend(entries)
            self._submitted += 1
            self._retry_at = 0.0  # new entries: try now, with what is left from before
            self._trim()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mwaa-extras-metrics", daemon=True)
                self._thread.start()
            self._lock.notify_all()

    def _tried(self, target: int) -> bool:
        return self._taken >= target and all(first > target for first in self._in_flight.values())

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until everything queued so far was tried once.

        False on timeout. Entries that could not be delivered and wait for a retry do not
        hold it up.
        """
        if os.getpid() != self._pid:
            return True
        deadline = time.monotonic() + timeout
        with self._lock:
            target = self._submitted
            self._lock.notify_all()
            while not self._tried(target):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until nothing is queued or being sent, retries included.

        False on timeout. Unlike :meth:`flush`, this also waits for undelivered entries' retry.
        """
        if os.getpid() != self._pid:
            return True
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending and not self._in_flight, timeout)

    def discard(self) -> int:
        """Drop every queued entry (counted as dropped); return how many."""
        with self._lock:
            dropped, self._pending = len(self._pending), []
            self.dropped_entries += dropped
            self._lock.notify_all()  # wakes wait_idle()
            return dropped

    @property
    def pending(self) -> int:
        """Entries waiting to be sent (new ones, and undelivered ones waiting for a retry)."""
        with self._lock:
            return len(self._pending)

    def _ready(self) -> bool:
        return (
            bool(self._pending)
            and time.monotonic() >= self._retry_at
            and len(self._in_flight) < self._max_in_flight
        )

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._ready():
                    waits_for_time = self._pending and len(self._in_flight) < self._max_in_flight
                    self._lock.wait(max(self._retry_at - time.monotonic(), 0.01) if waits_for_time else None)
            time.sleep(self._linger)
            with self._lock:
                batch, self._pending = self._pending, []
                self._sends += 1
                number, self._in_flight[self._sends] = self._sends, self._taken + 1
                self._taken = self._submitted
            if self._max_in_flight == 1:
                self._settle(number, batch)
            else:
                threading.Thread(target=self._settle, args=(number, batch), daemon=True).start()

    def _settle(self, number: int, batch: list[dict[str, Any]]) -> None:
        """Send ``batch``, count what happened, and queue again what was not delivered."""
        try:
            result = self._send(batch) if batch else PublishResult("", 0, 0)
        except Exception as err:  # nothing may escape into the task's process
            result = PublishResult("", 0, 0, lost=len(batch), error=str(err) or type(err).__name__)
        with self._lock:
            self.sent_entries += result.entries
            self.lost_entries += result.lost
            self.dropped_entries += result.lost + result.rejected
            if result.unsent:
                self._pending[:0] = result.unsent  # older entries first, as they were queued
                self._trim()
                if self._submitted == self._taken:  # nothing new: wait before trying again
                    self._retry_at = time.monotonic() + self._retry_interval
            message = self._outage_message(result)
            if message:  # before flush() returns, so that its caller sees the line
                log.log(message[0], "%s", message[1])
            del self._in_flight[number]
            self._lock.notify_all()

    def _outage_message(self, result: PublishResult) -> tuple[int, str] | None:
        if result.complete:
            if self._outage:
                self._outage = False
                return logging.INFO, "CloudWatch task metrics are being published again"
            return None
        self.failed_sends += 1
        if self._outage:
            return None
        self._outage = True
        # One warning per process: a long outage must not fill every task log.
        level = logging.DEBUG if self._warned else logging.WARNING
        self._warned = True
        return level, (
            f"CloudWatch task metrics are not being published ({result.error}); "
            f"{result.lost + result.rejected} lost, {len(result.unsent)} kept to send again. "
            "Tasks are not affected."
        )
