"""Rule evaluate_denoiser: PSNR, SSIM and (with labels) legibility of noisy, median-filtered
and denoised held-out images, for each noise rate of one seed."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk, network=True)  # first: OpenMP reads its settings when torch loads

from aeclust.denoise import check_held_out, eval_subset, evaluate
from aeclust.io import load_npz, save_json, save_npz
from aeclust.models import load_checkpoint
from aeclust.provenance import provenance
from aeclust.runtime import resolve_device

p, seed = smk.params, int(smk.wildcards.seed)
device = resolve_device(p.device)
held_out = eval_subset(load_npz(smk.input.eval), p.per_class)
check_held_out(held_out, load_npz(smk.input.train))
# the supervised classifier scores legibility; data without labels have none
classifier = load_checkpoint(smk.input.classifier[0], device=device)[0] if smk.input.classifier else None
record = provenance()
for rate, model_path, metrics_path, examples_path in zip(
    p.rates, smk.input.models, smk.output.metrics, smk.output.examples, strict=True
):
    model, _ = load_checkpoint(model_path, device=device)
    metrics, examples = evaluate(
        model, classifier, held_out["images"], held_out["labels"], float(rate), seed, p.examples, device
    )
    save_json(metrics_path, {**metrics, **record})
    save_npz(examples_path, **examples)
    log.info("rate %s: %s", rate, metrics)
