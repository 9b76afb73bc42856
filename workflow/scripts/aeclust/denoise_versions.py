"""What the de-noising scores compare: the versions of each held-out image and their
names in tables and figures. Shared by the scorer (denoise.py), the table
(denoise_report.py) and the figures (plots.py); imports nothing."""

# What is scored against the clean image, in table order.
VERSIONS = ("noisy", "median", "denoised")
# The supervised classifier is also scored on the clean images (the ceiling).
LEGIBILITY = ("clean", *VERSIONS)
LABELS = {"clean": "clean", "noisy": "noisy", "median": "3x3 median", "denoised": "autoencoder"}
