"""Runs each background worker in a daemon thread that survives the worker's own exceptions."""

from __future__ import annotations

import threading
from typing import Protocol

from sut.tool.events import EventLog

ERROR_PAUSE_S = 1.0  # after an unexpected error, pause before the next cycle so a broken worker cannot spin


class Worker(Protocol):
    name: str

    def run_once(self) -> float: ...

    def close(self) -> None: ...


class Supervisor:
    def __init__(self, events: EventLog, stop: threading.Event | None = None) -> None:
        self._events = events
        self.stop_event = stop or threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers: list[Worker] = []
        self._errors: dict[str, int] = {}
        self._lock = threading.Lock()

    def start(self, worker: Worker) -> None:
        with self._lock:
            self._errors.setdefault(worker.name, 0)
        thread = threading.Thread(target=self._loop, args=(worker,), name=f"worker-{worker.name}", daemon=True)
        self._workers.append(worker)
        self._threads.append(thread)
        thread.start()

    def error_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._errors)

    def alive(self) -> dict[str, bool]:
        return {w.name: t.is_alive() for w, t in zip(self._workers, self._threads, strict=True)}

    def stop(self, timeout_s: float = 5.0) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout_s)
        for worker in self._workers:
            try:
                worker.close()
            except Exception as exc:  # shutting down: report, never block the exit
                self._events.emit("worker.error", worker=worker.name, error=f"close: {exc}", errors=-1)

    def _loop(self, worker: Worker) -> None:
        while not self.stop_event.is_set():
            try:
                delay = worker.run_once()
            except Exception as exc:  # the supervisor's job: log, count, keep the worker alive
                with self._lock:
                    self._errors[worker.name] += 1
                    count = self._errors[worker.name]
                self._events.emit("worker.error", worker=worker.name, error=f"{type(exc).__name__}: {exc}",
                                  errors=count)
                delay = ERROR_PAUSE_S
            if delay > 0:
                self.stop_event.wait(delay)
