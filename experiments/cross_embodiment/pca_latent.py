"""Latent policy on the top-k principal components of the encoded commands (a test of the "too many latent dims"
hypothesis; see README, "Third run").

The trained latent model encodes a gripper width into 32 coordinates that lie on a curve spanning ~5 principal
components. This script fits one PCA basis to the encoded end-effector commands of all the config's datasets (the
union, so co-trained embodiments share it), wraps the latent model in a codec whose latent is the k component scores
(decoding: mean + scores @ basis, projected back onto the unit sphere the encoders produce), trains the config's
policy with ``policy.action.end_effector_dim: k`` through that codec and evaluates it in sim.

    python pca_latent.py CONFIG OUT K EMBODIMENT... [--episodes 25]

CONFIG must set ``end_effector_dim`` to K. The basis is not stored in the checkpoint (the codec is rebuilt from the
same data), so evaluate with this script, not with ``lad policy eval``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def pca_codec(config, episodes, k: int):
    from lad_core.policy.latent import LatentCodec, load_latent_codec

    base = load_latent_codec(config.latent.path)
    encoded = []
    for d in config.datasets:
        ee = np.concatenate([e.end_effector for e in episodes[d.name]]).astype(np.float32)
        encoded.append(base.encode(d.embodiment, torch.from_numpy(ee)))
    z = torch.cat(encoded)
    mean = z.mean(0)
    _, sv, vh = torch.linalg.svd(z - mean, full_matrices=False)
    basis = vh[:k].T.contiguous()  # (Dz, k)
    explained = float((sv[:k] ** 2).sum() / (sv**2).sum())

    def encoder(emb):
        return lambda x: (base.encode(emb, torch.as_tensor(x, dtype=torch.float32)) - mean) @ basis

    def decoder(emb):
        return lambda c: base.decode(emb, torch.nn.functional.normalize(mean + torch.as_tensor(c) @ basis.T, dim=-1))

    codec = LatentCodec({e: encoder(e) for e in base.embodiments}, {e: decoder(e) for e in base.embodiments}, k,
                        name=f"PCA-{k} of {base.name}")
    return codec, explained


def main() -> None:
    from lad_core.policy.checkpoint import load_policy
    from lad_core.policy.evaluation import evaluate
    from lad_core.policy.train_config import load_train_config
    from lad_core.policy.training import load_episodes, train

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config")
    p.add_argument("out", type=Path)
    p.add_argument("k", type=int)
    p.add_argument("embodiments", nargs="+")
    p.add_argument("--episodes", type=int, default=25)
    args = p.parse_args()
    torch.set_num_threads(1)
    config = load_train_config(args.config)
    episodes = load_episodes(config)
    codec, explained = pca_codec(config, episodes, args.k)
    print(json.dumps({"k": args.k, "explained_variance": round(explained, 5)}), flush=True)
    t0 = time.time()
    result = train(config, args.out, episodes=episodes, codec=codec, progress=False)
    print(json.dumps({"train_s": round(time.time() - t0), "step": result.step}), flush=True)
    loaded = load_policy(result.checkpoint)
    for emb in args.embodiments:
        t0 = time.time()
        r = evaluate(loaded, task="cube_in_box", embodiment=emb, episodes=args.episodes, seed=1000, codec=codec)
        (args.out / f"eval_{emb}.json").write_text(json.dumps(r.to_dict()))
        print(json.dumps({"embodiment": emb, "success_rate": r.success_rate, "position_mean": r.position_mean,
                          "position_std": r.position_std, "eval_s": round(time.time() - t0)}), flush=True)


if __name__ == "__main__":
    main()
