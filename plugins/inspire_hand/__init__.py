"""Example embodiment plugin: a third robot hand added with only a URDF and a YAML (no code of ours changes).

A hand package ships its URDF and an embodiment YAML (see ``resources/embodiments/mimic.yaml`` for the fields) and
registers a callable returning the YAML's path in its own ``pyproject.toml``::

    [project.entry-points."lad.embodiments"]
    inspire = "plugins.inspire_hand:embodiment"

after which ``lad embodiments`` lists it, ``lad_core.retarget.build_retargeter("inspire")`` retargets to it and
``lad plugins`` reports it (or why it failed to load).
"""

from pathlib import Path

YAML = Path(__file__).with_name("inspire.yaml")


def embodiment() -> Path:
    """Entry point of the ``lad.embodiments`` group: the embodiment YAML (the registry loads and validates it)."""
    return YAML
