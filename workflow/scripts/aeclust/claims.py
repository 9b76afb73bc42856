"""The study's claims (study.md), each checked against our numbers.

Every claim gets what the study said, what we measured (mean ± sd over seeds, the 95 %
t-interval) and a verdict. A comparison is the 95 % interval of the difference over seeds
(:mod:`aeclust.intervals`): paired t where the design is paired (5 against 20 epochs: the
same run stopped early; PCA against plain: the same embeddings; de-noised against noisy,
and the PCA sweep: the same noise / embeddings per seed), Welch's t otherwise. A claim
*holds* when the whole interval lies on its side of zero, *does not hold* when the whole
interval lies on the other side, and is *not distinguishable at this sample size* when
the interval contains zero. A number the study reported (one run) is *reproduced* when
it lies inside our 95 % prediction interval for one new run, mean ± t(0.975, n-1) · sd ·
sqrt(1 + 1/n): where a single run of our procedure would fall 95 % of the time.

These verdicts apply only to the study's design (:func:`aeclust.study.design_differences` finds none);
:func:`aeclust.summary.summary_document` leaves them out elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .denoise_versions import has_legibility
from .intervals import interval, mean_sd_ci, paired, paired_from_differences, welch
from .methods import describe, parse
from .study import STUDY_ACCURACY

HOLDS = "holds"
OPPOSITE = "does not hold: the data say the opposite"
UNCLEAR = "not distinguishable at this sample size"
UNTESTED = "cannot be tested: needs at least 2 seeds on each side"
NOT_RUN = "not tested by this configuration"

# A de-noised digit counts as legible when the supervised classifier (trained on clean
# digits) reads it at least this well, relative to its accuracy on the clean digits.
# No source: the study judged legibility by eye and gives no measure, and no paper is
# followed here. 0.9 is this project's own choice (made with the report, commit 3f6bb9d):
# a reader "can tell the digit" stands in as a classifier that keeps 90 % of what it
# reads on clean digits. A different fraction moves the verdict; summary.md prints the
# accuracies per rate so that a reader can apply their own.
LEGIBLE_FRACTION = 0.9
# The study: legible "up to and including about 50 %", unclear at 60 %.
STUDY_LEGIBLE_UP_TO, STUDY_UNCLEAR_FROM = 0.5, 0.6


@dataclass
class Claim:
    section: str  # the study's section
    claim: str  # what the study says, in its words where possible
    result: str  # our numbers, in a sentence
    verdict: str  # HOLDS, OPPOSITE, UNCLEAR, UNTESTED, NOT_RUN, or "reproduced" / "not reproduced: ..."
    tested: str = ""  # what exactly was compared in this run (one claim can be tested on several pairs)


def compare(records: list[dict], a: str, b: str, key: str = "accuracy", paired_by_seed: bool = False) -> dict:
    """Method ``b`` against ``a`` over seeds: difference (b - a), p-value and the 95 % interval
    of the difference (``ci_low``, ``ci_high``; NaN with fewer than 2 seeds), ``test`` naming it.

    ``paired_by_seed=False``: Welch's t (independent samples). ``True``: paired t on the
    per-seed differences, for designs where a seed's two values share its randomness (the
    same initialisation, shuffles, embeddings or noise); only seeds present in both count."""
    if paired_by_seed:
        return paired(
            {r["seed"]: r[key] for r in records if r["method"] == a},
            {r["seed"]: r[key] for r in records if r["method"] == b},
        )
    x = [r[key] for r in records if r["method"] == a]
    y = [r[key] for r in records if r["method"] == b]
    return welch(
        np.mean(x),
        np.std(x, ddof=1) if len(x) > 1 else 0.0,
        len(x),
        np.mean(y),
        np.std(y, ddof=1) if len(y) > 1 else 0.0,
        len(y),
    )


def verdict_of(cmp: dict) -> str:
    """The verdict on a claim that the difference ``cmp['diff']`` (b - a) is positive."""
    lo, hi = cmp["ci_low"], cmp["ci_high"]
    if np.isnan(lo) or np.isnan(hi):
        return UNTESTED
    if lo > 0:
        return HOLDS
    if hi < 0:
        return OPPOSITE
    return UNCLEAR


def fmt_stats(values) -> str:
    s = mean_sd_ci(values)
    if s["n"] < 2:
        return f"{s['mean']:.4f} (one seed)"
    return f"{s['mean']:.4f} ± {s['sd']:.4f} (95 % interval {s['ci_low']:.4f} to {s['ci_high']:.4f}, {s['n']} seeds)"


def fmt_diff(cmp: dict, unit: str = "") -> str:
    test = cmp.get("test", "Welch")
    if np.isnan(cmp["ci_low"]):
        return f"difference {cmp['diff']:+.4f}{unit} (no interval with one seed)"
    p = "" if np.isnan(cmp["p"]) else f", p = {cmp['p']:.2g}"
    return (
        f"difference {cmp['diff']:+.4f}{unit} ({test} 95 % interval {cmp['ci_low']:+.4f} to {cmp['ci_high']:+.4f}{p})"
    )


def _acc(records: list[dict], method: str) -> list[float]:
    return [r["accuracy"] for r in records if r["method"] == method]


def _ae_methods(methods: list[str]) -> dict[int, str]:
    """Epoch count -> ``kmeans/ae_e{E}`` among ``methods``."""
    parsed = [parse(x) for x in methods]
    return {m.epochs: m.id for m in parsed if m.algo == "kmeans" and m.epochs is not None and m.id == m.plain}


def _pca_methods(methods: list[str]) -> list[tuple[str, str, int]]:
    """(PCA method, the method it reduces, components) among ``methods``."""
    parsed = [parse(x) for x in methods]
    return [(m.id, m.plain, m.pca) for m in parsed if m.algo == "kmeans" and m.epochs is not None and m.pca is not None]


def _better(records, a: str, b: str, section: str, claim: str, what: str, paired_by_seed: bool = False) -> Claim:
    """The claim that method ``b`` clusters better than ``a`` (paired by seed where the design is)."""
    cmp = compare(records, a, b, paired_by_seed=paired_by_seed)
    result = f"{describe(b)}: {fmt_stats(_acc(records, b))}; {describe(a)}: {fmt_stats(_acc(records, a))}; {what} {fmt_diff(cmp)}."
    return Claim(section, claim, result, verdict_of(cmp), f"{describe(b)} minus {describe(a)}: {cmp['diff']:+.4f}")


def number_claims(records: list[dict], dataset: str) -> list[Claim]:
    """Each number the study reported (one run), against our 95 % prediction interval for one new run."""
    study = STUDY_ACCURACY.get(dataset, {})
    out = []
    present = list(dict.fromkeys(r["method"] for r in records))
    for method in [m for m in study if m in present]:
        values = _acc(records, method)
        s = mean_sd_ci(values)
        ref = study[method]
        if s["n"] < 2:
            verdict = UNTESTED
        elif s["pi_low"] <= ref <= s["pi_high"]:
            verdict = "reproduced: inside our 95 % prediction interval for one run"
        else:
            verdict = f"not reproduced: ours is {'higher' if s['mean'] > ref else 'lower'} (outside our 95 % prediction interval for one run)"
        section = "1" if method in ("kmeans/raw", "classifier") else ("2.2" if "pca" in method else "2.1")
        pi = "" if s["n"] < 2 else f"; 95 % prediction interval for one run {s['pi_low']:.4f} to {s['pi_high']:.4f}"
        out.append(
            Claim(
                section,
                f"{describe(method)}: accuracy {ref:.4f}",
                f"ours {fmt_stats(values)}{pi}; seeds {min(values):.4f}-{max(values):.4f}.",
                verdict,
                f"ours {s['mean']:.4f}",
            )
        )
    return out


def clustering_claims(records: list[dict], sweep: pd.DataFrame | None = None) -> list[Claim]:
    methods = list(dict.fromkeys(r["method"] for r in records))
    out = []
    raw, ae, pca = "kmeans/raw", _ae_methods(methods), _pca_methods(methods)
    claim = "K-Means clustering is far less accurate than the supervised neural network (0.5550 against 0.8847)."
    if raw in methods and "classifier" in methods:
        out.append(_better(records, raw, "classifier", "1", claim, "supervised minus K-Means:"))
    else:
        out.append(Claim("1", claim, "K-Means on pixels or the classifier is not run.", NOT_RUN))

    claim = "The autoencoder trained for fewer epochs (5) gives better clusters than the one trained longer (20): 0.5477 against 0.5322."
    if len(ae) >= 2:
        few, many = min(ae), max(ae)
        c = _better(records, ae[many], ae[few], "2.1", claim, f"{few} minus {many} epochs:", paired_by_seed=True)
        c.result += (
            f" Here the {few}-epoch model is the {many}-epoch model of the same seed stopped early (same initialisation "
            "and shuffles), so the difference is paired by seed."
        )
        out.append(c)
    else:
        out.append(Claim("2.1", claim, f"only {len(ae)} autoencoder epoch count is clustered.", NOT_RUN))

    claim = "Clustering the autoencoder's embeddings is slightly less accurate than clustering the raw pixels."
    if raw in methods and ae:
        for e in sorted(ae):
            out.append(_better(records, ae[e], raw, "2.1", claim, f"pixels minus {e}-epoch embeddings:"))
    else:
        out.append(Claim("2.1", claim, "pixels or embeddings are not clustered.", NOT_RUN))

    claim = "PCA on the embeddings improves clustering: 0.5708 with 32 components of the 20-epoch embeddings, against 0.5322 without."
    if pca:
        for m, base, n in pca:
            if base in methods:
                out.append(
                    _better(
                        records,
                        base,
                        m,
                        "2.2",
                        claim,
                        f"PCA-{n} minus plain embeddings (the same embeddings, paired by seed):",
                        paired_by_seed=True,
                    )
                )
    else:
        out.append(Claim("2.2", claim, "no PCA of the embeddings is clustered.", NOT_RUN))

    out.append(sweep_claim(sweep, [n for _, _, n in pca]))
    return out


def sweep_claim(sweep: pd.DataFrame | None, chosen: list[int]) -> Claim:
    """The study picked 32 components as the best of several trials: is our choice the sweep's best?"""
    claim = "Several numbers of PCA components were tried and the best (32) was used."
    if sweep is None or sweep.empty or not chosen:
        return Claim("2.2", claim, "no PCA sweep, or no PCA of the embeddings, in this configuration.", NOT_RUN)
    n = chosen[0]
    means = sweep.groupby("components")["accuracy"].mean()
    best = int(means.idxmax())
    curve = ", ".join(f"{c}: {v:.4f}" for c, v in means.items())
    result = f"mean accuracy per component count ({curve}); best {best}, configured {n}."
    if n not in means.index:
        return Claim("2.2", claim, result + f" The sweep does not include {n}.", NOT_RUN)
    tested = f"configured {n}, best of the sweep {best}"
    if n == best:
        return Claim("2.2", claim, result, HOLDS, tested)

    def by_seed(c):
        rows = sweep[sweep["components"] == c]
        return dict(zip(rows["seed"], rows["accuracy"]))

    cmp = paired(by_seed(n), by_seed(best))  # the same embeddings of each seed, reduced to n or best components
    v = verdict_of(cmp)
    verdict = {
        HOLDS: f"does not hold: {best} components are better",
        UNCLEAR: f"{UNCLEAR} ({n} against the best, {best})",
    }.get(v, v)
    return Claim("2.2", claim, result + f" Best minus configured: {fmt_diff(cmp)}.", verdict, tested)


def _rate(r: float) -> str:
    return f"p = {r:g} ({100 * r:g} %)"


def _interval(row: pd.Series, key: str) -> tuple[float, float, float, float]:
    """Mean, sd and the 95 % t-interval of the mean of ``key`` in a row of mean/sd over ``seeds``."""
    mean, sd = float(row[f"{key}_mean"]), float(row[f"{key}_sd"])
    return (mean, sd, *interval(mean, sd, int(row["seeds"])))


def denoising_claims(table: pd.DataFrame | None) -> list[Claim]:
    if table is None or table.empty:
        return [
            Claim(
                "3",
                "The de-noised digits are legible up to about 50 % noise, unclear at 60 %.",
                "no de-noising in this run.",
                NOT_RUN,
            )
        ]
    if not has_legibility(table):  # images without labels
        return [
            Claim(
                "3",
                "The de-noised digits are legible up to about 50 % noise, unclear at 60 %.",
                "no legibility scores in this run (no labels, so no supervised classifier).",
                NOT_RUN,
            )
        ]
    out = []
    lines, verdicts = [], []
    for _, row in table.sort_values("rate").iterrows():
        # paired: each seed's de-noised and noisy images come from the same noise
        cmp = paired_from_differences(row["gain_over_noisy_mean"], row["gain_over_noisy_sd"], int(row["seeds"]))
        verdicts.append(verdict_of(cmp))
        lines.append(
            f"{_rate(row['rate'])}: {row['psnr_denoised_mean']:.2f} ± {row['psnr_denoised_sd']:.2f} dB against "
            f"{row['psnr_noisy_mean']:.2f} ± {row['psnr_noisy_sd']:.2f} dB noisy ({fmt_diff(cmp, ' dB')})"
        )
    verdict = (
        HOLDS
        if all(v == HOLDS for v in verdicts)
        else (OPPOSITE if OPPOSITE in verdicts else (UNTESTED if UNTESTED in verdicts else UNCLEAR))
    )
    rates = ", ".join(f"{r:g}" for r in sorted(table["rate"]))
    out.append(
        Claim(
            "3",
            "The de-noised images resemble the original images (the autoencoder removes noise).",
            "PSNR against the clean image, de-noised against noisy (the same noisy images, paired by seed): "
            + "; ".join(lines)
            + ".",
            verdict,
            f"PSNR de-noised > noisy at p = {rates}",
        )
    )

    legible, lines = {}, []
    for _, row in table.sort_values("rate").iterrows():
        rate = float(row["rate"])
        need = LEGIBLE_FRACTION * row["accuracy_clean_mean"]
        mean, sd, lo, hi = _interval(row, "accuracy_denoised")
        if np.isnan(lo):
            state = UNTESTED
        else:
            state = "legible" if lo >= need else ("unclear" if hi < need else "borderline")
        legible[rate] = state
        lines.append(
            f"{_rate(rate)}: {mean:.3f} ± {sd:.3f} (interval {lo:.3f} to {hi:.3f}) against {need:.3f} needed: {state}"
        )
    early = [r for r in legible if r <= STUDY_LEGIBLE_UP_TO]
    late = [r for r in legible if r >= STUDY_UNCLEAR_FROM]
    if not early and not late:
        verdict = NOT_RUN
    elif any(legible[r] == UNTESTED for r in early + late):
        verdict = UNTESTED
    elif any(legible[r] == "unclear" for r in early):
        verdict = "does not hold: the digits become unclear at or below 50 %"
    elif any(legible[r] == "legible" for r in late):
        verdict = "does not hold: the digits stay legible at 60 % or more"
    elif any(legible[r] == "borderline" for r in early + late):
        verdict = UNCLEAR
    elif not late:
        verdict = f"{HOLDS} as far as tested: legible up to 50 % (no rate of 60 % or more in this configuration)"
    elif not early:
        verdict = f"{HOLDS} as far as tested: unclear from 60 % (no rate up to 50 % in this configuration)"
    else:
        verdict = HOLDS
    up_to = [r for r, s in legible.items() if s == "legible"]
    result = (
        f"legibility = accuracy of the supervised classifier on the de-noised digits; legible when its whole 95 % interval is at "
        f"least {100 * LEGIBLE_FRACTION:g} % of its accuracy on the clean digits ({table['accuracy_clean_mean'].mean():.3f}), "
        "unclear when its whole interval is below that. "
        + "; ".join(lines)
        + ". "
        + (f"Legible up to {_rate(max(up_to))}." if up_to else "No rate is legible by this measure.")
    )
    out.append(
        Claim(
            "3",
            "The de-noised digits are legible up to and including about 50 % noise; at 60 % it becomes unclear which digit it is.",
            result,
            verdict,
            "; ".join(f"p = {r:g}: {s}" for r, s in legible.items()),
        )
    )
    return out


def check_claims(
    records: list[dict], dataset: str, sweep: pd.DataFrame | None = None, denoising: pd.DataFrame | None = None
) -> list[Claim]:
    """Every claim of the study, in the study's order."""
    claims = number_claims(records, dataset) + clustering_claims(records, sweep) + denoising_claims(denoising)
    order = {"1": 0, "2.1": 1, "2.2": 2, "3": 3}
    return sorted(claims, key=lambda c: order[c.section])


SECTIONS = {
    "1": "Section 1: K-Means on pixels, and the supervised network",
    "2.1": "Section 2.1: K-Means on autoencoder embeddings",
    "2.2": "Section 2.2: K-Means on PCA of the embeddings",
    "3": "Section 3: de-noising with an autoencoder",
}


def claims_markdown(claims: list[Claim], seeds: list[int]) -> str:
    lines = [
        "## The study's claims, checked",
        "",
        f"Each claim of the study with our numbers over {len(seeds)} seeds. A comparison is the 95 % interval of the "
        "difference between two methods over seeds, paired t where the design is paired (5 against 20 epochs, PCA against "
        "plain embeddings, the PCA sweep, de-noised against noisy: the same run, embeddings or noise per seed) and Welch's t "
        "otherwise; each result names the test. A claim **holds** when the whole interval lies on its side of zero, "
        "**does not hold** when it lies on the other side, and is **not distinguishable at this sample size** when it "
        "contains zero. A number of the study (one run) is **reproduced** when it lies inside our 95 % prediction interval "
        "for one new run, mean ± t(0.975, n-1) · sd · sqrt(1 + 1/n) over our n seeds.",
        "",
        "| section | claim | tested here | verdict |",
        "|---|---|---|---|",
    ]
    lines += [f"| {c.section} | {c.claim} | {c.tested or '-'} | {c.verdict} |" for c in claims]
    for section, title in SECTIONS.items():
        here = [c for c in claims if c.section == section]
        if not here:
            continue
        lines += ["", f"### {title}", ""]
        for c in here:
            lines += [f"- **{c.claim}** {c.result} **Verdict: {c.verdict}.**"]
    return "\n".join(lines) + "\n"
