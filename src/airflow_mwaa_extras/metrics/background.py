"""A bounded buffer of metric data that a background thread sends, off the caller's path.

Made for callers that must never wait for or fail because of CloudWatch (the task metrics
listener): ``submit`` only appends to a list and wakes a thread. A CloudWatch outage logs one
warning (and one line when it recovers); data that cannot be sent after botocore's bounded
retries are dropped, and the buffer never holds more than ``max_buffer`` entries.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from airflow_mwaa_extras.metrics.publish import PublishResult

log = logging.getLogger(__name__)

Sender = Callable[[Sequence[dict[str, Any]]], PublishResult]


class BackgroundPublisher:
    """Send shaped entries from a daemon thread; safe to use across ``fork()``.

    :param send: sends a list of shaped entries (batching is the sender's job).
    :param max_buffer: entries kept at most while CloudWatch is slow or down; the oldest go first.
    :param linger: seconds the thread waits after a wake-up so that entries of tasks finishing
        together share one request.
    """

    def __init__(self, send: Sender, *, max_buffer: int = 10_000, linger: float = 0.05) -> None:
        self._send = send
        self._max_buffer = max_buffer
        self._linger = linger
        self._lock = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._busy = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._outage = False
        self.sent_entries = 0
        self.dropped_entries = 0
        self.failed_sends = 0

    def _reset_after_fork(self) -> None:
        # A forked child (Airflow 2's task runner) inherits the lists but not the thread; what
        # the parent buffered is the parent's to send.
        self._lock = threading.Condition()
        self._pending = []
        self._busy = False
        self._thread = None
        self._pid = os.getpid()

    def submit(self, entries: Sequence[dict[str, Any]]) -> None:
        """Queue entries and wake the sender; never blocks on the network."""
        if os.getpid() != self._pid:
            self._reset_after_fork()
        with self._lock:
            self._pending.extend(entries)
            overflow = len(self._pending) - self._max_buffer
            if overflow > 0:
                del self._pending[:overflow]
                self.dropped_entries += overflow
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mwaa-extras-metrics", daemon=True)
                self._thread.start()
            self._lock.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until everything queued was sent or dropped."""
        if os.getpid() != self._pid:
            return True
        deadline = time.monotonic() + timeout
        with self._lock:
            self._lock.notify_all()
            while self._pending or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending:
                    self._lock.wait()
                self._busy = True
            time.sleep(self._linger)
            with self._lock:
                batch, self._pending = self._pending, []
            try:
                self._send_batch(batch)
            finally:
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()

    def _send_batch(self, batch: list[dict[str, Any]]) -> None:
        try:
            self._send(batch)
        except Exception as err:  # nothing may escape into the task's process
            self.failed_sends += 1
            self.dropped_entries += len(batch)
            if not self._outage:
                self._outage = True
                log.warning(
                    "CloudWatch task metrics are not being published (%s); dropping them until "
                    "PutMetricData works again. Tasks are not affected.",
                    err,
                )
            return
        self.sent_entries += len(batch)
        if self._outage:
            self._outage = False
            log.info("CloudWatch task metrics are being published again")
