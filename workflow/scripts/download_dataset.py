"""Rule download_dataset: fetch, decompress and verify the IDX files (thin wrapper)."""

import os
from pathlib import Path

from aeclust.download import fetch_dataset, resolve_mirrors
from aeclust.runtime import script_setup

log = script_setup(snakemake)  # noqa: F821
p = snakemake.params  # noqa: F821
mirrors = resolve_mirrors(None, p.mirrors, os.environ)
log.info("mirrors, in order: %s", ", ".join(mirrors))
paths = fetch_dataset(p.files, p.sha256, mirrors, Path(snakemake.output[0]).parent, timeout=p.timeout, retries=p.retries)  # noqa: F821
log.info("verified %s", ", ".join(str(x) for x in paths))
