#!/bin/bash
# usage (from this folder): [EPISODES=50] ./run_row.sh NAME CONFIG EMB [EMB...]: train, then evaluate on each embodiment (scene seeds 1000..)
set -u
LAD=../../.venv/bin/lad
EPISODES=${EPISODES:-50}
name=$1; cfg=$2; shift 2
t() { local tag=$1; shift; local s=$(date +%s); "$@" > runs/$tag.log 2>&1; local rc=$?; echo "$tag rc=$rc wall=$(( $(date +%s) - s ))s end=$(date -u +%T)" >> runs/times.txt; }
t train_$name $LAD policy train $cfg --out runs/$name --no-progress
for emb in "$@"; do
  t eval_${name}_$emb $LAD policy eval runs/$name/checkpoints/step_0004000 --embodiment $emb --episodes $EPISODES --seed 1000 --no-progress --json runs/${name}_$emb.json
done
