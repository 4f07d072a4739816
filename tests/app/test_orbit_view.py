"""The painted 3D hand view: the orbit camera's projection and gestures (Qt-free), depth sorting on real hand poses,
and the widget: mouse orbit/zoom/pan move one camera shared by every hand (linked), frames are painted and counted,
and `--view auto` picks it on software OpenGL."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lad_core.studio.geometry import RobotGeometry, human_drawing
from lad_core.studio.orbit import BONE, JOINT, KEYVECTOR, OrbitCamera, depth_sorted

W, H = 300, 400


def test_camera_projects_the_target_to_the_centre_and_keeps_handedness():
    cam = OrbitCamera(azimuth=0.0, elevation=0.0, distance=0.5, target=(0.0, 0.0, 0.1))
    uv, depth = cam.project(np.array([[0.0, 0.0, 0.1], [0.0, 0.05, 0.1], [0.0, 0.0, 0.15], [0.05, 0.0, 0.1]]), W, H)
    assert np.allclose(uv[0], (W / 2, H / 2)) and depth[0] == pytest.approx(0.5)
    # Seen from +x (out of the palm) with +z up, a right-handed frame puts +y on the viewer's right.
    assert uv[1, 0] > W / 2 and uv[1, 1] == pytest.approx(H / 2)
    assert uv[2, 1] < H / 2 and uv[2, 0] == pytest.approx(W / 2)  # +z is up (smaller pixel row)
    assert depth[3] == pytest.approx(0.45)  # +x is towards the camera
    # Perspective: 5 cm at 0.5 m spans f * 0.1 pixels.
    assert uv[1, 0] - W / 2 == pytest.approx(cam.focal_px(H) * 0.05 / 0.5)


def test_camera_gestures_orbit_zoom_pan_and_reset():
    cam = OrbitCamera()
    home_eye = cam.eye
    p = np.array([[0.0, 0.0, 0.085]])  # the target stays at the centre whatever the orbit
    cam.orbit(120, -40)
    assert not np.allclose(cam.eye, home_eye)
    assert np.linalg.norm(cam.eye - np.asarray(cam.target)) == pytest.approx(cam.distance)
    assert np.allclose(cam.project(p, W, H)[0], (W / 2, H / 2))
    cam.orbit(0, 10_000)  # elevation clamps before the pole
    assert cam.elevation == pytest.approx(math.radians(85))
    cam.reset()
    tip = np.array([[0.0, 0.0, 0.185]])
    before = np.linalg.norm(cam.project(tip, W, H)[0] - cam.project(p, W, H)[0])
    cam.zoom(2.0)
    after = np.linalg.norm(cam.project(tip, W, H)[0] - cam.project(p, W, H)[0])
    assert after == pytest.approx(2 * before, rel=0.15)  # perspective: about twice as large, not exactly
    cam.zoom(1e-6)
    assert cam.distance == cam.max_distance
    with pytest.raises(ValueError, match="zoom factor"):
        cam.zoom(0)
    cam.reset()
    uv0 = cam.project(p, W, H)[0][0]
    cam.pan(30, -20, H)  # the scene follows the drag
    uv1 = cam.project(p, W, H)[0][0]
    assert uv1 == pytest.approx(uv0 + (30, -20), abs=1e-6)
    revision = cam.revision
    cam.reset()
    assert np.allclose(cam.eye, home_eye) and cam.revision == revision + 1


def test_camera_state_round_trips_and_bad_states_name_the_problem():
    cam = OrbitCamera()
    cam.orbit(50, 20)
    cam.pan(10, 5, H)
    other = OrbitCamera()
    other.set_state(cam.state())
    assert np.allclose(other.eye, cam.eye) and np.allclose(other.basis(), cam.basis())
    with pytest.raises(ValueError, match="distance"):
        other.set_state({"azimuth": 0, "elevation": 0, "target": [0, 0, 0]})
    with pytest.raises(ValueError, match="non-finite"):
        other.set_state({**cam.state(), "azimuth": float("nan")})
    assert np.allclose(other.eye, cam.eye)  # a refused state leaves the camera as it was


def test_depth_sorted_orders_a_real_hand_far_to_near(real_pose_sequence):
    cam = OrbitCamera(elevation=0.0)
    d = human_drawing(real_pose_sequence[len(real_pose_sequence) // 2])
    prim = depth_sorted(d, cam, W, H)
    assert np.bincount(prim.kind).tolist() == [len(d.segments), 15, 21]  # BONE, KEYVECTOR, JOINT
    assert np.all(np.diff(prim.depth) <= 1e-12)  # far first
    assert prim.shade[0] == pytest.approx(1.0) and prim.shade[-1] == pytest.approx(0.0)
    joints = prim.kind == JOINT
    assert np.array_equal(prim.a[joints], prim.b[joints])
    # The nearest joint is the landmark nearest the camera.
    uv, depth = cam.project(d.points, W, H)
    assert np.allclose(prim.a[joints][-1], uv[np.argmin(depth)])
    # Orbiting half way round (level camera) reverses which side is near.
    cam.orbit(math.pi / 0.01, 0)
    flipped = depth_sorted(d, cam, W, H)
    assert np.allclose(flipped.a[flipped.kind == JOINT][-1], cam.project(d.points, W, H)[0][np.argmax(depth)])
    assert {BONE, KEYVECTOR} <= set(prim.kind.tolist())


def test_primitives_behind_the_camera_or_not_seen_are_dropped():
    cam = OrbitCamera(azimuth=0.0, elevation=0.0, distance=0.3, target=(0.0, 0.0, 0.0))
    pts = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.05, 0.0]])  # the second is behind the eye
    from lad_core.studio.geometry import HandDrawing

    prim = depth_sorted(HandDrawing(pts, np.array([[0, 1], [0, 2]])), cam, W, H)
    assert (prim.kind == BONE).sum() == 1 and (prim.kind == JOINT).sum() == 2
    pts[2] = np.nan  # a point that was not seen: its joint and bone are dropped, the rest is drawn
    prim = depth_sorted(HandDrawing(pts, np.array([[0, 1], [0, 2]])), cam, W, H)
    assert (prim.kind == BONE).sum() == 0 and (prim.kind == JOINT).sum() == 1
    assert np.isfinite(prim.shade).all() and np.isfinite(prim.a).all()


# --------------------------------------------------------------------------------------------- the widget
pytest.importorskip("PySide6")


def _frame(names, q_scale=0.0):
    from app.views.hands3d import DrawnHand, HandsFrame

    out = HandsFrame()
    for n in names:
        g = RobotGeometry(n)
        q = g.kin.lower + q_scale * (g.kin.upper - g.kin.lower)
        out.robots[n] = DrawnHand(g.draw(q))
    return out


def _viewport_pixels(view, i):
    img = view.grab().toImage()
    r = view.viewports()[i].toRect()
    ptr = img.convertToFormat(img.Format.Format_RGB32).constBits()
    arr = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
    ratio = img.height() / view.height()
    y0, y1 = int(r.top() * ratio), int(r.bottom() * ratio)
    x0, x1 = int(r.left() * ratio), int(r.right() * ratio)
    return arr[y0:y1, x0:x1, :3].astype(int)


@pytest.mark.gui
def test_mouse_orbits_zooms_and_pans_every_view_together(qtbot, real_pose_sequence):
    from PySide6 import QtCore

    from app.views.hands3d import HandsFrame
    from app.views.orbit3d import OrbitHandsView

    names = ["human", "mimic", "gripper"]
    view = OrbitHandsView(names)
    qtbot.addWidget(view)
    view.resize(900, 360)
    view.show()
    qtbot.waitExposed(view)
    frame = _frame(["mimic", "gripper"], 0.5)
    frame.human = human_drawing(real_pose_sequence[100])
    view.show_frame(frame)
    qtbot.waitUntil(lambda: view.counter.count >= 1, timeout=3000)
    rects = view.viewports()
    assert len(rects) == 3 and rects[0].top() == rects[2].top()  # one row when wide
    before = [_viewport_pixels(view, i) for i in range(3)]
    home = (view.camera.azimuth, view.camera.elevation)
    # Drag in the human's viewport: every viewport's picture changes (one shared camera).
    start = rects[0].center().toPoint()
    qtbot.mousePress(view, QtCore.Qt.LeftButton, pos=start)
    qtbot.mouseMove(view, start + QtCore.QPoint(60, 25))
    qtbot.mouseRelease(view, QtCore.Qt.LeftButton, pos=start + QtCore.QPoint(60, 25))
    assert (view.camera.azimuth, view.camera.elevation) != home
    qtbot.wait(50)
    after = [_viewport_pixels(view, i) for i in range(3)]
    for i in range(3):
        assert np.abs(after[i] - before[i]).sum() > 1000, f"viewport {names[i]} did not follow the orbit"
    distance = view.camera.distance
    view.wheelEvent(_wheel(view, 240))
    assert view.camera.distance < distance
    target = view.camera.target
    qtbot.mousePress(view, QtCore.Qt.RightButton, pos=start)
    qtbot.mouseMove(view, start + QtCore.QPoint(-30, 0))
    qtbot.mouseRelease(view, QtCore.Qt.RightButton, pos=start + QtCore.QPoint(-30, 0))
    assert view.camera.target != target
    qtbot.mouseDClick(view, QtCore.Qt.LeftButton, pos=start)
    assert (view.camera.azimuth, view.camera.elevation) == home
    # A ghost (preview) is painted on top; a frame without ghosts removes it.
    count = view.counter.count
    ghosted = HandsFrame(ghosts=_frame(["mimic"], 1.0).robots)
    view.show_frame(ghosted)
    qtbot.waitUntil(lambda: view.counter.count > count, timeout=3000)
    with_ghost = _viewport_pixels(view, 1)
    view.show_frame(HandsFrame())
    qtbot.wait(50)
    assert np.abs(with_ghost - _viewport_pixels(view, 1)).sum() > 1000
    assert "mimic" in view._drawings  # names missing from a frame keep their last drawing


def _wheel(view, dy):
    from PySide6 import QtCore, QtGui

    pos = QtCore.QPointF(view.width() / 2, view.height() / 2)
    return QtGui.QWheelEvent(pos, view.mapToGlobal(pos), QtCore.QPoint(0, 0), QtCore.QPoint(0, dy),
                             QtCore.Qt.NoButton, QtCore.Qt.NoModifier, QtCore.Qt.NoScrollPhase, False)


@pytest.mark.gui
def test_views_are_chosen_by_name_and_auto_paints_3d_on_software_opengl(qtbot):
    from app.views.hands3d import HandsView2D, make_hands_view, software_opengl
    from app.views.orbit3d import OrbitHandsView

    view, note = make_hands_view(["human", "gripper"], prefer="3d")
    qtbot.addWidget(view)
    assert isinstance(view, OrbitHandsView) and note is None
    flat, _ = make_hands_view(["human"], prefer="2d")
    qtbot.addWidget(flat)
    assert isinstance(flat, HandsView2D)
    with pytest.raises(ValueError, match="unknown hand view 'vr'"):
        make_hands_view(["human"], prefer="vr")
    if software_opengl() is None:
        pytest.skip("hardware OpenGL here: auto picks the pyvista view")
    auto, note = make_hands_view(["human", "gripper"], prefer="auto")
    qtbot.addWidget(auto)
    assert isinstance(auto, OrbitHandsView) and "software OpenGL" in note


@pytest.mark.gui
def test_opengl_view_draws_and_hides_preview_ghosts(qtbot):
    pytest.importorskip("pyvistaqt")
    from app.views.hands3d import HandsFrame, HandsView3D

    view = HandsView3D(["mimic", "gripper"])
    qtbot.addWidget(view)
    live = _frame(["mimic", "gripper"], 0.2)
    ghost = _frame(["mimic"], 0.9).robots
    view.show_frame(HandsFrame(robots=live.robots, ghosts=ghost))
    mesh, actor, _ = view._ghosts["mimic"]
    assert actor.GetVisibility() and np.allclose(mesh.points, ghost["mimic"].drawing.points)
    assert "gripper" not in view._ghosts
    count = view.counter.count
    view.show_frame(HandsFrame(robots=live.robots))
    assert not actor.GetVisibility() and view.counter.count == count + 1
    view.close_view()
