"""Method ids, parsed in one place.

A method id is ``classifier`` (the supervised reference) or ``<algo>/<features>``:
algo ``kmeans`` | ``gmm``; features ``raw`` (pixels) or ``ae_e<E>`` (the embeddings of
the autoencoder trained for E epochs), optionally followed by ``_pca<N>`` (N principal
components) or ``_umap`` (a UMAP embedding). Examples: ``kmeans/raw``,
``kmeans/ae_e20_pca32``, ``gmm/ae_e80_umap``. A self-labeled method names the
clustering it starts from: ``selflabel/gmm_ae_e80_umap`` (a CNN trained on the confident
part of ``gmm/ae_e80_umap``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLASSIFIER = "classifier"
_ID = re.compile(r"(?P<algo>[a-z]+)/(?:(?P<raw>raw)|ae_e(?P<epochs>\d+))(?:_pca(?P<pca>\d+)|_(?P<umap>umap))?")
ALGORITHMS = {"kmeans": "K-Means", "gmm": "GMM"}
SELFLABEL = "selflabel"


@dataclass(frozen=True)
class Method:
    id: str
    algo: str | None  # None for the classifier
    epochs: int | None  # None: pixels (or the classifier)
    pca: int | None = None
    umap: bool = False
    source: str | None = None  # selflabel: the clustering it relabels

    @property
    def supervised(self) -> bool:
        return self.id == CLASSIFIER

    @property
    def base(self) -> str:
        """The feature set it starts from: ``raw`` or ``ae_e<E>`` (``classifier`` for the classifier)."""
        if self.supervised:
            return CLASSIFIER
        return "raw" if self.epochs is None else f"ae_e{self.epochs}"

    @property
    def plain(self) -> str:
        """The id of the same algorithm on the base features, without PCA or UMAP."""
        if self.source is not None:
            return parse(self.source).plain
        return self.id if self.supervised else f"{self.algo}/{self.base}"


def parse(method: str) -> Method:
    """The parts of a method id; ValueError naming the id for anything else."""
    if method == CLASSIFIER:
        return Method(CLASSIFIER, None, None)
    if method.startswith(SELFLABEL + "/"):
        src = parse(method[len(SELFLABEL) + 1 :].replace("_", "/", 1))
        if src.supervised or src.source is not None:
            raise ValueError(f"method id {method!r}: self-labeling starts from a clustering, not {src.id!r}")
        return Method(method, SELFLABEL, src.epochs, src.pca, src.umap, source=src.id)
    m = _ID.fullmatch(method)
    if not m:
        raise ValueError(f"method id {method!r}: expected 'classifier' or '<algo>/(raw|ae_e<E>)[_pca<N>|_umap]'")
    return Method(
        method, m["algo"], None if m["raw"] else int(m["epochs"]), int(m["pca"]) if m["pca"] else None, bool(m["umap"])
    )


def features_text(method: Method) -> str:
    """``pixels``, ``AE 20 epochs``, ``AE 20 epochs + PCA 32``, ``pixels + UMAP`` ..."""
    text = "pixels" if method.epochs is None else f"AE {method.epochs} epochs"
    if method.pca is not None:
        text += f" + PCA {method.pca}"
    if method.umap:
        text += " + UMAP"
    return text


def describe(method: str) -> str:
    """Human-readable name of a method id such as ``kmeans/ae_e20_pca32``."""
    m = parse(method)
    if m.supervised:
        return "supervised MLP (reference)"
    if m.source is not None:
        return f"Self-labeled CNN from {describe(m.source)}"
    return f"{ALGORITHMS.get(m.algo, m.algo)} on {features_text(m)}"
