"""Progress while the report runs: a rich or tqdm bar when one is installed
(``pip install 'interlock[report]'``), plain text lines otherwise. It goes to
stderr, so ``--json`` output on stdout stays clean."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ._extras import have, need

CHOICES = ("auto", "rich", "tqdm", "plain", "none")


class Progress:
    """Plain text: one line per row, with the step count and elapsed time."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.t0 = time.perf_counter()
        self.label = ""

    def start(self, label: str) -> None:
        self.label = label
        pct = 100 * self.done // max(1, self.total)
        print(f"[{pct:3d}% {time.perf_counter() - self.t0:5.1f}s] {label}", file=self.stream, flush=True)

    def advance(self, n: int = 1) -> None:
        self.done += n

    def close(self) -> None:
        print(f"[100% {time.perf_counter() - self.t0:5.1f}s] done", file=self.stream, flush=True)


class _Silent(Progress):
    def start(self, label: str) -> None:
        self.label = label

    def close(self) -> None:
        pass


class _Rich(Progress):
    def __init__(self, total: int, stream: TextIO) -> None:
        super().__init__(total, stream)
        console = need("rich.console", "--progress rich").Console(file=stream)
        p = need("rich.progress", "--progress rich")
        self.bar = p.Progress(p.TextColumn("{task.description:<48}"), p.BarColumn(), p.MofNCompleteColumn(),
                              p.TimeElapsedColumn(), console=console, transient=False)
        self.task = self.bar.add_task("interlock report", total=total)
        self.bar.start()

    def start(self, label: str) -> None:
        self.bar.update(self.task, description=label[:48])

    def advance(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)

    def close(self) -> None:
        self.bar.update(self.task, description="done")
        self.bar.stop()


class _Tqdm(Progress):
    def __init__(self, total: int, stream: TextIO) -> None:
        super().__init__(total, stream)
        tqdm = need("tqdm", "--progress tqdm").tqdm
        self.bar = tqdm(total=total, file=stream, unit="step", dynamic_ncols=True, leave=True)

    def start(self, label: str) -> None:
        self.bar.set_description_str(label[:48])

    def advance(self, n: int = 1) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.set_description_str("done")
        self.bar.close()


def resolve(choice: str, json_mode: bool, stream: TextIO = sys.stderr) -> str:
    """The progress kind to use. ``auto``: rich, else tqdm, else plain text —
    and nothing in ``--json`` mode when stderr is not a terminal. An explicit
    rich/tqdm that is not installed raises MissingExtra."""
    if choice == "auto":
        if json_mode and not stream.isatty():
            return "none"
        return "rich" if have("rich") else "tqdm" if have("tqdm") else "plain"
    if choice in ("rich", "tqdm"):
        need(choice, f"--progress {choice}")
    return choice


def make(kind: str, total: int, stream: TextIO = sys.stderr) -> Progress:
    return {"rich": _Rich, "tqdm": _Tqdm, "plain": Progress, "none": _Silent}[kind](total, stream)
