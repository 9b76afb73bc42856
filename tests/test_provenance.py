"""Which code made a result: every settings / metrics JSON records the commit and the hash
of each library file its job ran; bench/full_table.py refuses to mix different code."""

import json
import subprocess
import sys

from aeclust import provenance as prov
from conftest import REPO


def test_records_commit_and_the_loaded_library_files():
    import aeclust.intervals  # noqa: F401  (loaded, so it is counted)

    p = prov.provenance()["provenance"]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert p["commit"] == (head.stdout.strip() if head.returncode == 0 else "unknown")
    assert "intervals.py" in p["library_files"] and "provenance.py" in p["library_files"]
    assert "models.py" not in p["library_files"] or "torch" in sys.modules  # only what this process loaded
    assert p["library_sha256"] == prov.library_hash(p["library_files"]) and len(p["library_sha256"]) == 64


def test_commit_is_unknown_outside_a_clone(tmp_path):
    assert prov.git_commit(tmp_path) == "unknown"


def test_hash_follows_the_bytes(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    before = prov.file_hashes([a, b])
    a.write_text("x = 2\n")
    after = prov.file_hashes([a, b])
    assert before["b.py"] == after["b.py"] and before["a.py"] != after["a.py"]
    assert prov.library_hash(before) != prov.library_hash(after)


def result(files, commit="c" * 40):
    return {
        "accuracy": 0.5,
        "provenance": {"commit": commit, "library_sha256": prov.library_hash(files), "library_files": files},
    }


def test_conflicts_only_where_a_shared_file_differs():
    same = {
        "m/a.json": result({"metrics.py": "1", "io.py": "2"}),
        "models/b.json": result({"train.py": "3", "io.py": "2"}),
    }
    assert prov.conflicts(same) == []  # different files loaded, none disagrees
    mixed = {**same, "m/c.json": result({"metrics.py": "9"}, commit="d" * 40)}
    (problem,) = prov.conflicts(mixed)
    assert problem.startswith("metrics.py differs: m/a.json (commit cccccccccc) and m/c.json (commit dddddddddd)")
    assert prov.conflicts({"old.json": {"accuracy": 0.5}}) == [
        "old.json: no provenance (made before results recorded their code; rebuild it)"
    ]


def test_full_table_refuses_to_mix_code(tmp_path):
    (tmp_path / "metrics" / "kmeans").mkdir(parents=True)
    for seed, digest in ((0, "1"), (1, "2")):
        rec = {**result({"metrics.py": digest}), "method": "kmeans/raw", "seed": seed, "nmi": 0.4, "ari": 0.3}
        (tmp_path / "metrics" / "kmeans" / f"raw_s{seed}.json").write_text(json.dumps(rec))

    def run():
        cmd = [sys.executable, str(REPO / "bench" / "full_table.py"), str(tmp_path)]
        return subprocess.run(cmd, capture_output=True, text=True)

    refused = run()
    assert refused.returncode == 1 and "results made by different code" in refused.stderr
    assert "metrics.py differs: metrics/kmeans/raw_s0.json" in refused.stderr and refused.stdout == ""
    rec = json.loads((tmp_path / "metrics" / "kmeans" / "raw_s1.json").read_text())
    rec["provenance"] = result({"metrics.py": "1"})["provenance"]
    (tmp_path / "metrics" / "kmeans" / "raw_s1.json").write_text(json.dumps(rec))
    ok = run()
    assert ok.returncode == 0, ok.stderr
    assert "| K-Means on pixels (`kmeans/raw`) | 0.5000 ± 0.0000 |" in ok.stdout
