"""Episode storage: one HDF5 file per episode, written crash-safely as it is recorded.

- `schema`: EpisodeSchema (what arrays an episode holds), EpisodeInfo (attributes), Frame, EpisodeData.
- `writer`: EpisodeWriter (append + periodic flush + atomic rename), write_episode (whole episode).
- `reader`: EpisodeReader, read_episode, repair_episode (recover a crashed `.partial` file).
- `recorder`: ThreadedEpisodeWriter (bounded queue, never blocks), Recorder (numbering, start/stop/re-record).
- `dataset`: EpisodeDataset (a directory: index, delete, trim), trim_episode.
- `lerobot`, `robomimic`: export to / import from LeRobotDataset v3 and robomimic HDF5.

The file layout is documented in docs/episodes.md. Importing this package imports h5py.
"""

from lad_core.episodes.dataset import EpisodeDataset, EpisodeEntry, trim_episode
from lad_core.episodes.reader import EpisodeReader, read_episode, repair_episode
from lad_core.episodes.recorder import DiskStatus, EpisodeSummary, Recorder, RecorderEvent, ThreadedEpisodeWriter
from lad_core.episodes.schema import (
    SCHEMA_VERSION,
    EpisodeData,
    EpisodeInfo,
    EpisodeSchema,
    Frame,
    episode_filename,
    known_embodiments,
    validate_embodiment,
)
from lad_core.episodes.writer import EpisodeWriteError, EpisodeWriter, write_episode

__all__ = [
    "SCHEMA_VERSION", "DiskStatus", "EpisodeData", "EpisodeDataset", "EpisodeEntry", "EpisodeInfo", "EpisodeReader",
    "EpisodeSchema", "EpisodeSummary", "EpisodeWriteError", "EpisodeWriter", "Frame", "Recorder", "RecorderEvent",
    "ThreadedEpisodeWriter", "episode_filename", "known_embodiments", "read_episode", "repair_episode",
    "trim_episode", "validate_embodiment", "write_episode",
]
