"""Fetch a dataset's gzipped IDX files from a list of mirrors and verify them.

Each file ``NAME`` is served by a mirror as ``NAME.gz``. Mirrors are tried in order;
the first whose bytes decompress and match the expected SHA-256 (of the
*decompressed* file) wins. A mirror is an ``http(s)://`` URL, a ``file://`` URL or a
plain local directory. Bytes are only written once verified, to a temporary name
beside the target that is then renamed into place, so a bad download never leaves
anything at the output path.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import logging
import os
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

log = logging.getLogger(__name__)

ENV_MIRROR = "AECLUST_MIRROR"
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """No mirror served a file with the expected content.

    ``file`` is the file's name; ``failures`` lists ``(mirror, reason)`` per mirror tried.
    """

    def __init__(self, file: str, failures: list[tuple[str, str]]):
        self.file = file
        self.failures = failures
        if not failures:
            msg = f"{file}: no mirrors to fetch it from (set {ENV_MIRROR} or the config key 'mirror')"
        else:
            lines = [f"{file}: all {len(failures)} mirror(s) failed:"]
            lines += [f"  - {mirror}: {reason}" for mirror, reason in failures]
            msg = "\n".join(lines)
        super().__init__(msg)


class _MirrorFailed(Exception):
    """One mirror failed for one file; ``transient`` failures are worth retrying."""

    def __init__(self, reason: str, transient: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


def resolve_mirrors(
    config_mirror: str | None, dataset_mirrors: list[str], env: Mapping[str, str] = os.environ
) -> list[str]:
    """Mirrors in the order to try: the local mirror first, then the dataset's defaults.

    The local mirror is ``$AECLUST_MIRROR`` if set and non-empty, else ``config_mirror``;
    an empty string counts as unset. Duplicates are dropped, keeping the first.
    """
    local = (env.get(ENV_MIRROR) or "").strip() or (config_mirror or "").strip()
    ordered = ([local] if local else []) + [m.strip() for m in dataset_mirrors if m and m.strip()]
    return list(dict.fromkeys(ordered))


def _scheme(mirror: str) -> str:
    """``http``, ``https``, ``file``, another URL scheme, or ``""`` for a directory path."""
    scheme = urllib.parse.urlsplit(mirror).scheme.lower()
    return scheme if len(scheme) > 1 else ""  # "C:" is a drive, not a scheme


def _source(mirror: str, name: str) -> str:
    """Where ``mirror`` keeps ``name``.gz: a URL, or a local path for directories."""
    if _scheme(mirror):
        return urllib.parse.urljoin(mirror if mirror.endswith("/") else mirror + "/", name + ".gz")
    return str(Path(mirror).expanduser() / (name + ".gz"))


def _read_local(path: Path) -> bytes:
    """Read a mirror file from disk."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _MirrorFailed(f"missing file {path}") from None
    except OSError as e:
        raise _MirrorFailed(f"cannot read {path}: {e.strerror or e}") from None


def _read_http(url: str, timeout: float) -> bytes:
    """One HTTP(S) GET; classifies failures as transient (retry) or not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.read()
    except urllib.error.HTTPError as e:
        raise _MirrorFailed(f"HTTP {e.code} {e.reason}", transient=e.code >= 500) from None
    except urllib.error.URLError as e:
        _raise_os_error(e.reason, timeout)
    except (OSError, http.client.HTTPException) as e:
        _raise_os_error(e, timeout)


def _raise_os_error(err: object, timeout: float) -> NoReturn:
    """Turn a network-level error into a :class:`_MirrorFailed` with a short reason."""
    if isinstance(err, (TimeoutError, socket.timeout)):
        raise _MirrorFailed(f"timeout after {timeout:g} s", transient=True)
    if isinstance(err, ConnectionRefusedError):
        raise _MirrorFailed("connection refused", transient=True)
    if isinstance(err, socket.gaierror):
        raise _MirrorFailed(f"host not found ({err.strerror or err})")
    if isinstance(err, (ConnectionError, http.client.HTTPException)):
        raise _MirrorFailed(f"connection error: {type(err).__name__}: {err}", transient=True)
    if isinstance(err, OSError):
        raise _MirrorFailed(f"network error: {err.strerror or err}", transient=True)
    raise _MirrorFailed(f"network error: {err}")


def _fetch_raw(source: str, timeout: float, retries: int, backoff: float) -> bytes:
    """The gzip bytes at ``source``, retrying transient HTTP failures ``retries`` times."""
    scheme = _scheme(source)
    if not scheme:
        return _read_local(Path(source))
    if scheme == "file":
        return _read_local(Path(urllib.request.url2pathname(urllib.parse.urlsplit(source).path)))
    if scheme not in ("http", "https"):
        raise _MirrorFailed(f"unsupported URL scheme {scheme!r} (use http, https, file or a directory)")
    for attempt in range(retries + 1):
        try:
            return _read_http(source, timeout)
        except _MirrorFailed as e:
            if not e.transient or attempt == retries:
                if attempt:
                    e.reason += f" ({attempt + 1} attempts)"
                raise
            log.warning("%s: %s; retry %d of %d", source, e.reason, attempt + 1, retries)
            time.sleep(backoff * 2**attempt)
    raise AssertionError("unreachable")


def _gunzip(data: bytes) -> bytes:
    """Decompress gzip bytes, naming what is wrong with them if that fails."""
    if data[:2] != b"\x1f\x8b":
        raise _MirrorFailed(f"not gzip (first bytes {data[:4].hex() or 'none: empty file'})")
    try:
        return gzip.decompress(data)
    except EOFError:
        raise _MirrorFailed(f"truncated gzip ({len(data)} bytes)") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise _MirrorFailed(f"corrupt gzip: {e}") from None


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _fetch_from(mirror: str, name: str, sha256: str, timeout: float, retries: int, backoff: float) -> bytes:
    """Decompressed, verified bytes of ``name`` from one mirror, or :class:`_MirrorFailed`."""
    data = _gunzip(_fetch_raw(_source(mirror, name), timeout, retries, backoff))
    got = hashlib.sha256(data).hexdigest()
    if got != sha256.lower():
        raise _MirrorFailed(f"checksum expected {sha256.lower()} got {got}")
    return data


def fetch_file(
    name: str,
    sha256: str,
    mirrors: list[str],
    outdir: Path,
    timeout: float = 30,
    retries: int = 2,
    backoff: float = 1.0,
) -> Path:
    """Fetch one file (see :func:`fetch_dataset`); return its path in ``outdir``."""
    target = Path(outdir) / name
    if target.exists():
        if _sha256_file(target) == sha256.lower():
            log.info("%s: already present and verified", target)
            return target
        log.warning("%s: present but checksum differs; removing it and fetching again", target)
        target.unlink()
    failures: list[tuple[str, str]] = []
    for mirror in mirrors:
        try:
            data = _fetch_from(mirror, name, sha256, timeout, retries, backoff)
        except _MirrorFailed as e:
            log.warning("%s from %s: %s", name, mirror, e.reason)
            failures.append((mirror, e.reason))
            continue
        _write_atomic(target, data)
        log.info("%s: %d bytes from %s, SHA-256 verified", target, len(data), mirror)
        return target
    raise DownloadError(name, failures)


def fetch_dataset(
    files: list[str],
    sha256: dict[str, str],
    mirrors: list[str],
    outdir: Path,
    timeout: float = 30,
    retries: int = 2,
    backoff: float = 1.0,
) -> list[Path]:
    """Fetch, decompress and verify each IDX file into ``outdir``; return the paths.

    ``files`` are decompressed IDX names; each mirror serves ``NAME.gz``. Per file the
    mirrors are tried in order; HTTP timeouts, connection errors and 5xx responses are
    retried ``retries`` extra times (waiting ``backoff``, then twice that, ...), other
    failures move on to the next mirror at once. A file already in ``outdir`` with the
    right SHA-256 is kept. Raises :class:`DownloadError` when no mirror serves a file.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    missing = [f for f in files if f not in sha256]
    if missing:
        raise ValueError(f"no SHA-256 given for {', '.join(missing)}")
    return [fetch_file(f, sha256[f], mirrors, outdir, timeout, retries, backoff) for f in files]
