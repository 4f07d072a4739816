import numpy as np
import pytest
import yaml

from lad_core import embodiments
from lad_core.embodiments import load_scales_file, load_spec
from lad_core.errors import ConfigError, UnknownEmbodimentError
from lad_core.paths import resource


def test_builtins_are_registered_with_their_dimensions():
    assert {"human", "faive", "mimic", "gripper"} <= set(embodiments.names())
    dims = {n: embodiments.get(n).action_dim for n in ("human", "faive", "mimic", "gripper")}
    assert dims == {"human": 189, "faive": 11, "mimic": 16, "gripper": 1}
    assert embodiments.load_failures() == {}


@pytest.mark.parametrize("name", ["human", "faive", "mimic", "gripper"])
def test_each_shipped_yaml_builds(name):
    spec = load_spec(resource("embodiments", f"{name}.yaml"))
    assert spec.name == name and len(spec.lower) == len(spec.upper)


def test_unknown_embodiment_lists_the_registered_ones():
    with pytest.raises(UnknownEmbodimentError, match="registered: .*mimic"):
        embodiments.get("shadow_hand")


def _mimic_yaml(tmp_path, **changes):
    data = yaml.safe_load(resource("embodiments", "mimic.yaml").read_text())
    data.update(changes)
    data["urdf"] = str(resource("urdf", "mimic_hand.urdf"))
    path = tmp_path / "hand.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_fourteen_scales_is_an_error_naming_file_and_field(tmp_path):
    path = _mimic_yaml(tmp_path, keyvector_scales=[1.0] * 14)
    with pytest.raises(ConfigError, match=r"hand\.yaml.*keyvector_scales.*15 scales, got 14"):
        load_spec(path)


def test_negative_scale_is_an_error(tmp_path):
    path = tmp_path / "scales.yaml"
    path.write_text(yaml.safe_dump({"keyvector_scales": [1.0] * 7 + [-0.5] + [1.0] * 7}))
    with pytest.raises(ConfigError, match=r"scales\.yaml.*> 0.*\[7\]"):
        load_scales_file(path)


def test_unknown_key_and_bad_yaml_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="hand.yaml.*fingertip_link"):
        load_spec(_mimic_yaml(tmp_path, fingertip_link=["x"]))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml.*not valid YAML"):
        load_spec(broken)


def test_missing_fingertip_link_in_urdf_is_named(tmp_path):
    from lad_core.kinematics import load_kinematics

    spec = load_spec(_mimic_yaml(tmp_path, fingertip_links=["thumb_tip", "index_tip", "middle_tip", "ring_tip", "pinky_tip"]))
    with pytest.raises(ConfigError, match="fingertip link 'pinky_tip' is not in the URDF"):
        load_kinematics(spec)


def test_malformed_urdf_is_named(tmp_path):
    from lad_core.kinematics import KinematicTree

    bad = tmp_path / "bad.urdf"
    bad.write_text("<robot name='x'><link name='a'/><joint name='j' type='revolute'>")
    with pytest.raises(ConfigError, match="bad.urdf.*malformed URDF"):
        KinematicTree.from_urdf(bad)


def test_plugin_style_registration_of_a_new_hand_needs_no_code(tmp_path):
    """A third hand is a URDF + YAML: register it and retarget to it."""
    from lad_core.retarget import HandRetargeter

    spec = load_spec(_mimic_yaml(tmp_path, name="mimic_copy"))
    embodiments.register(spec, replace=True)
    from lad_core.embodiments.human import reference_landmarks

    retargeter = HandRetargeter(embodiments.get("mimic_copy"))
    q = retargeter.retarget_batch(reference_landmarks()[None])
    assert q.shape == (1, 16) and np.isfinite(q).all()
