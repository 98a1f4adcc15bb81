"""Labelled essays for the evaluation and ``daigt cv`` tests: synthetic, learnable, not trivial."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from daigt.config import Config
from daigt.evaluation import Fold

PROMPTS = ["cars", "venus", "mars", "phones", "school", "sports"]
HUMAN_WORDS = "i think gonna really like stuff kinda honestly dunno maybe cuz".split()
MACHINE_WORDS = "furthermore additionally moreover overall crucial essential delve ultimately significant".split()


def synthetic_essays(seed: int = 0, per_prompt: int = 24) -> pd.DataFrame:
    """Essays whose label is carried by style words and whose topic by prompt words: learnable, not trivial."""
    rng = np.random.default_rng(seed)
    rows = []
    for p_index, prompt in enumerate(PROMPTS):
        topic = [f"{prompt}{k}" for k in range(6)]
        for i in range(per_prompt):
            label = int(i % 3 != 0)  # one human per two machine essays
            style = MACHINE_WORDS if label else HUMAN_WORDS
            noise = HUMAN_WORDS if label else MACHINE_WORDS
            words = list(rng.choice(topic, 30)) + list(rng.choice(style, 12)) + list(rng.choice(noise, 3))
            rng.shuffle(words)
            source = "human" if label == 0 else ("gpt-a" if i % 2 else "gpt-b")
            rows.append(
                {
                    "text": " ".join(words) + f" essay{p_index}_{i}.",
                    "label": label,
                    "prompt_name": prompt,
                    "source": source,
                    "file": "corpus_one.csv" if p_index < 3 else "corpus_two.csv",
                }
            )
    return pd.DataFrame(rows)


def nb_fit_predict(config: Config, train: pd.DataFrame, test_texts: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    vectorizer = CountVectorizer()
    model = MultinomialNB().fit(vectorizer.fit_transform(train["text"]), train["label"])
    return model.predict_proba(vectorizer.transform(test_texts))[:, 1]


def assert_valid(folds: list[Fold], n: int) -> None:
    for fold in folds:
        assert len(np.intersect1d(fold.train_idx, fold.test_idx)) == 0
        assert fold.train_idx.min() >= 0 and fold.test_idx.max() < n


def write_corpora(tmp_path: Path) -> list[str]:
    df = synthetic_essays()
    paths = []
    for name, part in df.groupby("file"):
        path = tmp_path / name
        part.drop(columns=["file"]).to_csv(path, index=False)
        paths.append(str(path))
    return paths


def hard_suite_files(directory: Path) -> list[str]:
    """Synthetic stand-ins named like ../shared/data's files, with every protocol of the hard suite scoreable."""
    df = synthetic_essays(per_prompt=30)
    df.loc[(df["label"] == 1) & (df["prompt_name"] == "cars"), "source"] = "llm-unknown(ai-mix-v16)"
    parts = {
        "outfox_essays": df[df["prompt_name"].isin(["cars", "venus"])],
        "daigt_persuade_samples": df[df["prompt_name"] == "mars"],
        "outfox_attacks": df[(df["prompt_name"] == "phones") & (df["label"] == 1)],
        "m4_llama2": df[df["prompt_name"] == "school"],
        "liang2023_detector_bias": df[df["prompt_name"] == "sports"],
    }
    paths = []
    for name, part in parts.items():
        path = directory / f"{name}.csv"
        part.drop(columns="file").to_csv(path, index=False)
        paths.append(str(path))
    return paths
