"""The de-noising table: one row per noise rate, mean and sd over seeds of every score
(rule evaluate_denoiser's metrics), and its Markdown. Torch-free. Legibility (the
classifier's accuracy) is there only when the metrics have it, i.e. when the data have labels.

Two columns are per-seed differences on the same noisy images, so that paired designs can
be tested as paired: ``gain_over_noisy`` (PSNR de-noised minus noisy) and
``gain_over_median`` (PSNR de-noised minus the 3x3 median's).
"""

from __future__ import annotations

import pandas as pd

from .denoise_versions import LEGIBILITY, VERSIONS, has_legibility
from .intervals import mean_sd_ci

DIFFERENCES = {"gain_over_noisy": ("psnr_denoised", "psnr_noisy"), "gain_over_median": ("psnr_denoised", "psnr_median")}
IMAGE_METRICS = ("changed_fraction", *(f"psnr_{v}" for v in VERSIONS), *DIFFERENCES, *(f"ssim_{v}" for v in VERSIONS))
LEGIBILITY_METRICS = tuple(f"accuracy_{v}" for v in LEGIBILITY)
METRICS = (*IMAGE_METRICS, *LEGIBILITY_METRICS)


def denoise_table(records: list[dict]) -> pd.DataFrame:
    """One row per noise rate: ``<score>_mean`` and ``<score>_sd`` over seeds of every score
    (the legibility scores only when every record has them)."""
    legible = bool(records) and all(key in r for r in records for key in LEGIBILITY_METRICS)
    rows = []
    for rate in sorted({r["rate"] for r in records}):
        rs = [{**r, **{k: r[a] - r[b] for k, (a, b) in DIFFERENCES.items()}} for r in records if r["rate"] == rate]
        row = {"rate": rate, "seeds": len(rs), "n": rs[0]["n"]}
        for key in METRICS if legible else IMAGE_METRICS:
            s = mean_sd_ci([r[key] for r in rs])
            row[f"{key}_mean"], row[f"{key}_sd"] = s["mean"], s["sd"]
        rows.append(row)
    return pd.DataFrame(rows)


def _pm(row: pd.Series, key: str, digits: int) -> str:
    return f"{row[f'{key}_mean']:.{digits}f} ± {row[f'{key}_sd']:.{digits}f}"


def denoise_markdown(table: pd.DataFrame, seeds: list[int]) -> str:
    n = int(table["n"].iloc[0]) if len(table) else 0
    legible = has_legibility(table)
    header = "| p | changed | PSNR noisy | PSNR median | PSNR AE | AE − median | SSIM noisy | SSIM median | SSIM AE"
    header += " | acc. clean | acc. noisy | acc. median | acc. AE |" if legible else " |"
    lines = [
        f"# De-noising: {'PSNR, SSIM and legibility' if legible else 'PSNR and SSIM'} against noise rate",
        "",
        f"Mean ± standard deviation over {len(seeds)} seeds ({', '.join(map(str, seeds))}), each the mean over {n} held-out "
        "test images. Noise: each pixel replaced with probability p by a uniform grey level.",
        "Legibility: accuracy of the supervised classifier (trained on clean images) on each version."
        if legible
        else "No legibility scores: the images have no labels, so there is no supervised classifier to read them.",
        "AE − median: per seed, the autoencoder's PSNR minus the median filter's on the same noisy images.",
        "",
        header,
        "|---" * header.count(" | ") + "|---|",
    ]
    for _, row in table.iterrows():
        cells = [f"{row['rate']:g}", _pm(row, "changed_fraction", 3)]
        cells += [_pm(row, f"psnr_{v}", 2) for v in VERSIONS] + [_pm(row, "gain_over_median", 2)]
        cells += [_pm(row, f"ssim_{v}", 3) for v in VERSIONS]
        cells += [_pm(row, f"accuracy_{v}", 3) for v in LEGIBILITY] if legible else []
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
