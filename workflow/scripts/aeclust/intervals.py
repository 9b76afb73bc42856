"""Intervals over seeds, in one place: the 95 % t-interval of a mean, the prediction
interval for one new run, and the intervals of a difference (Welch for independent
samples, paired t for designs that share a seed's randomness).

Pure numpy / scipy: no torch, no Snakemake. The t distribution comes from
``scipy.special`` (``stdtrit``, ``stdtr``: what ``scipy.stats.t.ppf`` and ``.sf`` compute),
which a job imports in about half the time of ``scipy.stats``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

CONFIDENCE = 0.95


def t_quantile(n: int, confidence: float = CONFIDENCE) -> float:
    """t(0.5 + confidence / 2, n - 1): the multiplier of a two-sided interval from ``n`` values."""
    return float(special.stdtrit(n - 1, 0.5 + confidence / 2))


def interval(
    mean: float, sd: float, n: int, confidence: float = CONFIDENCE, prediction: bool = False
) -> tuple[float, float]:
    """The t-interval around ``mean`` from ``n`` values of sample sd ``sd``.

    ``prediction=False``: the interval of the mean, mean ± t · sd / sqrt(n).
    ``prediction=True``: where one new run is expected to fall, mean ± t · sd · sqrt(1 + 1/n).
    With fewer than 2 values there is no interval: (NaN, NaN)."""
    if n < 2:
        return float("nan"), float("nan")
    scale = np.sqrt(1 + 1 / n) if prediction else 1 / np.sqrt(n)
    half = float(t_quantile(n, confidence) * sd * scale)
    return float(mean) - half, float(mean) + half


def mean_sd_ci(values, confidence: float = CONFIDENCE) -> dict[str, float]:
    """Mean, sample sd, the t-interval of the mean (``ci_low``, ``ci_high``) and the
    prediction interval for one new run (``pi_low``, ``pi_high``) of ``values`` over seeds.

    With one value: sd 0, both intervals collapse to the value (and ``n`` says so)."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else 0.0
    lo, hi = interval(mean, sd, n, confidence) if n > 1 else (mean, mean)
    plo, phi = interval(mean, sd, n, confidence, prediction=True) if n > 1 else (mean, mean)
    return {"mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi, "pi_low": plo, "pi_high": phi, "n": n}


def welch(
    mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int, confidence: float = CONFIDENCE
) -> dict:
    """Welch comparison of b against a from summary statistics: diff (b - a), p, ci_low, ci_high, df.

    With no spread on either side (sd 0) the difference is exact: the interval is the point and
    p is 0 (different) or 1 (equal). With fewer than 2 values on a side everything but diff is NaN."""
    diff = float(mean_b - mean_a)
    nan = float("nan")
    out = {"diff": diff, "p": nan, "ci_low": nan, "ci_high": nan, "df": nan, "n_a": n_a, "n_b": n_b, "test": "Welch"}
    if n_a < 2 or n_b < 2:
        return out
    va, vb = sd_a**2 / n_a, sd_b**2 / n_b
    se = float(np.sqrt(va + vb))
    if se == 0.0:
        return {**out, "p": float(diff == 0.0), "ci_low": diff, "ci_high": diff}
    df = float((va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1)))
    half = float(special.stdtrit(df, 0.5 + confidence / 2) * se)
    p = float(2 * special.stdtr(df, -abs(diff) / se))
    return {**out, "p": p, "ci_low": diff - half, "ci_high": diff + half, "df": df}


def paired_from_differences(mean_d: float, sd_d: float, n: int, confidence: float = CONFIDENCE) -> dict:
    """Paired t comparison from the mean and sd of ``n`` per-seed differences (b - a)."""
    diff = float(mean_d)
    nan = float("nan")
    out = {"diff": diff, "p": nan, "ci_low": nan, "ci_high": nan, "df": nan, "n_a": n, "n_b": n, "test": "paired t"}
    if n < 2:
        return out
    if sd_d == 0.0:
        return {**out, "p": float(diff == 0.0), "ci_low": diff, "ci_high": diff, "df": float(n - 1)}
    lo, hi = interval(diff, sd_d, n, confidence)
    p = float(2 * special.stdtr(n - 1, -abs(diff) / (sd_d / np.sqrt(n))))
    return {**out, "p": p, "ci_low": lo, "ci_high": hi, "df": float(n - 1)}


def paired(a: dict, b: dict, confidence: float = CONFIDENCE) -> dict:
    """Paired t comparison of b against a: ``a``, ``b`` map a pairing key (the seed) to a value;
    only keys present in both count. diff is the mean of the differences b - a."""
    keys = sorted(set(a) & set(b))
    d = np.array([b[k] - a[k] for k in keys], dtype=float)
    if len(d) == 0:
        return paired_from_differences(float("nan"), float("nan"), 0, confidence)
    return paired_from_differences(float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else 0.0, len(d), confidence)
