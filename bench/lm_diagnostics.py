"""Why the run-time language-model member helps or not on one held-out fold: the member's AUC with each classifier,
and every statistic's AUC on the held-out rows and (cross-fitted) on the training rows.

    python bench/lm_diagnostics.py ../shared/data loso          # LOSO llm-unknown(ai-mix-v16), human split by prompt
    python bench/lm_diagnostics.py ../shared/data m4_llama2     # LCOO fold of that corpus

A statistic whose training AUC is far from its held-out AUC (or on the other side of 0.5) learns the training
generators or domains, not "machine text".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sklearn.metrics import roc_auc_score

from daigt.config import Config
from daigt.data import read_training_files
from daigt.evaluation import leave_one_corpus_out, leave_one_source_out
from daigt.lm import FEATURE_NAMES, LMStatsClassifier, sentence_end_ids
from daigt.pipeline import clean_texts, encode_corpora
from daigt.stages import StageLog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="folder of labelled CSVs (../shared/data)")
    parser.add_argument("fold", help="'loso' (ai-mix) or a corpus name for leave-one-corpus-out")
    args = parser.parse_args()
    config = Config()
    df = read_training_files(sorted(args.data.glob("*.csv")), dedupe=True)
    if args.fold == "loso":
        (fold,) = leave_one_source_out(df, 42, ["llm-unknown(ai-mix-v16)"], 20, "prompt")
    else:
        (fold,) = leave_one_corpus_out(df, [args.fold])
    train, test = df.iloc[fold.train_idx].reset_index(drop=True), df.iloc[fold.test_idx].reset_index(drop=True)
    train_texts, test_texts = clean_texts(config, train["text"].tolist(), test["text"].tolist())
    tokenizer, train_ids, test_ids = encode_corpora(config, train_texts, test_texts, StageLog(), show_progress=False)
    ends = sentence_end_ids(tokenizer.tokenizer_.get_vocab())
    for model in ("logistic", "hgb"):
        member = LMStatsClassifier(model=model, seed=config.seed)
        member.fit(train_ids, train["label"].to_numpy(), groups=train["prompt_name"].to_numpy(), sentence_ends=ends)
        print(f"member ({model}): held-out AUC {roc_auc_score(test['label'], member.predict_proba(test_ids)[:, 1]):.4f}",
              flush=True)
    held_out = member.transform(test_ids)
    label_free = [i for i, name in enumerate(FEATURE_NAMES) if name.startswith(("pooled", "unigram", "log_tokens"))]
    from sklearn.base import clone

    subset = clone(member.pipeline_).fit(member.features_[:, label_free], train["label"].to_numpy())
    auc = roc_auc_score(test["label"], subset.predict_proba(held_out[:, label_free])[:, 1])
    print(f"hgb on the label-free statistics only (pooled, unigram, length): held-out AUC {auc:.4f}", flush=True)
    print(f"{'statistic':<24}{'held-out AUC':>14}{'train AUC (cross-fitted)':>26}")
    for i, name in enumerate(FEATURE_NAMES):
        print(f"{name:<24}{roc_auc_score(test['label'], held_out[:, i]):>14.3f}"
              f"{roc_auc_score(train['label'], member.features_[:, i]):>26.3f}")


if __name__ == "__main__":
    main()
