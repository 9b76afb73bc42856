"""Rule selflabel: a CNN trained on a clustering's confident pseudo-labels relabels every image.

Reads the source clustering's cluster ids, the images and the selection space; the class
labels in those files are never used, only copied into the output for align_clusters.
"""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk, network=True)  # first: OpenMP reads its settings when torch loads

import numpy as np
from aeclust.cluster import load_features
from aeclust.io import save_npz
from aeclust.runtime import resolve_device, resolve_precision
from aeclust.selflabel import SelfLabelConfig, self_label


def array(path, key):
    """One array of an .npz file, and only that one."""
    with np.load(path, allow_pickle=False) as f:
        if key not in f.files:
            raise ValueError(f"{path}: expected an array {key!r}, found {sorted(f.files)}")
        return f[key]


p = smk.params
seed = int(smk.wildcards.seed)
device = resolve_device(p.device)
cfg = SelfLabelConfig.from_settings(p.settings, precision=resolve_precision(p.settings["precision"], device))
log.info("self-labeling %s/%s, seed %d: %s on %s", smk.wildcards.algo, smk.wildcards.feat, seed, cfg, device)
result = self_label(
    array(smk.input.images, "images"),
    array(smk.input.clusters, "clusters"),
    load_features(smk.input.space)[0],  # the features (or pixels) only; its labels are dropped here
    cfg,
    seed,
    device=device,
    threads=smk.threads,
)
save_npz(
    smk.output.clusters,
    clusters=result["clusters"],
    confidence=result["confidence"],
    selected=result["selected"],
    round_clusters=result["round_clusters"],
    selected_count=np.array([h["selected"] for h in result["history"]]),
    labels=array(smk.input.clusters, "labels"),  # carried along for align_clusters; the stage never saw them
)
