"""Rule download_dataset: fetch, decompress and verify the IDX files (thin wrapper).

How the bytes are fetched (mirrors, the local mirror, timeout, retries) is read from the
config here, on purpose not from params: it never decides what the files hold (their
SHA-256 does, a param), so changing it must not make the files, nor anything built from
them, stale.
"""

from aeclust.runtime import script_setup

log = script_setup(snakemake)  # noqa: F821

import os
from pathlib import Path

from aeclust.download import fetch_dataset, resolve_mirrors

smk = snakemake  # noqa: F821
cfg = smk.config
mirrors = resolve_mirrors(cfg["mirror"], cfg["datasets"][cfg["dataset"]]["mirrors"], os.environ)
log.info("mirrors, in order: %s", ", ".join(mirrors))
fetch = cfg["download"]
paths = fetch_dataset(
    smk.params.files,
    smk.params.sha256,
    mirrors,
    Path(smk.output[0]).parent,
    timeout=fetch["timeout"],
    retries=fetch["retries"],
)
log.info("verified %s", ", ".join(str(x) for x in paths))
