"""A tiny, randomly initialised DeBERTa-v3-style checkpoint with its own tokenizer, built offline in seconds.

Tests and smoke runs need a real encoder directory (config, weights, tokenizer) that exercises the same code
as DeBERTa-v3 on Kaggle, without any download: the architecture is the real ``deberta-v2`` implementation of
transformers with a few hidden units, the tokenizer a WordPiece trained with ``tokenizers`` on given texts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

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


def tiny_deberta_config(vocab_size: int, pad_token_id: int, hidden_size: int = 32, num_layers: int = 2,
                        num_heads: int = 2, intermediate_size: int = 64, max_positions: int = 512):
    """DeBERTa-v3's shape of config (relative attention, no absolute positions, no token types), tiny."""
    from transformers import DebertaV2Config

    return DebertaV2Config(
        vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers, num_attention_heads=num_heads,
        intermediate_size=intermediate_size, max_position_embeddings=max_positions, pad_token_id=pad_token_id,
        relative_attention=True, position_buckets=32, norm_rel_ebd="layer_norm", share_att_key=True,
        pos_att_type=["p2c", "c2p"], position_biased_input=False, type_vocab_size=0, max_relative_positions=-1,
    )


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

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer(texts, vocab_size=vocab_size)
    config = tiny_deberta_config(len(tokenizer), tokenizer.pad_token_id, hidden_size=hidden_size,
                                 num_layers=num_layers, num_heads=num_heads, intermediate_size=2 * hidden_size)
    torch.manual_seed(seed)
    AutoModel.from_config(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    _portable_tokenizer_class(path)
    return path


def _portable_tokenizer_class(path: Path) -> None:
    """transformers 5 records ``TokenizersBackend``, which 4.x does not know; both load PreTrainedTokenizerFast."""
    config_file = path / "tokenizer_config.json"
    values = json.loads(config_file.read_text(encoding="utf-8"))
    values["tokenizer_class"] = "PreTrainedTokenizerFast"
    values.pop("backend", None)
    config_file.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
