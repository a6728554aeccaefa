"""The progress bar of a batch on a terminal (and plain lines elsewhere)."""

from __future__ import annotations

import math
import threading
import time
from typing import TextIO


def clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60:02d}:{rem % 60:02d}"


class Progress:
    """A text progress bar on a stream: count, elapsed, ETA (per finished line
    when the stream is not a terminal)."""

    def __init__(self, total: int, already: int, stream: TextIO | None, width: int = 24):
        self.total, self.already, self.stream, self.width = total, already, stream, width
        self.done = 0
        self.start = time.perf_counter()
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def text(self) -> str:
        n = self.already + self.done
        frac = n / self.total if self.total else 1.0
        filled = round(frac * self.width)
        elapsed = time.perf_counter() - self.start
        left = self.total - n
        eta = elapsed / self.done * left if self.done else math.inf
        if left == 0:
            eta = 0.0
        counts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {n}/{self.total}  "
                f"elapsed {clock(elapsed)}  ETA {clock(eta)}" + (f"  ({counts})" if counts
                                                                   else ""))

    def begin(self) -> None:
        if self.stream is None:
            return
        if self.already:
            self.stream.write(f"{self.already} instance(s) already in the results file: "
                              "skipped\n")
        if self.tty:
            self.stream.write("\r" + self.text())
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        self.stream.flush()

    def _tick(self) -> None:
        """Redraw once a second on a terminal, so elapsed time moves during long solves."""
        while not self._stop.wait(1.0):
            with self._lock:
                self.stream.write("\r" + self.text() + "\033[K")
                self.stream.flush()

    def update(self, line: dict) -> None:
        self.done += 1
        status = line.get("status", "?")
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.stream is None:
            return
        if self.tty:
            with self._lock:
                self.stream.write("\r" + self.text() + "\033[K")
        else:
            obj = line.get("objective")
            what = f"{status}" + (f" {obj:.6g}" if isinstance(obj, (int, float)) else "")
            self.stream.write(f"instance {line['instance']}: {what} "
                              f"({line.get('wall_seconds', 0):.1f} s)  {self.text()}\n")
        self.stream.flush()

    def end(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self.stream is not None and self.tty:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------- summary
