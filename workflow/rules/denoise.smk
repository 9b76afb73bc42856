# De-noising (the study's Section 3 and Table 1, measured): one de-noiser per noise rate
# and seed, scored on held-out images against the noisy input and a 3x3 median filter,
# legibility by the supervised classifier (only where the images have labels), the
# figure and the table.


rule train_denoiser:
    """Noisy input, clean target, MSE; fresh noise each epoch; one de-noiser per noise rate,
    every rate of one seed in one process (per-epoch checkpoints, resumable)."""
    input:
        train=f"{R}/subsets/train_s{{seed}}.npz",
        code=lib_for("train_denoiser"),
    output:
        model=expand(f"{DN}/models/p{{rate}}_s{{{{seed}}}}.pt", rate=RATES),
        settings=expand(f"{DN}/models/p{{rate}}_s{{{{seed}}}}.json", rate=RATES),
        loss=expand(f"{DN}/models/p{{rate}}_s{{{{seed}}}}_loss.tsv", rate=RATES),
    log:
        f"{LOGS}/train_denoiser/s{{seed}}.log",
    benchmark:
        f"{BENCH}/train_denoiser/s{{seed}}.tsv"
    # the DAG's longest jobs (~70 s each in the study): started first, they do not leave
    # one core idle at the end while the last of them trains (longest job first)
    priority: 1
    conda:
        "../envs/aeclust.yaml"
    # Small convolutional networks: two 1-thread jobs on 2 cores train 1.3x the samples of
    # one 2-thread job. One job per seed: a job's ~4.6 s of start-up (Python, torch and its
    # compiler stack, which the first optimiser step imports) is paid once, not per rate;
    # the rates train one after the other, each from the seed's own initialisation, so a
    # de-noiser is the same as when trained alone (docs/performance.md).
    threads: 1
    resources:
        mem_mb=mem_mb_of("train_denoiser"),
        runtime=runtime_of("train_denoiser", config["denoise"]["epochs"] * len(RATES)),
        gpu=gpus(),
    params:
        rates=config["denoise"]["rates"],
        model=denoiser_settings(),
        epochs=config["denoise"]["epochs"],
        batch_size=config["denoise"]["batch_size"],
        lr=config["denoise"]["lr"],
        precision=config["denoise"]["precision"],
        device=config["device"],
    script:
        "../scripts/train_denoiser.py"


rule evaluate_denoiser:
    """PSNR, SSIM and (with labels) classifier accuracy of noisy, 3x3-median and denoised
    held-out images, for every noise rate of one seed (one process: the rates share its
    start-up, the held-out images and the classifier)."""
    input:
        models=rules.train_denoiser.output.model,
        classifier=legibility_classifier(),
        eval=f"{R}/subsets/cluster_s{{seed}}.npz",
        train=f"{R}/subsets/train_s{{seed}}.npz",
        code=lib_for("evaluate_denoiser"),
    output:
        metrics=expand(f"{DN}/metrics/p{{rate}}_s{{{{seed}}}}.json", rate=RATES),
        examples=expand(f"{DN}/examples/p{{rate}}_s{{{{seed}}}}.npz", rate=RATES),
    log:
        f"{LOGS}/evaluate_denoiser/s{{seed}}.log",
    benchmark:
        f"{BENCH}/evaluate_denoiser/s{{seed}}.tsv"
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("evaluate_denoiser"),
        runtime=runtime_of("evaluate_denoiser"),
        gpu=gpus(),
    params:
        rates=config["denoise"]["rates"],
        per_class=config["denoise"]["eval_per_class"],
        examples=config["denoise"]["examples"],
        device=config["device"],
    script:
        "../scripts/evaluate_denoiser.py"


rule summarize_denoising:
    """denoising.csv / denoising.md: one row per noise rate, mean and sd over seeds."""
    input:
        metrics=expand(f"{DN}/metrics/p{{rate}}_s{{seed}}.json", rate=RATES, seed=SEEDS),
        code=lib_for("summarize_denoising"),
    output:
        csv=report(
            f"{DN}/denoising.csv",
            caption="../report/denoising_table.rst",
            category="De-noising",
            labels={
                "result": "table: scores per noise rate",
                "noise rates": ", ".join(RATES),
            },
        ),
        md=report(
            f"{DN}/denoising.md",
            caption="../report/denoising_table.rst",
            category="De-noising",
            labels={
                "result": "table (Markdown): scores per noise rate",
                "noise rates": ", ".join(RATES),
            },
        ),
    log:
        f"{LOGS}/summarize_denoising.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        seeds=SEEDS,
    script:
        "../scripts/summarize_denoising.py"


rule plot_denoising:
    """Example images per noise rate (the study's Table 1); PSNR and legibility (without
    labels: SSIM) against the rate."""
    input:
        table=rules.summarize_denoising.output.csv,
        examples=expand(f"{DN}/examples/p{{rate}}_s{SEEDS[0]}.npz", rate=RATES),
        code=lib_for("plot_denoising"),
    output:
        examples=report(
            f"{DN}/figures/examples.png",
            caption="../report/denoise_examples.rst",
            category="De-noising",
            labels={
                "result": "figure: example digits (study Table 1)",
                "noise rates": ", ".join(RATES),
            },
        ),
        curves=report(
            f"{DN}/figures/curves.png",
            caption="../report/denoise_curves.rst",
            category="De-noising",
            labels={
                "result": (
                    "figure: PSNR and legibility against noise rate"
                    if LABELLED
                    else "figure: PSNR and SSIM against noise rate"
                ),
                "noise rates": ", ".join(RATES),
            },
        ),
    log:
        f"{LOGS}/plot_denoising.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/plot_denoising.py"
