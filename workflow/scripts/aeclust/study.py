"""What the original study reported (its sections 1-3), and when its numbers apply.

Stdlib only: the workflow loads this file by path at parse time (common.smk) to decide
whether an experiment is the study's design.
"""

# Accuracy after aligning clusters to digits, MNIST, 1,000 images (100 per digit).
STUDY_ACCURACY = {
    "mnist": {
        "kmeans/raw": 0.5550,  # Section 1, Figure 1
        "kmeans/ae_e5": 0.5477,  # Section 2.1, Figure 2
        "kmeans/ae_e20": 0.5322,  # Section 2.1, Figure 3
        "kmeans/ae_e20_pca32": 0.5708,  # Section 2.2, Figure 4
        "classifier": 0.8847,  # Section 1, supervised network
    }
}

# The study's design: 1,000 clustered MNIST test images (100 per digit); its networks
# (autoencoders, the supervised classifier, the de-noisers) trained on 1,000 training
# images per digit.
STUDY_DESIGN = "MNIST, 1,000 clustered test images (100 per digit), networks trained on 1,000 training images per digit"


def design_differences(dataset: str, subsets: dict) -> list[str]:
    """How an experiment (``dataset`` and config's ``subsets``) differs from the study's
    design; empty when it is the study's, so that the study's numbers apply to it."""
    out = []
    if dataset not in STUDY_ACCURACY:
        out.append(f"dataset {dataset} (the study: mnist)")
    cluster, train = subsets["cluster"], subsets["train"]
    if (cluster["split"], cluster["per_class"]) != ("test", 100):
        out.append(f"clusters {_count(cluster)} (the study: 100 per digit of split test)")
    if (train["split"], train["per_class"]) != ("train", 1000):
        out.append(f"networks trained on {_count(train)} (the study: 1,000 per digit of split train)")
    return out


def _count(subset: dict) -> str:
    per_class = subset["per_class"]
    return (
        f"every image of split {subset['split']}"
        if per_class is None
        else f"{per_class} per digit of split {subset['split']}"
    )


def absent_line(differences: list[str], what: str = "The study's numbers and the verdicts on its claims") -> str:
    """The one line that says why the study's numbers are not shown."""
    how = "; ".join(differences) if differences else "not the study's design"
    return f"{what} are not shown: they apply to the study's design ({STUDY_DESIGN}); this experiment differs: {how}."
