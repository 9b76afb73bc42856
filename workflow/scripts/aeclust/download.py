"""Fetch a dataset's gzipped IDX files from a list of mirrors and verify them.

Each file ``NAME`` is served by a mirror as ``NAME.gz``. Mirrors are tried in order;
the first whose bytes decompress and match the expected SHA-256 (of the
*decompressed* file) wins. A mirror is an ``http(s)://`` URL, a ``file://`` URL or a
plain local directory. Bytes go to a temporary name beside the target
(:func:`aeclust.io.atomic_path`) that is renamed into place only once verified, so a
bad download never leaves anything at the output path.

A file is streamed, 1 MiB at a time, through the decompressor into that temporary,
hashed as it is written. A mirror is refused at once when it sends more than twice the
size the file's IDX header declares (plus 1 MiB), when the file decompresses to more
than its header declares, or when the header declares more than ``max_bytes`` (1 GiB by
default): a broken or hostile mirror cannot fill the memory or the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import math
import os
import socket
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, NoReturn

from .idx import DTYPES
from .io import atomic_path

log = logging.getLogger(__name__)

ENV_MIRROR = "AECLUST_MIRROR"
_CHUNK = 1 << 20
# Most bytes an IDX header may declare (EMNIST's largest file is 0.55 GB, MNIST's 47 MB).
MAX_FILE_BYTES = 1 << 30


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


def _cap(declared: int | None, max_bytes: int) -> int:
    """Most bytes a mirror may send for a file whose IDX header declares ``declared`` bytes
    (``max_bytes`` until the header is read): twice that, plus 1 MiB for tiny files. Gzip
    never grows an IDX file by more than a few bytes per 64 KiB."""
    return 2 * (max_bytes if declared is None else declared) + (1 << 20)


def _declared_size(head: bytes) -> int | None:
    """Bytes the IDX file starting with ``head`` holds, by its header; None until ``head`` holds the header."""
    if len(head) < 4:
        return None
    if head[0] or head[1] or head[2] not in DTYPES or not head[3]:
        raise _MirrorFailed(f"not an IDX file (first bytes 0x{head[:4].hex()})")
    offset = 4 + 4 * head[3]
    if len(head) < offset:
        return None
    dims = struct.unpack(f">{head[3]}I", head[4:offset])
    return offset + math.prod(dims) * DTYPES[head[2]].itemsize


def _chunks(stream: BinaryIO, timeout: float) -> Iterator[bytes]:
    """The stream's bytes, 1 MiB at a time; read errors as :class:`_MirrorFailed`."""
    while True:
        try:
            chunk = stream.read(_CHUNK)
        except (OSError, http.client.HTTPException) as e:
            _raise_os_error(e, timeout)
        if not chunk:
            return
        yield chunk


def _gunzip_to(chunks: Iterator[bytes], length: int | None, out: Path, max_bytes: int) -> tuple[int, str]:
    """Decompress a gzip stream into ``out``, a chunk at a time; return its size and SHA-256.

    Refused (:class:`_MirrorFailed`, nothing kept in ``out``'s place) as soon as the stream
    is not gzip or not IDX, its IDX header declares more than ``max_bytes``, it decompresses
    to more than the header declares, or more bytes arrive than :func:`_cap` allows.
    """
    digest = hashlib.sha256()
    decomp, head, declared = zlib.decompressobj(wbits=31), b"", None
    received = written = 0

    def check_download() -> None:
        cap = _cap(declared, max_bytes)
        if length is not None and length > cap:
            raise _MirrorFailed(f"refused: {length:,} bytes to download, more than the cap of {cap:,}")
        if received > cap:
            raise _MirrorFailed(f"refused: more than {cap:,} bytes downloaded, the cap for this file")

    check_download()
    with open(out, "wb") as f:
        for chunk in chunks:
            if not received and chunk[:2] != b"\x1f\x8b":
                raise _MirrorFailed(f"not gzip (first bytes {chunk[:4].hex()})")
            received += len(chunk)
            check_download()
            data = chunk
            while True:
                if decomp.eof:
                    if not data:
                        break
                    decomp = zlib.decompressobj(wbits=31)  # another gzip member follows
                try:
                    piece = decomp.decompress(data, _CHUNK)
                except zlib.error as e:
                    raise _MirrorFailed(f"corrupt gzip: {e}") from None
                data = decomp.unused_data if decomp.eof else decomp.unconsumed_tail
                if declared is None:
                    head += piece[: 1024 - len(head)]  # an IDX header is at most 1,024 bytes
                    declared = _declared_size(head)
                    if declared is not None and declared > max_bytes:
                        raise _MirrorFailed(
                            f"refused: its IDX header declares {declared:,} bytes, more than the cap of {max_bytes:,}"
                        )
                    check_download()
                written += len(piece)
                if declared is not None and written > declared:
                    raise _MirrorFailed(
                        f"refused: decompresses to more than {declared:,} bytes, the size its IDX header declares"
                    )
                digest.update(piece)
                f.write(piece)
                if not data and not decomp.eof and len(piece) < _CHUNK:
                    break  # all input used and all output out (a full piece may leave more behind)
        if not received:
            raise _MirrorFailed("not gzip (first bytes none: empty file)")
        if not decomp.eof:
            raise _MirrorFailed(f"truncated gzip ({received} bytes)")
    return written, digest.hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _open(source: str, timeout: float) -> Iterator[tuple[BinaryIO, int | None]]:
    """The bytes at ``source`` as a stream, with their length where known."""
    scheme = _scheme(source)
    if scheme in ("", "file"):
        path = Path(source if not scheme else urllib.request.url2pathname(urllib.parse.urlsplit(source).path))
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            raise _MirrorFailed(f"missing file {path}") from None
        except OSError as e:
            raise _MirrorFailed(f"cannot read {path}: {e.strerror or e}") from None
        with f:
            yield f, os.fstat(f.fileno()).st_size
        return
    if scheme not in ("http", "https"):
        raise _MirrorFailed(f"unsupported URL scheme {scheme!r} (use http, https, file or a directory)")
    try:
        resp = urllib.request.urlopen(source, timeout=timeout)
    except urllib.error.HTTPError as e:
        raise _MirrorFailed(f"HTTP {e.code} {e.reason}", transient=e.code >= 500) from None
    except urllib.error.URLError as e:
        _raise_os_error(e.reason, timeout)
    except (OSError, http.client.HTTPException) as e:
        _raise_os_error(e, timeout)
    with resp:
        yield resp, resp.length


def _fetch_from(
    mirror: str, name: str, sha256: str, out: Path, timeout: float, retries: int, backoff: float, max_bytes: int
) -> int:
    """Decompress ``name`` from one mirror into ``out`` and verify it; its size, or :class:`_MirrorFailed`.

    Transient HTTP failures (timeouts, refused or broken connections, 5xx) are retried
    ``retries`` times, waiting ``backoff``, then twice that, ...
    """
    source = _source(mirror, name)
    for attempt in range(retries + 1):
        try:
            with _open(source, timeout) as (stream, length):
                size, got = _gunzip_to(_chunks(stream, timeout), length, out, max_bytes)
            break
        except _MirrorFailed as e:
            if not e.transient or attempt == retries:
                if attempt:
                    e.reason += f" ({attempt + 1} attempts)"
                raise
            log.warning("%s: %s; retry %d of %d", source, e.reason, attempt + 1, retries)
            time.sleep(backoff * 2**attempt)
    if got != sha256.lower():
        raise _MirrorFailed(f"checksum expected {sha256.lower()} got {got}")
    return size


def fetch_file(
    name: str,
    sha256: str,
    mirrors: list[str],
    outdir: Path,
    timeout: float = 30,
    retries: int = 2,
    backoff: float = 1.0,
    max_bytes: int = MAX_FILE_BYTES,
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
            with atomic_path(target) as tmp:  # renamed into place only once verified
                size = _fetch_from(mirror, name, sha256, tmp, timeout, retries, backoff, max_bytes)
        except _MirrorFailed as e:
            log.warning("%s from %s: %s", name, mirror, e.reason)
            failures.append((mirror, e.reason))
            continue
        log.info("%s: %d bytes from %s, SHA-256 verified", target, size, mirror)
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
    max_bytes: int = MAX_FILE_BYTES,
) -> list[Path]:
    """Fetch, decompress and verify each IDX file into ``outdir``; return the paths.

    ``files`` are decompressed IDX names; each mirror serves ``NAME.gz``. Per file the
    mirrors are tried in order; HTTP timeouts, connection errors and 5xx responses are
    retried ``retries`` extra times (waiting ``backoff``, then twice that, ...), other
    failures move on to the next mirror at once. A file already in ``outdir`` with the
    right SHA-256 is kept. A mirror that sends more than a file's IDX header allows, or a
    header declaring more than ``max_bytes``, is refused (see the module's docstring).
    Raises :class:`DownloadError` when no mirror serves a file.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    missing = [f for f in files if f not in sha256]
    if missing:
        raise ValueError(f"no SHA-256 given for {', '.join(missing)}")
    return [fetch_file(f, sha256[f], mirrors, outdir, timeout, retries, backoff, max_bytes) for f in files]
