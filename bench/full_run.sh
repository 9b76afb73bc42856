#!/usr/bin/env bash
# The full-dataset measurement of docs/results.md: each seed a whole clustering
# pipeline (autoencoder training, embeddings, UMAP, K-Means / Gaussian mixture,
# metrics: everything up to align_clusters), timed end to end with `snakemake
# --cores 2`, one seed after the other; then one more call for what spans the seeds
# (PCA sweep, confusion figures) and the tables (bench/full_table.py). The download
# is done (and timed) first and is not part of any seed's time.
#
#   bench/full_run.sh [EXPERIMENT [DATASET [SEED ...]]]
#   nohup bench/full_run.sh full-bench mnist 0 1 2 > bench/out/full-bench.log 2>&1 &
#   BASELINES=0 bench/full_run.sh full-sl mnist 0 1 2 3 4   # the recipe and its scores only
#
# Each seed's recipe (through the self-labeling stage) is timed as its own step,
# seedS-recipe, apart from the baselines and the scoring.
#
# Run it in the project's virtual environment. Writes bench/out/<dataset>-<experiment>/:
# timings.tsv (appended to; per step: wall seconds, the 1-minute load average before and after, since
# the 2 cores are shared, and the torch.mm float32 rate right after) and tables.md.
set -euo pipefail
cd "$(dirname "$0")/.."
experiment=${1:-full-bench}
dataset=${2:-mnist}
shift $(($# < 2 ? $# : 2))
seeds=("$@")
[[ ${#seeds[@]} -gt 0 ]] || seeds=(0 1 2)

out=bench/out/$dataset-$experiment
results=results/$dataset/$experiment
mkdir -p "$out"
timings=$out/timings.tsv
[[ -f $timings ]] || printf 'step\twall_s\tload_before\tload_after\tmatmul_gflops\n' >"$timings"

[[ -n ${OMP_WAIT_POLICY:-} ]] || export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-3000}  # what the workflow's jobs get (runtime.openmp_env)

# Snakemake's default rerun triggers (mtime included): the library files a rule runs are
# its inputs, so an edited module reruns what it made, and numbers credited to a commit
# come from that commit's code. full_table.py refuses results whose recorded code differs.
smk() {  # snakemake on the full preset; extra config files, then options, as arguments
    snakemake --cores 2 --configfile config/full.yaml "$@" \
        --config experiment="$experiment" dataset="$dataset"
}
smk_targets() {  # smk_targets CONFIGFILE TARGET...: targets first (after --configfile they would be read as config files)
    local configfile=$1
    shift
    snakemake "$@" --cores 2 --configfile config/full.yaml "$configfile" \
        --config experiment="$experiment" dataset="$dataset"
}
load() { cut -d' ' -f1 /proc/loadavg; }
matmul() { python -c 'import sys; sys.path.insert(0, "bench"); from ae_speed import matmul_gflops, set_threads; set_threads(2); print(f"{matmul_gflops():.1f}")'; }
timed() {  # timed STEP COMMAND...: run, append a row to timings.tsv
    local step=$1 before start ms
    shift
    before=$(load)
    start=$(date +%s%N)
    "$@"
    ms=$((($(date +%s%N) - start) / 1000000))
    printf '%s\t%d.%03d\t%s\t%s\t%s\n' "$step" $((ms / 1000)) $((ms % 1000)) "$before" "$(load)" "$(matmul)" >>"$timings"
    echo "== $step: $(tail -n 1 "$timings")"
}

echo "== $(date -Is) $dataset/$experiment, seeds ${seeds[*]}, $(nproc) cores, torch.mm $(matmul) GFLOP/s"
timed download smk --until download_dataset
for s in "${seeds[@]}"; do
    printf 'seeds: [%s]\n' "$s" >"$out/seed$s.yaml" # --config seeds=[S] would give strings
    # The recipe first (autoencoder, embeddings, UMAP of the codes, clustering, and the
    # self-labeling stage where the config has it), timed apart from the baselines
    # (K-Means on pixels, UMAP of the pixels) and the scoring; BASELINES=0 skips those.
    if grep -q '^  enabled: true' <(sed -n '/^selflabel:/,/^[a-z]/p' config/full.yaml); then
        timed "seed$s-recipe" smk "$out/seed$s.yaml" --until selflabel
    fi
    if [[ ${BASELINES:-1} == 0 ]]; then
        # score what the recipe clustered: metrics/ALGO/FEAT_sS.json for each clusters/ALGO/FEAT_sS.npz
        mapfile -t scored < <(cd "$results" && ls clusters/*/*_s"$s".npz | sed 's#^clusters/\(.*\)\.npz$#'"$results"'/metrics/\1.json#')
        timed "seed$s-scores" smk_targets "$out/seed$s.yaml" "${scored[@]}"
    else
        timed "seed$s" smk "$out/seed$s.yaml" --until align_clusters
    fi
done
all=$(printf '%s, ' "${seeds[@]}")
printf 'seeds: [%s]\n' "${all%, }" >"$out/seeds.yaml"
[[ ${BASELINES:-1} == 0 ]] || timed seeds smk "$out/seeds.yaml" --until align_clusters pca_sweep plot_confusion
python bench/full_table.py "$results" "$timings" >"$out/tables.md"
echo "== $(date -Is) done"
cat "$out/tables.md"
