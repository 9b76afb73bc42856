import dataclasses

import pytest
import torch
from aeclust.models import CheckpointError, build_model, load_checkpoint, save_checkpoint
from aeclust.runtime import resolve_device, resolve_precision, set_seed
from aeclust.train import FitConfig, TrainingError, check_not_collapsed, fit, predict
from conftest import blob_images

CONV = {"kind": "autoencoder", "arch": "conv"}
MLP = {"kind": "autoencoder", "arch": "mlp", "mlp_dims": [64], "latent": 10}


images = blob_images


@pytest.mark.parametrize("settings,dim", [(CONV, 64), (MLP, 10)])
def test_shapes(settings, dim):
    model = build_model(settings)
    x = torch.rand(5, 1, 28, 28)
    assert model.encode(x).shape == (5, dim)
    out = model(x)
    assert out.shape == (5, 1, 28, 28)
    assert 0 <= out.min() and out.max() <= 1


@pytest.mark.parametrize("settings", [CONV, MLP])
def test_loss_falls_on_tiny_batch(settings):
    set_seed(0)
    model = build_model(settings)
    hist = fit(model, images(), FitConfig(epochs=8, batch_size=16, lr=3e-3, seed=0))
    assert hist[-1]["loss"] < 0.6 * hist[0]["loss"]
    assert all(h["samples_per_s"] > 0 for h in hist)


@pytest.mark.parametrize("settings", [CONV, MLP])
def test_bf16_trains_like_fp32(settings):
    """bfloat16 autocast learns as fp32 does (loss within 10 %), keeps float32 weights, stays
    deterministic, and differs from fp32 in the last bits (so the setting really acts)."""
    hists, models = {}, {}
    for precision in ("fp32", "bf16", "bf16"):
        set_seed(0)
        model = build_model(settings)
        hist = fit(model, images(), FitConfig(epochs=8, batch_size=16, lr=3e-3, seed=0, precision=precision))
        if precision in models:
            assert all(
                torch.equal(a, b) for a, b in zip(models[precision].state_dict().values(), model.state_dict().values())
            )
        hists[precision], models[precision] = hist, model
    assert all(p.dtype == torch.float32 for p in models["bf16"].parameters())
    assert hists["bf16"][-1]["loss"] < 0.6 * hists["bf16"][0]["loss"]
    assert hists["bf16"][-1]["loss"] == pytest.approx(hists["fp32"][-1]["loss"], rel=0.1)
    assert hists["bf16"][-1]["loss"] != hists["fp32"][-1]["loss"]


def test_precision_setting(monkeypatch):
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda native=native: native)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda native=native: native)
        assert resolve_precision("auto", cpu) == expected
    with pytest.raises(ValueError, match="config autoencoder.precision: expected auto, fp32 or bf16, got 'fp16'"):
        resolve_precision("fp16", cpu)
    with pytest.raises(ValueError, match="precision: expected fp32 or bf16, got 'auto'"):
        fit(build_model(MLP), images(4), FitConfig(epochs=1, batch_size=4, lr=1e-3, seed=0, precision="auto"))


def _train(seed, epochs=2, checkpoint=None):
    set_seed(seed)
    model = build_model(CONV)
    fit(
        model,
        images(),
        FitConfig(epochs=epochs, batch_size=16, lr=1e-3, seed=seed, checkpoint=checkpoint, resume_key=CONV),
    )
    return model


def test_cpu_determinism():
    a, b, c = _train(1), _train(1), _train(2)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    assert any(
        not torch.equal(va, vc)
        for va, vc in zip(a.state_dict().values(), c.state_dict().values())
        if va.is_floating_point()
    )


def test_resume_equals_uninterrupted(tmp_path):
    ckpt = tmp_path / "m.resume"
    full = _train(3, epochs=3)
    _train(3, epochs=2, checkpoint=ckpt)  # "interrupted" after epoch 2
    assert ckpt.exists()
    resumed = _train(3, epochs=3, checkpoint=ckpt)  # picks up at epoch 3
    for va, vb in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(va.float(), vb.float(), atol=1e-6)


def test_checkpoint_roundtrip_and_refusals(tmp_path):
    model = build_model(CONV)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, CONV)
    loaded, settings = load_checkpoint(path, CONV)
    x = torch.rand(3, 1, 28, 28)
    assert torch.allclose(loaded.eval()(x), model.eval()(x))
    with pytest.raises(CheckpointError, match=r"m.pt: architecture .* does not match"):
        load_checkpoint(path, MLP)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="bad.pt: not a readable checkpoint"):
        load_checkpoint(bad)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": build_model(MLP).state_dict(), "settings": CONV}, other)
    with pytest.raises(CheckpointError, match="other.pt: weights do not fit"):
        load_checkpoint(other)


def test_nan_loss_fails():
    model = build_model(MLP)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    with pytest.raises(TrainingError, match="loss is nan"):
        fit(model, images(16), FitConfig(epochs=1, batch_size=8, lr=1e-3, seed=0))


def test_collapse_detected():
    constant = torch.full((10, 1, 28, 28), 0.1)
    with pytest.raises(TrainingError, match="collapsed to a constant image"):
        check_not_collapsed(constant, "autoencoder x.pt")
    check_not_collapsed(torch.rand(10, 1, 28, 28), "fine")


def test_device_auto_falls_back_to_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(RuntimeError, match="config device: 'cuda'"):
        resolve_device("cuda")


def test_predict_encode_matches_model():
    model = build_model(MLP).eval()
    x = images(20)
    z = predict(model, x, fn="encode", batch_size=7)
    assert z.shape == (20, 10)
    assert torch.allclose(z, model.encode(x.float().view(20, 1, 28, 28) / 255), atol=1e-6)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_continued_training_equals_straight(tmp_path, precision, caplog):
    """A model trained 2 epochs, then continued from its saved state to 5, equals one trained
    5 epochs straight (weights, optimizer, shuffles): what lets ae_e20 continue ae_e5."""
    key = {**CONV, "seed": 3}

    def cfg(epochs, checkpoint=None, start_from=None):
        return FitConfig(
            epochs=epochs,
            batch_size=16,
            lr=1e-3,
            seed=3,
            precision=precision,
            checkpoint=checkpoint,
            resume_key=key,
            start_from=start_from,
        )

    set_seed(3)
    straight = build_model(CONV)
    hist_straight = fit(straight, images(), cfg(5))
    set_seed(3)
    short = build_model(CONV)
    fit(short, images(), cfg(2, checkpoint=tmp_path / "e2.state"))
    set_seed(99)  # the continued run's own initialisation must not matter
    longer = build_model(CONV)
    hist = fit(longer, images(), cfg(5, checkpoint=tmp_path / "e5.resume", start_from=tmp_path / "e2.state"))
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4, 5] and hist.continued_from == str(tmp_path / "e2.state")
    assert [h["loss"] for h in hist] == pytest.approx([h["loss"] for h in hist_straight], rel=1e-5)
    for (name, a), b in zip(straight.state_dict().items(), longer.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), rtol=1e-5, atol=1e-6), name
    # a state of other settings, or of other data, is not used (one warning line, training
    # starts from the model as given, the history says it did not continue); one of more
    # epochs than asked for is refused by name
    from aeclust.train import StateError

    def fresh(seed, x, cfg_):
        set_seed(seed)
        model = build_model(CONV)
        return model, fit(model, x, cfg_)

    other = FitConfig(
        epochs=5, batch_size=16, lr=1e-3, seed=4, resume_key={**CONV, "seed": 4}, start_from=tmp_path / "e2.state"
    )
    for x, cfg_, why in (
        (images(), other, "other settings (seed: 3 -> 4"),
        (images(seed=1), cfg(5, start_from=tmp_path / "e2.state"), "the training data differ"),
    ):
        caplog.clear()
        with caplog.at_level("INFO", logger="aeclust"):
            model, hist = fresh(7, x, cfg_)
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len(warnings) == 1 and why in warnings[0] and "not continuing" in warnings[0], warnings
        assert hist.continued_from is None and [h["epoch"] for h in hist] == [1, 2, 3, 4, 5]
        reference, _ = fresh(7, x, dataclasses.replace(cfg_, start_from=None))
        for a, b in zip(reference.state_dict().values(), model.state_dict().values()):
            assert torch.equal(a, b)
    with pytest.raises(StateError, match="e5.resume: trained 5 epochs, more than the 4 asked for"):
        fit(build_model(CONV), images(), cfg(4, start_from=tmp_path / "e5.resume"))


def test_batches_turn_to_float_one_at_a_time(monkeypatch):
    """Training and prediction read uint8 images and make floats of one batch at a time,
    never of the whole set."""
    from aeclust import train

    sizes = []
    real = train.to_float
    monkeypatch.setattr(train, "to_float", lambda x: sizes.append(len(x)) or real(x))
    set_seed(0)
    model = build_model(CONV)
    fit(model, images(40), FitConfig(epochs=1, batch_size=16, lr=1e-3, seed=0))
    assert sizes == [16, 16, 8]
    predict(model, images(40), batch_size=16)
    assert sizes[3:] == [16, 16, 8]


def test_large_training_sets_stay_off_the_device(monkeypatch):
    from aeclust import train

    x, meta = images(8), torch.device("meta")
    assert train._on_device(x, meta).device == meta  # small: moved once
    monkeypatch.setattr(train, "DEVICE_RESIDENT_BYTES", x.numel() - 1)
    assert train._on_device(x, meta) is x  # large: left in host memory, moved batch by batch
    assert train._take(x, torch.tensor([3, 1]), meta).shape == (2, 28, 28)


def test_progress_is_logged_by_time_within_an_epoch(caplog):
    """Not only per epoch: with the interval at 0 every batch reports its rate and the time left."""
    set_seed(0)
    with caplog.at_level("INFO", logger="aeclust"):
        fit(build_model(MLP), images(48), FitConfig(epochs=2, batch_size=16, lr=1e-3, seed=0, progress_s=0))
    lines = [r.getMessage() for r in caplog.records]
    progress = [ln for ln in lines if ln.startswith("training epoch")]
    assert len(progress) == 6 and progress[0].startswith("training epoch 1/2: 16 of 96 samples (17 %), ")
    assert all("samples/s, about " in ln and ln.endswith(" left") for ln in progress)
    assert lines.index(progress[2]) < lines.index(next(ln for ln in lines if ln.startswith("epoch 1/2 loss")))
