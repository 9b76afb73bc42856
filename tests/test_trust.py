"""Trust: bad input fails loudly and early with one clear line, nothing half-written is
ever trusted, an interrupted workflow resumes and ends where an uninterrupted one
does, and two runs of one configuration give identical numbers on CPU.

The unit tests here fill what test_idx/test_download/test_models leave open; the
end-to-end tests run Snakemake on config/tiny.yaml and compare with the session's
uninterrupted ``tiny_run``.
"""

from __future__ import annotations

import errno
import filecmp
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch
from aeclust.download import DownloadError, fetch_dataset
from aeclust.models import CheckpointError, build_model, load_checkpoint, save_checkpoint
from aeclust.runtime import one_line, set_seed
from aeclust.train import FitConfig, TrainingError, data_fingerprint, fit
from conftest import MIRROR, REPO, SNAKEFILE, TINY, blob_images, dry_run_jobs, overlay, snakemake

CONV = {"kind": "autoencoder", "arch": "conv"}
TINY_R = Path("results/mnist/tiny")  # the tiny preset's results folder, relative to a workdir
# Python subprocesses import this checkout's library (it is not installed).
LIBRARY_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "workflow" / "scripts"), os.environ.get("PYTHONPATH")])),
}


# Interrupting a job at a known point, from the test side: a sitecustomize module on the
# PYTHONPATH of Snakemake and its jobs wraps aeclust.train as it is imported, so that a fit
# with epochs left, once it has saved its resume file after epoch N, writes
# "<resume file>.held" (holding its process id) and waits there until it is stopped.
HOLD_HOOK = """
import importlib.abc, importlib.util, os, sys, time

AFTER_EPOCH = {after}


def _patch(train):
    save, fit, asked = train._save_resume, train.fit, []

    def fit_recording_epochs(model, inputs, cfg, *args, **kwargs):
        asked.append(cfg.epochs)
        try:
            return fit(model, inputs, cfg, *args, **kwargs)
        finally:
            asked.pop()

    def save_then_hold(path, key, model, opt, sched, epoch, history):
        save(path, key, model, opt, sched, epoch, history)
        if epoch == AFTER_EPOCH and asked and epoch < asked[-1]:
            held = f"{{path}}.held"
            with open(held + ".tmp", "w") as f:
                f.write(f"{{os.getpid()}}\\n")
            os.replace(held + ".tmp", held)
            while True:
                time.sleep(1)

    train.fit, train._save_resume = fit_recording_epochs, save_then_hold


class _HoldHook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "aeclust.train":
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _HoldHook())
"""


def hold_env(folder: Path, after_epoch: int, env: dict | None = None) -> dict:
    """An environment whose Python processes hold every training job after ``after_epoch``
    (:data:`HOLD_HOOK`, written to ``folder``/sitecustomize.py)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(HOLD_HOOK.format(after=int(after_epoch)))
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    return env


def _images(n=48, seed=0):
    return blob_images(n, seed)


def _states_close(a: dict, b: dict, atol: float = 1e-6) -> bool:
    return a.keys() == b.keys() and all(torch.allclose(a[k].float(), b[k].float(), atol=atol) for k in a)


# ---------------------------------------------------------------------------------------
# Bad input: what test_download / test_idx / test_models do not cover yet


def test_no_network_dns_failure(tmp_path, monkeypatch):
    """No network at all: the resolver fails; each mirror says 'host not found', nothing written."""

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    mirrors = ["https://a.example/mnist/", "http://b.example/"]
    with pytest.raises(DownloadError) as e:
        fetch_dataset(["x-labels-idx1-ubyte"], {"x-labels-idx1-ubyte": "0" * 64}, mirrors, tmp_path / "out", retries=0)
    assert [m for m, _ in e.value.failures] == mirrors
    assert all(r == "host not found (Temporary failure in name resolution)" for _, r in e.value.failures)
    assert not list((tmp_path / "out").iterdir())


def test_network_unreachable(tmp_path, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OSError(errno.ENETUNREACH, os.strerror(errno.ENETUNREACH))

    monkeypatch.setattr(socket, "create_connection", unreachable)
    with pytest.raises(DownloadError) as e:
        fetch_dataset(["f"], {"f": "0" * 64}, ["http://10.255.255.1/"], tmp_path, retries=1, backoff=0)
    assert e.value.failures == [
        ("http://10.255.255.1/", f"network error: {os.strerror(errno.ENETUNREACH)} (2 attempts)")
    ]


def test_download_error_as_one_line():
    err = DownloadError(
        "t10k-labels-idx1-ubyte", [("http://a/", "HTTP 404 Not Found"), ("/m", "not gzip (first bytes 0000)")]
    )
    assert one_line(err) == (
        "DownloadError: t10k-labels-idx1-ubyte: all 2 mirror(s) failed: http://a/: HTTP 404 Not Found; /m: not gzip (first bytes 0000)"
    )


def _run_script(tmp_path: Path, body: str) -> tuple[int, str]:
    """Run a fake workflow script (``script_setup`` with a log) that ends with ``body``."""
    log = tmp_path / "job.log"
    code = textwrap.dedent(f"""
        from types import SimpleNamespace
        from aeclust.runtime import script_setup
        script_setup(SimpleNamespace(log=[{str(log)!r}], threads=1, rule="some_rule"))
    """) + textwrap.dedent(body)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=LIBRARY_ENV
    )
    return proc.returncode, log.read_text()


def test_script_error_is_one_line_first(tmp_path):
    """Our own errors: one line naming file and expectation, no traceback noise."""
    rc, log = _run_script(
        tmp_path,
        """
        from aeclust.idx import read_idx
        open("x.idx", "wb").write(bytes([0x1F, 0x8B, 8, 0]) + bytes(12))
        read_idx("x.idx")
    """,
    )
    assert rc == 1
    errors = [ln for ln in log.splitlines() if " ERROR " in ln]
    assert len(errors) == 1 and errors[0].endswith(
        "rule some_rule failed: IdxError: x.idx: bad magic number 0x1f8b0800 "
        "(expected 0x0000TTNN; not an IDX file, or still gzipped?)"
    )
    assert "Traceback" not in log


def test_unforeseen_error_keeps_its_traceback(tmp_path):
    rc, log = _run_script(tmp_path, "1 / 0\n")
    assert rc == 1
    assert "rule some_rule failed: ZeroDivisionError: division by zero" in log
    assert log.index("failed: ZeroDivisionError") < log.index("Traceback")


class _NotAWeight:  # any class: unpickling it runs code, which weights_only=True refuses
    pass


def test_checkpoint_with_pickled_code_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": build_model(CONV).state_dict(), "settings": CONV, "payload": _NotAWeight()}, path)
    with pytest.raises(CheckpointError, match=r"evil.pt: not a readable checkpoint \(Weights only load failed"):
        load_checkpoint(path)


def test_every_torch_load_is_weights_only():
    """Checkpoints come from shared disks: never unpickle code from them."""
    calls = []
    for path in (REPO / "workflow").rglob("*.py"):
        text = path.read_text()
        start = 0
        while (i := text.find("torch.load(", start)) >= 0:
            end = text.find(")", i)
            calls.append((path.name, text[i : end + 1]))
            start = i + 1
    assert calls, "no torch.load found: update this test"
    assert all("weights_only=True" in call for _, call in calls), calls


def test_checkpoint_truncated_or_empty(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, build_model(CONV), CONV)
    data = path.read_bytes()
    for name, content in (("half.pt", data[: len(data) // 2]), ("empty.pt", b"")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=rf"^{tmp_path / name}: not a readable checkpoint \(.+\)$"):
            load_checkpoint(tmp_path / name)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="other.pt: not an aeclust checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


# ---------------------------------------------------------------------------------------
# Resume checkpoints: a bad one is never trusted, a NaN epoch is never saved


def _fit(epochs, checkpoint=None, key=CONV, corrupt=None, images=None):
    set_seed(4)
    model = build_model(CONV)
    cfg = FitConfig(epochs=epochs, batch_size=16, lr=1e-3, seed=4, checkpoint=checkpoint, resume_key=key)
    fit(model, _images() if images is None else images, cfg, corrupt=corrupt)
    return model.state_dict()


def test_unreadable_resume_checkpoint_starts_over(tmp_path, caplog):
    fresh = _fit(2)
    ckpt = tmp_path / "m.pt.resume"
    ckpt.write_bytes(b"PK\x03\x04 half a zip")
    with caplog.at_level("INFO", logger="aeclust"):
        again = _fit(2, checkpoint=ckpt)
    assert "unreadable" in caplog.text and "starting over" in caplog.text
    assert _states_close(fresh, again, atol=0)


def _why_started_over(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "starting over" in r.getMessage()]


def test_resume_checkpoint_of_other_settings_ignored(tmp_path, caplog):
    ckpt = tmp_path / "m.pt.resume"
    _fit(1, checkpoint=ckpt, key={**CONV, "lr": 0.5})  # left by a run with other settings
    with caplog.at_level("INFO", logger="aeclust"):
        resumed = _fit(2, checkpoint=ckpt)
    lines = _why_started_over(caplog)
    assert len(lines) == 1 and "does not fit this run (other settings (lr: 0.5 -> unset)): starting over" in lines[0]
    assert "resuming" not in caplog.text
    assert _states_close(_fit(2), resumed, atol=0)


def test_resume_checkpoint_of_other_images_ignored(tmp_path, caplog):
    """Same settings, other training images (a folder whose files changed between the
    interrupted run and the rerun): the checkpoint is not resumed, one line says why."""
    ckpt = tmp_path / "m.pt.resume"
    _fit(1, checkpoint=ckpt, images=_images(seed=1))  # interrupted after epoch 1 on the old images
    with caplog.at_level("INFO", logger="aeclust"):
        rerun = _fit(2, checkpoint=ckpt)
    lines = _why_started_over(caplog)
    assert len(lines) == 1 and "(the training data differ (sha256:" in lines[0], lines
    assert "resuming" not in caplog.text
    assert _states_close(_fit(2), rerun, atol=0)
    caplog.clear()
    with caplog.at_level("INFO", logger="aeclust"):  # the same images again: resumed
        _fit(2, checkpoint=ckpt)
    assert f"resuming from {ckpt} after epoch 2" in caplog.text and not _why_started_over(caplog)


def test_resume_checkpoint_of_other_labels_ignored(tmp_path, caplog):
    """A classifier's targets are training data too."""
    settings = {"kind": "classifier", "hidden": [16]}
    x, ckpt = _images(40), tmp_path / "c.pt.resume"

    def train(epochs, y):
        set_seed(6)
        model = build_model(settings)
        cfg = FitConfig(epochs, 10, 0.05, 6, loss="ce", optimizer="sgd", checkpoint=ckpt, resume_key=settings)
        fit(model, x, cfg, targets=y)

    train(1, torch.arange(40) % 10)
    with caplog.at_level("INFO", logger="aeclust"):
        train(2, (torch.arange(40) + 1) % 10)
    lines = _why_started_over(caplog)
    assert len(lines) == 1 and "the training data differ" in lines[0], lines


def test_resume_checkpoint_without_data_fingerprint_ignored(tmp_path, caplog):
    """A checkpoint of an older version (settings only, no fingerprint of its data) is not trusted."""
    ckpt = tmp_path / "m.pt.resume"
    set_seed(4)
    model = build_model(CONV)
    opt = torch.optim.Adam(model.parameters())
    torch.save(
        {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1, "history": [], "resume_key": CONV},
        ckpt,
    )
    with caplog.at_level("INFO", logger="aeclust"):
        again = _fit(2, checkpoint=ckpt)
    lines = _why_started_over(caplog)
    assert len(lines) == 1 and "older version that did not record its training data" in lines[0], lines
    assert _states_close(_fit(2), again, atol=0)


def test_data_fingerprint_sees_every_byte_shape_and_dtype():
    x = _images(40)
    base = data_fingerprint(x)
    assert base == data_fingerprint(x.clone()) == data_fingerprint(x, chunk_bytes=1000)  # chunking does not matter
    changed = x.clone()
    changed[39, 27, 27] += 1
    assert data_fingerprint(changed) != base
    assert data_fingerprint(x.view(40, 1, 28, 28)) != base  # same bytes, other shape
    assert data_fingerprint(x.to(torch.int8)) != base  # same bytes, other dtype
    y = torch.arange(40)
    assert data_fingerprint(x, y) != data_fingerprint(x, y.flip(0)) != data_fingerprint(x, None)


def test_nan_epoch_never_becomes_a_resume_point(tmp_path):
    """Loss turns NaN in epoch 2: the job fails, the resume file still holds epoch 1."""
    ckpt = tmp_path / "m.pt.resume"
    batches = {"n": 0}

    def poison_in_epoch_2(clean, g):
        batches["n"] += 1
        return clean * float("nan") if batches["n"] > 3 else clean  # 48 images / 16 = 3 batches an epoch

    with pytest.raises(TrainingError, match="epoch 2: loss is nan"):
        _fit(3, checkpoint=ckpt, corrupt=poison_in_epoch_2)
    blob = torch.load(ckpt, weights_only=True)
    assert blob["epoch"] == 1 and all(torch.isfinite(v.float()).all() for v in blob["model"].values())


def test_every_training_rule_checkpoints_each_epoch():
    """A preempted training job resumes instead of starting over: every train_* script
    hands its training loop a resume file beside the model, removed once the model is written
    (train_autoencoder renames it into its training-state output, where a larger epoch count continues)."""
    scripts = sorted((REPO / "workflow" / "scripts").glob("train_*.py"))
    assert scripts
    for script in scripts:
        text = script.read_text()
        removed = ".unlink(missing_ok=True)" in text or "os.replace(resume, out.state)" in text
        assert "checkpoint=" in text and '.resume")' in text and removed, script.name


def test_classifier_resume_equals_uninterrupted(tmp_path):
    """The classifier's loop (cross-entropy, SGD) resumes exactly, as the autoencoders' does."""
    settings = {"kind": "classifier", "hidden": [32]}
    x, y = _images(60), torch.arange(60) % 10

    def train(epochs, checkpoint=None):
        set_seed(6)
        model = build_model(settings)
        cfg = FitConfig(epochs, 10, 0.05, 6, loss="ce", optimizer="sgd", checkpoint=checkpoint, resume_key=settings)
        fit(model, x, cfg, targets=y)
        return model.state_dict()

    ckpt = tmp_path / "classifier.pt.resume"
    full = train(3)
    train(2, ckpt)
    assert _states_close(full, train(3, ckpt))


def test_hold_hook_stops_after_the_given_epoch(tmp_path):
    """The interrupt tests' hook (test side, no hook in the library): held after epoch 1 of 2,
    resume file saved, the process waiting with its pid in the .held file; a 1-epoch fit is
    never held."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO / "tests")!r})
        from conftest import blob_images
        from aeclust.models import build_model
        from aeclust.train import FitConfig, fit
        epochs, ckpt = int(sys.argv[1]), sys.argv[2]
        cfg = FitConfig(epochs=epochs, batch_size=16, lr=1e-3, seed=4, checkpoint=ckpt, resume_key={{}})
        fit(build_model({CONV!r}), blob_images(32), cfg)
        print("finished", flush=True)
    """)
    env = hold_env(tmp_path / "hook", 1, LIBRARY_ENV)
    one, ckpt = tmp_path / "one.pt.resume", tmp_path / "m.pt.resume"
    # both processes at once: each spends most of its time importing torch
    proc = subprocess.Popen([sys.executable, "-c", code, "2", str(ckpt)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, "1", str(one)], capture_output=True, text=True, timeout=120, env=env
        )
        assert done.returncode == 0 and done.stdout.strip() == "finished", done.stderr
        assert one.exists() and not (tmp_path / "one.pt.resume.held").exists()
        _wait_for(tmp_path / "m.pt.resume.held", proc, timeout=120)
        assert int((tmp_path / "m.pt.resume.held").read_text()) == proc.pid
        assert torch.load(ckpt, weights_only=True)["epoch"] == 1
        time.sleep(0.5)
        assert proc.poll() is None  # still held, epoch 2 not run
    finally:
        proc.kill()
        out, _ = proc.communicate(timeout=30)
    assert "finished" not in out and torch.load(ckpt, weights_only=True)["epoch"] == 1


def test_library_has_no_test_hooks():
    """Interrupting a job at a known point is the tests' business (hold_env): nothing in
    the library reads a test's environment variable."""
    for path in (REPO / "workflow").rglob("*.py"):
        text = path.read_text()
        assert "AECLUST_TEST" not in text and "_for_test" not in text, path


def test_killed_writer_leaves_nothing_at_the_target(tmp_path):
    """SIGKILL in the middle of an atomic write: the target never exists half-written."""
    target = tmp_path / "features.npz"
    code = textwrap.dedent(f"""
        import sys, time
        from aeclust.io import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            tmp.write_bytes(b"half of it")
            print("writing", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=LIBRARY_ENV)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait(timeout=30)
    assert not target.exists()
    assert [p.name.startswith(".features.npz.") for p in tmp_path.iterdir()] == [True]  # only the hidden temporary


# ---------------------------------------------------------------------------------------
# End to end: bad input and a diverging network stop the workflow; nothing is written


@pytest.fixture
def refusing_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.e2e
def test_workflow_every_mirror_unreachable(tmp_path, refusing_port):
    """404, refused, timeout: download_dataset fails with one clear line, data/ stays empty."""

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_error(404)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    mirrors = [
        f"http://127.0.0.1:{srv.server_address[1]}/",
        f"http://127.0.0.1:{refusing_port}/",
        f"http://127.0.0.1:{silent.getsockname()[1]}/",
    ]
    mirror_list = "\n".join(f"      - {m}" for m in mirrors)
    text = (
        textwrap.dedent("""
        download: {timeout: 1, retries: 0}
        datasets:
          mnist:
            mirrors:
        """)
        + mirror_list
        + "\n"
    )
    try:
        proc = snakemake(
            tmp_path, "--cores", "1", configfile=overlay(tmp_path, text), check=False, env={"AECLUST_MIRROR": ""}
        )
    finally:
        srv.shutdown()
        srv.server_close()
        silent.close()
    assert proc.returncode != 0 and "Error in rule download_dataset" in proc.stderr + proc.stdout
    log = (tmp_path / TINY_R / "logs" / "download_dataset.log").read_text()
    errors = [ln for ln in log.splitlines() if " ERROR " in ln]
    assert len(errors) == 1, log
    assert errors[0].split(" ERROR ")[1] == (
        "rule download_dataset failed: DownloadError: train-images-idx3-ubyte: all 3 mirror(s) failed: "
        f"{mirrors[0]}: HTTP 404 Not Found; {mirrors[1]}: connection refused; {mirrors[2]}: timeout after 1 s"
    )
    assert not (tmp_path / "data" / "mnist").exists() or not list((tmp_path / "data" / "mnist").iterdir())


@pytest.mark.e2e
def test_workflow_diverging_training_fails_without_a_model(tmp_path, mirror):
    """lr=1e6 drives the tiny autoencoder's output to one constant image: the job fails
    with the reason, and no model (nor its settings or loss table) is left for later steps."""
    models = tmp_path / TINY_R / "models"
    target = f"{TINY_R}/models/ae_e1_s0.pt"
    proc = snakemake(
        tmp_path, "--cores", "2", target, configfile=overlay(tmp_path, "autoencoder: {lr: 1000000.0}"), check=False
    )
    assert proc.returncode != 0 and "Error in rule train_autoencoder" in proc.stderr + proc.stdout
    log = (tmp_path / TINY_R / "logs" / "train_autoencoder" / "e1_s0.log").read_text()
    errors = [ln.split(" ERROR ")[1] for ln in log.splitlines() if " ERROR " in ln]
    assert len(errors) == 1 and errors[0].startswith(
        f"rule train_autoencoder failed: TrainingError: autoencoder {target}: output collapsed to a constant image"
    ), log
    assert not list(models.glob("ae_e1_s0*")) or [p.name for p in models.glob("ae_e1_s0*")] == ["ae_e1_s0.pt.resume"]
    assert "train_autoencoder" in dry_run_jobs(
        tmp_path, target, configfile=overlay(tmp_path, "autoencoder: {lr: 1000000.0}")
    )


# ---------------------------------------------------------------------------------------
# End to end: interruption and resume, determinism


def _start(
    workdir: Path, *args: str, hold_after: int | None = 1, configfile: list[Path] | None = None
) -> subprocess.Popen:
    """Snakemake on the tiny config (or ``configfile``) in its own process group (so Ctrl-C can be simulated).

    ``hold_after``: every training job with epochs left stops after saving that epoch's
    resume file and waits, with ``<resume file>.held`` holding its process id
    (:func:`hold_env`), so a test interrupts it at a known point, never by a race."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(SNAKEFILE),
        "--directory",
        str(workdir),
        "--configfile",
        *map(str, configfile or [TINY]),
        *args,
    ]
    out = open(workdir / "snakemake.out", "w")
    env = {**os.environ, "AECLUST_MIRROR": str(MIRROR)}
    if hold_after is not None:
        env = hold_env(workdir / ".hold", hold_after, env)
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 900) -> None:
    """Poll (10 ms) until ``path`` exists; fail if Snakemake ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"snakemake ended ({proc.returncode}) before {path} appeared")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.01)


def _held_job(models: Path, name: str, proc: subprocess.Popen) -> int:
    """Wait until training job ``name`` holds after epoch 1 (its resume file saved); its pid."""
    held = models / f"{name}.pt.resume.held"
    _wait_for(held, proc)
    blob = torch.load(models / f"{name}.pt.resume", weights_only=True)
    assert blob["epoch"] == 1, blob["epoch"]
    assert not (models / f"{name}.pt").exists()
    pid = int(held.read_text())
    held.unlink()  # nothing of the hold is left for the rerun
    return pid


def _finish(proc: subprocess.Popen, timeout: float = 900) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


def _output(workdir: Path) -> str:
    return (workdir / "snakemake.out").read_text()


def _assert_resumed_model_equal(workdir: Path, tiny_results: Path, name: str = "ae_e2_s0") -> None:
    log = (workdir / TINY_R / "logs" / "train_autoencoder" / f"{name[3:]}.log").read_text()
    assert f"resuming from {TINY_R}/models/{name}.pt.resume after epoch 1" in log, log
    resumed, _ = load_checkpoint(workdir / TINY_R / "models" / f"{name}.pt")
    reference, _ = load_checkpoint(tiny_results / "models" / f"{name}.pt")
    assert _states_close(resumed.state_dict(), reference.state_dict())
    assert not (workdir / TINY_R / "models" / f"{name}.pt.resume").exists()  # removed once the model is written


@pytest.mark.e2e
def test_ctrl_c_during_training_then_rerun_incomplete(tmp_path, tiny_run, tiny_results):
    """Ctrl-C (SIGINT to Snakemake's process group) while a 2-epoch autoencoder holds after
    its first epoch (hold_env); `--rerun-incomplete` then finishes the DAG, the model resumes after epoch 1,
    and every metric equals the uninterrupted run's byte for byte.

    The DAG is seed 0's K-Means methods (15 jobs, all kinds of step); the whole tiny DAG
    run from nothing is compared with ``tiny_run`` by test_benchmark's quick run."""
    feats = ["raw", "ae_e1", "ae_e2", "ae_e2_pca8"]
    targets = [f"{TINY_R}/metrics/kmeans/{f}_s0{end}" for f in feats for end in (".json", "_confusion.csv")]
    models = tmp_path / TINY_R / "models"
    proc = _start(tmp_path, "--cores", "2", *targets)
    _held_job(models, "ae_e2_s0", proc)  # epoch 1 done and checkpointed, epoch 2 not begun
    os.killpg(proc.pid, signal.SIGINT)
    assert _finish(proc) != 0, _output(tmp_path)
    assert not (models / "ae_e2_s0.pt").exists()
    assert "Terminating processes on user request" in _output(tmp_path)

    snakemake(tmp_path, "--cores", "2", "--rerun-incomplete", *targets)
    assert dry_run_jobs(tmp_path, *targets) == {}
    _assert_resumed_model_equal(tmp_path, tiny_results)
    different = [t for t in targets if not filecmp.cmp(tmp_path / t, tiny_run / t, shallow=False)]
    assert not different, f"differ from the uninterrupted run: {different}"


@pytest.mark.e2e
def test_sigkill_of_training_job_then_resume(tmp_path, tiny_run, tiny_results):
    """SIGKILL of the training job's Python (a preempted cluster job): Snakemake reports the
    failure and keeps no output; the rerun resumes after epoch 1 and ends equal."""
    target = f"{TINY_R}/metrics/kmeans/ae_e2_s0.json"
    models = tmp_path / TINY_R / "models"
    proc = _start(tmp_path, "--cores", "2", target)
    os.kill(_held_job(models, "ae_e2_s0", proc), signal.SIGKILL)
    assert _finish(proc) != 0
    assert "Error in rule train_autoencoder" in _output(tmp_path)
    assert not [n for n in ("ae_e2_s0.pt", "ae_e2_s0.json", "ae_e2_s0_loss.tsv") if (models / n).exists()]
    assert dry_run_jobs(tmp_path, target).get("train_autoencoder") == 1

    snakemake(tmp_path, "--cores", "2", "--rerun-incomplete", target)
    _assert_resumed_model_equal(tmp_path, tiny_results)
    assert filecmp.cmp(tmp_path / target, tiny_run / target, shallow=False)


@pytest.mark.e2e
def test_crash_never_leaves_outputs_taken_as_complete(tmp_path, tiny_results):
    """Snakemake and its job both killed (node crash, OOM killer): even if the job had
    written a complete-looking model just before, Snakemake never takes it as done."""
    models = tmp_path / TINY_R / "models"
    target = f"{TINY_R}/models/ae_e2_s0.pt"
    proc = _start(tmp_path, "--cores", "2", target)
    _held_job(models, "ae_e2_s0", proc)
    os.killpg(proc.pid, signal.SIGKILL)
    _finish(proc)
    for suffix in (".pt", ".json"):  # as if the crash came between two of the job's outputs
        shutil.copy(tiny_results / "models" / f"ae_e2_s0{suffix}", models / f"ae_e2_s0{suffix}")
    proc = snakemake(tmp_path, "--cores", "1", target, check=False)
    assert proc.returncode != 0 and "IncompleteFilesException" in proc.stderr + proc.stdout
    assert "ae_e2_s0.pt" in proc.stderr + proc.stdout
    assert dry_run_jobs(tmp_path, "--rerun-incomplete", target).get("train_autoencoder") == 1


SHAPES = """
experiment: tiny
dataset: shapes
datasets:
  shapes: {source: folder, path: shapes}
subsets:
  cluster: {split: all, per_class: null}
  train: {split: all, per_class: null, exclude_cluster: false}
autoencoder: {batch_size: 8}
denoise: {enabled: false}
"""


def _last_job_log(path: Path) -> str:
    """The part of a job's log written by its last run (a rerun appends to the same file)."""
    text = path.read_text()
    return text[text.rfind("rule train_autoencoder, ") :]


@pytest.mark.e2e
def test_changed_images_are_not_resumed(tmp_path):
    """A user's own images folder: training interrupted after epoch 1, then the images
    change; the rerun does not resume the old images' checkpoint (its log says why in one
    line), and its model equals one trained on the new images without interruption."""
    from imagegen import make_folder

    target = "results/shapes/tiny/models/ae_e2_s0.pt"
    models = tmp_path / "results" / "shapes" / "tiny" / "models"
    make_folder(tmp_path / "shapes", per_class=40, corrupt=False, seed=0)
    config = overlay(tmp_path, SHAPES)
    proc = _start(tmp_path, "--cores", "2", target, configfile=config)
    os.kill(_held_job(models, "ae_e2_s0", proc), signal.SIGKILL)
    assert _finish(proc) != 0 and (models / "ae_e2_s0.pt.resume").exists()
    time.sleep(1)  # newer modification times for the changed files
    folders = {d: d.stat().st_mtime_ns for d in (tmp_path / "shapes").rglob("*") if d.is_dir()}
    # the user overwrites the images in place (same names, other pixels): no folder's own time changes
    make_folder(tmp_path / "shapes", per_class=40, corrupt=False, seed=1)
    assert folders == {d: d.stat().st_mtime_ns for d in folders}

    snakemake(tmp_path, "--cores", "2", "--rerun-incomplete", target, configfile=config)
    log = _last_job_log(models.parent / "logs" / "train_autoencoder" / "e2_s0.log")
    why = [ln for ln in log.splitlines() if "starting over" in ln]
    assert len(why) == 1 and "ae_e2_s0.pt.resume does not fit this run (the training data differ" in why[0], log
    assert "resuming" not in log and "continuing from results/shapes/tiny/models/ae_e1_s0_state.pt" in log
    settings = json.loads((models / "ae_e2_s0.json").read_text())
    assert settings["continued_from"] == "results/shapes/tiny/models/ae_e1_s0_state.pt"

    fresh = tmp_path / "fresh"  # the new images, never interrupted
    make_folder(fresh / "shapes", per_class=40, corrupt=False, seed=1)
    snakemake(fresh, "--cores", "2", target, configfile=overlay(fresh, SHAPES))
    rerun, _ = load_checkpoint(models / "ae_e2_s0.pt")
    reference, _ = load_checkpoint(fresh / target)
    assert _states_close(rerun.state_dict(), reference.state_dict(), atol=0)


# ---------------------------------------------------------------------------------------
# On a GPU (skipped without one): CUDA runs are made deterministic too


def _fit_on(device, epochs, checkpoint=None):
    from aeclust.runtime import resolve_device

    device = resolve_device(device)
    set_seed(5)
    model = build_model(CONV)
    cfg = FitConfig(epochs=epochs, batch_size=16, lr=1e-3, seed=5, checkpoint=checkpoint, resume_key=CONV)
    fit(model, _images(96), cfg, device=device)
    return {k: v.cpu() for k, v in model.state_dict().items()}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_is_reproducible():
    assert _states_close(_fit_on("cuda", 3), _fit_on("cuda", 3), atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_resume_equals_uninterrupted(tmp_path):
    ckpt = tmp_path / "m.pt.resume"
    full = _fit_on("cuda", 3)
    _fit_on("cuda", 2, checkpoint=ckpt)
    assert _states_close(full, _fit_on("cuda", 3, checkpoint=ckpt), atol=1e-6)
