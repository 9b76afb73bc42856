"""The report: figures made by rules, the summary that checks the study's claims, and
`snakemake --report` on the tiny run."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from aeclust import claims, methods, plots, study
from aeclust.claims import HOLDS, OPPOSITE, UNCLEAR, UNTESTED, compare
from aeclust.intervals import mean_sd_ci, welch
from aeclust.summary import ON_TRAINING, published_markdown, summary_document, summary_table
from conftest import REPO, TINY, snakemake
from scipy import stats

PNG = b"\x89PNG\r\n\x1a\n"
# De-noising joins once its rules are part of the workflow.
DENOISE = (REPO / "workflow" / "rules" / "denoise.smk").exists()
CATEGORIES = ("Data", "Autoencoders", "Clustering", "PCA sweep", *(("De-noising",) if DENOISE else ()), "Summary")


def is_png(path, min_bytes=10_000):
    return path.read_bytes()[:8] == PNG and path.stat().st_size > min_bytes


# ---- one colour per method -------------------------------------------------------------

PRESET_METHODS = {
    "study": ["kmeans/raw", "kmeans/ae_e5", "kmeans/ae_e20", "kmeans/ae_e20_pca32", "classifier"],
    "tiny": [
        "kmeans/raw",
        "kmeans/ae_e1",
        "kmeans/ae_e2",
        "kmeans/ae_e2_pca8",
        "kmeans/ae_e2_umap",
        "gmm/ae_e2_umap",
        "classifier",
    ],
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
    # no colour cycle: the colour does not depend on which methods were drawn before it
    first = plots.method_color("kmeans/ae_e20")
    for other in ("kmeans/raw", "gmm/ae_e5_umap", "classifier", "kmeans/ae_e80_pca32"):
        plots.method_color(other)
    assert plots.method_color("kmeans/ae_e20") == first
    assert len({plots.method_color(m) for m in ("kmeans/raw", "kmeans/ae_e20", "gmm/ae_e20", "classifier")}) == 4
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
        "IIC",
        "N2D",
        "K-Means on AE 40 epochs + UMAP (`kmeans/ae_e40_umap`)",
        "DEC",
        "K-Means on pixels (`kmeans/raw`)",
    ]
    assert "| this run, 3 seeds | 0.9773 ± 0.0025 | 0.9273 ± 0.0025 |" in text
    assert "| N2D | published | 0.979 | - | - |" in text


def test_published_results_only_for_the_whole_dataset():
    def published(cluster):
        text = (REPO / "workflow/rules/common.smk").read_text()
        src = text[text.index("def published():") : text.index("def denoising_table():")]
        scope = {
            "config": {"subsets": {"cluster": cluster}},
            "DS": yaml.safe_load((REPO / "config/config.yaml").read_text())["datasets"]["mnist"],
        }
        exec(src, scope)
        return scope["published"]()

    assert published({"split": "all", "per_class": None})["N2D"] == 0.979
    assert published({"split": "test", "per_class": 100}) == {}
    assert published({"split": "all", "per_class": 100}) == {}


def study_like_records(rng_seed=0, n=5):
    rng = np.random.default_rng(rng_seed)
    recs = []
    for method, mean in [
        ("kmeans/raw", 0.555),
        ("kmeans/ae_e5", 0.548),
        ("kmeans/ae_e20", 0.532),
        ("kmeans/ae_e20_pca32", 0.571),
        ("classifier", 0.885),
    ]:
        recs += records(method, mean + rng.normal(0, 0.02, n))
    return recs


def test_study_claims_on_study_like_numbers():
    recs = study_like_records()
    sweep = pd.DataFrame({"components": [8, 8, 32, 32], "seed": [0, 1, 0, 1], "accuracy": [0.50, 0.52, 0.57, 0.58]})
    found = claims.check_claims(recs, "mnist", sweep=sweep)
    text = claims.claims_markdown(found, list(range(5)))
    assert [c.section for c in found] == sorted((c.section for c in found), key=["1", "2.1", "2.2", "3"].index)
    numbers = {c.claim.split(": accuracy ")[0]: c for c in found if ": accuracy " in c.claim}
    for method, ref in study.STUDY_ACCURACY["mnist"].items():
        s = mean_sd_ci([r["accuracy"] for r in recs if r["method"] == method])
        c = numbers[methods.describe(method)]
        # the verdict follows from where the study's number falls in our prediction interval, computed here
        assert c.verdict.startswith("reproduced") == (s["pi_low"] <= ref <= s["pi_high"]), (method, c.verdict)
        assert f"{s['mean']:.4f} ± {s['sd']:.4f}" in c.result and f"{s['pi_low']:.4f} to {s['pi_high']:.4f}" in c.result
    assert next(c for c in found if "best (32)" in c.claim).verdict == HOLDS
    assert "prediction interval" in text and "paired t" in text and "Welch" in text
    assert "no de-noising" in text


def test_reproduced_means_inside_the_prediction_interval():
    # mean 0.60, sd 0.0158 over 5 seeds: 0.5550 lies outside the interval of the mean
    # ([0.5804, 0.6196]) but inside the prediction interval for one run ([0.5519, 0.6481])
    recs = records("kmeans/raw", [0.58, 0.59, 0.60, 0.61, 0.62])
    c = claims.number_claims(recs, "mnist")[0]
    assert c.verdict == "reproduced: inside our 95 % prediction interval for one run"
    assert "0.5519 to 0.6481" in c.result
    far = claims.number_claims(records("kmeans/raw", [0.60, 0.605, 0.61, 0.615, 0.62]), "mnist")[0]
    assert far.verdict.startswith("not reproduced: ours is higher")
    row = summary_table(recs, "mnist").set_index("method").loc["kmeans/raw"]
    assert row["study_in_pi"] and not (row["accuracy_ci_low"] <= 0.5550 <= row["accuracy_ci_high"])


def test_paired_designs_are_tested_paired():
    # 5 epochs beats 20 by ~0.01 in every seed, while the seeds spread by 0.1: paired t
    # sees it, Welch would not
    a = [0.50, 0.60, 0.70]
    recs = records("kmeans/ae_e20", a) + records("kmeans/ae_e5", [x + d for x, d in zip(a, (0.011, 0.009, 0.012))])
    recs += records("kmeans/ae_e20_pca32", [x + d for x, d in zip(a, (0.011, 0.009, 0.012))])
    assert compare(recs, "kmeans/ae_e20", "kmeans/ae_e5")["ci_low"] < 0  # Welch: not distinguishable
    found = claims.clustering_claims(recs)
    epochs = next(c for c in found if "fewer epochs" in c.claim)
    assert epochs.verdict == HOLDS and "paired t 95 % interval" in epochs.result
    pca = next(c for c in found if c.claim.startswith("PCA on the embeddings"))
    assert pca.verdict == HOLDS and "paired t 95 % interval" in pca.result
    # noisy against de-noised: the same noise per seed, from the per-seed PSNR gain
    table = denoise_table([0.9] * 2, rates=(0.2, 0.5))
    table["psnr_noisy_sd"] = table["psnr_denoised_sd"] = 3.0  # seeds spread widely ...
    table["gain_over_noisy_sd"] = 0.1  # ... but each seed's gain is steady
    psnr = claims.denoising_claims(table)[0]
    assert psnr.verdict == HOLDS and "paired t" in psnr.result
    welch_verdict = claims.verdict_of(welch(7.5, 3.0, 3, 8.0, 3.0, 3))
    assert welch_verdict == UNCLEAR


def test_study_numbers_only_for_the_study_design():
    cfg = lambda name: yaml.safe_load((REPO / "config" / name).read_text())  # noqa: E731
    default = cfg("config.yaml")
    assert study.design_differences(default["dataset"], default["subsets"]) == []
    for name in ("tiny.yaml", "full.yaml"):
        subsets = {
            k: {**default["subsets"][k], **cfg(name)["subsets"].get(k, {})} if isinstance(v, dict) else v
            for k, v in default["subsets"].items()
        }
        assert study.design_differences("mnist", subsets), name
    assert study.design_differences("fashion-mnist", default["subsets"]) == ["dataset fashion-mnist (the study: mnist)"]

    recs = study_like_records()
    table, text, found = summary_document(recs, "mnist", list(range(5)), [], {})
    assert "study_accuracy" in table and found and "**Verdict:" in text
    row = table.set_index("method").loc["kmeans/raw"]
    assert (
        f"0.5550 ({'inside' if row['study_in_pi'] else 'outside'} [{row['accuracy_pi_low']:.4f}, {row['accuracy_pi_high']:.4f}])"
        in text
    )

    why = study.design_differences(
        "mnist", {"cluster": {"split": "all", "per_class": None}, "train": {"split": "all", "per_class": None}}
    )
    assert why == [
        "clusters every image of split all (the study: 100 per digit of split test)",
        "networks trained on every image of split all (the study: 1,000 per digit of split train)",
    ]
    table, text, found = summary_document(recs, "mnist", list(range(5)), why, {})
    assert "study_accuracy" not in table and "study_in_pi" not in table and found == []
    assert "**Verdict:" not in text and "0.5550" not in text and "0.8847" not in text
    assert text.count("are not shown: they apply to the study's design") == 2 and why[0] in text


def test_classifier_on_its_training_images_is_labelled_and_not_ranked():
    recs = records("kmeans/raw", [0.52, 0.54, 0.53]) + records("classifier", [0.99, 0.995, 0.99])
    table = summary_table(recs, "mnist", study_design=False, classifier_on_training=True)
    assert table.set_index("method").loc["classifier", "description"] == ON_TRAINING
    text = published_markdown(table, {"DEC": 0.84}, "mnist")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| method")]
    assert len(rows) == 2 and not any("classifier" in r for r in rows)
    assert "is not ranked here" in text

    src = (REPO / "workflow/rules/common.smk").read_text()
    src = src[src.index("def classifier_on_training():") : src.index("def published():")]

    def on_training(name):
        default = yaml.safe_load((REPO / "config/config.yaml").read_text())["subsets"]
        over = yaml.safe_load((REPO / "config" / name).read_text()).get("subsets", {}) if name else {}
        subsets = {k: {**v, **over.get(k, {})} if isinstance(v, dict) else v for k, v in default.items()}
        scope = {"config": {"subsets": subsets}}
        exec(src, scope)
        return scope["classifier_on_training"]()

    assert on_training("full.yaml") and not on_training(None) and not on_training("tiny.yaml")


def denoise_table(acc_denoised, rates=(0.2, 0.5, 0.6, 0.7), sd=0.01):
    rows = []
    for rate, acc in zip(rates, acc_denoised):
        rows.append(
            {
                "rate": rate,
                "seeds": 3,
                "n": 100,
                "accuracy_clean_mean": 0.95,
                "accuracy_clean_sd": 0.0,
                "accuracy_denoised_mean": acc,
                "accuracy_denoised_sd": sd,
                "psnr_noisy_mean": 10 - 5 * rate,
                "psnr_noisy_sd": 0.1,
                "psnr_denoised_mean": 20 - 5 * rate,
                "psnr_denoised_sd": 0.2,
                "gain_over_noisy_mean": 10.0,
                "gain_over_noisy_sd": 0.15,
            }
        )
    return pd.DataFrame(rows)


def test_legibility_claim():
    legibility = lambda table: claims.denoising_claims(table)[1]  # noqa: E731
    assert legibility(denoise_table([0.93, 0.90, 0.60, 0.40])).verdict == HOLDS
    assert legibility(denoise_table([0.93, 0.90, 0.92, 0.91])).verdict.startswith(
        "does not hold: the digits stay legible"
    )
    assert legibility(denoise_table([0.93, 0.50, 0.40, 0.30])).verdict.startswith(
        "does not hold: the digits become unclear"
    )
    assert legibility(denoise_table([0.93, 0.90, 0.85, 0.40], sd=0.05)).verdict == UNCLEAR
    assert legibility(denoise_table([0.93, 0.90], rates=(0.2, 0.5))).verdict.startswith("holds as far as tested")
    psnr = claims.denoising_claims(denoise_table([0.9] * 4))[0]
    assert psnr.verdict == HOLDS and "p = 0.7 (70 %)" in psnr.result


# ---- the figures, drawn from synthetic data -----------------------------------------------


def test_plot_functions_write_readable_pngs(tmp_path):
    rng = np.random.default_rng(0)
    recs = (
        records("kmeans/raw", [0.5, 0.55]) + records("kmeans/ae_e5", [0.52, 0.5]) + records("classifier", [0.88, 0.9])
    )
    plots.plot_accuracy(
        recs, ["kmeans/raw", "kmeans/ae_e5", "classifier"], {"kmeans/raw": 0.555}, tmp_path / "acc.png", "t"
    )
    plots.plot_accuracy(
        recs, ["kmeans/raw", "kmeans/ae_e5", "classifier"], {}, tmp_path / "acc_note.png", "t", note="why not"
    )
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.2, 0.1, 0.07]})
    plots.plot_training({0: history, 1: history * 1.05}, 3, tmp_path / "train.png")
    labels = np.repeat(np.arange(10), 10)
    plots.plot_embeddings(
        rng.normal(size=(100, 2)) + labels[:, None], labels, np.array([0.3, 0.2]), tmp_path / "emb.png", "t"
    )
    plots.plot_samples(rng.integers(0, 255, (100, 28, 28), dtype=np.uint8), labels, 6, tmp_path / "samples.png", "t")
    for name in ("acc", "acc_note", "train", "emb", "samples"):
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


@pytest.mark.e2e
def test_report_figures_made_by_rules(tiny_results):
    for path in report_figures(tiny_results):
        assert is_png(path), path
    every = sorted((tiny_results).rglob("*.png"))
    assert len(every) >= len(report_figures(tiny_results)) + 5  # + confusion matrices, sweep, de-noising


@pytest.mark.e2e
def test_summary_names_every_method_and_says_why_no_study_numbers(tiny_results):
    # the tiny run is not the study's design: no study column, no verdicts, one line why
    text = (tiny_results / "summary.md").read_text()
    summary = pd.read_csv(tiny_results / "summary.csv")
    for method in summary["method"]:
        assert f"`{method}`" in text, method
    assert "study_accuracy" not in summary and "**Verdict:" not in text
    tiny = yaml.safe_load(TINY.read_text())
    assert (
        f"clusters {tiny['subsets']['cluster']['per_class']} per digit of split test (the study: 100 per digit of split test)"
        in text
    )
    assert f"networks trained on {tiny['subsets']['train']['per_class']} per digit of split train" in text
    # the table's numbers are the per-seed metric files' means
    for _, row in summary.iterrows():
        if row["method"] == "classifier":
            paths = sorted((tiny_results / "metrics").glob("classifier_s*.json"))
        else:
            algo, feat = row["method"].split("/")
            paths = sorted((tiny_results / "metrics" / algo).glob(f"{feat}_s*.json"))
        values = [json.loads(p.read_text())["accuracy"] for p in paths]
        assert len(values) == row["seeds"] and row["accuracy_mean"] == pytest.approx(np.mean(values)), row["method"]
        assert f"{row['accuracy_mean']:.4f} ± {row['accuracy_sd']:.4f}" in text


@pytest.mark.e2e
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
    tables = [
        "summary.csv",
        "summary.md",
        "pca_sweep.csv",
        *(["denoise/denoising.csv", "denoise/denoising.md"] if DENOISE else []),
    ]
    for path in [*sorted(results.rglob("*.png")), *(results / t for t in tables)]:
        assert f'"{path.relative_to(tiny_run)}"' in "".join(index.values()), path


def test_report_modules_load_neither_torch_nor_skimage():
    import subprocess
    import sys

    code = (
        "import sys; sys.path.insert(0, 'workflow/scripts'); "
        "import aeclust.plots, aeclust.summary, aeclust.claims, aeclust.denoise_report, aeclust.methods, aeclust.intervals; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'skimage'}); print(bad); sys.exit(bool(bad))"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_method_ids_parsed_in_one_place():
    m = methods.parse("gmm/ae_e80_umap")
    assert (m.algo, m.epochs, m.pca, m.umap, m.plain) == ("gmm", 80, None, True, "gmm/ae_e80")
    assert methods.parse("kmeans/ae_e20_pca32").pca == 32 and methods.parse("kmeans/raw").epochs is None
    assert methods.describe("kmeans/raw_umap") == "K-Means on pixels + UMAP"
    assert methods.describe("kmeans/ae_e20_pca32") == "K-Means on AE 20 epochs + PCA 32"
    with pytest.raises(ValueError, match="method id 'kmeans/ae20'"):
        methods.parse("kmeans/ae20")
    for bad in ("kmeans/raw_pca8", "dbscan/raw", "kmeans/ae_e2_pca8_umap", "selflabel/classifier"):
        with pytest.raises(ValueError, match="method id"):
            methods.parse(bad)


def test_wildcards_accept_exactly_the_method_grammar():
    """The workflow's {algo}/{feat} wildcards (built from methods.WILDCARDS) accept the
    ids parse() accepts, and the helpers split them the same way."""
    import re

    w = {k: re.compile(v) for k, v in methods.WILDCARDS.items()}
    good = ["kmeans/raw", "gmm/raw_umap", "kmeans/ae_e20", "kmeans/ae_e20_pca32", "gmm/ae_e80_umap"]
    good += ["selflabel/gmm_ae_e80_umap", "selflabel/kmeans_raw"]
    bad = ["kmeans/raw_pca8", "dbscan/raw", "kmeans/ae_e2_pca8_umap", "kmeans/ae20", "selflabel/ae_e2"]
    for method in good + bad:
        algo, feat = method.split("/")
        by_wildcards = bool(w["algo"].fullmatch(algo) and w["feat"].fullmatch(feat))
        by_wildcards &= (algo == "selflabel") == (
            "_" in feat and w["clustering"].fullmatch(feat.split("_")[0]) is not None
        )
        try:
            methods.parse(method)
            parsed = True
        except ValueError:
            parsed = False
        assert by_wildcards == parsed == (method in good), method
    assert methods.space("selflabel", "gmm_ae_e2_umap") == "ae_e2_umap" and methods.space("kmeans", "raw") == "raw"
    assert methods.base_of("gmm_ae_e2_umap") == "ae_e2" and methods.base_of("raw_umap") == "raw"
    assert w["base"].fullmatch("ae_e5") and not w["base"].fullmatch("ae_e5_umap")


# ---- wording: a digit is MNIST's; anything else has classes (or no labels) -------------


def test_figures_say_digit_for_mnist_only(tmp_path, monkeypatch):
    assert plots.class_noun("mnist") == "digit"
    assert plots.class_noun("fashion-mnist") == plots.class_noun("pets") == plots.class_noun("mnist_npz") == "class"
    assert plots.samples_title(10, 100, "digit") == "Training subset: the first 10 of each digit (100 images in all)"
    assert (
        plots.samples_title(10, 36, plots.class_noun("pets"))
        == "Training subset: the first 10 of each class (36 images in all)"
    )
    assert (
        plots.samples_title(10, 36, "class", labelled=False)
        == "Training subset: the first 10 images (36 images in all)"
    )

    shown = {}  # what the figures write, caught as they are saved
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: shown.update({path: fig}))
    rng = np.random.default_rng(0)
    points, labels = rng.normal(size=(30, 2)), np.repeat([0, 1, 2], 10)
    plots.plot_embeddings(points, labels, np.array([0.5, 0.2]), "named", "t", "class", np.array(["cat", "dog", "owl"]))
    ax = shown["named"].axes[0]
    assert ax.get_legend().get_title().get_text() == "class"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cat", "dog", "owl"]
    assert {t.get_text() for t in ax.texts} == {"cat", "dog", "owl"}
    plots.plot_embeddings(points, labels, np.array([0.5, 0.2]), "mnist", "t")
    assert shown["mnist"].axes[0].get_legend().get_title().get_text() == "digit"
    assert {t.get_text() for t in shown["mnist"].axes[0].texts} == {"0", "1", "2"}
    plots.plot_embeddings(points, np.full(30, -1), np.array([0.5, 0.2]), "unlabelled", "t", "class")
    ax = shown["unlabelled"].axes[0]
    assert ax.get_legend() is None and not ax.texts and len(ax.collections) == 1

    images = rng.integers(0, 256, (30, 8, 8), dtype=np.uint8)
    plots.plot_samples(images, labels, 4, "samples", "t", names=np.array(["cat", "dog", "owl"]))
    assert [a.get_ylabel() for a in shown["samples"].axes] == ["cat", "dog", "owl"]
    plots.plot_samples(images, np.full(30, -1), 4, "unlabelled samples", "t")
    assert [a.get_ylabel() for a in shown["unlabelled samples"].axes] == [""] * 5  # 5 rows of the first 20 images

    records = [{"method": m, "seed": s, "accuracy": 0.5} for m in ("kmeans/raw", "classifier") for s in (0, 1)]
    plots.plot_accuracy(records, ["kmeans/raw", "classifier"], {}, "acc", "t", noun=plots.class_noun("pets"))
    assert "clusters aligned to classes by Hungarian matching" in shown["acc"].axes[0].get_xlabel()


def test_sample_grid_shows_colour_images_in_colour(tmp_path):
    """Red, green and blue images [N, 3, H, W]: the saved grid holds those colours, not greys."""
    from PIL import Image

    images = np.zeros((6, 3, 12, 12), dtype=np.uint8)
    for i in range(6):
        images[i, i % 3] = 255  # image i is pure red, green or blue
    plots.plot_samples(
        images, np.array([0, 1, 2, 0, 1, 2]), 2, tmp_path / "s.png", "colour", names=np.array(["r", "g", "b"])
    )
    rgb = np.asarray(Image.open(tmp_path / "s.png").convert("RGB")).reshape(-1, 3).astype(int)
    for channel in range(3):
        others = [c for c in range(3) if c != channel]
        pure = (rgb[:, channel] > 200) & (rgb[:, others] < 60).all(axis=1)
        assert pure.sum() > 100, channel  # many pixels of that pure colour


CAPTIONS = REPO / "workflow" / "report"


class _Params:
    dataset, seeds, design_differences, per_class, epochs = "x", [0, 1], [], 10, 2
    components, k, n_init, classifier_on_training = [2, 4], 3, 2, False


class _Wildcards:
    algo, feat, seed, epochs = "kmeans", "raw", 0, 2


class _Category:
    def __init__(self, name):
        self.name = name


def render_captions(config: dict, categories: list[str]) -> dict[str, str]:
    """Every caption and the top page as Snakemake's report renders them: Jinja (its
    settings), then reStructuredText to HTML; name -> text of the HTML."""
    from docutils.core import publish_parts
    from jinja2 import Environment

    env = Environment(trim_blocks=True, lstrip_blocks=True)
    params = _Params()
    params.design_differences = study.design_differences(config["dataset"], config["subsets"])
    snake = type("Snakemake", (), {"config": config, "params": params, "wildcards": _Wildcards()})
    links = "\n\n.. _Workflow: javascript:show_panel('workflow')\n.. _Statistics: javascript:show_panel('statistics')\n"
    links += "".join(f".. _{c}: javascript:app.showCategory('{c}')\n" for c in categories)
    out = {}
    for path in sorted(CAPTIONS.glob("*.rst")):
        text = env.from_string(path.read_text() + links).render(
            snakemake=snake, categories={_Category(c): {} for c in categories}
        )
        html = publish_parts(text, writer="html", settings_overrides={"report_level": 2})["html_body"]
        assert "System Message" not in html, (path.name, html[:3000])
        out[path.name] = re.sub(r"<[^>]+>", "", html)
    return out


def caption_config(dataset: str, ds: dict) -> dict:
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["dataset"], cfg["datasets"][dataset] = dataset, ds
    return cfg


def test_captions_name_digits_for_mnist_and_classes_for_other_images():
    mnist = render_captions(
        caption_config("mnist", yaml.safe_load((REPO / "config" / "config.yaml").read_text())["datasets"]["mnist"]),
        list(CATEGORIES),
    )
    assert "one row per digit" in mnist["samples.rst"] and "true digit" in mnist["embeddings.rst"]
    assert (
        "legibility, the accuracy of the" in mnist["denoise_curves.rst"] and "digits" in mnist["denoise_examples.rst"]
    )
    assert "PCA sweep: accuracy against" in mnist["workflow.rst"] and "download_dataset" in mnist["workflow.rst"]

    study_pages = {"workflow.rst", "summary.rst"}  # the study's own digits, told as its story
    pets = render_captions(
        caption_config("pets", {"source": "folder", "path": "pets", "labels": "folders"}), list(CATEGORIES)
    )
    assert "one row per class" in pets["samples.rst"] and "true class" in pets["embeddings.rst"]
    assert "true classes" in pets["confusion.rst"] and "clusters mapped to classes" in pets["accuracy.rst"]
    for name, text in pets.items():
        if name not in study_pages:
            assert "digit" not in text, (name, text)
    assert "import_images" in pets["workflow.rst"] and "per class from the" in pets["workflow.rst"]

    shown = ["Data", "Autoencoders", "Clustering", "De-noising", "Summary"]  # no PCA sweep without labels
    flat = render_captions(caption_config("flat", {"source": "folder", "path": "flat", "labels": "none"}), shown)
    assert "no legibility score" in flat["denoise_curves.rst"] and "classifier" not in flat["denoise_examples.rst"]
    assert "no legibility scores" in flat["denoising_table.rst"] and "accuracy" not in flat["denoising_table.rst"]
    assert "in one colour (the images have no labels)" in flat["embeddings.rst"]
    assert "rows are not classes" in flat["samples.rst"] and "supervised" not in flat["samples.rst"]
    assert "PCA sweep" not in flat["workflow.rst"] and "PSNR and SSIM" in flat["workflow.rst"]
    assert "internal_criteria" in flat["workflow.rst"]
    for name, text in flat.items():
        if name not in study_pages:
            assert "digit" not in text, (name, text)
