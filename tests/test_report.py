"""The report: figures made by rules, the summary that checks the study's claims, and
`snakemake --report` on the tiny run."""

import re

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from aeclust import claims, plots
from aeclust.claims import HOLDS, OPPOSITE, UNCLEAR, UNTESTED
from aeclust.summary import compare, published_markdown, summary_table, welch
from conftest import REPO, TINY, snakemake

PNG = b"\x89PNG\r\n\x1a\n"
# De-noising joins once its rules are part of the workflow.
DENOISE = (REPO / "workflow" / "rules" / "denoise.smk").exists()
CATEGORIES = ("Data", "Autoencoders", "Clustering", "PCA sweep", *(("De-noising",) if DENOISE else ()), "Summary")


def is_png(path, min_bytes=10_000):
    return path.read_bytes()[:8] == PNG and path.stat().st_size > min_bytes


# ---- one colour per method -------------------------------------------------------------

PRESET_METHODS = {
    "study": ["kmeans/raw", "kmeans/ae_e5", "kmeans/ae_e20", "kmeans/ae_e20_pca32", "classifier"],
    "tiny": ["kmeans/raw", "kmeans/ae_e1", "kmeans/ae_e2", "kmeans/ae_e2_pca8", "kmeans/ae_e2_umap", "gmm/ae_e2_umap", "classifier"],
    "full": ["kmeans/raw", "kmeans/raw_umap", "kmeans/ae_e80", "kmeans/ae_e80_umap", "gmm/ae_e80_umap", "classifier"],
}


@pytest.mark.parametrize("preset", sorted(PRESET_METHODS))
def test_method_colors_distinct_within_a_preset(preset):
    colours = [plots.method_color(m) for m in PRESET_METHODS[preset]]
    for i, a in enumerate(colours):
        assert all(0 <= v <= 1 for v in a) and len(a) == 3
        for b in colours[i + 1 :]:
            assert np.abs(np.subtract(a, b)).sum() > 0.15, (preset, colours)


def test_method_color_is_a_function_of_the_method_only():
    assert plots.method_color("kmeans/ae_e20") == plots.method_color("kmeans/ae_e20")
    assert plots.method_color("kmeans/ae_e20_pca32") == plots.method_color("kmeans/ae_e20_pca8")  # PCA size: same shade
    assert plots.method_color("kmeans/ae_e7") != plots.method_color("kmeans/raw")  # any epoch count gets an AE hue


# ---- comparisons over seeds --------------------------------------------------------------


def records(method, values):
    return [{"method": method, "seed": i, "accuracy": v} for i, v in enumerate(values)]


def test_compare_is_welch_with_its_interval():
    x, y = [0.50, 0.52, 0.55], [0.60, 0.58, 0.66, 0.61]
    c = compare(records("a", x) + records("b", y), "a", "b")
    assert c["diff"] == pytest.approx(np.mean(y) - np.mean(x))
    assert c["p"] == pytest.approx(stats.ttest_ind(y, x, equal_var=False).pvalue)
    assert c["ci_low"] < c["diff"] < c["ci_high"]
    # the interval excludes zero exactly when p < 0.05
    assert (c["ci_low"] > 0) == (c["p"] < 0.05)


def test_welch_edge_cases():
    exact = welch(0.5, 0.0, 3, 0.6, 0.0, 3)  # no spread: the difference is exact
    assert exact["ci_low"] == exact["ci_high"] == pytest.approx(0.1) and exact["p"] == 0.0
    one = welch(0.5, 0.0, 1, 0.6, 0.1, 3)  # one seed: no interval
    assert np.isnan(one["ci_low"]) and np.isnan(one["p"])


def test_verdicts():
    strong = records("kmeans/raw", [0.55, 0.56, 0.54]) + records("classifier", [0.88, 0.89, 0.885])
    c = claims.clustering_claims(strong)[0]
    assert c.verdict == HOLDS and "0.8850" in c.result
    flipped = records("kmeans/raw", [0.88, 0.89, 0.885]) + records("classifier", [0.55, 0.56, 0.54])
    assert claims.clustering_claims(flipped)[0].verdict == OPPOSITE
    noisy = records("kmeans/raw", [0.50, 0.60, 0.55]) + records("classifier", [0.52, 0.61, 0.56])
    assert claims.clustering_claims(noisy)[0].verdict == UNCLEAR
    single = records("kmeans/raw", [0.5]) + records("classifier", [0.9])
    assert claims.clustering_claims(single)[0].verdict == UNTESTED


def test_published_results_ranked_beside_ours():
    recs = records("kmeans/raw", [0.52, 0.54, 0.53]) + records("kmeans/ae_e40_umap", [0.975, 0.98, 0.977])
    recs = [{**r, "nmi": r["accuracy"] - 0.05, "ari": r["accuracy"] - 0.1} for r in recs]
    text = published_markdown(summary_table(recs, "mnist"), {"DEC": 0.84, "N2D": 0.979, "IIC": 0.99}, "mnist")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| method")]
    assert [r.split(" | ")[0].strip("| ") for r in rows] == [
        "IIC", "N2D", "K-Means on AE 40 epochs + UMAP (`kmeans/ae_e40_umap`)", "DEC",
        "K-Means on pixels (`kmeans/raw`)"]
    assert "| this run, 3 seeds | 0.9773 ± 0.0025 | 0.9273 ± 0.0025 |" in text
    assert "| N2D | published | 0.979 | - | - |" in text


def test_published_results_only_for_the_whole_dataset():
    def published(cluster):
        text = (REPO / "workflow/rules/common.smk").read_text()
        src = text[text.index("def published():"):text.index("def denoising_table():")]
        scope = {"config": {"subsets": {"cluster": cluster}}, "DS": yaml.safe_load((REPO / "config/config.yaml").read_text())["datasets"]["mnist"]}
        exec(src, scope)
        return scope["published"]()
    assert published({"split": "all", "per_class": None})["N2D"] == 0.979
    assert published({"split": "test", "per_class": 100}) == {}
    assert published({"split": "all", "per_class": 100}) == {}


def test_study_claims_on_study_like_numbers():
    rng = np.random.default_rng(0)
    recs = []
    for method, mean in [("kmeans/raw", 0.555), ("kmeans/ae_e5", 0.548), ("kmeans/ae_e20", 0.532), ("kmeans/ae_e20_pca32", 0.571),
                         ("classifier", 0.885)]:
        recs += records(method, mean + rng.normal(0, 0.02, 5))
    sweep = pd.DataFrame({"components": [8, 8, 32, 32], "seed": [0, 1, 0, 1], "accuracy": [0.50, 0.52, 0.57, 0.58]})
    found = claims.check_claims(recs, "mnist", sweep=sweep)
    text = claims.claims_markdown(found, list(range(5)))
    assert [c.section for c in found] == sorted((c.section for c in found), key=["1", "2.1", "2.2", "3"].index)
    for number in ("0.5550", "0.5477", "0.5322", "0.5708", "0.8847"):
        assert number in text
    assert "Supervised" in text or "supervised" in text
    assert next(c for c in found if "best (32)" in c.claim).verdict == HOLDS
    assert "no de-noising" in text


def denoise_table(acc_denoised, rates=(0.2, 0.5, 0.6, 0.7), sd=0.01):
    rows = []
    for rate, acc in zip(rates, acc_denoised):
        rows.append({"rate": rate, "seeds": 3, "n": 100, "accuracy_clean_mean": 0.95, "accuracy_clean_sd": 0.0,
                     "accuracy_denoised_mean": acc, "accuracy_denoised_sd": sd, "psnr_noisy_mean": 10 - 5 * rate,
                     "psnr_noisy_sd": 0.1, "psnr_denoised_mean": 20 - 5 * rate, "psnr_denoised_sd": 0.2})
    return pd.DataFrame(rows)


def test_legibility_claim():
    legibility = lambda table: claims.denoising_claims(table)[1]  # noqa: E731
    assert legibility(denoise_table([0.93, 0.90, 0.60, 0.40])).verdict == HOLDS
    assert legibility(denoise_table([0.93, 0.90, 0.92, 0.91])).verdict.startswith("does not hold: the digits stay legible")
    assert legibility(denoise_table([0.93, 0.50, 0.40, 0.30])).verdict.startswith("does not hold: the digits become unclear")
    assert legibility(denoise_table([0.93, 0.90, 0.85, 0.40], sd=0.05)).verdict == UNCLEAR
    assert legibility(denoise_table([0.93, 0.90], rates=(0.2, 0.5))).verdict.startswith("holds as far as tested")
    psnr = claims.denoising_claims(denoise_table([0.9] * 4))[0]
    assert psnr.verdict == HOLDS and "p = 0.7 (70 %)" in psnr.result


# ---- the figures, drawn from synthetic data -----------------------------------------------


def test_plot_functions_write_readable_pngs(tmp_path):
    rng = np.random.default_rng(0)
    recs = records("kmeans/raw", [0.5, 0.55]) + records("kmeans/ae_e5", [0.52, 0.5]) + records("classifier", [0.88, 0.9])
    plots.plot_accuracy(recs, ["kmeans/raw", "kmeans/ae_e5", "classifier"], {"kmeans/raw": 0.555}, tmp_path / "acc.png", "t")
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.2, 0.1, 0.07]})
    plots.plot_training({0: history, 1: history * 1.05}, 3, tmp_path / "train.png")
    labels = np.repeat(np.arange(10), 10)
    plots.plot_embeddings(rng.normal(size=(100, 2)) + labels[:, None], labels, np.array([0.3, 0.2]), tmp_path / "emb.png", "t")
    plots.plot_samples(rng.integers(0, 255, (100, 28, 28), dtype=np.uint8), labels, 6, tmp_path / "samples.png", "t")
    for name in ("acc", "train", "emb", "samples"):
        assert is_png(tmp_path / f"{name}.png"), name
    assert not list(tmp_path.glob(".*"))  # written atomically, nothing left behind


# ---- end to end on the tiny run ------------------------------------------------------------


def report_figures(results):
    tiny = yaml.safe_load(TINY.read_text())
    figures = [results / "figures" / "accuracy.png", results / "figures" / "samples.png"]
    figures += [results / "figures" / "training" / f"ae_e{e}.png" for e in tiny["autoencoder"]["epochs"]]
    views = ["raw", *(f"ae_e{e}" for e in tiny["autoencoder"]["epochs"])]
    if any("ae_umap" in kinds for kinds in tiny["clustering"].values()):
        views += [f"ae_e{e}_umap" for e in tiny["umap"]["epochs"]]
    figures += [results / "figures" / "embeddings" / f"{f}_s{tiny['seeds'][0]}.png" for f in views]
    return figures


def test_report_figures_made_by_rules(tiny_results):
    for path in report_figures(tiny_results):
        assert is_png(path), path
    every = sorted((tiny_results).rglob("*.png"))
    assert len(every) >= len(report_figures(tiny_results)) + 5  # + confusion matrices, sweep, de-noising


def test_summary_names_every_method_and_noise_rate(tiny_results):
    text = (tiny_results / "summary.md").read_text()
    methods = pd.read_csv(tiny_results / "summary.csv")["method"]
    for method in methods:
        assert f"`{method}`" in text, method
    rates = yaml.safe_load(TINY.read_text()).get("denoise", {}).get("rates", []) if DENOISE else []
    for rate in rates:
        assert f"p = {rate:g} ({100 * rate:g} %)" in text, rate
    assert "## The study's claims, checked" in text
    verdicts = re.findall(r"\*\*Verdict: (.+?)\.\*\*", text)
    assert len(verdicts) >= 8
    assert all(v.startswith(("holds", "does not hold", "not distinguishable", "reproduced", "not reproduced", "cannot be tested",
                             "not tested")) for v in verdicts), verdicts


def test_snakemake_report(tiny_run, tmp_path):
    out = tmp_path / "report.html"
    snakemake(tiny_run, "--report", str(out), timeout=600)
    html = out.read_text(errors="replace")
    assert out.stat().st_size > 200_000
    # the report's index of results: {"category": {"subcategory": [paths]}, ...}
    index = {m.group(1): m.group(2) for m in re.finditer(r'"([^"]+)": (\{"[^{}]*\})', html) if m.group(1) in CATEGORIES}
    assert sorted(index) == sorted(CATEGORIES)
    # captions rendered (Jinja, then reStructuredText without errors), the top page too
    assert "System Message" not in html
    assert "Training loss of the autoencoder trained for 2 epochs" in html and "How to read this report" in html
    # every figure and table of the run is in it
    results = tiny_run / "results" / "mnist" / "tiny"
    tables = ["summary.csv", "summary.md", "pca_sweep.csv", *(["denoise/denoising.csv", "denoise/denoising.md"] if DENOISE else [])]
    for path in [*sorted(results.rglob("*.png")), *(results / t for t in tables)]:
        assert f'"{path.relative_to(tiny_run)}"' in "".join(index.values()), path
