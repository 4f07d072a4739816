"""Training runs launched from the studio: validate a latent-model or policy config, run `lad KIND train CONFIG` as
a subprocess, follow its `metrics.jsonl`, cancel it, and keep a run history that survives restarts.

    run = TrainingRun.create("policy", "cfg.yaml", "runs/policy/cfg", extra_args=["--steps", "50"])
    run.validate()          # ConfigError naming the file and the field; may import torch (call it off the UI thread)
    run.start()             # Popen; stdout/stderr go to OUT/studio.log
    rows = run.poll()       # new metric rows since the last poll; updates run.status
    run.cancel()

No events and no threads: the owner polls (the studio does so from a timer; polling reads only new bytes).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lad_core.errors import ConfigError, InputError

KINDS = ("latent", "policy")
_LOADERS = {"latent": ("lad_core.latent.configuration", "load_config"),
            "policy": ("lad_core.policy.train_config", "load_train_config")}
ACTIVE = ("running",)


def load_training_config(kind: str, path: str | Path):
    """The validated config object of `kind`; a ConfigError (file, field, problem) when it is wrong."""
    import importlib

    if kind not in _LOADERS:
        raise InputError(f"unknown training kind {kind!r}; kinds: {', '.join(KINDS)}")
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found", source=path)
    module, name = _LOADERS[kind]
    try:
        loader = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{kind} training is not available in this install ({exc})", source=path) from None
    return loader(path)


def total_steps(kind: str, config) -> int | None:
    """Steps (policy) or epochs summed over stages (latent) the run will log up to, when the config says."""
    run = getattr(config, "run", None)
    if kind == "policy" and run is not None:
        return int(getattr(run, "steps", 0)) or None
    stages = [getattr(config, s, None) for s in ("stage1", "stage2")]
    epochs = [int(getattr(s, "epochs", 0)) for s in stages if s is not None]
    return sum(epochs) or None


@dataclass
class TrainingRun:
    kind: str
    config: str
    out_dir: str
    extra_args: list[str] = field(default_factory=list)
    status: str = "new"  # new, running, finished, failed, cancelled, lost (studio closed while it ran)
    returncode: int | None = None
    started_unix: float = 0.0
    ended_unix: float = 0.0
    total: int | None = None
    last_step: int = 0
    last_loss: float | None = None
    pid: int | None = None

    @classmethod
    def create(cls, kind: str, config: str | Path, out_dir: str | Path, extra_args: list[str] | None = None) -> "TrainingRun":
        if kind not in KINDS:
            raise InputError(f"unknown training kind {kind!r}; kinds: {', '.join(KINDS)}")
        run = cls(kind, str(Path(config).resolve()), str(Path(out_dir).resolve()), list(extra_args or []))
        run._reset_reader()
        return run

    def __post_init__(self) -> None:
        self._reset_reader()

    def _reset_reader(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._offset = 0
        self._partial = b""
        self.rows: list[dict] = []

    # ------------------------------------------------------------------------------------------- commands
    @property
    def metrics_path(self) -> Path:
        return Path(self.out_dir) / "metrics.jsonl"

    @property
    def log_path(self) -> Path:
        return Path(self.out_dir) / "studio.log"

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "lad_core.cli.main", self.kind, "train", self.config, "--out", self.out_dir,
                *self.extra_args]

    def torchrun_command(self, nproc: int = 2) -> str:
        """The distributed launch of the same run, to copy into a terminal on a multi-GPU machine."""
        args = ["torchrun", f"--nproc-per-node={nproc}", "-m", "lad_core.cli.main", self.kind, "train", self.config,
                "--out", self.out_dir, *self.extra_args]
        return shlex.join(args)

    def validate(self):
        config = load_training_config(self.kind, self.config)
        self.total = total_steps(self.kind, config)
        if "--steps" in self.extra_args:
            try:
                self.total = int(self.extra_args[self.extra_args.index("--steps") + 1])
            except (IndexError, ValueError):
                raise InputError(f"--steps needs a number in {self.extra_args}") from None
        return config

    # ------------------------------------------------------------------------------------------- lifecycle
    def start(self, env: dict | None = None) -> None:
        if self._proc is not None:
            raise InputError("this run was already started")
        out = Path(self.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if self.metrics_path.exists():  # a new run in an old folder: follow only what this run writes
            self._offset = self.metrics_path.stat().st_size
        log = open(self.log_path, "ab")
        try:
            self._proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          env={**os.environ, **(env or {})}, start_new_session=True)
        finally:
            log.close()
        self.pid = self._proc.pid
        self.status, self.started_unix = "running", time.time()

    def poll(self) -> list[dict]:
        """New metric rows (dicts with at least `step`), and the status once the process ended."""
        new = self._read_rows()
        if self._proc is not None and self.status == "running":
            code = self._proc.poll()
            if code is not None:
                new += self._read_rows()
                self.returncode, self.ended_unix = code, time.time()
                self.status = "finished" if code == 0 else "failed"
        return new

    def _read_rows(self) -> list[dict]:
        path = self.metrics_path
        if not path.exists():
            return []
        with open(path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # an unfinished last line waits for the next poll
        rows = []
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and "step" in row:
                rows.append(row)
        if rows:
            self.rows.extend(rows)
            self.last_step = int(rows[-1].get("step", self.last_step))
            loss = rows[-1].get("loss", rows[-1].get("train_loss"))
            self.last_loss = float(loss) if isinstance(loss, (int, float)) else self.last_loss
        return rows

    def eta_seconds(self) -> float | None:
        if not self.total or len(self.rows) < 2 or self.status != "running":
            return None
        elapsed = time.time() - self.started_unix
        done = max(self.last_step, 1)
        return max(0.0, elapsed / done * (self.total - done))

    def cancel(self, timeout: float = 5.0) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout)
        self.returncode, self.ended_unix, self.status = self._proc.returncode, time.time(), "cancelled"

    def tail_log(self, max_bytes: int = 2000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, f.seek(0, 2) - max_bytes))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def to_dict(self) -> dict:
        return asdict(self)


class RunHistory:
    """Runs launched from the studio, persisted as JSON at `path` (atomic replace on every save)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.runs: list[TrainingRun] = []
        self.load_error: str | None = None
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text())
                fields = set(TrainingRun.__dataclass_fields__)
                self.runs = [TrainingRun(**{k: v for k, v in d.items() if k in fields}) for d in data.get("runs", [])]
            except (ValueError, TypeError, AttributeError) as exc:
                self.load_error = f"{self.path}: unreadable run history ({exc}); starting a new one"
                self.runs = []
        for run in self.runs:
            if run.status == "running":  # its studio went away; the process is no longer followed
                run.status = "lost"

    def add(self, run: TrainingRun) -> None:
        self.runs.append(run)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"runs": [r.to_dict() for r in self.runs]}, indent=1))
        tmp.replace(self.path)
