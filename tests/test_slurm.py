"""Scale-out: every job fits a small SLURM node, and the tiny DAG through a real SLURM
(tests/slurm/up.sh) gives the same numbers as a local run."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from aeclust import resources
from conftest import REPO, overlay, snakemake

PROFILE = REPO / "profiles" / "slurm"
# The CI node of tests/slurm/up.sh: 2 cores, RealMemory about 23,600 MB. A job asking for
# more CPUs pends for ever; one asking for more memory is refused at submission.
NODE_CPUS, NODE_MEM_MB = 2, 23_000
# Jobs Snakemake runs on the submitting host, never through sbatch: `localrules:`
# (downloads need the internet) and the target rules `all` and `default`, which run nothing.
LOCAL_RULES = {"download_dataset", "all", "default"}


def _rule_texts() -> dict[str, str]:
    """Rule name -> its text in workflow/rules/*.smk."""
    rules = {}
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        rules.update(re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", smk.read_text(), re.M | re.S))
    return rules


def _script(body: str) -> str:
    m = re.search(r'^\s+script:\n\s+"\.\./scripts/(\w+\.py)"', body, re.M)
    return (REPO / "workflow" / "scripts" / m.group(1)).read_text() if m else ""


def network_rules() -> set[str]:
    """Rules that run a network, found by their code: the script sets up torch for one
    (``script_setup(..., network=True)``); test_network_rules_take_device checks that
    exactly these take config's `device` as a parameter."""
    return {
        name for name, body in _rule_texts().items() if re.search(r"script_setup\([^)]*network=True", _script(body))
    }


def resuming_rules() -> set[str]:
    """Rules whose script hands its training loop a per-epoch resume file."""
    return {
        name for name, body in _rule_texts().items() if '.resume")' in _script(body) and "checkpoint=" in _script(body)
    }


# They ask for a GPU when config says `device: cuda`.
NETWORK_RULES = network_rules()


def test_network_rules_take_device():
    assert NETWORK_RULES >= {
        "train_autoencoder",
        "extract_embeddings",
        "train_classifier",
        "train_denoiser",
        "evaluate_denoiser",
    }
    takes_device = {name for name, body in _rule_texts().items() if re.search(r"^\s+device=", body, re.M)}
    assert takes_device == NETWORK_RULES
    assert resuming_rules() == {"train_autoencoder", "train_classifier", "train_denoiser"}


def _declared_runtime(rule: str) -> int:
    """A rule's runtime for the study's sizes: the number it declares, or the floor of the
    formula that computes it from its input files (aeclust/resources.py)."""
    body = _rule_texts()[rule]
    if re.search(r"^\s+runtime=runtime_of\(", body, re.M):
        from aeclust.resources import need

        return need(rule).floor_min
    return int(re.search(r"^\s+runtime=(\d+),", body, re.M).group(1))


def _uncommented_profile() -> str:
    """The profile with its commented GPU example lines (and the rule names they sit under)
    uncommented, as docs/cluster.md says to."""
    names = "|".join(sorted(NETWORK_RULES))
    return re.sub(
        rf"^(\s*)# ?(\s*)(gpu|slurm_partition|{names}):", r"\1\2\3:", (PROFILE / "config.yaml").read_text(), flags=re.M
    )


def test_profile_names_every_network_rule():
    text = (PROFILE / "config.yaml").read_text()
    active = yaml.safe_load(text)["set-resources"]
    example = yaml.safe_load(_uncommented_profile())["set-resources"]
    for rule in NETWORK_RULES:
        assert re.search(rf"^\s*(# )?\s*{rule}:", text, re.M), f"profiles/slurm names no {rule}"
        assert example.get(rule, {}).get("gpu") == 1 and example[rule].get("slurm_partition") == "gpu", rule
    # a job that resumes from its checkpoints keeps the runtime its rule computes (which grows
    # with each attempt, tests/test_resources.py): the profile does not replace it
    for rule in resuming_rules():
        assert "runtime" not in ((active or {}).get(rule) or {}), f"profiles/slurm replaces {rule}'s computed runtime"
        assert _declared_runtime(rule) > 0
    docs = (REPO / "docs" / "cluster.md").read_text()
    gpus = docs.split("### GPUs", 1)[1].split("\n### ", 1)[0]
    assert all(f"`{rule}`" in gpus for rule in NETWORK_RULES), gpus


def planned_jobs(workdir: Path, *args: str, configfile=None) -> list[dict]:
    """Every job of a dry run of the whole DAG: rule, threads and resources as submitted.

    ``--cores 64`` so that threads above the node's 2 cores are not capped and stay visible."""
    kw = {} if configfile is None else {"configfile": configfile}
    out = snakemake(workdir, "--dry-run", "--forceall", "--cores", "64", *args, **kw).stdout
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", out)[1:]:
        head = re.match(r"(?:local)?rule (\w+):", block)
        threads = re.search(r"^\s+threads: (\d+)$", block, re.M)
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        resources = dict(kv.split("=", 1) for kv in res.group(1).split(", ")) if res else {}
        jobs.append({"rule": head.group(1), "threads": int(threads.group(1)) if threads else 1, **resources})
    assert jobs, out[-3000:]
    return jobs


def requested(job: dict, key: str) -> int:
    """A job's ``mem_mb`` or ``runtime`` as submitted. A dry run shows ``<TBD>`` where the
    rule computes it from input files that do not exist yet (aeclust/resources.py): such a
    rule must have a formula, and the value checked is its floor, what the study's input
    sizes ask for (tests/test_resources.py)."""
    value = job[key]
    if value != "<TBD>":
        return int(value)
    need = resources.need(job["rule"])  # KeyError: a <TBD> that no formula computes
    return need.floor_mb if key == "mem_mb" else need.floor_min


@pytest.mark.e2e
def test_every_rule_sized_and_fits_a_two_core_node(tmp_path):
    jobs = planned_jobs(tmp_path)
    assert {j["rule"] for j in jobs} >= NETWORK_RULES | {"make_subsets", "cluster_kmeans", "summarize"}
    for job in jobs:
        if job["rule"] in LOCAL_RULES:
            continue
        # declared by the rule itself (no --default-resources in this run), from its benchmarks
        assert "mem_mb" in job and "runtime" in job, f"{job['rule']} declares no mem_mb/runtime: {job}"
        assert job["threads"] <= NODE_CPUS, f"{job['rule']} wants {job['threads']} cores; a 2-core node never runs it"
        assert requested(job, "mem_mb") <= NODE_MEM_MB and requested(job, "runtime") > 0, job
        assert int(job.get("gpu", 0)) == 0, f"{job['rule']} asks for a GPU though config says device: auto"


@pytest.mark.e2e
def test_profile_resources_fit_a_two_core_node(tmp_path):
    # what the SLURM profile would submit (its set-resources and defaults on top), run locally
    jobs = planned_jobs(tmp_path, "--workflow-profile", str(PROFILE), "--executor", "local")
    for job in jobs:
        if job["rule"] not in LOCAL_RULES:
            assert job["threads"] <= NODE_CPUS and requested(job, "mem_mb") <= NODE_MEM_MB, job
            assert requested(job, "runtime") > 0, job


@pytest.mark.e2e
def test_profile_gpu_example_works_when_uncommented(tmp_path):
    # the profile's commented GPU (and partition) lines, uncommented as docs/cluster.md says
    text = re.sub(
        r'^(\s*)# ?(\s*)slurm_partition: "cpu"', r'\1\2slurm_partition: "cpu"', _uncommented_profile(), flags=re.M
    )
    (tmp_path / "gpu").mkdir()
    (tmp_path / "gpu" / "config.yaml").write_text(text)
    given = {rule for rule, res in yaml.safe_load(text)["set-resources"].items() if res.get("gpu")}
    assert given == NETWORK_RULES
    jobs = planned_jobs(tmp_path / "work", "--workflow-profile", str(tmp_path / "gpu"), "--executor", "local")
    assert {j["rule"] for j in jobs} >= given
    for job in jobs:
        if job["rule"] in given:
            assert (job.get("gpu"), job.get("slurm_partition")) == ("1", "gpu"), job
        elif job["rule"] not in LOCAL_RULES:
            assert job.get("gpu", "0") == "0" and job.get("slurm_partition") == "cpu", job


@pytest.mark.e2e
def test_device_cuda_asks_network_rules_for_a_gpu(tmp_path):
    jobs = planned_jobs(tmp_path, configfile=overlay(tmp_path, "device: cuda"))
    gpus = {j["rule"]: int(j.get("gpu", 0)) for j in jobs}
    assert NETWORK_RULES >= {"train_autoencoder", "extract_embeddings", "train_classifier"}
    for rule in NETWORK_RULES & gpus.keys():
        assert gpus[rule] == 1, f"{rule} takes `device` but asks for no GPU: add gpu=gpus() to its resources"
    assert {r for r, g in gpus.items() if g} == NETWORK_RULES & gpus.keys(), gpus


# What profiles/default may set: how the terminal shows a run, nothing about where or how jobs run.
DISPLAY_OPTIONS = {"show-failed-logs", "printshellcmds", "quiet"}


def test_no_default_profile_hijacks_local_runs():
    # Snakemake applies profiles/default/ to every run that names no other workflow profile:
    # it only shows failed jobs' logs; SLURM (executor, jobs, resources) must be asked for by name
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert default == {"show-failed-logs": True}, default
    assert set(default) <= DISPLAY_OPTIONS
    text = (PROFILE / "config.yaml").read_text()
    assert yaml.safe_load(text)["show-failed-logs"] is True  # a named workflow profile replaces profiles/default
    assert re.search(r"^executor: slurm$", text, re.M)
    # site-specific keys stay commented examples
    assert not re.search(r"^\s*slurm_(partition|account):", text, re.M)


# --- a real SLURM ---------------------------------------------------------------------------


def slurm_unavailable() -> str | None:
    """Why the SLURM end-to-end test cannot run here, or None when it can."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[slurm]')"
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "no SLURM client commands (sinfo, sbatch) here"
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return "no SLURM controller answers (sinfo timed out); start one with tests/slurm/up.sh"
    if proc.returncode != 0:
        return f"no SLURM controller answers ({proc.stderr.strip()}); start one with tests/slurm/up.sh"
    if not any(
        s.rstrip("*") in {"idle", "mixed", "allocated", "completing"} and not s.endswith("*")
        for s in proc.stdout.split()
    ):
        return f"no SLURM node is up (sinfo states: {proc.stdout.split()})"
    return None


@pytest.fixture(scope="session")  # session: decided before the session-scoped local run
def slurm():
    why = slurm_unavailable()
    if why:
        # CI brings SLURM up and sets this: there, a SLURM that is not answering is a failure
        if os.environ.get("AECLUST_REQUIRE_SLURM") == "1":
            pytest.fail(f"AECLUST_REQUIRE_SLURM=1 but {why}")
        pytest.skip(why)


def squeue_states(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """SLURM job id -> (state, comment) for jobs squeue still lists (finished ones: MinJobAge)."""
    out = subprocess.run(
        ["squeue", "--states=all", "-h", "-o", "%i|%T|%k", "-j", ",".join(job_ids)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return {i: (state, comment) for i, state, comment in (line.split("|", 2) for line in out.splitlines())}


def numbers(path: Path) -> dict:
    """The numeric values of a metrics JSON file."""
    return {k: v for k, v in json.loads(path.read_text()).items() if isinstance(v, (int, float))}


@pytest.mark.slurm
@pytest.mark.e2e
def test_tiny_dag_through_slurm_equals_local_run(slurm, tiny_run, tiny_results, tmp_path):
    workdir = tmp_path / "slurm"
    proc = snakemake(
        workdir,
        "--workflow-profile",
        str(PROFILE),
        # no accounting database on the CI cluster: sacct fails, squeue still answers
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--slurm-keep-successful-logs",
        "--latency-wait",
        "5",  # one machine: outputs are visible at once
        "--retries",
        "0",  # a failing job fails the test at once
        timeout=900,  # then SIGINT: Snakemake cancels its SLURM jobs
    )
    log = proc.stdout + proc.stderr

    # every job but the local ones went through sbatch, and SLURM ran each to completion
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))
    expected = [j for j in planned_jobs(tmp_path / "plan") if j["rule"] not in LOCAL_RULES]
    assert len(submitted) == len(expected) > 20, log[-3000:]
    states = squeue_states(list(submitted.values()))
    assert states.keys() == set(submitted.values()), f"squeue lost some jobs: {states}"
    assert {s for s, _ in states.values()} == {"COMPLETED"}, states
    rules = sorted(c.split("_wildcards_")[0].removeprefix("rule_") for _, c in states.values())
    assert rules == sorted(j["rule"] for j in expected)
    for jid, (_, comment) in states.items():  # each job's SLURM log: Snakemake ran it on the node
        (slurm_log,) = (workdir / ".snakemake" / "slurm_logs").glob(f"rule_*/**/{jid}.log")
        rule = comment.split("_wildcards_")[0].removeprefix("rule_")
        assert f"(Rule: {rule})" in slurm_log.read_text(), slurm_log

    # the same numbers as the local run of the same DAG
    results = workdir / "results" / "mnist" / "tiny"
    local_csv, slurm_csv = pd.read_csv(tiny_results / "summary.csv"), pd.read_csv(results / "summary.csv")
    pd.testing.assert_frame_equal(slurm_csv, local_csv, check_exact=False, rtol=1e-9, atol=1e-12)
    local_metrics = sorted(p.relative_to(tiny_results) for p in (tiny_results / "metrics").rglob("*.json"))
    slurm_metrics = sorted(p.relative_to(results) for p in (results / "metrics").rglob("*.json"))
    assert slurm_metrics == local_metrics and local_metrics
    for rel in local_metrics:
        a, b = numbers(tiny_results / rel), numbers(results / rel)
        assert a.keys() == b.keys() and np.allclose([b[k] for k in a], [a[k] for k in a], rtol=1e-9, atol=1e-12), rel
    pd.testing.assert_frame_equal(
        pd.read_csv(results / "pca_sweep.csv"),
        pd.read_csv(tiny_results / "pca_sweep.csv"),
        check_exact=False,
        rtol=1e-9,
        atol=1e-12,
    )


@pytest.mark.e2e
def test_small_networks_train_on_one_thread_n2d_on_two(tmp_path):
    # two 1-thread jobs of the small conv networks train 1.3x the samples of one 2-thread job
    # on 2 cores (docs/performance.md); N2D's MLP has matrices big enough for two threads
    threads = {j["rule"]: j["threads"] for j in planned_jobs(tmp_path)}
    assert threads["train_denoiser"] == threads["train_autoencoder"] == threads["extract_embeddings"] == 1, threads
    (tmp_path / "full").mkdir()
    full = {j["rule"]: j["threads"] for j in planned_jobs(tmp_path / "full", configfile=REPO / "config" / "full.yaml")}
    assert full["train_autoencoder"] == 2 and full["extract_embeddings"] == 1, full
