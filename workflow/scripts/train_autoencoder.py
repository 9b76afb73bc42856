"""Rule train_autoencoder: fit one autoencoder, refuse NaN or collapsed results."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk, network=True)  # first: OpenMP reads its settings when torch loads

import os
from pathlib import Path

import pandas as pd
import torch
from aeclust.io import load_npz, save_json, save_table
from aeclust.models import build_model, input_settings, save_checkpoint
from aeclust.provenance import provenance
from aeclust.runtime import resolve_device, resolve_precision, set_seed
from aeclust.train import FitConfig, check_not_collapsed, fit, flops_per_sample, predict

p, out = smk.params, smk.output
seed, epochs = int(smk.wildcards.seed), int(smk.wildcards.epochs)
device = resolve_device(p.device)
precision = resolve_precision(p.precision, device)
settings = {**p.model, "seed": seed, "epochs": epochs, "batch_size": p.batch_size, "lr": p.lr, "precision": precision}
set_seed(seed)
images = torch.from_numpy(load_npz(smk.input.train)["images"])
settings.update(input_settings(images))  # a user's own image size and channels; nothing for MNIST
model = build_model(settings)
resume = Path(out.model + ".resume")
# the training state does not depend on how many epochs are still to come: continuing the
# next smaller epoch count's state (weights, Adam, epoch) trains only the missing epochs
key = {k: v for k, v in settings.items() if k != "epochs"}
previous = list(smk.input.previous)
cfg = FitConfig(
    epochs,
    p.batch_size,
    p.lr,
    seed,
    precision=precision,
    checkpoint=resume,
    resume_key=key,
    start_from=previous[0] if previous else None,
)
log.info("training %s on %d images on %s", settings, len(images), device)
history = fit(model, images, cfg, device=device, flops_per_sample=flops_per_sample(build_model(settings), images))
check_not_collapsed(predict(model, images[:512], device=device), f"autoencoder {out.model}")
save_checkpoint(out.model, model.cpu(), settings)
save_json(
    out.settings,
    {
        **settings,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "n_train": len(images),
        "continued_from": history.continued_from,  # None when the previous state could not be used
        **provenance(),
    },
)
save_table(out.loss, pd.DataFrame(history))
os.replace(resume, out.state)  # the state after the last epoch: where a larger epoch count continues
