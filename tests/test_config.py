"""The config loader (aeclust.config.load_config): a wrong value fails before any job runs,
one line naming the key and what is allowed. Called in this process; two end-to-end tests
show that Snakemake stops with the loader's message."""

import copy
import subprocess
import sys

import pytest
import yaml
from aeclust import config as cfgmod
from conftest import REPO, load_config, overlay, snakemake

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
DEFAULTS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())

CASES = [
    (
        "dataset: cifar",
        "config error at dataset: 'cifar' is not described under datasets (known: fashion-mnist, mnist)",
    ),
    ("autoencoder: {epochs: [-5]}", "config error at autoencoder/epochs/0: -5 is less than the minimum of 1"),
    ("autoencoder: {epochs: []}", "config error at autoencoder/epochs: [] should be non-empty"),
    ("pca: {components: 65}", "pca/components: 65 components is more than the embedding allows (allowed: 1..64)"),
    ("pca: {sweep: [2, 128]}", "pca/sweep: 128 components is more than the embedding allows (allowed: 1..64)"),
    (
        "subsets: {cluster: {split: test, per_class: 900}}",
        "subsets/cluster/per_class: 900 is more than the test split holds for every class (allowed: 1..892)",
    ),
    (
        "subsets: {train: {split: test, per_class: 890}}",
        "subsets/train/per_class: 890 is more than the test split holds for every class (allowed: 1..882)",
    ),
    ("kmeans: {n_init: 0}", "config error at kmeans/n_init: 0 is less than the minimum of 1"),
    (
        "kmeans: {n_inits: 3}",
        "config error at kmeans: Additional properties are not allowed ('n_inits' was unexpected)",
    ),
    ("seeds: 3", "config error at seeds: 3 is not of type 'array'"),
    ("device: gpu", "config error at device: 'gpu' is not one of ['auto', 'cpu', 'cuda']"),
    ("pca: {epochs: [7]}", "config error at pca/epochs: [7] not in autoencoder/epochs [1, 2]"),
    (
        "subsets: {train: {split: test, exclude_cluster: false}}",
        "denoise/enabled: de-noisers are scored on the clustering images, which may be training images",
    ),
    # the self-labeling stage's sources (once checked while the DAG was built)
    (
        "selflabel: {from: [gmm/ae_e7_umap]}",
        "config error at selflabel/from: gmm/ae_e7_umap is not a clustering of this config (known: kmeans/raw,",
    ),
    (
        "clustering: {kmeans: [raw, ae]}\nselflabel: {from: [kmeans/raw]}",
        "config error at selflabel/space: 'ae' compares neighbours in the codes of the autoencoder a clustering "
        "used, and kmeans/raw used none (use space raw or source)",
    ),
    ("selflabel: {from: []}", "config error at selflabel/from: empty; name the clusterings to relabel"),
    ("selflabel: {k: 100}", "config error at selflabel/k: 100 neighbours for 100 images (allowed: 1..99)"),
    # what SelfLabelConfig once checked itself: the schema does it for the config
    ("selflabel: {criterion: vote}", "config error at selflabel/criterion: 'vote' is not one of"),
    ("selflabel: {schedule: cosine}", "config error at selflabel/schedule: 'cosine' is not one of"),
    ("selflabel: {threshold: 1.5}", "config error at selflabel/threshold: 1.5 is greater than the maximum of 1"),
    ("selflabel: {rounds: 0}", "config error at selflabel/rounds: 0 is less than the minimum of 1"),
    ("denoise: {rates: [0.2, 0.2000001]}", "config error at denoise/rates: [0.2, 0.2000001] name the same rate twice"),
]


@pytest.mark.parametrize("text,message", CASES, ids=[c[0] for c in CASES])
def test_bad_config_fails_at_once(text, message):
    with pytest.raises(cfgmod.ConfigError) as exc:
        load_config(text)
    assert message in str(exc.value)
    assert all(line.startswith("config error at ") for line in str(exc.value).splitlines())


def test_every_problem_is_one_line_of_its_own():
    with pytest.raises(cfgmod.ConfigError) as exc:
        load_config("pca: {components: 65, epochs: [7]}")
    assert str(exc.value).splitlines() == [
        "config error at pca/components: 65 components is more than the embedding allows (allowed: 1..64)",
        "config error at pca/epochs: [7] not in autoencoder/epochs [1, 2]",
    ]


@pytest.mark.e2e
def test_snakemake_shows_the_loaders_error(tmp_path):
    """The loader's message is what `snakemake -n` prints, before any job: a file's value and a
    nested --config value (a string there) both name their key."""
    proc = snakemake(tmp_path, "-n", configfile=overlay(tmp_path, "pca: {components: 65}"), check=False)
    assert proc.returncode != 0
    assert (
        "config error at pca/components: 65 components is more than the embedding allows" in proc.stdout + proc.stderr
    )
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists()
    proc = snakemake(tmp_path, "-n", "--config", 'kmeans={"n_init": "five"}', check=False)
    assert proc.returncode != 0
    assert "config error at kmeans/n_init: 'five' is not of type 'integer'" in proc.stdout + proc.stderr


@pytest.mark.e2e
def test_default_config_builds_the_full_dag(tmp_path):
    from conftest import dry_run_jobs

    jobs = dry_run_jobs(tmp_path, configfile=None)
    # 2 epoch counts x 3 seeds; raw, ae5, ae20, ae20+pca32 x 3 seeds
    assert jobs["train_autoencoder"] == 6
    assert jobs["cluster_kmeans"] == 12
    assert jobs["train_classifier"] == 3
    assert (
        jobs["download_dataset"] == 1 and jobs["make_subsets"] == 3 and jobs["pca_sweep"] == 1
    )  # a draw per replicate


# --- --config as users type it (Snakemake hands nested values over as strings) ----------


def test_config_values_typed_on_the_command_line():
    got = load_config(
        base=None,
        text="""
seeds: ['0', '1', '2', '3', '4']
kmeans: {n_init: '5'}
download: {timeout: '31', retries: '0'}
""",
    )
    assert got["seeds"] == [0, 1, 2, 3, 4] and got["kmeans"]["n_init"] == 5
    assert got["download"] == {"timeout": 31, "retries": 0} and type(got["download"]["retries"]) is int


def test_config_wrong_type_on_the_command_line_names_the_key():
    with pytest.raises(cfgmod.ConfigError, match=r"^config error at seeds/0: 'a' is not of type 'integer'$"):
        load_config("seeds: ['a']")
    with pytest.raises(cfgmod.ConfigError, match=r"^config error at kmeans/n_init: 'five' is not of type 'integer'$"):
        load_config("kmeans: {n_init: five}")


@pytest.mark.e2e
def test_config_typed_values_equal_the_files(tiny_run):
    """--config values arrive as the same numbers as in the YAML file: the tiny run's own
    n_init (2), typed on the command line, changes no param and so reruns nothing."""
    from conftest import dry_run_jobs

    assert dry_run_jobs(tiny_run, "--config", 'kmeans={"n_init": 2}', "seeds=[0,1]") == {}
    assert dry_run_jobs(tiny_run, "--config", 'kmeans={"n_init": 3}')["cluster_kmeans"] == 10


# --- what the loader returns ---------------------------------------------------------------


def test_the_default_config_loads_as_written():
    got = load_config(base=None)
    mnist = got["datasets"]["mnist"]
    assert {k: v for k, v in got.items() if k != "datasets"} == {
        k: v if k != "kmeans" else {**v, "k": 10} for k, v in DEFAULTS.items() if k != "datasets"
    }  # kmeans.k null -> the 10 digits
    assert mnist["source"] == "idx" and mnist["holdout"] == 0.0  # a dataset entry's keys: the schema's defaults
    assert list(got) == list(DEFAULTS) and list(got["selflabel"]) == list(DEFAULTS["selflabel"])


def test_key_order_is_config_yaml_s_whatever_the_users_file():
    """Snakemake compares dict params in order: a reordered user file must not rerun jobs."""
    text = "selflabel: {augment: {hflip: true, rotation: 5}, k: 7}\nsubsets: {train: {per_class: 20}, seed: 3}"
    got = load_config(text, base=None)
    reordered = load_config(
        "subsets: {seed: 3, train: {per_class: 20}}\nselflabel: {k: 7, augment: {rotation: 5, hflip: true}}", base=None
    )
    assert got == reordered
    for a, b in (
        (got, DEFAULTS),
        (got["subsets"], DEFAULTS["subsets"]),
        (got["selflabel"]["augment"], DEFAULTS["selflabel"]["augment"]),
    ):
        assert list(a) == list(b)


def test_the_presets_load():
    for name in ("tiny", "full"):
        got = load_config(base=REPO / "config" / f"{name}.yaml")
        assert got["experiment"] == name and got["kmeans"]["k"] == 10
    assert load_config("dataset: fashion-mnist", base=REPO / "config" / "full.yaml")["dataset"] == "fashion-mnist"


def test_the_loader_imports_neither_snakemake_nor_torch_nor_numpy():
    """Loaded by its file path, as the workflow does at parse time (its sibling discover.py too)."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('cfg', {str(REPO / 'workflow/scripts/aeclust/config.py')!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "c = m.load_config({})\n"
        "assert c['kmeans']['k'] == 10, c['kmeans']\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'snakemake', 'torch', 'numpy', 'aeclust'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- each default written once ---------------------------------------------------------------


def _defaults_in(schema, path=()):
    if isinstance(schema, dict):
        if "default" in schema and path and path[-2:-1] == ("properties",):
            yield "/".join(path)
        for key, sub in schema.items():
            yield from _defaults_in(sub, (*path, str(key)))


def test_only_a_dataset_entrys_keys_have_a_schema_default():
    """config/config.yaml holds every other default; a `default:` in the schema would be a second copy."""
    entry = "properties/datasets/additionalProperties/properties/"
    found = list(_defaults_in(SCHEMA))
    assert found and all(p.startswith(entry) for p in found), [p for p in found if not p.startswith(entry)]


def test_config_yaml_is_valid_and_complete():
    """Every key of config/config.yaml is one the schema knows (it passes with additionalProperties: false)."""
    assert cfgmod.schema_problem(copy.deepcopy(DEFAULTS), SCHEMA) is None
    assert cfgmod.schema_problem({**copy.deepcopy(DEFAULTS), "seed": 1}, SCHEMA).startswith("(top level): Additional")


def test_selflabel_dataclass_defaults_equal_config_yaml():
    """SelfLabelConfig and AugmentConfig keep their own defaults (library use without the workflow):
    they must be config/config.yaml's (precision: the dataclass holds the resolved one)."""
    from dataclasses import asdict, fields

    from aeclust.augment import AugmentConfig
    from aeclust.selflabel import SelfLabelConfig

    sl = DEFAULTS["selflabel"]
    dataclass = asdict(SelfLabelConfig())
    for f in fields(SelfLabelConfig):
        if f.name in ("precision", "augment"):
            continue
        value = dataclass[f.name]
        assert (list(value) if isinstance(value, tuple) else value) == sl[f.name], f.name
    assert asdict(AugmentConfig()) == sl["augment"]
    assert SelfLabelConfig().precision in ("fp32", "bf16") and sl["precision"] == "auto"


# --- aeclust.config as library code --------------------------------------------------------


def test_coerce_strings_types_what_the_schema_says():
    given = {
        "seeds": ["0", "1", "2"],
        "kmeans": {"n_init": "5"},
        "download": {"timeout": "31", "retries": "0"},
        "autoencoder": {"lr": "1e-3", "epochs": ["5", "20"]},
        "experiment": "123",
        "denoise": {"rates": ["0.2", ".5"]},
    }
    out = cfgmod.coerce_strings(given, SCHEMA)
    assert out == {
        "seeds": [0, 1, 2],
        "kmeans": {"n_init": 5},
        "download": {"timeout": 31, "retries": 0},
        "autoencoder": {"lr": 0.001, "epochs": [5, 20]},
        "experiment": "123",
        "denoise": {"rates": [0.2, 0.5]},
    }
    assert type(out["seeds"][0]) is int and type(out["autoencoder"]["lr"]) is float
    assert given["seeds"] == ["0", "1", "2"]  # the input is not changed in place


def test_coerce_strings_leaves_what_does_not_read_as_the_type():
    given = {"seeds": ["a", "1.5"], "kmeans": {"n_init": "five"}, "device": "cuda", "unknown_key": "7"}
    assert cfgmod.coerce_strings(given, SCHEMA) == given  # validation then names the key
    assert cfgmod.coerce_strings(5, SCHEMA["properties"]["kmeans"]["properties"]["n_init"]) == 5


def test_coerce_strings_null_and_boolean():
    schema = {"type": "object", "properties": {"n": {"type": ["integer", "null"]}, "b": {"type": "boolean"}}}
    assert cfgmod.coerce_strings({"n": "null", "b": "True"}, schema) == {"n": None, "b": True}
    assert cfgmod.coerce_strings({"n": "12", "b": "yes"}, schema) == {"n": 12, "b": "yes"}


def test_semantic_errors_of_the_default_config_and_of_bad_ones():
    assert list(cfgmod.semantic_errors(DEFAULTS)) == []
    bad = copy.deepcopy(DEFAULTS)
    bad["pca"]["components"] = 65
    bad["umap"]["epochs"] = [7]
    assert list(cfgmod.semantic_errors(bad)) == [
        "pca/components: 65 components is more than the embedding allows (allowed: 1..64)",
        f"umap/epochs: [7] not in autoencoder/epochs {DEFAULTS['autoencoder']['epochs']}",
    ]
    other = copy.deepcopy(DEFAULTS)
    other["dataset"] = "cifar"
    assert list(cfgmod.semantic_errors(other)) == [
        "dataset: 'cifar' is not described under datasets (known: fashion-mnist, mnist)"
    ]


def test_clusterings_follow_the_config():
    tiny = load_config()
    assert cfgmod.clusterings(tiny) == [
        ("kmeans", "raw"),
        ("kmeans", "ae_e1"),
        ("kmeans", "ae_e2"),
        ("kmeans", "ae_e2_pca8"),
        ("kmeans", "ae_e2_umap"),
        ("gmm", "ae_e2_umap"),
    ]
    assert cfgmod.clusterings(load_config(base=None)) == [
        ("kmeans", "raw"),
        ("kmeans", "ae_e5"),
        ("kmeans", "ae_e20"),
        ("kmeans", "ae_e20_pca32"),
    ]


def test_key_path_and_rate_label():
    assert cfgmod.key_path(["seeds", 0]) == "seeds/0" and cfgmod.key_path([]) == "(top level)"
    assert [cfgmod.rate_label(r) for r in (0.2, 0.25, 0.5)] == ["0.2", "0.25", "0.5"]


def test_merge_lays_mappings_into_mappings():
    base = {"a": {"b": 1, "c": 2}, "d": None}
    assert cfgmod.merge(base, {"a": {"c": 3}, "d": {"e": 4}}) == {"a": {"b": 1, "c": 3}, "d": {"e": 4}}


def test_selflabel_sources_are_the_from_list_as_pairs():
    cfg = {"selflabel": {"enabled": True, "from": ["gmm/ae_e80_umap", "kmeans/raw"]}}
    assert cfgmod.selflabel_sources(cfg) == [("gmm", "ae_e80_umap"), ("kmeans", "raw")]
    assert cfgmod.selflabel_sources({"selflabel": {"enabled": False, "from": ["kmeans/raw"]}}) == []
