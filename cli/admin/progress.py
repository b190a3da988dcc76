"""What reshard and rebalance show while slots move.

Piped (not a terminal), the lines are redis-cli's own, so scripts that read them keep
working:

    reshard:    Moving slot 5470 from 127.0.0.1:7000 to 127.0.0.1:7003: .....
    rebalance:  Moving 1365 slots from 127.0.0.1:7000 to 127.0.0.1:7003
                ######...

On a terminal one live bar replaces them, redrawn in place:

    [#########...........] 45/100 slots  1234 keys  12.3 slots/s  310 keys/s  slot 5470 127.0.0.1:7000 -> 127.0.0.1:7003

The mover reports events (slot_started, keys_moved, keys_phase_done, slot_done);
anything printed mid-move (a warning, an error) first calls break_line(). The clock
and the terminal width are injectable.
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import Callable, TextIO

BAR_WIDTH = 20
REDRAW_EVERY = 0.1          # seconds between two redraws of the bar


def is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Counts slots and keys moved; renders redis-cli's lines or a live bar.

    style: "reshard" (a line per slot, a dot per key) or "rebalance" (a header per
    source/destination pair, a `#` per slot).
    """

    def __init__(self, total_slots: int, style: str = "reshard", out: TextIO | None = None,
                 tty: bool | None = None, clock: Callable[[], float] = time.monotonic,
                 width: int | None = None):
        self.out = out if out is not None else sys.stdout
        self.tty = is_tty(self.out) if tty is None else tty
        self.style = style
        self.total = total_slots
        self.clock = clock
        self.width = width
        self.slots_done = 0
        self.keys_done = 0
        self.started = clock()
        self.current = ""             # "slot N a -> b" while a slot moves
        self.line_open = False        # a bar (tty) or an unfinished line (plain) is open
        self.last_draw = float("-inf")

    # -- events ---------------------------------------------------------------------
    def group(self, count: int, src: str, dst: str) -> None:
        """rebalance: a batch of `count` slots from src to dst begins."""
        self.break_line(newline=False)
        self._write(f"Moving {count} slots from {src} to {dst}\n")
        if self.tty:
            self._draw(force=True)

    def slot_started(self, slot: int, src: str, dst: str) -> None:
        self.current = f"slot {slot} {src} -> {dst}"
        if self.tty:
            self._draw(force=False)
        elif self.style == "reshard":
            self._write(f"Moving slot {slot} from {src} to {dst}: ")
            self.line_open = True

    def keys_moved(self, count: int) -> None:
        self.keys_done += count
        if self.tty:
            self._draw(force=False)
        elif self.style == "reshard" and count:
            self._write("." * count)

    def keys_phase_done(self) -> None:
        """The slot's keys are moved (or the move failed): redis-cli ends the line."""
        if not self.tty and self.style == "reshard":
            self._write("\n")
            self.line_open = False

    def slot_done(self) -> None:
        self.slots_done += 1
        if self.tty:
            self._draw(force=self.slots_done >= self.total)
        elif self.style == "rebalance":
            self._write("#")
            self.line_open = True

    def simulated(self, count: int) -> None:
        """rebalance --cluster-simulate: `count` slots would move (nothing moves)."""
        self._write("#" * count + "\n")

    def group_done(self) -> None:
        """rebalance: the batch is over (redis-cli ends the `#` line)."""
        if not self.tty:
            self._write("\n")
            self.line_open = False

    def break_line(self, newline: bool = False) -> None:
        """Before a message printed mid-move: on a terminal the bar is cleared; piped,
        `newline` writes the line break redis-cli writes there."""
        if self.tty:
            if self.line_open:
                self._write("\r\033[K")
        elif newline:
            self._write("\n")
        self.line_open = False

    def finish(self) -> None:
        """Leave the final bar on screen (tty); nothing more in plain mode."""
        if self.tty and self.total:
            self.current = ""
            self._draw(force=True)
            self._write("\n")
            self.line_open = False

    # -- rendering ------------------------------------------------------------------
    def rates(self) -> tuple[float, float]:
        elapsed = max(self.clock() - self.started, 1e-9)
        return self.slots_done / elapsed, self.keys_done / elapsed

    def bar_text(self) -> str:
        total = max(self.total, 1)
        filled = min(BAR_WIDTH, self.slots_done * BAR_WIDTH // total)
        slot_rate, key_rate = self.rates()
        text = (f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                f"{self.slots_done}/{self.total} slots  {self.keys_done} keys  "
                f"{slot_rate:.1f} slots/s  {key_rate:.0f} keys/s")
        if self.current:
            text += f"  {self.current}"
        width = self.width or shutil.get_terminal_size((100, 24)).columns
        return text[:max(width - 1, 10)]

    def _draw(self, force: bool) -> None:
        now = self.clock()
        if not force and now - self.last_draw < REDRAW_EVERY:
            return
        self.last_draw = now
        self._write("\r\033[K" + self.bar_text())
        self.line_open = True

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
