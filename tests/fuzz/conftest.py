"""The fuzz suite: Hypothesis property tests of the value parsers and the validator, and Schemathesis
against /api/schema/ with every write endpoint — no 5xx, no answer slower than a second, and no
refused request writes anything.

    bin/test tests/fuzz -m fuzz -p no:cacheprovider                     (SQLite)
    DATABASE_URL=postgres://… bin/test tests/fuzz -m fuzz -p no:cacheprovider   (PostgreSQL)

Every test here carries the `fuzz` mark and is deselected unless the `-m` expression names `fuzz`:
the normal suite stays quick, and the fixed corpus of what the fuzzing found lives there as
ordinary regression tests (tests/api/test_write_storm.py, test_read_back.py, test_write_warnings.py).
Bounded: a few minutes in all. At the end the figures are printed: requests tried, 4xx, 5xx, slowest.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Figures:
    """What the fuzz tests tried, printed at the end of the run."""

    requests: int = 0
    by_class: dict[str, int] = field(default_factory=dict)  # "2xx", "4xx", "5xx"
    slowest: float = 0.0
    slowest_what: str = ""
    examples: dict[str, int] = field(default_factory=dict)  # property test → examples run

    def answer(self, status: int, seconds: float, what: str) -> None:
        self.requests += 1
        key = f"{status // 100}xx"
        self.by_class[key] = self.by_class.get(key, 0) + 1
        if seconds > self.slowest:
            self.slowest, self.slowest_what = seconds, what

    def example(self, name: str) -> None:
        self.examples[name] = self.examples.get(name, 0) + 1


FIGURES = Figures()


def pytest_terminal_summary(terminalreporter):
    if FIGURES.requests:
        c = FIGURES.by_class
        terminalreporter.write_line(
            f"fuzz: {FIGURES.requests} requests tried: {c.get('2xx', 0)} 2xx, {c.get('4xx', 0)} 4xx, "
            f"{c.get('5xx', 0)} 5xx; slowest answer {FIGURES.slowest * 1000:.0f} ms ({FIGURES.slowest_what})")
    if FIGURES.examples:
        tried = ", ".join(f"{name} {n}" for name, n in sorted(FIGURES.examples.items()))
        terminalreporter.write_line(f"fuzz: property examples run: {tried}")
