#!/bin/bash
# usage (from this folder): [EPISODES=50] [STEP=4000] [SEED=S] ./run_row.sh NAME CONFIG EMB [EMB...]: train, then evaluate the
# checkpoint of step STEP (the config's run.steps) on each embodiment (scene seeds 1000..); SEED overrides run.seed
set -u
LAD=../../.venv/bin/lad
EPISODES=${EPISODES:-50}
ckpt=$(printf step_%07d "${STEP:-4000}")
name=$1; cfg=$2; shift 2
t() { local tag=$1; shift; local s=$(date +%s); "$@" > runs/$tag.log 2>&1; local rc=$?; echo "$tag rc=$rc wall=$(( $(date +%s) - s ))s end=$(date -u +%T) load=$(cut -d' ' -f1-3 /proc/loadavg)" >> runs/times.txt; }
t train_$name $LAD policy train $cfg --out runs/$name --no-progress ${SEED:+--seed $SEED}
for emb in "$@"; do
  t eval_${name}_$emb $LAD policy eval runs/$name/checkpoints/$ckpt --embodiment $emb --episodes $EPISODES --seed 1000 --no-progress --json runs/${name}_$emb.json
done
