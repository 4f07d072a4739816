"""The example plugins in plugins/, registered through entry points as a third party would: a third robot hand from
only a URDF and a YAML (retargeted on the real pose sequence), a UDP landmark frame source, and broken plugins of
every group reported by `lad plugins` without taking anything down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lad_core import embodiments, plugins
from lad_core.tracking.sources.base import available_sources, open_source

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------------------ third hand
def test_the_third_hand_is_registered_through_its_entry_point():
    loaded, failures = plugins.discover(plugins.EMBODIMENTS, refresh=True)
    assert loaded["inspire"].__module__ == "plugins.inspire_hand", failures
    spec = embodiments.get("inspire")
    assert spec.kind == "hand" and spec.action_dim == 6
    assert Path(spec.urdf_path).parent == REPO / "plugins" / "inspire_hand"
    assert "inspire" not in embodiments.load_failures()


def test_third_hand_urdf_follows_the_wrist_frame_convention():
    from lad_core.kinematics import load_kinematics

    kin = load_kinematics("inspire")
    open_tips = kin.fingertips(np.zeros(6))  # thumb, index, middle, ring, little
    assert np.all(open_tips[1:, 2] > 0.14)  # fingers point +z from the wrist
    assert open_tips[0, 1] > open_tips[1, 1] > open_tips[2, 1] > open_tips[3, 1] > open_tips[4, 1]  # +y: thumb side
    flexed = np.zeros(6)
    flexed[2:] = 1.2
    curled = kin.fingertips(flexed)
    assert np.all(curled[1:, 0] > open_tips[1:, 0] + 0.04)  # fingers flex towards +x (out of the palm)
    opposed = kin.fingertips(np.array([1.31, 0.0, 0, 0, 0, 0]))
    assert opposed[0, 0] > open_tips[0, 0] + 0.01 and opposed[0, 1] < open_tips[0, 1]  # thumb swings over the palm


@pytest.fixture(scope="module")
def retargeted(real_pose_sequence):
    from lad_core.retarget import build_retargeter

    pts = real_pose_sequence.astype(np.float64)
    r = build_retargeter("inspire")
    return r, pts, r.retarget_batch(pts)


def test_retargeting_the_real_sequence_to_the_third_hand(retargeted):
    r, pts, q = retargeted
    reach = np.linalg.norm(pts[:, [8, 12, 16, 20]], axis=-1).mean(1)
    pinch = np.linalg.norm(pts[:, 4] - pts[:, 8], axis=-1)
    fist, open_ = reach < np.percentile(reach, 10), reach > np.percentile(reach, 90)
    pinching = pinch < np.percentile(pinch, 5)
    assert np.isfinite(q).all() and (q >= r.kin.lower).all() and (q <= r.kin.upper).all()
    names = r.spec.joint_names
    for finger in ("index", "middle", "ring", "little"):
        j = names.index(f"{finger}_proximal")
        assert q[fist, j].mean() > q[open_, j].mean() + 0.3, finger
    tips = r.kin.fingertips(q)
    gap = np.linalg.norm(tips[:, 0] - tips[:, 1], axis=-1)
    assert gap[pinching].mean() < 0.6 * gap[open_].mean()
    energy = r.energy(pts, q)
    rest = r.energy(pts, np.tile(r.rest, (len(q), 1)))
    assert (energy <= rest + 1e-12).all()
    r.reset()
    step = r.step(pts[0])
    assert step.qpos.shape == (6,) and np.isfinite(step.residual)


# ------------------------------------------------------------------------------------------------ udp source
def test_udp_source_streams_real_landmarks_and_survives_bad_packets(real_pose_sequence):
    from plugins.udp_landmarks import UdpLandmarkSender

    assert "udp" in available_sources()
    frames_in = real_pose_sequence[:5].astype(np.float64)
    source = open_source("udp:127.0.0.1:0", frame_timeout_s=0.2, idle_timeout_s=3.0)
    sender = UdpLandmarkSender(source.address)
    try:
        it = iter(source)
        received = []
        for t, pts in enumerate(frames_in):
            sender.send_raw(b"not json at all")
            sender.send_raw(json.dumps({"hands": [{"world": [[0, 0]] * 21}]}).encode())
            sender.send([{"world": pts, "handedness": "left", "score": 0.9}], t=t / 30)
            received.append(next(it))
        sender.send([], t=1.0)  # a frame without a hand
        empty = next(it)
        lost = next(it)  # nothing sent: after frame_timeout_s a hand-less frame, so the loss is seen downstream
        sender.end()
        rest = list(it)
    finally:
        sender.close()
        source.close()
    for frame, pts, t in zip(received, frames_in, range(5)):
        (hand,) = frame.hands
        np.testing.assert_allclose(hand.world_landmarks, pts)
        assert hand.handedness == "left" and hand.score == pytest.approx(0.9) and frame.timestamp == pytest.approx(t / 30)
    assert [f.index for f in received] == list(range(5))
    assert empty.hands == () and lost.hands == () and rest == []
    assert source.received == 6 and source.rejected == 10


def test_udp_source_bad_address_is_a_clear_error():
    from lad_core.errors import InputError

    with pytest.raises(InputError, match="expected HOST:PORT"):
        open_source("udp:localhost:http")
    with pytest.raises(InputError, match="port must be 0..65535"):
        open_source("udp:127.0.0.1:70000")


# ------------------------------------------------------------------------------------------------ broken plugins
def _third_party(tmp_path: Path) -> Path:
    """An installed-looking distribution (dist-info with entry points) holding one broken plugin per group and one
    good embodiment, importable from ``tmp_path``."""
    pkg = tmp_path / "acme_robots"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from pathlib import Path

        def bad_yaml():
            return Path(__file__).with_name("bad.yaml")

        def good_hand():
            return Path(__file__).with_name("good.yaml")
    """))
    (pkg / "bad.yaml").write_text("name: acme_bad\nkind: hand\nurdf: missing.urdf\npalm_link: palm\n")
    inspire = (REPO / "plugins" / "inspire_hand" / "inspire.yaml").read_text()
    (pkg / "good.yaml").write_text(inspire.replace("name: inspire", "name: acme_good").replace(
        "urdf: inspire_hand.urdf", f"urdf: {REPO / 'plugins' / 'inspire_hand' / 'inspire_hand.urdf'}"))
    (pkg / "exploding_driver.py").write_text("raise RuntimeError('acme SDK not installed')\n")
    info = tmp_path / "acme_robots-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-robots\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""
        [lad.embodiments]
        acme_bad = acme_robots:bad_yaml
        acme_good = acme_robots:good_hand
        acme_missing = acme_robots:no_such_function

        [lad.frame_sources]
        acme_cam = acme_robots.camera_that_does_not_exist:Camera

        [lad.robot_backends]
        acme_arm = acme_robots.exploding_driver:create
    """))
    return tmp_path


def _run(args, tmp_path, code=None):
    env = dict(os.environ, PYTHONPATH=str(_third_party(tmp_path)))
    cmd = [sys.executable, "-m", "lad_core.cli.main", *args] if code is None else [sys.executable, "-c", code]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)


def test_lad_plugins_reports_each_broken_plugin_and_lists_the_rest(tmp_path):
    proc = _run(["plugins"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for name, error in (("acme_missing", "AttributeError"), ("acme_cam", "ModuleNotFoundError"),
                        ("acme_arm", "RuntimeError: acme SDK not installed"), ("acme_bad", "bad.yaml: a hand needs 5 fingertip_links")):
        line = next((line for line in out.splitlines() if line.strip().startswith(name)), "")
        assert "FAILED" in line and error in line, (name, out)
    for good in ("inspire", "acme_good", "mimic", "udp", "synthetic", "kinematic", "example"):
        line = next((line for line in out.splitlines() if line.strip().startswith(good + " ")), "")
        assert line and "FAILED" not in line, (good, out)
    assert "4 plugin(s) failed to load; the others work normally." in out


def test_broken_plugins_take_nothing_down(tmp_path):
    code = textwrap.dedent("""
        import numpy as np
        from lad_core import embodiments, plugins
        from lad_core.retarget import build_retargeter
        from lad_core.robots.factory import create_backend, robot_info_for_embodiment
        from lad_core.tracking.sources.base import open_source
        names = embodiments.names()
        r = build_retargeter("acme_good")
        from lad_core.embodiments import human
        q = r.retarget_batch(human.reference_landmarks()[None])
        with create_backend("kinematic", robot_info_for_embodiment("acme_good")) as robot:
            robot.read_state()
        with open_source("synthetic", realtime=False, loop=False, duration=0.1) as src:
            n = sum(1 for _ in src)
        print(sorted(names), q.shape, n, sorted(f.name for f in plugins.all_failures()))
    """)
    proc = _run([], tmp_path, code=code)
    assert proc.returncode == 0, proc.stderr
    names, rest = proc.stdout.strip().split("] ", 1)
    assert "'acme_good'" in names and "'inspire'" in names and "'mimic'" in names and "'acme_bad'" not in names
    assert rest.startswith("(1, 6) 3 ")  # retargeted to the good plugin hand; the synthetic source ran 3 frames
    assert rest.endswith("['acme_arm', 'acme_bad', 'acme_cam', 'acme_missing']")
