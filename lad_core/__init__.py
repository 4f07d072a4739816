"""LAD core: embodiments, kinematics, retargeting, tracking, latent actions, policies, sim and rollouts.

No Qt in here: `app/` holds the views. Heavy modules (torch, mediapipe, pybullet) are imported where they are used.
"""

__version__ = "0.1.0"
