"""What the de-noising scores compare: the versions of each held-out image and their
names in tables and figures. Shared by the scorer (denoise.py), the table
(denoise_report.py), the claims (claims.py) and the figures (plots.py); imports nothing."""

# What is scored against the clean image, in table order.
VERSIONS = ("noisy", "median", "denoised")
# The supervised classifier is also scored on the clean images (the ceiling).
LEGIBILITY = ("clean", *VERSIONS)
LABELS = {"clean": "clean", "noisy": "noisy", "median": "3x3 median", "denoised": "autoencoder"}


def has_legibility(table) -> bool:
    """Whether a de-noising table (its ``<score>_mean`` columns) holds the classifier's
    legibility scores: only where the images have labels. The table holds all of them or
    none (denoise_report.denoise_table), so the clean images' accuracy stands for them."""
    return "accuracy_clean_mean" in table
