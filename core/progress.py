"""A small progress bar for long commands: stderr, no dependency, quiet when not a terminal.

    with Progress(total, label="import", stream=self.stderr) as bar:
        for chunk in chunks:
            ...
            bar.advance(len(chunk))
"""

import sys
import time


class Progress:
    WIDTH = 30

    def __init__(self, total: int | None, *, label: str = "", stream=None, min_interval: float = 0.1):
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.min_interval = min_interval
        self.started = time.monotonic()
        self._last = 0.0
        # Only draw on a terminal: in a log file a bar is noise; the command's summary line says what happened.
        target = getattr(self.stream, "_out", self.stream)
        self.enabled = bool(getattr(target, "isatty", lambda: False)())

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.enabled:
            self._draw()

    def render(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total:
            filled = int(self.WIDTH * min(self.done, self.total) / self.total)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            return f"\r{self.label} [{bar}] {self.done}/{self.total} ({rate:,.0f}/s)"
        return f"\r{self.label} {self.done} ({rate:,.0f}/s)"

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        # OutputWrapper adds a newline unless told otherwise.
        if hasattr(self.stream, "ending"):
            self.stream.write(self.render(), ending="")
        else:
            self.stream.write(self.render())
        self.stream.flush()
