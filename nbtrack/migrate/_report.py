"""The import's report (imported / skipped / failed, with reasons) and its progress bar."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Progress", "Report"]

KINDS = ("experiments", "runs", "metric points", "artifact files", "logged models", "registered models",
         "model versions", "aliases")


@dataclass
class Report:
    """What an import did. ``reasons`` holds one line per skipped or failed thing worth a look."""

    source: str
    destination: str
    imported: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def note(self, outcome: str, kind: str, count: int = 1, reason: str | None = None) -> None:
        getattr(self, outcome)[kind] += count
        if reason is not None:
            self.reasons.append(f"{outcome}: {reason}")

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "destination": self.destination, "seconds": round(self.seconds, 3),
                "imported": dict(self.imported), "skipped": dict(self.skipped), "failed": dict(self.failed),
                "reasons": list(self.reasons)}

    def render(self) -> str:
        lines = [f"From {self.source}", f"into {self.destination} in {self.seconds:.1f} s:"]
        width = max(len(k) for k in KINDS)
        for kind in KINDS:
            counts = (self.imported[kind], self.skipped[kind], self.failed[kind])
            if any(counts):
                lines.append(f"  {kind:<{width}}  {counts[0]:>9,} imported  {counts[1]:>7,} skipped  "
                             f"{counts[2]:>5,} failed")
        runs = self.imported["runs"]
        if runs and self.seconds > 0:
            lines.append(f"  {runs / self.seconds:,.0f} runs/s")
        shown = self.reasons[:50]
        lines.extend(f"  - {r}" for r in shown)
        if len(self.reasons) > len(shown):
            lines.append(f"  ... and {len(self.reasons) - len(shown)} more (--output json lists all)")
        return "\n".join(lines)


class Progress:
    """A tqdm bar on stderr (counts and rate) when tqdm is installed and stderr is a terminal."""

    def __init__(self, total: int, enabled: bool, unit: str = "run") -> None:
        self._bar: Any = None
        self.started = time.monotonic()
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=total, unit=unit, desc="importing", file=sys.stderr, disable=None,
                         dynamic_ncols=True, smoothing=0.1)

    def update(self, n: int, **counts: int) -> None:
        if self._bar is not None:
            self._bar.update(n)
            if counts:
                self._bar.set_postfix(counts, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
