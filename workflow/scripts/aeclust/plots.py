"""Figures: confusion matrices, the PCA sweep. One colour per method everywhere.

pandas is not imported here (the figures that take a table are handed a DataFrame): a
figure job that reads no table does without its start-up cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # before pyplot: no GUI backend is looked for
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import patheffects, ticker  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd

from .denoise_versions import LABELS, LEGIBILITY, VERSIONS, has_legibility  # noqa: E402
from .io import atomic_path  # noqa: E402
from .methods import describe, parse  # noqa: E402


def class_noun(dataset: str) -> str:
    """What one class of ``dataset`` is called in figures: a digit for MNIST, else a class."""
    return "digit" if dataset == "mnist" else "class"


def plural(noun: str) -> str:
    """digit -> digits, class -> classes."""
    return noun + ("es" if noun.endswith("s") else "s")


def _class_name(c, names) -> str:
    """Class id ``c`` as a figure names it: the user's class name where there is one."""
    return str(names[int(c)]) if names is not None and 0 <= int(c) < len(names) else str(c)


def save_figure(fig, path) -> None:
    """Save a figure atomically (PNG at report size) and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format=str(path).rsplit(".", 1)[-1])
    plt.close(fig)


# One colour per method, in every figure: the base of the feature set (pixels, or the
# autoencoder trained for E epochs) picks the hue, PCA darkens it, UMAP lightens it, and
# the Gaussian mixture is a darker version of K-Means on the same features. The epoch
# counts of the presets (tiny 1, 2; study 5, 20; full 40) get hues of their own; any
# other count gets one by checksum (stable across runs and figures).
PIXEL_HUE = "#1f77b4"
CLASSIFIER_COLOR = "#444444"
_AE_HUES = ("#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#d62728")
_EPOCH_HUE = {5: 0, 20: 1, 1: 2, 2: 3, 40: 4, 10: 5, 50: 6, 100: 7}


def _mix(color, other, t: float) -> tuple[float, float, float]:
    a, b = np.array(matplotlib.colors.to_rgb(color)), np.array(matplotlib.colors.to_rgb(other))
    return tuple(float(v) for v in (1 - t) * a + t * b)


def ae_hue(epochs: int) -> str:
    """The hue of everything made from the autoencoder trained for ``epochs`` epochs."""
    import zlib

    index = _EPOCH_HUE.get(int(epochs), zlib.crc32(str(epochs).encode()) % len(_AE_HUES))
    return _AE_HUES[index]


def method_color(method: str) -> tuple[float, float, float]:
    """The colour of a method id (``kmeans/raw``, ``gmm/ae_e20_umap``, ``classifier``, ...) in every figure."""
    m = parse(method)
    if m.supervised:
        return matplotlib.colors.to_rgb(CLASSIFIER_COLOR)
    color = matplotlib.colors.to_rgb(PIXEL_HUE if m.epochs is None else ae_hue(m.epochs))
    if m.pca is not None:
        color = _mix(color, "black", 0.4)
    if m.umap:
        color = _mix(color, "white", 0.45)
    if m.algo == "gmm":
        color = _mix(color, "black", 0.35)
    return color


def plot_confusion(cm: np.ndarray, path, method: str, seed: int, accuracy: float, all_accuracies=None) -> None:
    """Aligned confusion matrix: true class on rows, assigned class on columns, counts annotated."""
    fig, ax = plt.subplots(figsize=(6, 5.2))
    im = ax.imshow(cm, cmap="Blues")
    n = cm.shape[0]
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("assigned class (cluster aligned by Hungarian matching)")
    ax.set_ylabel("true class")
    thresh = cm.max() / 2 if cm.max() else 1
    for i in range(n):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                int(cm[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if cm[i, j] > thresh else "black",
            )
    title = f"{describe(method)}\nseed {seed}: accuracy {accuracy:.4f}"
    if all_accuracies is not None and len(all_accuracies) > 1:
        title += f" (all seeds {np.mean(all_accuracies):.4f} ± {np.std(all_accuracies, ddof=1):.4f})"
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, label="images")
    save_figure(fig, path)


def plot_sweep(table: pd.DataFrame, path, title: str, method: str | None = None) -> None:
    """Accuracy (mean ± sd over seeds, and every seed) against PCA components.

    ``method``: the method id whose colour the curve takes (e.g. ``kmeans/ae_e20_pca32``)."""
    g = table.groupby("components")["accuracy"]
    mean, sd = g.mean(), g.std(ddof=1).fillna(0)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(table["components"], table["accuracy"], s=10, color="0.6", label="one seed")
    ax.errorbar(
        mean.index,
        mean.values,
        yerr=sd.values,
        marker="o",
        capsize=3,
        color=method_color(method) if method else "C3",
        label="mean ± sd",
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(mean.index)
    ax.set_xticklabels([str(c) for c in mean.index])
    ax.set_xlabel("PCA components")
    ax.set_ylabel("clustering accuracy (fraction)")
    ax.set_title(title, fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_denoise_examples(examples: dict[float, dict[str, np.ndarray]], path) -> None:
    """The study's Table 1: one row per noise rate, one column per version (clean, noisy,
    3x3 median, autoencoder), each cell the same example images side by side.

    ``examples``: rate -> what :func:`aeclust.denoise.evaluate` returns as examples."""
    rates = sorted(examples)
    k = len(examples[rates[0]]["labels"])
    fig, axes = plt.subplots(
        len(rates),
        len(LEGIBILITY),
        figsize=(len(LEGIBILITY) * 0.45 * k + 0.8, 0.5 * len(rates) + 0.7),
        squeeze=False,
        layout="constrained",
    )
    for row, rate in zip(axes, rates):
        for ax, version in zip(row, LEGIBILITY):
            pad = ((1, 1), (1, 1), *(((0, 0),) if examples[rate][version].ndim == 4 else ()))  # colour [n, H, W, C]
            strip = np.concatenate([np.pad(im, pad, constant_values=1.0) for im in examples[rate][version]], axis=1)
            ax.imshow(strip, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"p = {rate:g}", rotation=0, ha="right", va="center")
    for ax, version in zip(axes[0], LEGIBILITY):
        ax.set_title(LABELS[version], fontsize=10)
    seed = int(examples[rates[0]]["seed"])
    fig.suptitle(
        f"De-noising at noise rate p (fraction of pixels replaced by a random grey level); seed {seed}", fontsize=10
    )
    save_figure(fig, path)


def plot_denoise_curves(table: pd.DataFrame, path) -> None:
    """PSNR and legibility (supervised classifier accuracy) against noise rate, mean ± sd over seeds.

    Without legibility scores in ``table`` (images without labels) the right panel is SSIM."""
    colours = {"clean": "0.3", "noisy": "C7", "median": "C0", "denoised": "C3"}
    p = table["rate"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for v in VERSIONS:
        left.errorbar(
            p,
            table[f"psnr_{v}_mean"],
            yerr=table[f"psnr_{v}_sd"],
            marker="o",
            capsize=3,
            color=colours[v],
            label=LABELS[v],
        )
    left.set_ylabel("PSNR against the clean image (dB)")
    if has_legibility(table):
        for v in LEGIBILITY:
            right.errorbar(
                p,
                table[f"accuracy_{v}_mean"],
                yerr=table[f"accuracy_{v}_sd"],
                marker="o",
                capsize=3,
                color=colours[v],
                label=LABELS[v],
                linestyle="--" if v == "clean" else "-",
            )
        right.axvspan(0.5, 0.6, color="0.9", zorder=0, label="study: legible up to ~50 %,\nunclear at 60 %")
        right.set_ylabel("legibility: classifier accuracy (fraction)")
    else:  # no labels, no classifier: how alike the structures are instead
        for v in VERSIONS:
            right.errorbar(
                p,
                table[f"ssim_{v}_mean"],
                yerr=table[f"ssim_{v}_sd"],
                marker="o",
                capsize=3,
                color=colours[v],
                label=LABELS[v],
            )
        right.set_ylabel("SSIM against the clean image")
    right.set_ylim(0, 1)
    for ax in (left, right):
        ax.set_xlabel("noise rate p")
        ax.set_xticks(p)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(
        f"De-noising, mean ± sd over {int(table['seeds'].iloc[0])} seeds, {int(table['n'].iloc[0])} held-out images",
        fontsize=10,
    )
    save_figure(fig, path)


def plot_accuracy(
    records: list[dict],
    methods: list[str],
    study: dict[str, float],
    path,
    title: str,
    note: str | None = None,
    noun: str = "digit",
) -> None:
    """Accuracy per method: every seed, mean ± sd over seeds, and the study's number where it reported one.

    ``records``: metrics dicts (method, seed, accuracy); ``methods``: the order, top to bottom;
    ``study``: the study's numbers to mark (empty where the experiment is not the study's,
    then ``note`` says why, under the title); ``noun``: what a class is (:func:`class_noun`).
    """
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(methods) + 1.6))
    y = np.arange(len(methods))[::-1]
    study_shown = False
    for yi, method in zip(y, methods):
        acc = np.array([r["accuracy"] for r in records if r["method"] == method], dtype=float)
        color = method_color(method)
        sd = acc.std(ddof=1) if len(acc) > 1 else 0.0
        ax.errorbar(acc.mean(), yi, xerr=sd, fmt="o", ms=8, capsize=5, lw=2, color=color, zorder=3)
        ax.scatter(acc, np.full(len(acc), yi - 0.22), s=14, color=color, alpha=0.7, zorder=2)
        ax.annotate(f"{acc.mean():.3f}", (acc.mean(), yi + 0.18), ha="center", va="bottom", fontsize=8)
        if method in study:
            ax.scatter(
                [study[method]],
                [yi],
                marker="D",
                s=60,
                facecolor="none",
                edgecolor="black",
                lw=1.5,
                zorder=4,
                label=None if study_shown else "study's reported value (one run)",
            )
            ax.annotate(
                f"study {study[method]:.4f}", (1.01, yi), xycoords=("axes fraction", "data"), va="center", fontsize=8
            )
            study_shown = True
    ax.errorbar([], [], xerr=[], fmt="o", color="0.4", capsize=5, label="mean ± sd over seeds")
    ax.scatter([], [], s=14, color="0.4", alpha=0.7, label="one seed")
    ax.set_yticks(y)
    ax.set_yticklabels([describe(m) for m in methods])
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.8, len(methods) - 0.3)
    ax.set_xlabel(f"accuracy (fraction of images; clusters aligned to {plural(noun)} by Hungarian matching)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8, frameon=False)
    ax.set_title(title if not note else f"{title}\n{note}", fontsize=10 if not note else 8, wrap=True)
    save_figure(fig, path)


def plot_training(histories: dict[int, pd.DataFrame], epochs: int, path) -> None:
    """Training loss per epoch of the autoencoder trained for ``epochs`` epochs, one line per seed."""
    color = ae_hue(epochs)
    fig, ax = plt.subplots(figsize=(6, 4))
    markers = "osD^vP*X"
    for i, (seed, h) in enumerate(sorted(histories.items())):
        ax.plot(
            h["epoch"],
            h["loss"],
            marker=markers[i % len(markers)],
            ms=5,
            color=color,
            alpha=0.85,
            linestyle=("-", "--", ":", "-.")[i % 4],
            label=f"seed {seed}: final {h['loss'].iloc[-1]:.4f}",
        )
    ax.set_yscale("log")
    plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_locator(ticker.LogLocator(subs=(2, 3, 5)))
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss: mean squared error per pixel\n(intensities scaled to [0, 1]; log scale)")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(f"Autoencoder trained for {epochs} epochs: loss per epoch, {len(histories)} seeds", fontsize=10)
    save_figure(fig, path)


def plot_embeddings(
    points: np.ndarray, labels: np.ndarray, explained: np.ndarray, path, title: str, noun: str = "digit", names=None
) -> None:
    """A 2-D view (first two principal components) of a feature set, coloured by class.

    ``noun``: what a class is (:func:`class_noun`); ``names``: class id -> name (a user's
    classes). Images without labels (all ids negative) are drawn in one colour, unnamed."""
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    cmap = plt.get_cmap("tab10")
    if (labels < 0).all():
        ax.scatter(points[:, 0], points[:, 1], s=12, color=PIXEL_HUE, alpha=0.6, linewidths=0)
    else:
        for c in np.unique(labels):
            at = labels == c
            ax.scatter(
                points[at, 0],
                points[at, 1],
                s=12,
                color=cmap(int(c) % 10),
                alpha=0.6,
                label=_class_name(c, names),
                linewidths=0,
            )
        for c in np.unique(labels):
            cx, cy = np.median(points[labels == c], axis=0)
            ax.text(
                cx,
                cy,
                _class_name(c, names),
                fontsize=14 if names is None else 10,
                fontweight="bold",
                ha="center",
                va="center",
                color=cmap(int(c) % 10),
                path_effects=[patheffects.withStroke(linewidth=3, foreground="white")],
            )
        ax.legend(
            title=noun, fontsize=8, title_fontsize=8, markerscale=1.5, loc="center left", bbox_to_anchor=(1.0, 0.5)
        )
    ax.set_xlabel(f"principal component 1 ({100 * explained[0]:.1f} % of variance)")
    ax.set_ylabel(f"principal component 2 ({100 * explained[1]:.1f} % of variance)")
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    save_figure(fig, path)


def samples_title(n: int, total: int, noun: str, labelled: bool = True) -> str:
    """The sample grid's title: the first ``n`` images of each class (or of all, without labels)."""
    each = f"of each {noun}" if labelled else "images"
    return f"Training subset: the first {n} {each} ({total} images in all)"


def plot_samples(
    images: np.ndarray, labels: np.ndarray, per_class: int, path, title: str, names=None, unlabelled_rows: int = 5
) -> None:
    """A grid of images (uint8 intensities, grey or RGB in colour): one row per class, its
    first ``per_class`` images, the row named by the class (``names``: class id -> name).
    Without labels (all ids negative): ``unlabelled_rows`` unnamed rows of the first images."""
    if (labels < 0).all():
        n = min(len(labels), per_class * unlabelled_rows)
        rows = [np.arange(i, min(i + per_class, n)) for i in range(0, n, per_class)]
        names_of_rows = [""] * len(rows)
    else:
        classes = np.unique(labels)
        rows = [np.flatnonzero(labels == c)[:per_class] for c in classes]
        names_of_rows = [_class_name(c, names) for c in classes]
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(0.6 * per_class + 0.6, 0.62 * len(rows) + 0.5), squeeze=False, layout="constrained"
    )
    if images.ndim == 4:  # colour [N, C, H, W] -> [N, H, W, C]
        images = np.moveaxis(images, 1, 3)
    for ax, idx, name in zip(axes[:, 0], rows, names_of_rows):
        picked = images[idx].astype(float)
        pad = np.full((len(picked), images.shape[1], 2, *images.shape[3:]), 255.0)  # a white gap between images
        strip = np.concatenate([np.concatenate([im, p], axis=1) for im, p in zip(picked, pad)], axis=1)[:, :-2]
        shown = strip if strip.ndim == 2 else strip.astype(np.uint8)  # colour: RGB as it is
        ax.imshow(
            shown, cmap="gray", vmin=0, vmax=255, interpolation="nearest"
        )  # white ink on black, as the de-noising grid
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=11)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
