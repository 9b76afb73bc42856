"""A user's own images in the config: parse-time checks name the setting, before any job runs."""

from __future__ import annotations

import os
import shutil

import pytest
from aeclust.config import ConfigError
from conftest import dry_run_jobs, load_config, overlay, snakemake
from imagegen import make_folder

IMAGES = """
dataset: shapes
datasets:
  shapes: {{source: folder, path: {path}, skip_unreadable: true{extra}}}
subsets:
  cluster: {{split: all, per_class: null}}
  train: {{split: all, per_class: null, exclude_cluster: false}}
denoise: {{enabled: false}}
{more}
"""


def images_config(tmp_path, path, extra="", more=""):
    return overlay(tmp_path, IMAGES.format(path=path, extra=extra, more=more))


def load_images_config(path, extra="", more="", **kw):
    """The loader on config/tiny.yaml and the images overlay, in this process."""
    return load_config(IMAGES.format(path=path, extra=extra, more=more), **kw)


def config_error(path, extra="", more="", **kw) -> str:
    with pytest.raises(ConfigError) as exc:
        load_images_config(path, extra, more, **kw)
    assert all(line.startswith("config error at ") for line in str(exc.value).splitlines())
    return str(exc.value)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("img") / "shapes"
    make_folder(root, per_class=4)
    return root


CASES = [
    ("nowhere", "", "", "datasets/shapes/path: 'nowhere' is not a folder"),
    ("{root}", ", labels: none", "", "kmeans/k: required for shapes, which has no labels"),
    ("{root}", ", labels: csv", "", "datasets/shapes/labels_csv: required with labels: csv"),
    ("{root}", ", labels: array", "", "datasets/shapes/labels: 'array' does not apply to source folder"),
    (
        "{root}",
        "",
        "subsets: {cluster: {split: test}}",
        "subsets/cluster/split: test, but datasets/shapes/holdout is 0",
    ),
    (
        "{root}",
        ", labels: none",
        "kmeans: {k: 3}\ndenoise: {enabled: true}",
        "denoise/enabled: de-noisers are scored on held-out images, and shapes has none: set datasets/shapes/holdout",
    ),
    (
        "{root}",
        ", holdout: 0.25",
        "subsets: {train: {split: all, exclude_cluster: false}}\ndenoise: {enabled: true}",
        "denoise/enabled: de-noisers are scored on the clustering images, which may be training images here",
    ),
]


@pytest.mark.parametrize("path,extra,more,message", CASES, ids=[c[3][:40] for c in CASES])
def test_bad_image_settings_fail_at_once(shapes, path, extra, more, message):
    assert message in config_error(path.format(root=shapes), extra, more)


def test_single_class_folder_fails_at_once(tmp_path):
    root = tmp_path / "one"
    make_folder(root, per_class=2, corrupt=False)
    for cls in ("green", "blue"):
        shutil.rmtree(root / cls)
    assert "has a single class sub-folder" in config_error(root)


def test_labels_and_k_come_from_the_folder_at_parse_time(shapes):
    got = load_images_config(shapes)
    assert got["datasets"]["shapes"]["labels"] == "folders" and got["kmeans"]["k"] == 3


@pytest.mark.e2e
def test_labels_and_k_come_from_the_folder(tmp_path, shapes):
    """Class sub-folders: labelled, k = 3 classes; a flat folder: no labels, no label metrics."""
    jobs = dry_run_jobs(tmp_path, configfile=images_config(tmp_path, shapes))
    assert jobs["import_images"] == 1 and "download_dataset" not in jobs
    assert jobs["align_clusters"] > 0 and jobs["train_classifier"] == 2


def test_resolve_dataset_fills_labels_and_k(tmp_path, shapes):
    import numpy as np
    from aeclust import config

    def resolved(ds, k=None):
        cfg = {"dataset": "x", "datasets": {"x": ds}, "kmeans": {"k": k}}
        config.resolve_dataset(cfg)
        return cfg["datasets"]["x"].get("labels"), cfg["kmeans"]["k"]

    assert resolved({"source": "folder", "path": str(shapes), "labels": "auto"}) == ("folders", 3)
    assert resolved({"source": "folder", "path": str(shapes), "labels": "none"}, k=5) == ("none", 5)
    assert resolved({"source": "idx", "labels": "auto"}) == ("auto", 10)  # MNIST: 10 digits
    csv = tmp_path / "l.csv"
    csv.write_text("file,label\na.png,x\nb.png,y\nc.png,y\n")
    assert resolved({"source": "folder", "path": str(shapes), "labels": "auto", "labels_csv": str(csv)}) == ("csv", 2)
    np.savez(tmp_path / "a.npz", images=np.zeros((6, 4, 4)), labels=np.array([0, 1, 2, 3, 0, 1]))
    assert resolved({"source": "array", "path": str(tmp_path / "a.npz"), "labels": "auto"}) == ("array", 4)
    np.savez(tmp_path / "b.npz", images=np.zeros((6, 4, 4)))
    assert resolved({"source": "array", "path": str(tmp_path / "b.npz"), "labels": "auto"}, k=2) == ("none", 2)


@pytest.mark.e2e
def test_without_labels_the_dag_leaves_out_what_needs_them(tmp_path):
    flat = tmp_path / "flat"
    make_folder(flat, per_class=2, sub_folders=False)
    jobs = dry_run_jobs(tmp_path, configfile=images_config(tmp_path, flat, more="kmeans: {k: 3}"))
    assert (
        not {"align_clusters", "train_classifier", "summarize", "pca_sweep", "plot_confusion", "plot_accuracy"}
        & jobs.keys()
    )
    # a grid per method: tiny's 6 clusterings and its self-labeling of gmm/ae_e2_umap
    assert jobs["clusters_table"] == 1 and jobs["internal_criteria"] == 1 and jobs["plot_cluster_grid"] == 6 + 1
    assert jobs["import_images"] == 1 and jobs["cluster_kmeans"] == 10


@pytest.mark.e2e
def test_mnist_dag_gains_only_clusters_csv(tmp_path):
    jobs = dry_run_jobs(tmp_path)
    assert jobs["clusters_table"] == 1
    assert not {"import_images", "internal_criteria", "plot_cluster_grid"} & jobs.keys()


# --- defaults for a user's own images: every image clustered and trained on, unless set ---

NO_HELD_OUT = {
    "subsets/cluster/split": "all",
    "subsets/cluster/per_class": None,
    "subsets/train/split": "all",
    "subsets/train/per_class": None,
    "subsets/train/exclude_cluster": False,
    "denoise/enabled": False,
}
HELD_OUT = {
    "subsets/cluster/split": "test",
    "subsets/cluster/per_class": None,
    "subsets/train/split": "train",
    "subsets/train/per_class": None,
    "subsets/train/exclude_cluster": True,
    "denoise/enabled": False,
}


def test_own_image_defaults_follow_the_held_out_part(tmp_path):
    import numpy as np
    from aeclust import config

    def defaults(ds, user=None):
        return config.own_image_defaults({"dataset": "x", "datasets": {"x": ds}}, user or {})

    assert defaults({"source": "idx"}) == {} and defaults({}) == {}  # MNIST, Fashion-MNIST: the study's, untouched
    assert defaults({"source": "folder", "path": "p", "holdout": 0.0}) == NO_HELD_OUT
    assert defaults({"source": "folder", "path": "p", "holdout": 0.2}) == HELD_OUT
    np.savez(tmp_path / "split.npz", images=np.zeros((4, 4, 4)), split=np.array(["train", "train", "test", "train"]))
    np.savez(tmp_path / "plain.npz", images=np.zeros((4, 4, 4)))
    np.save(tmp_path / "plain.npy", np.zeros((4, 4, 4)))
    assert defaults({"source": "array", "path": str(tmp_path / "split.npz"), "holdout": 0.0}) == HELD_OUT
    assert defaults({"source": "array", "path": str(tmp_path / "plain.npz"), "holdout": 0.0}) == NO_HELD_OUT
    assert defaults({"source": "array", "path": str(tmp_path / "plain.npy"), "holdout": 0.0}) == NO_HELD_OUT
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    assert defaults({"source": "array", "path": str(tmp_path / "broken.npz"), "holdout": 0.0}) == NO_HELD_OUT


def test_what_the_user_set_wins_over_own_image_defaults():
    from aeclust import config

    cfg = {"dataset": "x", "datasets": {"x": {"source": "folder", "path": "p", "holdout": 0.0}}}
    user = {"subsets": {"cluster": {"per_class": 5}, "train": {"exclude_cluster": True}}, "denoise": {"enabled": True}}
    got = config.own_image_defaults(cfg, user)
    assert got == {
        k: v
        for k, v in NO_HELD_OUT.items()
        if k not in ("subsets/cluster/per_class", "subsets/train/exclude_cluster", "denoise/enabled")
    }
    # a key set to null is set (null is a value); a whole section set counts for its keys only
    assert "subsets/cluster/per_class" not in config.own_image_defaults(
        cfg, {"subsets": {"cluster": {"per_class": None}}}
    )
    assert config.is_set({"a": {"b": 1}}, "a/b") and not config.is_set({"a": {"b": 1}}, "a/c")
    assert not config.is_set({"a": 3}, "a/b") and not config.is_set({}, "a")
    target = {"subsets": {"cluster": {"split": "test"}}}
    config.set_path(target, "subsets/cluster/split", "all")
    config.set_path(target, "denoise/enabled", False)
    assert target == {"subsets": {"cluster": {"split": "all"}}, "denoise": {"enabled": False}}


def tiny_without_subsets(tmp_path):
    """config/tiny.yaml without its subsets and de-noising keys: what a user's own file leaves out."""
    import yaml
    from conftest import TINY

    cfg = yaml.safe_load(TINY.read_text())
    cfg.pop("subsets")
    cfg["denoise"].pop("enabled", None)
    base = tmp_path / "tiny_no_subsets.yaml"
    base.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return base


OWN = """
dataset: shapes
datasets:
  shapes: {{source: folder, path: {path}, skip_unreadable: true{extra}}}
"""


def subset_sizes(results, seed=0):
    import numpy as np

    out = {}
    for name in ("cluster", "train"):
        with np.load(results / "subsets" / f"{name}_s{seed}.npz") as z:
            out[name] = (len(z["labels"]), sorted(set(z["split"].tolist())), set(z["source"].tolist()))
    return out


@pytest.mark.e2e
def test_a_folder_config_without_subsets_clusters_every_image(tmp_path):
    """No `subsets:` and no `denoise:` in the user's files: the DAG has no de-noising, and the
    subsets drawn (a real run of make_subsets) hold every image, clustered and trained on."""
    truth = make_folder(tmp_path / "shapes", per_class=4)  # 12 readable images and a corrupt one
    files = overlay(tmp_path, OWN.format(path="shapes", extra=""), base=tiny_without_subsets(tmp_path))
    jobs = dry_run_jobs(tmp_path, configfile=files)
    assert jobs["import_images"] == 1 and jobs["make_subsets"] == 2
    assert not {"train_denoiser", "evaluate_denoiser", "summarize_denoising"} & jobs.keys()
    results = tmp_path / "results" / "shapes" / "tiny"
    snakemake(tmp_path, "--cores", "1", "results/shapes/tiny/subsets/cluster_s0.npz", configfile=files)
    sizes = subset_sizes(results)
    assert sizes["cluster"] == sizes["train"] == (12, ["train"], set(truth))


@pytest.mark.e2e
def test_a_folder_with_holdout_clusters_the_held_out_part(tmp_path):
    """holdout 0.25 and no `subsets:`: the held-out quarter is clustered, the networks train on
    the rest (disjoint, together every image); de-noising stays off unless asked for, and
    asked for it runs on those held-out images."""
    truth = make_folder(tmp_path / "shapes", per_class=4, corrupt=False)
    files = overlay(tmp_path, OWN.format(path="shapes", extra=", holdout: 0.25"), base=tiny_without_subsets(tmp_path))
    assert "train_denoiser" not in dry_run_jobs(tmp_path, configfile=files)
    results = tmp_path / "results" / "shapes" / "tiny"
    snakemake(tmp_path, "--cores", "1", "results/shapes/tiny/subsets/cluster_s0.npz", configfile=files)
    sizes = subset_sizes(results)
    assert sizes["cluster"][:2] == (3, ["test"]) and sizes["train"][:2] == (9, ["train"])  # one per class held out
    assert not sizes["cluster"][2] & sizes["train"][2] and sizes["cluster"][2] | sizes["train"][2] == set(truth)
    asked = [*files, overlay(tmp_path, "denoise: {enabled: true}")[1]]
    jobs = dry_run_jobs(tmp_path, configfile=asked)
    assert jobs["train_denoiser"] == jobs["evaluate_denoiser"] == 2  # 2 rates x 2 seeds, one job per seed


@pytest.mark.e2e
def test_what_the_user_sets_on_the_command_line_wins(tmp_path):
    """--config is the user's layer too: 2 images per class clustered, the rest keep the defaults."""
    make_folder(tmp_path / "shapes", per_class=4, corrupt=False)
    files = overlay(tmp_path, OWN.format(path="shapes", extra=""), base=tiny_without_subsets(tmp_path))
    results = tmp_path / "results" / "shapes" / "tiny"
    snakemake(
        tmp_path,
        "--cores",
        "1",
        "results/shapes/tiny/subsets/cluster_s0.npz",
        "--config",
        'subsets={"cluster": {"per_class": 2}}',
        configfile=files,
    )
    sizes = subset_sizes(results)
    assert sizes["cluster"][:2] == (6, ["train"]) and sizes["train"][0] == 12  # 2 of each class; training on all


@pytest.mark.e2e
def test_own_image_defaults_through_a_host_workflow(tmp_path):
    """As a module with `config:`, the host's config is the user's layer: its one subsets
    setting wins (2 images per class clustered), the rest take the own-images defaults."""
    import yaml
    from conftest import REPO

    make_folder(tmp_path / "shapes", per_class=4, corrupt=False)
    cfg = yaml.safe_load(tiny_without_subsets(tmp_path).read_text())
    cfg.update(yaml.safe_load(OWN.format(path="shapes", extra="")), subsets={"cluster": {"per_class": 2}})
    (tmp_path / "host.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    host = tmp_path / "Snakefile"
    host.write_text(
        f'configfile: "host.yaml"\n\n\nmodule aeclust:\n    snakefile: {str(REPO / "workflow" / "Snakefile")!r}\n'
        "    config: config\n\n\nuse rule * from aeclust\n"
    )
    results = tmp_path / "results" / "shapes" / "tiny"
    snakemake(tmp_path, "--cores", "1", "results/shapes/tiny/subsets/cluster_s0.npz", configfile=None, snakefile=host)
    sizes = subset_sizes(results)
    assert sizes["cluster"][:2] == (6, ["train"]) and sizes["train"][:2] == (12, ["train"])


def test_an_array_without_a_split_has_no_test_split(tmp_path):
    """An .npy holds no split and holdout is 0: asking to cluster its test split fails at parse time."""
    import numpy as np

    np.save(tmp_path / "x.npy", np.zeros((12, 8, 8), dtype=np.uint8))
    text = (
        f"dataset: arr\ndatasets:\n  arr: {{source: array, path: {tmp_path / 'x.npy'}}}\nkmeans: {{k: 2}}\n"
        "subsets: {cluster: {split: test}}\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_config(text, base=tiny_without_subsets(tmp_path))
    assert (
        "config error at subsets/cluster/split: test, but datasets/arr/holdout is 0 and x.npy holds no split array"
        in str(exc.value)
    )


@pytest.mark.e2e
def test_the_readme_config_runs_as_written(tmp_path):
    """README "Your own images": its copy-paste config alone (no subsets, no denoise) plans
    the DAG on a folder of class sub-folders and clusters every image."""
    import re

    import yaml
    from conftest import REPO

    section = (REPO / "README.md").read_text().split("## Your own images", 1)[1]
    text = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    cfg = yaml.safe_load(text)
    assert "subsets" not in cfg and "denoise" not in cfg
    truth = make_folder(tmp_path / "pets", per_class=4, corrupt=False)  # as written: unreadable files stop the import
    (tmp_path / "my_images.yaml").write_text(text)
    jobs = dry_run_jobs(tmp_path, configfile=tmp_path / "my_images.yaml")
    assert jobs["import_images"] == 1 and jobs["make_subsets"] == 3 and "train_denoiser" not in jobs
    assert (
        jobs["train_classifier"] == 3 and jobs["plot_cluster_grid"] == 4
    )  # labelled, 3 seeds; raw, ae_e5, ae_e20, ae_e20_pca32
    # the run's folder is the one the README names: the config's experiment, else the default's
    experiment = cfg.get("experiment") or yaml.safe_load((REPO / "config" / "config.yaml").read_text())["experiment"]
    assert f"results/{cfg['dataset']}/{experiment}/clusters.csv" in section
    snakemake(
        tmp_path,
        "--cores",
        "1",
        f"results/pets/{experiment}/subsets/cluster_s0.npz",
        configfile=tmp_path / "my_images.yaml",
    )
    sizes = subset_sizes(tmp_path / "results" / "pets" / experiment)
    assert sizes["cluster"] == sizes["train"] == (12, ["train"], set(truth))


# --- one file-discovery rule for parse time and import: empty folders, k, symbolic links ---


def test_an_empty_folder_is_refused_naming_it(tmp_path):
    """An empty folder (or one whose sub-folders hold no image) fails at parse time, saying so,
    not asking for kmeans.k (its labels are none because it has no images)."""
    empty = tmp_path / "empty"
    (empty / "cats").mkdir(parents=True)
    (empty / "notes.txt").write_text("no images here")
    (empty / ".hidden.png").write_bytes(b"")
    message = config_error(empty)
    assert message == (
        f"config error at datasets/shapes/path: {empty} holds no image files "
        "(png, jpg, jpeg, tif, tiff, bmp) in it or below it"
    )
    assert "kmeans/k" not in config_error(empty, ", labels: none")
    assert "holds no image files" in config_error(empty, more="kmeans: {k: 3}")


def test_more_clusters_than_images_is_refused_naming_the_folder(shapes):
    """shapes holds 12 readable images and a corrupt one: 13 image files, as the import lists them."""
    assert config_error(shapes, more="kmeans: {k: 14}") == (
        f"config error at kmeans/k: 14 clusters for the 13 images in {shapes} (allowed: 2..13)"
    )
    assert load_images_config(shapes, more="kmeans: {k: 13}")["kmeans"]["k"] == 13


@pytest.fixture
def linked(tmp_path):
    """A folder of two classes whose third class is a link to a folder outside it, plus a link
    inside (to one of its own images), a link to an image outside and a dangling link."""
    outside = tmp_path / "outside"
    make_folder(outside, per_class=2, corrupt=False)
    root = tmp_path / "linked"
    make_folder(root, per_class=2, corrupt=False)
    shutil.rmtree(root / "blue")
    os.symlink(outside / "blue", root / "blue")  # a whole class from outside: skipped
    os.symlink(outside / "red" / "000.png", root / "red" / "far.png")  # outside: skipped
    os.symlink(root / "red" / "001.png", root / "red" / "near.png")  # inside: followed
    os.symlink(root / "green", root / "red" / "greens")  # a folder inside: followed
    os.symlink(root / "red", root / "red" / "loop")  # its own folder: skipped (it would never end)
    os.symlink(root / "gone.png", root / "green" / "dangling.png")  # nowhere: skipped
    return root


def test_symbolic_links_follow_one_rule(linked):
    from aeclust.discover import discover

    found = discover(linked)
    assert [f.as_posix() for f in found.files] == [
        "green/000.png",
        "green/001.png",
        "red/000.png",
        "red/001.png",
        "red/greens/000.png",
        "red/greens/001.png",
        "red/near.png",
    ]
    assert [f.as_posix() for f in found.skipped_links] == [
        "blue",
        "green/dangling.png",
        "red/far.png",
        "red/greens/dangling.png",  # the same link, seen through the followed folder link
        "red/loop",
    ]
    assert found.classes == ["green", "red"]
    assert "5 symbolic links skipped" in found.skipped_note()


def test_parse_time_and_import_see_the_same_images(linked, caplog):
    """The class count at parse time is the import's: the same files, the same classes; the
    skipped links are reported by both."""
    import logging

    from aeclust.discover import discover
    from aeclust.images import image_files, read_folder

    notes = []
    got = load_images_config(linked, note=notes.append)
    assert got["kmeans"]["k"] == 2 and got["datasets"]["shapes"]["labels"] == "folders"
    assert len(notes) == 1 and "5 symbolic links skipped" in notes[0] and str(linked) in notes[0]
    with caplog.at_level(logging.WARNING, logger="aeclust"):
        data = read_folder(linked, labels="folders")
    assert "5 symbolic links skipped" in caplog.text
    assert image_files(linked) == discover(linked).paths
    assert data.label_names == discover(linked).classes and len(data.source) == len(discover(linked).files) == 7
    assert config_error(linked, more="kmeans: {k: 8}").startswith(
        "config error at kmeans/k: 8 clusters for the 7 images"
    )


@pytest.mark.e2e
def test_snakemake_refuses_an_empty_folder_before_any_job(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = snakemake(tmp_path, "-n", configfile=images_config(tmp_path, tmp_path / "empty"), check=False)
    assert proc.returncode != 0
    shown = proc.stdout + proc.stderr
    assert f"config error at datasets/shapes/path: {tmp_path / 'empty'} holds no image files" in shown
    assert "kmeans/k" not in shown and not (tmp_path / "results").exists()


def test_folder_state_changes_when_an_image_is_replaced_in_place(tmp_path):
    """Overwriting an image keeps the folder's own time; the state digest still changes."""
    import os

    from aeclust.discover import discover

    folder = tmp_path / "imgs"
    (folder / "a").mkdir(parents=True)
    img = folder / "a" / "x.png"
    img.write_bytes(b"one")
    (folder / "a" / "y.png").write_bytes(b"two")
    before = discover(folder).state()
    assert discover(folder).state() == before  # stable while nothing changes
    folder_time = os.stat(folder / "a").st_mtime_ns
    img.write_bytes(b"three")  # replaced in place: same name, other bytes
    os.utime(img, ns=(folder_time + 10**9, folder_time + 10**9))
    assert os.stat(folder / "a").st_mtime_ns == folder_time
    assert discover(folder).state() != before
