"""SIGINT and SIGTERM for the commands that train (``wavetron train``, ``wavetron tune``).

One handler serves the whole command, installed as its first step, so a signal is honoured at
any moment. While the command starts up (imports, reading features, restoring a checkpoint) a
signal ends it at once: the handler raises :class:`Interrupted`, as Python does for a Ctrl-C.
Once the training loop runs, the loop has *deferred* signals: the handler only records the signal,
and the loop saves and stops at the end of the current step; a second SIGINT then aborts at once.
A signal that arrived while signals were raising but whose :class:`Interrupted` was swallowed
is raised again when the loop starts, so it is never lost. The handler also replaces a SIGINT
that the command inherited as ignored (a job started with ``&`` from a script): a Ctrl-C or
``kill -INT`` must not pass unnoticed until the loop begins. Standard library only, so a command
installs it before its heavy imports.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A SIGINT or SIGTERM ended the command before training began (nothing new was saved)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class StopSignals:
    """The process's SIGINT/SIGTERM handler and the signal it received (``signum``, None until one came)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._installs = 0
        self._deferring = 0
        self._previous: dict[int, Any] = {}

    @property
    def installed(self) -> bool:
        return self._installs > 0

    def _handle(self, signum: int, frame: Any) -> None:
        if self._deferring:
            if signum == signal.SIGINT and self.signum == signal.SIGINT:
                raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the step to end
            if self.signum is None:
                self.signum = signum
            return
        if self.signum is None:
            self.signum = signum
        raise Interrupted(signum)

    @contextlib.contextmanager
    def installed_for(self) -> Iterator["StopSignals"]:
        """Handle SIGINT/SIGTERM in the block (nestable); the outermost exit restores the old handlers.

        Outside the main thread (where Python cannot set handlers) the block runs unguarded.
        """
        outermost = self._installs == 0
        if outermost and threading.current_thread() is threading.main_thread():
            self.signum = None
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        self._installs += 1
        try:
            yield self
        finally:
            self._installs -= 1
            if outermost:
                for signum, handler in self._previous.items():
                    signal.signal(signum, handler)
                self._previous.clear()
                self.signum = None

    @contextlib.contextmanager
    def deferred(self) -> Iterator["StopSignals"]:
        """In the block a signal is only recorded, for the caller to check with :meth:`requested`."""
        self._deferring += 1
        try:
            yield self
        finally:
            self._deferring -= 1

    @contextlib.contextmanager
    def raising(self) -> Iterator["StopSignals"]:
        """In the block (inside :meth:`deferred`) a signal raises :class:`Interrupted` again."""
        saved, self._deferring = self._deferring, 0
        try:
            self.raise_if_requested()
            yield self
        finally:
            self._deferring = saved

    def requested(self) -> bool:
        return self.signum is not None

    def raise_if_requested(self) -> None:
        """Raise :class:`Interrupted` when a signal has arrived (one whose first raise was swallowed)."""
        if self.signum is not None:
            raise Interrupted(self.signum)


# The one handler of this process: signal handlers are process-wide.
STOP = StopSignals()
