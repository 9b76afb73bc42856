"""Rule extract_embeddings: encode subsets with a trained autoencoder."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk, network=True)  # first: OpenMP reads its settings when torch loads

import torch
from aeclust.io import load_npz, save_npz
from aeclust.models import load_checkpoint
from aeclust.runtime import resolve_device
from aeclust.train import predict

device = resolve_device(smk.params.device)
model, settings = load_checkpoint(smk.input.model, device=device)
arrays = {}
for name in ["cluster"] + (["train"] if smk.params.embed_train else []):
    data = load_npz(smk.input[name])
    z = predict(model, torch.from_numpy(data["images"]), fn="encode", device=device).numpy()
    prefix = "" if name == "cluster" else "train_"
    arrays.update({f"{prefix}features": z, f"{prefix}labels": data["labels"]})
    log.info("%s: %d images -> %s embeddings", name, len(z), z.shape[1:])
save_npz(smk.output.features, **arrays)
