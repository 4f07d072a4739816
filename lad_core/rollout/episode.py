"""Saving a supervised rollout as an episode (``lad_core.episodes``), so it can be used for training later.

Layout (the sim recording convention, ``lad_core.sim.recording``, where the fields exist on every robot):

- observations ``arm_pose`` (6: measured wrist position + rotation vector), ``ee_joints`` (J), ``arm_joints`` (A,
  when the backend reports arm joints), and two flags per frame: ``intervention`` (1: 1.0 while an operator had
  taken over) and ``safety_limited`` (1: 1.0 when the safety layer clamped or rejected the command);
- ``/actions/arm`` the commanded absolute wrist pose (6), ``/actions/end_effector`` the commanded joints, both
  *after* the safety layer: what the robot was really asked to do;
- attributes: ``success`` (the operator's mark; False when unmarked, with ``extra.outcome`` saying "unmarked"),
  and in ``extra``: ``source`` = "rollout", ``arm_action`` = "absolute_pose", ``outcome``, ``interventions``
  (``[[first_frame, last_frame], ...]``), ``command_sources``, the safety events of the rollout and anything the
  caller adds (checkpoint, backend).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lad_core.errors import InputError
from lad_core.rollout.controller import ExecutedStep

ARM_ACTION = "absolute_pose"


def _pose6(position: np.ndarray, quat: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return np.r_[np.asarray(position, float), Rotation.from_quat(np.asarray(quat, float)).as_rotvec()]


def intervention_spans(flags: Sequence[bool]) -> list[list[int]]:
    """``[[first, last], ...]`` frame ranges (inclusive) where ``flags`` is true."""
    spans: list[list[int]] = []
    for i, flag in enumerate(flags):
        if flag and (not spans or spans[-1][1] != i - 1):
            spans.append([i, i])
        elif flag:
            spans[-1][1] = i
    return spans


def rollout_episode(steps: Sequence[ExecutedStep], *, embodiment: str, task: str, fps: float,
                    outcome: bool | None, extra: dict[str, Any] | None = None, safety_events: Sequence[Any] = ()):
    """The executed steps of a rollout as an in-memory ``EpisodeData`` (see the module docstring)."""
    from lad_core.episodes import EpisodeData, EpisodeInfo, EpisodeSchema

    if not steps:
        raise InputError("the rollout sent no command: nothing to save")
    n_joints = len(steps[0].command.joints)
    n_arm = len(steps[0].state.arm_joints)
    observations: dict[str, list[np.ndarray]] = {"arm_pose": [], "ee_joints": [], "intervention": [],
                                                 "safety_limited": []}
    if n_arm:
        observations["arm_joints"] = []
    arm, ee, times = [], [], []
    for step in steps:
        if len(step.command.joints) != n_joints or len(step.state.arm_joints) != n_arm:
            raise InputError("the rollout's steps differ in size (joints changed mid-rollout)")
        observations["arm_pose"].append(_pose6(step.state.ee_position, step.state.ee_orientation))
        observations["ee_joints"].append(np.asarray(step.state.joints, float))
        if n_arm:
            observations["arm_joints"].append(np.asarray(step.state.arm_joints, float))
        observations["intervention"].append(np.array([1.0 if step.intervention else 0.0]))
        observations["safety_limited"].append(np.array([1.0 if step.violations else 0.0]))
        arm.append(_pose6(step.command.ee_position, step.command.ee_orientation))
        ee.append(step.command.joints)
        times.append(step.t - steps[0].t)
    kind = "joints"
    try:
        from lad_core.embodiments import get

        spec = get(embodiment)
        names = {"observations/ee_joints": tuple(spec.joint_names), "actions/end_effector": tuple(spec.joint_names)}
        if spec.kind == "gripper" and n_joints == 1:
            kind = "gripper_width"
        if len(spec.joint_names) != n_joints:
            names = {}
    except Exception:  # names are a convenience; the episode writer validates the embodiment itself
        names = {}
    schema = EpisodeSchema(cameras={}, observations={k: len(v[0]) for k, v in observations.items()}, arm_dim=6,
                           end_effector_dim=n_joints, end_effector_kind=kind, names=names)
    flags = [s.intervention for s in steps]
    info_extra = {"source": "rollout", "arm_action": ARM_ACTION,
                  "outcome": "unmarked" if outcome is None else ("success" if outcome else "failure"),
                  "interventions": intervention_spans(flags),
                  "command_sources": sorted({s.source for s in steps}),
                  "safety_events": [{"kind": e.kind, "source": e.source, "message": e.message,
                                     "t": round(float(e.monotonic - steps[0].t), 4)} for e in safety_events],
                  **(extra or {})}
    info = EpisodeInfo(embodiment=embodiment, task=task, fps=fps, success=bool(outcome), extra=info_extra)
    return EpisodeData(info=info, schema=schema, timestamps=np.asarray(times, dtype=np.float64), images={},
                       observations={k: np.asarray(v, dtype=np.float32) for k, v in observations.items()},
                       arm=np.asarray(arm, dtype=np.float32), end_effector=np.asarray(ee, dtype=np.float32))


def save_rollout(controller: Any, dataset_dir: str | Path, *, embodiment: str, task: str,
                 extra: dict[str, Any] | None = None) -> Path:
    """Write ``controller``'s executed steps (a ``RolloutController`` with ``record=True``) as the next episode of
    the dataset folder ``dataset_dir`` (created if needed); returns the episode path."""
    from lad_core.episodes import EpisodeDataset, write_episode

    data = rollout_episode(list(controller.steps), embodiment=embodiment, task=task,
                           fps=1.0 / controller.period, outcome=controller.outcome, extra=extra,
                           safety_events=controller.safety.log.events())
    dataset = EpisodeDataset(dataset_dir, create=True)
    return write_episode(dataset.path_for(dataset.next_index()), data)
