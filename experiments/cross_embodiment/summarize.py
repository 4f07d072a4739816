"""Seed table of the fifth run from the eval JSON files: python summarize.py ROW[:SEED0_NAME] ... (this folder).

For each row NAME and embodiment, reads runs/NAME_EMB.json (seed 0 unless SEED0_NAME says otherwise),
runs/NAME_s1_EMB.json, runs/NAME_s2_EMB.json and prints successes per seed, the mean success rate +/- std over
seeds, the pooled rate and the mean wrist path per episode, as a Markdown table.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

RUNS = Path(__file__).parent / "runs"


def _row(name: str, emb: str) -> str | None:
    files = {seed: RUNS / f"{n}_{emb}.json" for seed, n in enumerate((name, f"{name}_s1", f"{name}_s2"))}
    results = [json.loads(f.read_text()) for f in files.values() if f.exists()]
    seeds = [seed for seed, f in files.items() if f.exists()]
    if not results:
        return None
    rates = [r["success_rate"] for r in results]
    wins = [sum(o["success"] for o in r["outcomes"]) for r in results]
    n = [len(r["outcomes"]) for r in results]
    path = statistics.mean(o["arm_path_m"] for r in results for o in r["outcomes"])
    spread = statistics.stdev(rates) if len(rates) > 1 else 0.0
    per_seed = ", ".join(f"s{seed}: {w}/{k}" for seed, w, k in zip(seeds, wins, n))
    return (f"| {name} | {emb} | {per_seed} | {statistics.mean(rates):.0%} +/- {spread:.0%} | "
            f"{sum(wins)}/{sum(n)} = {sum(wins) / sum(n):.0%} | {path:.2f} m |")


def main(names: list[str]) -> None:
    print("| row | embodiment | successes per training seed | mean +/- std over seeds | pooled | wrist path |")
    print("|---|---|---|---|---|---|")
    for name in names:
        for emb in ("gripper", "mimic"):
            line = _row(name, emb)
            if line:
                print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
