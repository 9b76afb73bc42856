"""Rule plot_embeddings: a feature set projected to its first two principal components, by class."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

from aeclust.cluster import load_features, reduce_pca
from aeclust.io import load_npz
from aeclust.methods import describe
from aeclust.plots import class_noun, plot_embeddings

feat, seed = smk.wildcards.feat, int(smk.wildcards.seed)
features, labels = load_features(smk.input.features)
names = load_npz(smk.input.subset).get("label_names")  # a user's own images: class id -> name
points, explained = reduce_pca(features, 2, seed)
name = describe(f"kmeans/{feat}").split(" on ", 1)[1]  # "pixels", "AE 20 epochs", ...
title = f"Features: {name} ({features.shape[1]} values per image), seed {seed}\nfirst two principal components of the {len(labels)} clustered images"
plot_embeddings(points, labels, explained, smk.output.figure, title, class_noun(smk.params.dataset), names)
log.info("%s: %s -> 2-D, explained variance %s", feat, features.shape, explained.round(3).tolist())
