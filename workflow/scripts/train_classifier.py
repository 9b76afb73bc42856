"""Rule train_classifier: the supervised reference, scored on the clustering subset."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk, network=True)  # first: OpenMP reads its settings when torch loads

from pathlib import Path

import numpy as np
import torch
from aeclust.io import load_npz, save_json
from aeclust.models import build_model, input_settings, save_checkpoint
from aeclust.provenance import provenance
from aeclust.runtime import resolve_device, set_seed
from aeclust.train import FitConfig, fit, predict

p = smk.params
seed = int(smk.wildcards.seed)
device = resolve_device(p.device)
set_seed(seed)
train, test = load_npz(smk.input.train), load_npz(smk.input.cluster)
settings = {**p.model, "seed": seed, "lr": p.lr, "batch_size": p.batch_size, "epochs": p.epochs}
settings.update(input_settings(train["images"]))  # a user's own image size and channels; nothing for MNIST
n_classes = int(train["labels"].max()) + 1
if n_classes != 10:
    settings["n_classes"] = n_classes
model = build_model(settings)
resume = Path(smk.output.model + ".resume")  # per-epoch checkpoint: a killed job resumes from it
cfg = FitConfig(p.epochs, p.batch_size, p.lr, seed, loss="ce", optimizer="sgd", checkpoint=resume, resume_key=settings)
fit(model, torch.from_numpy(train["images"]), cfg, targets=torch.from_numpy(train["labels"]), device=device)
predicted = predict(model, torch.from_numpy(test["images"]), device=device).argmax(1).numpy()
accuracy = float(np.mean(predicted == test["labels"]))
log.info("supervised accuracy on the clustering subset: %.4f", accuracy)
save_checkpoint(smk.output.model, model.cpu(), settings)
save_json(
    smk.output.metrics,
    {"method": "classifier", "seed": seed, "accuracy": accuracy, "n": int(len(predicted)), **provenance()},
)
resume.unlink(missing_ok=True)
