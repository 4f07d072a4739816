"""Helper process for test_episode_bad_input.py (not a test): records on a "disk" limited to LIMIT bytes.

Usage: python record_until_disk_full.py ROOT LIMIT_BYTES
RLIMIT_FSIZE makes every write past LIMIT bytes fail with EFBIG, as a full disk fails with ENOSPC. Records one
short episode that fits, then one that cannot, and prints a JSON report of what the recorder said.
"""

import json
import resource
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import small_schema, synthetic_frame  # noqa: E402

from lad_core.episodes import EpisodeWriteError, Recorder  # noqa: E402


def main() -> None:
    root, limit = Path(sys.argv[1]), int(sys.argv[2])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    schema = small_schema()
    rec = Recorder(root, schema, embodiment="gripper", task="cube_in_box", fps=30, flush_interval_s=0.1)
    errors = []
    rec.subscribe(lambda e: errors.append(e.message) if e.kind == "error" else None)
    rec.start()
    for t in range(10):
        rec.add_frame(synthetic_frame(t, schema))
    first = str(rec.stop(success=True).path)
    rec.start()
    accepted = refused = 0
    for t in range(2000):
        if rec.add_frame(synthetic_frame(t, schema)):
            accepted += 1
        else:
            refused += 1
        if rec.error is not None and refused > 5:
            break
        time.sleep(0.002)
    try:
        rec.stop(success=True)
        stop_error = None
    except EpisodeWriteError as exc:
        stop_error = str(exc)
    print(json.dumps({"first": first, "accepted": accepted, "refused": refused, "events": errors,
                      "stop_error": stop_error, "recording": rec.is_recording}))


if __name__ == "__main__":
    main()
