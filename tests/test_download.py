"""Downloading from directory, file:// and HTTP mirrors, with checksums and failover."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import threading
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from aeclust.download import DownloadError, fetch_dataset, resolve_mirrors
from aeclust.idx import read_images_labels
from aeclust.runtime import one_line
from helpers import write_idx

IMAGES, LABELS = "tiny-images-idx3-ubyte", "tiny-labels-idx1-ubyte"
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


@pytest.fixture
def dataset(tmp_path):
    """A tiny fake dataset: ``raw`` IDX bytes, ``gz`` bytes and ``sha256`` per file name."""
    rng = np.random.default_rng(0)
    arrays = {IMAGES: rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), LABELS: np.arange(6, dtype=np.uint8)}
    raw = {}
    for name, arr in arrays.items():
        write_idx(tmp_path / name, arr)
        raw[name] = (tmp_path / name).read_bytes()
        (tmp_path / name).unlink()
    return {
        "raw": raw,
        "gz": {n: gzip.compress(b, mtime=0) for n, b in raw.items()},
        "sha256": {n: hashlib.sha256(b).hexdigest() for n, b in raw.items()},
    }


def _mirror_dir(path: Path, files: dict[str, bytes]) -> Path:
    """Lay out ``files`` (name -> .gz bytes) as a directory mirror."""
    path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (path / f"{name}.gz").write_bytes(data)
    return path


def _corrupt(dataset) -> dict[str, bytes]:
    """Valid gzip files whose content has one byte flipped (bad checksum)."""
    out = {}
    for name, raw in dataset["raw"].items():
        bad = bytearray(raw)
        bad[-1] ^= 0xFF
        out[name] = gzip.compress(bytes(bad))
    return out


def _leftovers(outdir: Path) -> list[str]:
    return sorted(p.name for p in outdir.iterdir()) if outdir.exists() else []


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes``: path -> (status, body) or (status, body, send_length); counts
    hits per path. Without a Content-Length the body ends when the connection closes."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
        status, body, *length = self.server.routes.get(self.path, (404, b"not found"))
        if callable(status):
            status = status(self.server.hits[self.path])
        self.send_response(status)
        if length != [False]:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: refused
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """Start HTTP servers on 127.0.0.1; call with routes, get the base URL and the server."""
    servers = []

    def start(routes: dict[str, tuple]) -> tuple[str, http.server.HTTPServer]:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        srv.routes, srv.hits = routes, {}
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/", srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def silent_server():
    """A listening socket that never answers: connections succeed, reads time out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_directory_mirror(tmp_path, dataset):
    mirror = _mirror_dir(tmp_path / "mirror", dataset["gz"])
    out = tmp_path / "out"
    paths = fetch_dataset([IMAGES, LABELS], dataset["sha256"], [str(mirror)], out)
    assert paths == [out / IMAGES, out / LABELS]
    assert _leftovers(out) == sorted([IMAGES, LABELS])
    images, labels = read_images_labels(*paths)
    assert images.shape == (6, 28, 28) and labels.tolist() == list(range(6))


def test_file_url_mirror(tmp_path, dataset):
    mirror = _mirror_dir(tmp_path / "mirror", dataset["gz"])
    out = tmp_path / "out"
    paths = fetch_dataset([IMAGES, LABELS], dataset["sha256"], [mirror.as_uri()], out)
    assert [p.read_bytes() for p in paths] == [dataset["raw"][IMAGES], dataset["raw"][LABELS]]


def test_http_corrupt_first_then_good(tmp_path, dataset, http_server):
    bad_url, _ = http_server({f"/{n}.gz": (200, b) for n, b in _corrupt(dataset).items()})
    good_url, _ = http_server({f"/d/{n}.gz": (200, b) for n, b in dataset["gz"].items()})
    out = tmp_path / "out"
    paths = fetch_dataset([IMAGES, LABELS], dataset["sha256"], [bad_url, good_url + "d"], out, timeout=5)
    assert [p.read_bytes() for p in paths] == [dataset["raw"][IMAGES], dataset["raw"][LABELS]]
    assert _leftovers(out) == sorted([IMAGES, LABELS])


def test_all_mirrors_fail(tmp_path, dataset, http_server, silent_server):
    name = LABELS
    gz = dataset["gz"][name]
    url_404, _ = http_server({})
    url_corrupt, _ = http_server({f"/{name}.gz": (200, _corrupt(dataset)[name])})
    url_plain, _ = http_server({f"/{name}.gz": (200, dataset["raw"][name])})
    url_trunc, _ = http_server({f"/{name}.gz": (200, gz[: len(gz) // 2])})
    refused = f"http://127.0.0.1:{_closed_port()}/"
    empty_dir = _mirror_dir(tmp_path / "empty", {})
    mirrors = [url_404, url_corrupt, refused, silent_server, url_plain, url_trunc, str(empty_dir)]
    out = tmp_path / "out"
    with pytest.raises(DownloadError) as e:
        fetch_dataset([name], dataset["sha256"], mirrors, out, timeout=0.5, retries=0)
    msg = str(e.value)
    lines = msg.splitlines()
    assert lines[0] == f"{name}: all 7 mirror(s) failed:"
    expected = [
        "HTTP 404",
        "checksum expected " + dataset["sha256"][name] + " got ",
        "connection refused",
        "timeout after 0.5 s",
        "not gzip",
        "truncated gzip",
        f"missing file {empty_dir / name}.gz",
    ]
    assert len(lines) == 1 + len(mirrors)
    for line, mirror, reason in zip(lines[1:], mirrors, expected):
        assert line.startswith(f"  - {mirror}: ") and reason in line, line
    assert e.value.file == name and [m for m, _ in e.value.failures] == mirrors
    assert _leftovers(out) == []


def test_bad_existing_file_is_replaced(tmp_path, dataset):
    mirror = _mirror_dir(tmp_path / "mirror", dataset["gz"])
    out = tmp_path / "out"
    out.mkdir()
    (out / LABELS).write_bytes(b"stale")
    fetch_dataset([LABELS], dataset["sha256"], [str(mirror)], out)
    assert (out / LABELS).read_bytes() == dataset["raw"][LABELS]


def test_bad_existing_file_removed_when_all_fail(tmp_path, dataset):
    out = tmp_path / "out"
    out.mkdir()
    (out / LABELS).write_bytes(b"stale")
    with pytest.raises(DownloadError, match="missing file"):
        fetch_dataset([LABELS], dataset["sha256"], [str(tmp_path / "nowhere")], out)
    assert _leftovers(out) == []


def test_no_mirrors(tmp_path, dataset):
    with pytest.raises(DownloadError, match=f"^{LABELS}: no mirrors"):
        fetch_dataset([LABELS], dataset["sha256"], [], tmp_path / "out")


def test_5xx_is_retried_404_is_not(tmp_path, dataset, http_server):
    flaky = {f"/{LABELS}.gz": (lambda hit: 503 if hit == 1 else 200, dataset["gz"][LABELS])}
    url_flaky, srv_flaky = http_server(flaky)
    url_404, srv_404 = http_server({})
    out = tmp_path / "out"
    fetch_dataset([LABELS], dataset["sha256"], [url_404, url_flaky], out, timeout=5, retries=2, backoff=0)
    assert srv_404.hits == {f"/{LABELS}.gz": 1}
    assert srv_flaky.hits == {f"/{LABELS}.gz": 2}


def test_retries_are_bounded(tmp_path, dataset, http_server):
    url, srv = http_server({f"/{LABELS}.gz": (503, b"busy")})
    with pytest.raises(DownloadError, match=r"HTTP 503 .*\(3 attempts\)"):
        fetch_dataset([LABELS], dataset["sha256"], [url], tmp_path / "out", timeout=5, retries=2, backoff=0)
    assert srv.hits == {f"/{LABELS}.gz": 3}


def test_resolve_mirrors_env_beats_config():
    defaults = ["https://a/", "https://b/"]
    assert resolve_mirrors("/cfg", defaults, {"AECLUST_MIRROR": "/env"}) == ["/env", *defaults]
    assert resolve_mirrors("/cfg", defaults, {}) == ["/cfg", *defaults]
    assert resolve_mirrors("/cfg", defaults, {"AECLUST_MIRROR": ""}) == ["/cfg", *defaults]
    assert resolve_mirrors("", defaults, {"AECLUST_MIRROR": ""}) == defaults
    assert resolve_mirrors(None, defaults, {}) == defaults
    assert resolve_mirrors("https://b/", defaults, {}) == ["https://b/", "https://a/"]


def test_real_local_mirror(tmp_path, mirror):  # conftest's `mirror`: skips, saying why, without one
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    p = fetch_dataset(names, MNIST_SHA256, [str(mirror)], tmp_path)
    train_x, train_y = read_images_labels(p[0], p[1])
    test_x, test_y = read_images_labels(p[2], p[3])
    assert train_x.shape == (60000, 28, 28) and train_y.shape == (60000,)
    assert test_x.shape == (10000, 28, 28) and test_y.shape == (10000,)
    assert np.bincount(train_y, minlength=10).min() == 5421
    assert np.bincount(test_y, minlength=10).min() == 892


# ---- bounded downloads: a broken or hostile mirror cannot fill memory or disk -------------


def _gzip_stream(*parts: bytes, zeros: int = 0) -> bytes:
    """gzip of ``parts`` followed by ``zeros`` zero bytes, compressed a MiB at a time."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(p) for p in parts]
    block = bytes(1 << 20)
    for _ in range(zeros >> 20):
        out.append(z.compress(block))
    return b"".join([*out, z.flush()])


def _header(raw: bytes) -> bytes:
    return raw[: 4 + 4 * raw[3]]


def test_gzip_bomb_on_a_local_mirror_is_refused_naming_the_file_and_the_cap(tmp_path, dataset):
    """A 64 KB .gz of the file's own header and 64 MiB of zeros: refused when the output passes
    the 4,720 bytes the header declares, with memory that never holds the decompressed file."""
    raw = dataset["raw"][IMAGES]
    bomb = _gzip_stream(_header(raw), zeros=64 << 20)
    assert len(bomb) < 100_000
    mirror = _mirror_dir(tmp_path / "mirror", {IMAGES: bomb})
    out = tmp_path / "out"
    tracemalloc.start()
    try:
        with pytest.raises(DownloadError) as e:
            fetch_dataset([IMAGES], dataset["sha256"], [str(mirror)], out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    line = one_line(e.value)
    assert "\n" not in line and line.startswith(f"DownloadError: {IMAGES}: "), line
    assert f"refused: decompresses to more than {len(raw):,} bytes, the size its IDX header declares" in line, line
    assert peak < 8 << 20, peak  # chunks of 1 MiB, never the 64 MiB
    assert _leftovers(out) == []  # neither the file nor a temporary


def test_a_header_declaring_more_than_the_cap_is_refused_before_writing_it(tmp_path, dataset):
    header = bytes([0, 0, 8, 3]) + np.array([100_000, 1000, 1000], dtype=">u4").tobytes()  # 100 GB of uint8
    mirror = _mirror_dir(tmp_path / "mirror", {IMAGES: _gzip_stream(header, zeros=4 << 20)})
    with pytest.raises(DownloadError) as e:
        fetch_dataset([IMAGES], dataset["sha256"], [str(mirror)], tmp_path / "out", max_bytes=1 << 20)
    line = one_line(e.value)
    assert f"{IMAGES}: " in line and "declares 100,000,000,016 bytes, more than the cap of 1,048,576" in line, line
    assert _leftovers(tmp_path / "out") == []
    # and a file that is not IDX at all is refused as soon as its first bytes are out
    mirror = _mirror_dir(tmp_path / "mirror2", {IMAGES: _gzip_stream(b"<html>", zeros=4 << 20)})
    with pytest.raises(DownloadError, match=r"not an IDX file \(first bytes 0x3c68746d\)"):
        fetch_dataset([IMAGES], dataset["sha256"], [str(mirror)], tmp_path / "out")


def test_an_oversize_download_is_refused(tmp_path, dataset, http_server):
    """More bytes than twice what the header declares plus 1 MiB: with a Content-Length the
    download is refused before its body is read; without one, as the cap is passed (here by
    gzip members that decompress to nothing, which no decompression cap would stop)."""
    gz = dataset["gz"][LABELS]
    padding = gzip.compress(b"", mtime=0) * (3_000_000 // 20)
    url, srv = http_server({f"/{LABELS}.gz": (200, gz + padding)})
    url_open, _ = http_server({f"/{LABELS}.gz": (200, gz + padding, False)})
    cap = 2 * len(dataset["raw"][LABELS]) + (1 << 20)
    out = tmp_path / "out"
    for mirror, reason in [
        (url, f"refused: {len(gz + padding):,} bytes to download, more than the cap of {cap:,}"),
        (url_open, f"refused: more than {cap:,} bytes downloaded, the cap for this file"),
    ]:
        with pytest.raises(DownloadError) as e:
            fetch_dataset([LABELS], dataset["sha256"], [mirror], out, timeout=5)
        line = one_line(e.value)
        assert line.startswith(f"DownloadError: {LABELS}: ") and reason in line, line
        assert _leftovers(out) == []
    # the same bytes without the padding are the file
    url_ok, _ = http_server({f"/{LABELS}.gz": (200, gz, False)})
    assert (
        fetch_dataset([LABELS], dataset["sha256"], [url_ok], out, timeout=5)[0].read_bytes() == dataset["raw"][LABELS]
    )


def test_several_gzip_members_and_a_file_larger_than_a_chunk(tmp_path):
    """Streaming decompression gives exactly the file: one larger than the 1 MiB chunk (the
    decompressor's output is cut and resumed), and one written as two gzip members."""
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 4, (1400, 28, 28), dtype=np.uint8)  # 1.1 MB, more than a 1 MiB chunk
    write_idx(tmp_path / "big", arr)
    raw = (tmp_path / "big").read_bytes()
    assert len(raw) > 1 << 20
    sha = {"big": hashlib.sha256(raw).hexdigest(), "two": hashlib.sha256(raw).hexdigest()}
    half = len(raw) // 2

    def gz(b: bytes) -> bytes:
        return gzip.compress(b, compresslevel=1)

    mirror = _mirror_dir(tmp_path / "mirror", {"big": gz(raw), "two": gz(raw[:half]) + gz(raw[half:])})
    paths = fetch_dataset(["big", "two"], sha, [str(mirror)], tmp_path / "out")
    assert [p.read_bytes() == raw for p in paths] == [True, True]
