"""Tiny, randomly initialised DeBERTa-v3-style checkpoints with their own tokenizers, built offline in seconds.

Tests, smoke runs and ``bench/gpu_check.py`` need a real encoder directory (config, weights, tokenizer) that
exercises the same code as DeBERTa-v3 on Kaggle, without any download: the architecture is the real
``deberta-v2`` implementation of transformers with a few hidden units. Two tokenizers:

* :func:`build_tiny_checkpoint`: a WordPiece trained with ``tokenizers``, saved as ``tokenizer.json``;
* :func:`build_tiny_spm_checkpoint`: the layout of the ``microsoft/deberta-v3-*`` snapshots attached on Kaggle,
  a SentencePiece ``spm.model`` and no ``tokenizer.json``, so loading converts it (needs ``sentencepiece``).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any, Sequence

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

_DEFAULT_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "Students should be required to do community service because it teaches responsibility.",
    "In conclusion, driverless cars offer many advantages but also raise important concerns.",
    "I think that the electoral college is not fair to the voters of small states.",
    "Cell phones at school can distract students, yet they are also useful tools.",
)


def build_tiny_tokenizer(texts: Sequence[str] = _DEFAULT_TEXTS, vocab_size: int = 300, model_max_length: int = 512):
    """A lowercasing WordPiece tokenizer wrapped as ``PreTrainedTokenizerFast`` ([CLS] text [SEP])."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(list(texts), trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=model_max_length,
    )


def deberta_v3_config_values(vocab_size: int, hidden_size: int = 32, num_layers: int = 2, num_heads: int = 2,
                             intermediate_size: int = 64, max_positions: int = 512) -> dict[str, Any]:
    """``config.json`` of ``microsoft/deberta-v3-base`` with its sizes shrunk: the same keys and spellings
    (relative attention, no absolute positions, no token types, ``pos_att_type`` as ``"p2c|c2p"``)."""
    return {
        "model_type": "deberta-v2", "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": hidden_size, "initializer_range": 0.02,
        "intermediate_size": intermediate_size, "max_position_embeddings": max_positions, "relative_attention": True,
        "position_buckets": 32, "norm_rel_ebd": "layer_norm", "share_att_key": True, "pos_att_type": "p2c|c2p",
        "layer_norm_eps": 1e-7, "max_relative_positions": -1, "position_biased_input": False,
        "num_attention_heads": num_heads, "num_hidden_layers": num_layers, "type_vocab_size": 0, "vocab_size": vocab_size,
    }


def tiny_deberta_config(vocab_size: int, pad_token_id: int, hidden_size: int = 32, num_layers: int = 2,
                        num_heads: int = 2, intermediate_size: int = 64, max_positions: int = 512):
    """DeBERTa-v3's shape of config, tiny, as a ``DebertaV2Config``."""
    from transformers import DebertaV2Config

    values = deberta_v3_config_values(vocab_size, hidden_size, num_layers, num_heads, intermediate_size, max_positions)
    return DebertaV2Config(**{k: v for k, v in values.items() if k != "model_type"}, pad_token_id=pad_token_id)


def build_tiny_checkpoint(
    path: str | Path,
    texts: Sequence[str] = _DEFAULT_TEXTS,
    vocab_size: int = 300,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    seed: int = 0,
) -> Path:
    """Write a pretrained-encoder-like directory (config.json, model.safetensors, tokenizer files) to ``path``."""
    import torch
    from transformers import AutoModel

    from daigt.transformer.modeling import make_tokenizer_config_portable

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer(texts, vocab_size=vocab_size)
    config = tiny_deberta_config(len(tokenizer), tokenizer.pad_token_id, hidden_size=hidden_size,
                                 num_layers=num_layers, num_heads=num_heads, intermediate_size=2 * hidden_size)
    torch.manual_seed(seed)
    AutoModel.from_config(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    make_tokenizer_config_portable(path)
    return path


def train_tiny_spm(texts: Sequence[str], vocab_size: int = 200) -> bytes:
    """A serialized SentencePiece unigram model with DeBERTa-v3's special pieces and ids: [PAD] 0, [CLS] 1, [SEP] 2,
    [UNK] 3 (``[MASK]`` is not a piece: transformers appends it, as for the real ``spm.model``).

    ``hard_vocab_limit=False``: a few hundred short texts may not fill ``vocab_size``; the vocabulary comes out
    smaller instead of failing. One thread and no shuffling keep it deterministic.
    """
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([str(t) for t in texts]), model_writer=model, vocab_size=vocab_size,
        model_type="unigram", hard_vocab_limit=False, character_coverage=1.0, num_threads=1,
        shuffle_input_sentence=False, minloglevel=2, pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]",
        eos_id=2, eos_piece="[SEP]", unk_id=3, unk_piece="[UNK]",
    )
    return model.getvalue()


def build_tiny_spm_checkpoint(
    path: str | Path,
    texts: Sequence[str] = _DEFAULT_TEXTS,
    vocab_size: int = 200,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    seed: int = 0,
) -> Path:
    """Write a directory laid out like the ``microsoft/deberta-v3-*`` snapshots attached as Kaggle datasets.

    Exactly their four files: ``config.json`` (hub keys, no ``architectures``), ``pytorch_model.bin`` (a torch
    pickle of a ``deberta.``-prefixed state dict), ``spm.model`` and ``tokenizer_config.json`` (``{"do_lower_case":
    false, "vocab_type": "spm"}``); no ``tokenizer.json`` and no special-tokens file. As in the real config,
    ``vocab_size`` leaves spare embedding rows beyond the tokenizer's (128100 for 128001 tokens there).
    """
    import sentencepiece
    import torch
    from transformers import DebertaV2Config, DebertaV2Model

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    spm_model = train_tiny_spm(texts, vocab_size)
    (path / "spm.model").write_bytes(spm_model)
    n_tokens = sentencepiece.SentencePieceProcessor(model_proto=spm_model).get_piece_size() + 1  # + [MASK]
    values = deberta_v3_config_values(100 * math.ceil(n_tokens / 100), hidden_size, num_layers, num_heads,
                                      intermediate_size=2 * hidden_size)
    (path / "config.json").write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    (path / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False, "vocab_type": "spm"}) + "\n",
                                                encoding="utf-8")
    torch.manual_seed(seed)
    model = DebertaV2Model(DebertaV2Config(**{k: v for k, v in values.items() if k != "model_type"}))
    torch.save({f"deberta.{k}": v.contiguous() for k, v in model.state_dict().items()}, path / "pytorch_model.bin")
    return path


def build_tiny_causal_lm(path: str | Path, arch: str = "llama", texts: Sequence[str] = _DEFAULT_TEXTS,
                         seed: int = 0, vocab_size: int = 200) -> Path:
    """A randomly initialised causal LM (``llama`` or ``gpt2``) with the tiny WordPiece tokenizer, saved like a hub
    snapshot, for the causal-LM scorer's tests and GPU check. ``initializer_range`` is large so next-token
    distributions are far from uniform (a near-uniform model would make every statistic trivially equal)."""
    import torch
    import transformers

    tokenizer = build_tiny_tokenizer(texts, vocab_size=vocab_size)
    torch.manual_seed(seed)
    vocab = len(tokenizer)
    if arch == "llama":
        config = transformers.LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                                          initializer_range=0.3, pad_token_id=tokenizer.pad_token_id)
        model = transformers.LlamaForCausalLM(config)
    elif arch == "gpt2":
        config = transformers.GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=2, n_positions=512,
                                         initializer_range=0.3)
        model = transformers.GPT2LMHeadModel(config)
    else:
        raise ValueError(f"tiny causal LM arch={arch!r}: use 'llama' or 'gpt2'")
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
