"""`lad episodes ...` end to end on a small recorded dataset."""

from __future__ import annotations

import json

from conftest import small_schema, synthetic_frame
from lad_core.cli.main import main
from lad_core.episodes import EpisodeDataset, Recorder, read_episode


def _record(root, lengths):
    schema = small_schema()
    rec = Recorder(root, schema, embodiment="gripper", task="cube_in_box", fps=30)
    for n in lengths:
        rec.start()
        for t in range(n):
            rec.add_frame(synthetic_frame(t, schema))
        rec.stop(success=n > 10)


def test_cli_list_info_trim_delete_repair_export_import(tmp_path, capsys):
    root = tmp_path / "ds"
    _record(root, [8, 12, 16])
    assert main(["episodes", "list", str(root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(e["index"], e["length"], e["success"]) for e in doc["episodes"]] == [(0, 8, False), (1, 12, True), (2, 16, True)]
    assert main(["episodes", "info", str(root / "episode_000001.h5")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames"] == 12 and info["embodiment"] == "gripper" and info["cameras"]["wrist"] == [32, 32]
    assert main(["episodes", "trim", str(root / "episode_000002.h5"), "--start", "2", "--end", "-4"]) == 0
    assert len(read_episode(root / "episode_000002.h5")) == 10
    assert main(["episodes", "delete", str(root), "0"]) == 0
    assert EpisodeDataset(root).indices() == [1, 2]
    # a "crashed" recording: repair by directory
    partial = root / "episode_000003.h5.partial"
    partial.write_bytes((root / "episode_000001.h5").read_bytes())
    capsys.readouterr()
    assert main(["episodes", "list", str(root)]) == 0
    assert "partial recording" in capsys.readouterr().out
    assert main(["episodes", "repair", str(root)]) == 0
    assert "12 frames" in capsys.readouterr().out and EpisodeDataset(root).indices() == [1, 2, 3]
    assert main(["episodes", "index", str(root)]) == 0
    assert json.loads((root / "index.json").read_text())["total_frames"] == 12 + 10 + 12

    assert main(["episodes", "export", str(root), "--format", "robomimic", "--out", str(tmp_path / "d.hdf5")]) == 0
    assert main(["episodes", "import", str(tmp_path / "d.hdf5"), "--format", "robomimic",
                 "--out", str(tmp_path / "back")]) == 0
    assert EpisodeDataset(tmp_path / "back").indices() == [0, 1, 2]
    assert main(["episodes", "export", str(root), "--format", "lerobot", "--out", str(tmp_path / "lr")]) == 0
    assert json.loads((tmp_path / "lr/meta/info.json").read_text())["total_frames"] == 34


def test_cli_bad_input_exits_with_a_message(tmp_path, capsys):
    bad = tmp_path / "episode_000000.h5"
    bad.write_bytes(b"\x00" * 100)
    assert main(["episodes", "info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "not an HDF5 file" in err
    assert main(["episodes", "list", str(tmp_path / "missing")]) == 2
    assert "no such dataset directory" in capsys.readouterr().err
