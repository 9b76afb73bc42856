"""Rule train_denoiser: fit one de-noiser (noisy input, clean target), refuse collapsed results."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk, network=True)  # first: OpenMP reads its settings when torch loads

from pathlib import Path

import pandas as pd
import torch

from aeclust.denoise import train_denoiser
from aeclust.io import load_npz, save_json, save_table
from aeclust.models import input_settings, save_checkpoint
from aeclust.provenance import provenance
from aeclust.runtime import resolve_device, resolve_precision

p, out = smk.params, smk.output
device = resolve_device(p.device)
precision = resolve_precision(p.precision, device, key="denoise.precision")
settings = {**p.model, "rate": float(smk.wildcards.rate), "seed": int(smk.wildcards.seed), "epochs": p.epochs,
            "batch_size": p.batch_size, "lr": p.lr, "precision": precision}
images = torch.from_numpy(load_npz(smk.input.train)["images"])
settings.update(input_settings(images))  # a user's own image size and channels; nothing for MNIST
resume = Path(out.model + ".resume")
log.info("training %s on %d images on %s", settings, len(images), device)
model, history = train_denoiser(images, settings, device=device, checkpoint=resume)
save_checkpoint(out.model, model.cpu(), settings)
save_json(out.settings, {**settings, "device": str(device), "threads": torch.get_num_threads(), "n_train": len(images), **provenance()})
save_table(out.loss, pd.DataFrame(history))
resume.unlink(missing_ok=True)
