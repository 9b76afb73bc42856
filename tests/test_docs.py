"""The README and docs/ against their sources: every marked table and value equals what
``python docs/render.py`` renders from docs/results/, the README stays a front door, and
nothing in the user-facing text cites what is outside the repository. Fast: no Snakemake."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from statistics import mean, stdev

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "docs"))
import render  # noqa: E402

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
# The user-facing text: README, docs, config (comments included), the workflow (comments,
# docstrings, messages and schema descriptions).
TEXT = [
    README,
    *DOCS,
    *(REPO / "config").rglob("*"),
    *(p for p in (REPO / "workflow").rglob("*") if "__pycache__" not in p.parts),
]
FORBIDDEN = {
    "a file outside the repository (PITFALLS.md)": re.compile(r"PITFALLS"),
    "a folder outside the repository (../shared)": re.compile(r"\.\./shared"),
    "a work session": re.compile(r"\b[Ss]ession \d"),
    "a round of work": re.compile(r"\b[Rr]ound \d"),
    "an issue number": re.compile(r"\b[Ii]ssue #?\d|(?<![\w&/])#\d{1,4}\b"),  # not a colour (#444444)
    "a date of work": re.compile(r"\b20\d\d-[01]\d-[0-3]\d\b"),
}


def test_readme_is_a_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; at most 200 (move detail into docs/)"


def test_rendered_regions_match_their_sources():
    problems = render.render_all(check=True)
    assert not problems, "\n".join(problems)


def test_every_snapshot_is_rendered_somewhere():
    text = "\n".join(p.read_text() for p in [README, *DOCS])
    used = set(re.findall(r"<!-- (?:table|value):([\w-]+)[.\w-]*? -->", text))
    used |= {"full-mnist", "full-fashion"} if "<!-- table:full.headline -->" in text else set()
    unused = set(render.load_snapshots()) - used
    assert not unused, f"snapshots in docs/results/ that no document shows: {sorted(unused)}"


def test_readme_states_numbers_only_through_markers():
    """Outside marked regions and code blocks, the README has no measured-looking number:
    no metric (0.xx) and no time, rate or PSNR with its unit."""
    text = README.read_text()
    text = render.TABLE_RE.sub("", text)
    text = render.VALUE_RE.sub("", text)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    measured = re.compile(r"\b0\.\d{2,}|\b\d[\d,.]*\s?(?:s|ms|min|GFLOP/s|samples/s|dB)\b")
    found = [m.group(0) for m in measured.finditer(text)]
    assert not found, f"numbers in README.md outside <!-- table/value --> markers: {found}"


@pytest.mark.parametrize("path", [p for p in TEXT if p.is_file()], ids=lambda p: str(p.relative_to(REPO)))
def test_no_reference_outside_the_repository_or_to_work_history(path):
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        return
    if path.suffix == ".svg":
        return  # graphviz output: colours and node ids, no prose
    hits = [
        f"{path.relative_to(REPO)}:{n}: {what}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), 1)
        for what, pattern in FORBIDDEN.items()
        if pattern.search(line)
    ]
    assert not hits, "\n".join(hits)


def test_transcribed_means_agree_with_their_seeds():
    """A transcription check: where a snapshot holds every seed's accuracy, its recorded mean
    and sd are those of the seeds (to the rounding of the printed per-seed values)."""
    for name, snap in render.load_snapshots().items():
        methods = snap.get("methods", []) + [m for part in snap.get("baselines", []) for m in part["methods"]]
        for m in methods:
            acc = m["accuracy"]
            if acc.get("per_seed"):
                assert len(acc["per_seed"]) == len(acc["seeds"]), (name, m["method"])
                assert abs(mean(acc["per_seed"]) - acc["mean"]) <= 1.5e-4, (name, m["method"])
                assert abs(stdev(acc["per_seed"]) - acc["sd"]) <= 1.5e-4, (name, m["method"])


def test_every_snapshot_says_where_its_numbers_come_from():
    for name, snap in render.load_snapshots().items():
        assert snap["provenance"] in ("generated", "transcribed"), name
        if snap["provenance"] == "transcribed":
            assert len(snap.get("provenance_note", "")) > 40, f"{name}: say what it was transcribed from"
        assert re.fullmatch(r"[0-9a-f]{7,40}", snap["commit"]), name
        assert snap["machine"]["cores"] >= 1 and snap["machine"]["cpu"], name
        assert snap["matmul_gflops"]["threads"] >= 1, name


# ---------------------------------------------------------------------------- the renderer itself

SNAP = {
    "name": "study",
    "provenance": "generated",
    "commit": "0123456789abcdef0123456789abcdef01234567",
    "machine": {"cpu": "Test CPU", "cores": 2, "gpu": None, "torch": "2.13.0 CPU"},
    "matmul_gflops": {"threads": 2, "value": 123.4},
    "config": {"seeds": [0, 1, 2]},
    "run": {"seconds": 216.4, "jobs": 68, "rules": [{"rule": "train_denoiser", "jobs": 3, "job_seconds": 213.0}]},
    "summary": [],
    "claims": [],
    "denoising": [],
}


def test_render_replaces_a_hand_edited_number_and_check_catches_it(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text(
        "Run: <!-- value:study.runtime -->999 s<!-- /value -->.\n\n<!-- table:study.time -->\nold\n<!-- /table -->\n"
    )
    problems = render.render_all(check=True, snaps={"study": SNAP}, targets=[doc])
    assert problems and "differs" in problems[0]
    assert render.render_all(check=False, snaps={"study": SNAP}, targets=[doc]) == []
    text = doc.read_text()
    assert "<!-- value:study.runtime -->216 s<!-- /value -->" in text
    assert "| `train_denoiser` | 3 | 213 |" in text
    assert render.render_all(check=True, snaps={"study": SNAP}, targets=[doc]) == []


def test_an_unknown_marker_is_reported(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("<!-- value:study.nonsense -->1<!-- /value -->\n")
    problems = render.render_all(check=True, snaps={"study": SNAP}, targets=[doc])
    assert any("unknown value 'study.nonsense'" in p for p in problems)


SUMMARY_MD = """\
## The study's claims, checked

Intro.

| section | claim | tested here | verdict |
|---|---|---|---|
| 1 | K-Means is far less accurate than the supervised network | `classifier` vs `kmeans/raw` | holds |
| 2.1 | 5 epochs cluster better than 20 | `kmeans/ae_e5` vs `kmeans/ae_e20` | does not hold: the data say the opposite |

### Section 1: K-Means on pixels, and the supervised network

- **K-Means is far less accurate than the supervised network** Difference +0.4173 [+0.3861, +0.4486] (Welch). **Verdict: holds.**

### Section 2.1: K-Means on autoencoder embeddings

- **5 epochs cluster better than 20** Difference −0.0380 (paired). **Verdict: does not hold: the data say the opposite.**
"""


def test_claims_are_read_from_summary_md():
    claims = render.parse_claims(SUMMARY_MD, "summary.md")
    assert [c["section"] for c in claims] == ["1", "2.1"]
    assert claims[1]["verdict"] == "does not hold: the data say the opposite"
    assert claims[0]["result"].startswith("Difference +0.4173")
    assert render.parse_claims("# no claims here\n", "summary.md") == []
    with pytest.raises(SystemExit, match="one result line per claim"):
        render.parse_claims(SUMMARY_MD.split("### Section 2.1")[0], "summary.md")


def test_snapshot_json_round_trips(tmp_path):
    path = render.write_snapshot(SNAP, tmp_path)
    assert json.loads(path.read_text()) == SNAP
