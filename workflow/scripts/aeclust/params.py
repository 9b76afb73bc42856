"""Rule params built from the resolved configuration (:func:`aeclust.config.load_config`): the
settings a rule's jobs act on, each by one small function, so that a job reruns exactly
when one of its own settings changes.

Standard library only: the workflow loads this file by its path at parse time.
"""

from __future__ import annotations


def deskews(cfg: dict) -> bool:
    """Whether the subsets are deskewed: ``subsets.deskew``, unless the dataset's entry says its
    images have no slant to undo (``datasets.<name>.deskew: false``, e.g. clothes)."""
    return bool(cfg["subsets"]["deskew"]) and cfg["datasets"][cfg["dataset"]].get("deskew", True)


def subsets_settings(cfg: dict) -> dict:
    """make_subsets' draw settings: ``subsets`` without ``deskew`` (its own param, as it acts)."""
    return {k: v for k, v in cfg["subsets"].items() if k != "deskew"}


def selflabel_settings(cfg: dict) -> dict:
    """The self-labeling rule's settings: ``selflabel`` without the keys that pick its jobs
    (enabled, from), the dataset's own augmentation (``datasets.<name>.augment``, e.g.
    horizontal flips for clothes) over ``selflabel.augment``."""
    sl = cfg["selflabel"]
    settings = {k: v for k, v in sl.items() if k not in ("enabled", "from")}
    settings["augment"] = {**sl["augment"], **cfg["datasets"][cfg["dataset"]].get("augment", {})}
    return settings
