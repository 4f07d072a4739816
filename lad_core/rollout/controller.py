"""RolloutController: a Qt-free, thread-safe supervisor running one command source on one backend.

Threads
    - the *control loop* (started by ``open()``) ticks at ``rate_hz``: it reads the robot state (which is also the
      heartbeat of a remote backend), halts on a latched e-stop, and otherwise sends the next step of the current
      chunk through the SafetyLayer to the backend;
    - a *fetch thread* per source asks the source for the next chunk while the current one executes, so the next
      chunk is visible (``preview()``, event ``chunk_preview``) before it runs. A source with ``prefetch = False``
      (a policy, which must see the state the chunk will start from) is asked only once the current chunk has been
      sent: in step mode its next chunk is previewed while the rollout is paused. A source with an
      ``observe(state)`` method receives every tick's measured state from the control loop (keep it fast);
    - any thread may call the operator commands ``start``, ``pause``, ``step``, ``estop``, ``reset``,
      ``takeover``, ``hand_back``, ``mark_outcome``.

Safety guarantees
    - e-stop: ``estop()`` (or anyone triggering the shared ``EStop``) latches and wakes the loop, which calls
      ``backend.stop()`` within one control tick; no motion command is sent while latched; only ``reset()``
      clears it.
    - watchdog: when the loop needs a chunk and the source has not delivered one for ``source_timeout_s`` (a hung
      policy), the robot holds, a ``watchdog`` safety event is logged and the rollout pauses. The hung call is
      abandoned (its late result is discarded); ``start()`` asks the source again from a new fetch thread.
    - every step passes ``SafetyLayer.filter`` against the state read in the same tick.
    - a backend error holds (best effort), logs a ``fault`` and moves to ``fault``; ``reset()`` recovers. The same
      error on every later tick (a robot that is gone) is reported once.

Events (``subscribe(listener)``; fired in the control loop, the fetch thread or the calling thread; a listener's
exception is logged): ``state`` {state, reason}, ``chunk_preview`` {chunk}, ``chunk_started`` {chunk},
``estop`` {latency_ticks, latency_ms}, ``watchdog`` {waited_s}, ``takeover`` {source}, ``hand_back`` {source},
``outcome`` {success}, ``finished`` {}, ``fault`` {error}, ``tick`` {index, t} (every tick: keep listeners fast).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from lad_core.robots.base import RobotBackend, RobotCommand, RobotState
from lad_core.rollout.sources import ActionChunk, CommandSource
from lad_core.safety.events import FAULT, HOLD, WATCHDOG
from lad_core.safety.layer import SafetyLayer
from lad_core.safety.watchdog import Watchdog

log = logging.getLogger(__name__)

IDLE, RUNNING, PAUSED, ESTOPPED, FINISHED, FAULTED = "idle", "running", "paused", "estopped", "finished", "fault"


@dataclass(frozen=True)
class RolloutEvent:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    monotonic: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class ExecutedStep:
    """One tick that commanded the robot: what was sent, by whom, and whether an operator had taken over."""

    t: float
    tick: int
    source: str
    intervention: bool
    state: RobotState
    command: RobotCommand
    violations: tuple[str, ...]


@dataclass(frozen=True)
class RolloutStatus:
    """A snapshot for an operator display (``RolloutController.status()``; cheap, callable from any thread)."""

    state: str
    tick: int
    source: str
    intervening: bool
    outcome: bool | None
    steps: int  # ticks that commanded the robot so far
    estopped: bool
    preview: Any  # (K, 3) wrist positions of the next chunk (a ghost trajectory), or None
    tick_ms: float | None  # how long the latest control tick took (backend round trip included)
    period_ms: float
    last_estop_latency: tuple[int, float] | None  # (ticks, ms) of the latest halt


class RolloutController:
    def __init__(self, backend: RobotBackend, source: CommandSource, safety: SafetyLayer, *, rate_hz: float = 50.0,
                 source_timeout_s: float = 0.25, record: bool = True):
        if rate_hz <= 0 or source_timeout_s <= 0:
            raise ValueError("rate_hz and source_timeout_s must be positive")
        self.backend = backend
        self.safety = safety
        self.period = 1.0 / rate_hz
        self.record = record
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self.safety.estop.add_waker(self._wake)
        self._fetch_cond = threading.Condition(self._lock)
        self._listeners: list[Callable[[RolloutEvent], None]] = []
        self._source = source
        self._saved_source: CommandSource | None = None  # the policy while an operator has taken over
        self._generation = 0
        self._current: collections.deque[Any] = collections.deque()
        self._current_chunk: ActionChunk | None = None
        self._next: ActionChunk | None = None
        self._source_done = False
        self._state = IDLE
        self._chunks_left: int | None = None  # step mode: chunks to run before pausing
        self._starving = Watchdog(source_timeout_s)
        self._holding_for_source = False
        self._hold_next_tick = False
        self._halted = False
        self._latest_state: RobotState | None = None
        self._tick = -1
        self._tick_starts: collections.deque[tuple[int, float]] = collections.deque(maxlen=64)
        self._thread: threading.Thread | None = None
        self._closing = False
        self.steps: list[ExecutedStep] = []
        self.outcome: bool | None = None
        self.last_estop_latency: tuple[int, float] | None = None  # (ticks, ms) of the latest halt
        self._last_tick_ms: float | None = None
        self._last_fault: str | None = None  # the latest backend error reported (not repeated while faulted)

    # -- events ----------------------------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[RolloutEvent], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, kind: str, **data: Any) -> None:
        event = RolloutEvent(kind, data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("rollout listener %r failed on %s", listener, kind)

    def _set_state(self, state: str, reason: str = "") -> None:
        with self._lock:
            if self._state == state:
                return
            self._state = state
        self._emit("state", state=state, reason=reason)

    # -- queries ---------------------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def source(self) -> CommandSource:
        return self._source

    @property
    def intervening(self) -> bool:
        return self._saved_source is not None

    @property
    def tick_index(self) -> int:
        return self._tick

    def preview(self) -> ActionChunk | None:
        """The chunk that runs next (None until the source delivered it)."""
        return self._next

    def latest_state(self) -> RobotState | None:
        return self._latest_state

    def status(self) -> RolloutStatus:
        preview = self._next
        return RolloutStatus(self._state, self._tick, self._source.name, self.intervening, self.outcome,
                             len(self.steps), self.safety.estop.is_set,
                             preview.preview_positions() if preview is not None else None,
                             self._last_tick_ms, self.period * 1000.0, self.last_estop_latency)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def open(self) -> "RolloutController":
        """Connect the backend and start the control loop and the fetch thread (the robot holds: state idle)."""
        self.backend.connect()
        self.backend.stop()
        self._latest_state = self.backend.read_state()
        self._thread = threading.Thread(target=self._loop, name="rollout-control", daemon=True)
        self._thread.start()
        self._start_fetcher()
        return self

    def close(self, timeout: float = 2.0) -> None:
        """Stop the loop (the robot holds) and release the fetch thread (a hung source's thread is abandoned)."""
        with self._lock:
            self._closing = True
            self._generation += 1
            self._fetch_cond.notify_all()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            self.backend.stop()
        except Exception as exc:
            log.warning("backend stop on close failed: %s", exc)

    def __enter__(self) -> "RolloutController":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operator commands -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Run chunks continuously (from idle or paused). Refused while the e-stop is latched."""
        with self._lock:
            if self.safety.estop.is_set or self._state in (ESTOPPED, FAULTED, FINISHED):
                return
            self._chunks_left = None
            self._starving.disarm()
            self._fetch_cond.notify_all()
        self._set_state(RUNNING, "start")

    def step(self, n_chunks: int = 1) -> None:
        """Run ``n_chunks`` chunks, then pause."""
        with self._lock:
            if self.safety.estop.is_set or self._state in (ESTOPPED, FAULTED, FINISHED):
                return
            self._chunks_left = n_chunks
            self._starving.disarm()
            self._fetch_cond.notify_all()
        self._set_state(RUNNING, f"step {n_chunks}")

    def pause(self) -> None:
        """Finish nothing more: hold at the next tick (the current chunk resumes on start)."""
        with self._lock:
            if self._state != RUNNING:
                return
            self._state = PAUSED
            self._hold_next_tick = True
        self._emit("state", state=PAUSED, reason="pause")
        self._wake.set()

    def estop(self, source: str = "api", reason: str = "") -> None:
        """Latch the e-stop; the loop halts the robot within one tick. Never blocks on the robot."""
        self.safety.estop.trigger(source, reason)

    def reset(self) -> None:
        """Clear the e-stop latch and any fault, drop pending chunks, reset the source: back to idle."""
        with self._lock:
            self.safety.estop.reset("operator")
            self.safety.reset()
            self._generation += 1
            self._current.clear()
            self._next = None
            self._current_chunk = None
            self._source_done = False
            self._chunks_left = None
            self._starving.disarm()
            self._halted = False
            if self._saved_source is not None:
                self._source, self._saved_source = self._saved_source, None
            self._state = IDLE
        try:
            self._source.reset()
        except Exception as exc:
            log.warning("source reset failed: %s", exc)
        self._emit("state", state=IDLE, reason="reset")
        self._start_fetcher()

    def takeover(self, source: CommandSource) -> None:
        """Hand control to ``source`` (usually teleop) now; pending policy chunks are dropped."""
        with self._lock:
            if self._saved_source is None:
                self._saved_source = self._source
            self._switch_source(source)
        self._emit("takeover", source=source.name)
        self._start_fetcher()

    def hand_back(self) -> None:
        """Return control to the source that was running before ``takeover``."""
        with self._lock:
            if self._saved_source is None:
                return
            source, self._saved_source = self._saved_source, None
            self._switch_source(source)
        self._emit("hand_back", source=source.name)
        self._start_fetcher()

    def _switch_source(self, source: CommandSource) -> None:
        self._source = source
        self._generation += 1
        self._current.clear()
        self._current_chunk = None
        self._next = None
        self._source_done = False
        self._starving.disarm()

    def mark_outcome(self, success: bool) -> None:
        self.outcome = bool(success)
        self._emit("outcome", success=self.outcome)

    # -- fetch thread ----------------------------------------------------------------------------------------
    def _start_fetcher(self) -> None:
        with self._lock:
            gen, source = self._generation, self._source
        threading.Thread(target=self._fetch_loop, args=(gen, source), name=f"rollout-fetch-{gen}",
                         daemon=True).start()

    def _fetch_loop(self, gen: int, source: CommandSource) -> None:
        while True:
            with self._lock:
                prefetch = bool(getattr(source, "prefetch", True))
                self._fetch_cond.wait_for(lambda: self._closing or gen != self._generation or (
                    self._next is None and not self._source_done and self._state in (IDLE, RUNNING, PAUSED)
                    and (prefetch or not self._current)))
                if self._closing or gen != self._generation:
                    return
                state = self._latest_state
            try:
                chunk = source.next_chunk(state)  # may block or hang: the control loop does not wait for it
            except Exception as exc:
                log.exception("command source %s failed", source.name)
                with self._lock:
                    if gen != self._generation:
                        return
                    self._generation += 1  # this fetcher is done; start() will not restart a broken source
                self.safety.log.record(FAULT, source.name, f"command source raised {type(exc).__name__}: {exc}")
                self._emit("fault", error=f"{type(exc).__name__}: {exc}")
                self._set_state(FAULTED, "source error")
                return
            with self._lock:
                if gen != self._generation:
                    return  # late result of an abandoned (e.g. hung) call: discarded
                if chunk is None:
                    self._source_done = True
                else:
                    self._next = chunk
            if chunk is not None and len(chunk):
                self._emit("chunk_preview", chunk=chunk)

    # -- control loop ----------------------------------------------------------------------------------------
    def _loop(self) -> None:
        next_t = time.monotonic()
        while not self._closing:
            self._wake.clear()
            self._tick_once()
            next_t += self.period
            now = time.monotonic()
            if next_t < now - self.period:  # fell behind (machine busy): do not burst to catch up
                next_t = now
            self._wake.wait(max(0.0, next_t - now))

    def _tick_once(self) -> None:
        self._tick += 1
        t = time.monotonic()
        self._tick_starts.append((self._tick, t))
        try:
            if self.safety.estop.is_set:
                self._halt_for_estop(t)
                return
            state = self.backend.read_state()  # also the heartbeat of a remote backend
            with self._lock:
                self._latest_state = state
                observe = getattr(self._source, "observe", None)
            if observe is not None:
                self._observe(observe, state)
            if self._state != RUNNING:
                if self._hold_next_tick:
                    self._hold_next_tick = False
                    self.backend.stop()
                return
            self._run_step(state, t)
        except Exception as exc:
            try:
                self.backend.stop()
            except Exception:
                pass
            error = f"{type(exc).__name__}: {exc}"
            if self._state == FAULTED and error == self._last_fault:
                return  # the same failure every tick (e.g. a robot process that died): reported once
            self._last_fault = error
            log.exception("control tick failed")
            self.safety.log.record(FAULT, "rollout", f"backend error: {error}")
            self._emit("fault", error=error)
            self._set_state(FAULTED, "backend error")
        finally:
            self._last_tick_ms = (time.monotonic() - t) * 1000.0
            self._emit("tick", index=self._tick, t=t)

    def _observe(self, observe: Callable[[RobotState], None], state: RobotState) -> None:
        try:
            observe(state)
        except Exception:
            log.exception("command source %s failed to take an observation", self._source.name)

    def _halt_for_estop(self, t: float) -> None:
        if self._halted:
            return
        self.backend.stop()
        self._halted = True
        triggered = self.safety.estop.triggered_at or t
        trigger_tick = max((i for i, start in self._tick_starts if start <= triggered), default=self._tick)
        ticks, ms = self._tick - trigger_tick, (time.monotonic() - triggered) * 1000.0
        self.last_estop_latency = (ticks, ms)
        self._set_state(ESTOPPED, self.safety.estop.reason)
        self._emit("estop", latency_ticks=ticks, latency_ms=ms)

    def _run_step(self, state: RobotState, t: float) -> None:
        started: ActionChunk | None = None
        with self._lock:
            if not self._current:
                if self._next is not None:
                    started, self._next = self._next, None
                    self._current_chunk = started
                    self._current.extend(started.steps)
                    self._starving.disarm()
                    self._fetch_cond.notify_all()
                elif self._source_done:
                    self._state = FINISHED
                else:
                    if not self._starving.armed:
                        self._starving.arm()
                    elif self._starving.expired():
                        self._trip_watchdog()
                        return
            raw = self._current.popleft() if self._current else None
            chunk_ended = started is not None or self._current_chunk is not None
            source_name = self._source.name
        if self._state == FINISHED:
            self.backend.stop()
            self._emit("state", state=FINISHED, reason="source finished")
            self._emit("finished")
            return
        if started is not None:
            if len(started) == 0:
                if not self._holding_for_source:
                    self.safety.log.record(HOLD, source_name, "source has no target (e.g. tracking lost): holding")
                    self._holding_for_source = True
                self.backend.stop()
            self._emit("chunk_started", chunk=started)
        if raw is None:
            self._finish_chunk_if_done(chunk_ended)
            return
        self._holding_for_source = False
        safe, violations = self.safety.filter(raw, state, self.period)
        if self.safety.estop.is_set:  # latched while we computed: never send motion after the latch
            self._halt_for_estop(t)
            return
        self.backend.command(safe)
        if self.record:
            self.steps.append(ExecutedStep(t, self._tick, source_name, self.intervening, state, safe,
                                           tuple(v.kind for v in violations)))
        self._finish_chunk_if_done(True)

    def _finish_chunk_if_done(self, had_chunk: bool) -> None:
        with self._lock:
            if self._current or self._current_chunk is None or not had_chunk:
                return
            self._current_chunk = None
            self._fetch_cond.notify_all()  # a source without prefetch predicts the next chunk now
            if self._chunks_left is not None:
                self._chunks_left -= 1
                if self._chunks_left <= 0:
                    self._chunks_left = None
                    self._state = PAUSED
                    pause = True
                else:
                    pause = False
            else:
                pause = False
        if pause:
            self._emit("state", state=PAUSED, reason="step done")

    def _trip_watchdog(self) -> None:
        """Called with the lock held: the source is starving the loop."""
        waited = self._starving.timeout_s - (self._starving.remaining() or 0.0)
        self._starving.disarm()
        self._generation += 1  # abandon the hung fetch; start() resumes with a fresh fetcher
        self._state = PAUSED
        self.backend.stop()
        self.safety.log.record(WATCHDOG, self._source.name, f"command source silent for {waited * 1000:.0f} ms: "
                               "holding position, rollout paused", waited_s=waited)
        threading.Thread(target=self._after_watchdog, args=(waited,), daemon=True).start()

    def _after_watchdog(self, waited: float) -> None:
        self._emit("watchdog", waited_s=waited)
        self._emit("state", state=PAUSED, reason="watchdog")
        self._start_fetcher()
