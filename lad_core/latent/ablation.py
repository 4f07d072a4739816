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
