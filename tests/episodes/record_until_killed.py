"""Helper process for test_episode_crash.py (not a test): records like the teleop loop until it is killed.

Usage: python record_until_killed.py ROOT N_DONE
Records N_DONE short episodes completely (printing "done <path>"), then starts another one paced at 30 Hz and
prints "frame <t>" after handing frame t to the recorder, forever. The parent SIGKILLs it.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import small_schema, synthetic_frame  # noqa: E402

from lad_core.episodes import Recorder  # noqa: E402


def main() -> None:
    root, n_done = Path(sys.argv[1]), int(sys.argv[2])
    schema = small_schema()
    rec = Recorder(root, schema, embodiment="gripper", task="cube_in_box", fps=30, flush_interval_s=0.5)
    for _ in range(n_done):
        rec.start()
        for t in range(20):
            rec.add_frame(synthetic_frame(t, schema))
        print("done", rec.stop(success=True).path, flush=True)
    rec.start()
    t0 = time.monotonic()
    t = 0
    while True:
        if not rec.add_frame(synthetic_frame(t, schema)):
            print("dropped", t, flush=True)
        print("frame", t, flush=True)
        t += 1
        time.sleep(max(0.0, t0 + t / 30 - time.monotonic()))


if __name__ == "__main__":
    main()
