"""A small progress bar for long commands: stderr, no dependency, quiet when not a terminal.

    with Progress(total, label="import", stream=self.stderr) as bar:
        for chunk in chunks:
            ...
            bar.advance(len(chunk))

Django styles everything a command writes to `self.stderr` as an error (bold red on a terminal):
the bar and `note()` write to the stream underneath, unstyled — progress and summaries are not
errors.
"""

import sys
import time


class Progress:
    WIDTH = 30

    def __init__(self, total: int | None, *, label: str = "", stream=None, min_interval: float = 0.1):
        self.total = total
        self.label = label
        # Django's OutputWrapper would paint the bar as an error: draw on the stream it wraps.
        self.stream = plain(stream if stream is not None else sys.stderr)
        self.done = 0
        self.min_interval = min_interval
        self.started = time.monotonic()
        self._last = 0.0
        # Only draw on a terminal: in a log file a bar is noise; the command's summary line says what happened.
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())

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
        self.stream.write(self.render())
        self.stream.flush()


def plain(stream):
    """The stream under a Django OutputWrapper (which styles stderr as an error), else the stream."""
    return getattr(stream, "_out", stream)


def note(stream, text: str) -> None:
    """A summary line on stderr (kept off stdout, which may be a file), unstyled: it is not an error."""
    target = plain(stream)
    target.write(text if text.endswith("\n") else text + "\n")
    target.flush()
