"""The ablation of paper Table 1: full model, without temperature annealing (TA), without fine-tuning (FT), without both.

"Without TA" keeps the temperature constant at the final value; "without FT" freezes the encoders in stage 2.
Each variant trains in ``<out>/<variant>/`` (resumable like any run) on the same data split and seed; the table is
written to ``<out>/table.md`` and ``<out>/table.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from lad_core.latent.configuration import LatentConfig

VARIANTS: dict[str, tuple[str, dict]] = {
    "full": ("Full model", {}),
    "no_ta": ("w/o temperature annealing (TA)", {"temperature": {"anneal": False}}),
    "no_ft": ("w/o fine-tuning (FT)", {"stage2": {"finetune_encoders": False}}),
    "no_ft_no_ta": ("w/o FT and TA", {"temperature": {"anneal": False}, "stage2": {"finetune_encoders": False}}),
}


def variant_config(config: LatentConfig, variant: str) -> LatentConfig:
    if variant not in VARIANTS:
        raise KeyError(f"unknown ablation variant {variant!r}; known: {list(VARIANTS)}")
    label, changes = VARIANTS[variant]
    return config.with_changes(name=f"{config.name}/{variant}", **changes)


def run_ablation(config: LatentConfig, out_dir: str | Path, data=None, resume: bool = True,
                 variants=tuple(VARIANTS), on_progress: Callable | None = None) -> dict:
    """Train every variant; returns ``{variant: final validation metrics}`` and writes the tables."""
    from lad_core.latent.training import train

    out = Path(out_dir)
    results = {}
    for v in variants:
        res = train(variant_config(config, v), out / v, data=data, resume=resume,
                    on_progress=(lambda p, v=v: on_progress(v, p)) if on_progress else None)
        results[v] = res.metrics
    (out / "table.json").write_text(json.dumps(results, indent=1))
    (out / "table.md").write_text(format_table(results))
    return results


def format_table(results: dict) -> str:
    """Markdown table in the layout of paper Table 1: SR loss per modality, CR loss per ordered pair, then means
    and fingertip errors (mm). Best value per column in bold."""
    from lad_core.latent.metrics import sr_cr_summary

    first = next(iter(results.values()))
    keys = list(first["loss"])
    sr_keys = [k for k in keys if k.split("->")[0] == k.split("->")[1]]
    cr_keys = [k for k in keys if k.split("->")[0] != k.split("->")[1]]
    cols = [("loss", k, f"SR {k.split('->')[0]}") for k in sr_keys] + [("loss", k, f"CR {k}") for k in cr_keys]
    cols += [("mean", "sr", "mean SR"), ("mean", "cr", "mean CR"), ("mm", "cr", "mean CR mm")]

    def value(metrics, kind, key):
        if kind == "loss":
            return metrics["loss"][key]
        if kind == "mean":
            return sr_cr_summary(metrics)[key]
        return sr_cr_summary(metrics, "mm")[key]

    best = {c[2]: min(value(m, c[0], c[1]) for m in results.values()) for c in cols}
    lines = ["| variant | " + " | ".join(c[2] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for v, m in results.items():
        cells = []
        for kind, key, label in cols:
            x = value(m, kind, key)
            cells.append(f"**{x:.4g}**" if x == best[label] else f"{x:.4g}")
        lines.append(f"| {VARIANTS.get(v, (v,))[0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_ablation_seeds(config: LatentConfig, out_dir: str | Path, seeds=(0, 1, 2), data=None, resume: bool = True,
                       variants=tuple(VARIANTS)) -> dict:
    """The ablation repeated over `seeds` (each seed draws its own split and initial weights) in
    ``<out>/seed<k>/``; writes ``<out>/table_seeds.md`` (mean +- std and how often each variant was best) and
    returns ``{seed: {variant: metrics}}``."""
    out = Path(out_dir)
    by_seed = {}
    for s in seeds:
        cfg = config.with_changes(run={"seed": int(s)})
        by_seed[int(s)] = run_ablation(cfg, out / f"seed{s}", data=data, resume=resume, variants=variants)
    (out / "table_seeds.json").write_text(json.dumps(by_seed, indent=1))
    (out / "table_seeds.md").write_text(format_seed_table(by_seed))
    return by_seed


def seed_summary(by_seed: dict) -> dict:
    """``{column: {variant: (mean, std, wins)}}`` over seeds for the columns of :func:`format_table`
    (SR/CR losses, mean SR, mean CR, mean CR mm); `wins`: seeds on which the variant was best in that column."""
    import numpy as np

    from lad_core.latent.metrics import sr_cr_summary

    first = next(iter(next(iter(by_seed.values())).values()))
    cols = {f"SR {k.split('->')[0]}" if k.split("->")[0] == k.split("->")[1] else f"CR {k}": ("loss", k)
            for k in first["loss"]}
    cols.update({"mean SR": ("mean", "sr"), "mean CR": ("mean", "cr"), "mean CR mm": ("mm", "cr")})

    def value(m, kind, key):
        if kind == "loss":
            return m["loss"][key]
        return sr_cr_summary(m, "loss" if kind == "mean" else "mm")[key]

    variants = list(next(iter(by_seed.values())))
    out = {}
    for label, (kind, key) in cols.items():
        vals = np.array([[value(res[v], kind, key) for v in variants] for res in by_seed.values()])  # (S, V)
        wins = np.bincount(vals.argmin(1), minlength=len(variants))
        out[label] = {v: (float(vals[:, i].mean()), float(vals[:, i].std()), int(wins[i]))
                      for i, v in enumerate(variants)}
    return out


def format_seed_table(by_seed: dict) -> str:
    """Markdown: one row per variant, cells ``mean +- std (wins/seeds)``; bold: the lowest mean per column."""
    summary = seed_summary(by_seed)
    n = len(by_seed)
    variants = list(next(iter(summary.values())))
    lines = [f"| variant ({n} seeds) | " + " | ".join(summary) + " |", "|---" * (len(summary) + 1) + "|"]
    for v in variants:
        cells = []
        for label, per in summary.items():
            mean, std, wins = per[v]
            text = f"{mean:.4g} +- {std:.2g} ({wins}/{n})"
            cells.append(f"**{text}**" if mean == min(m for m, _, _ in per.values()) else text)
        lines.append(f"| {VARIANTS.get(v, (v,))[0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
