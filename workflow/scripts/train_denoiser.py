"""Rule train_denoiser: fit one seed's de-noiser for each noise rate (noisy input, clean
target), refuse collapsed results."""

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
images = torch.from_numpy(load_npz(smk.input.train)["images"])
common = {
    "seed": int(smk.wildcards.seed),
    "epochs": p.epochs,
    "batch_size": p.batch_size,
    "lr": p.lr,
    "precision": precision,
    **input_settings(images),
}  # input_settings: a user's own image size; nothing for MNIST
record = {"device": str(device), "threads": torch.get_num_threads(), "n_train": len(images), **provenance()}
resumes = [Path(model + ".resume") for model in out.model]
for rate, resume, model_path, settings_path, loss_path in zip(
    p.rates, resumes, out.model, out.settings, out.loss, strict=True
):
    settings = {**p.model, "rate": float(rate), **common}
    log.info("training %s on %d images on %s", settings, len(images), device)
    # the resume file stays until every rate is done: a job stopped at a later rate
    # continues there, and the finished rates are restored from theirs, not retrained
    model, history = train_denoiser(images, settings, device=device, checkpoint=resume)
    save_checkpoint(model_path, model.cpu(), settings)
    save_json(settings_path, {**settings, **record})
    save_table(loss_path, pd.DataFrame(history))
for resume in resumes:
    resume.unlink(missing_ok=True)
