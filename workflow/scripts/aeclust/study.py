"""What the original study reported (../shared/seed/study.md), for side-by-side tables."""

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


def describe(method: str) -> str:
    """Human-readable name of a method id such as ``kmeans/ae_e20_pca32``."""
    if method == "classifier":
        return "supervised MLP (reference)"
    algo, _, feat = method.partition("/")
    if algo == "selflabel":  # selflabel/gmm_ae_e80_umap: a CNN trained on gmm/ae_e80_umap's confident part
        return f"Self-labeled CNN from {describe(feat.replace('_', '/', 1))}"
    parts = feat.split("_")
    text = "pixels" if parts[0] == "raw" else ""
    for part in parts:
        if part.startswith("e") and part[1:].isdigit():
            text = f"AE {part[1:]} epochs"
        elif part.startswith("pca"):
            text += f" + PCA {part[3:]}"
        elif part == "umap":
            text += " + UMAP"
    names = {"kmeans": "K-Means", "gmm": "GMM"}
    return f"{names.get(algo, algo)} on {text.strip()}"
