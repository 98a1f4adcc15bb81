"""Rebuild the embedded sample (data/sample/) from the team's shared development corpora.

The sample lets the kit run end to end with no download: a folder in Kaggle's exact competition layout (a tiny,
almost all-human train set for two prompts and a test set from three other prompts, like the real hidden test),
an external training file in the community's DAIGT-v2 layout, and the test labels so a dry run can report AUC.

Deterministic: the same shared files and seed give byte-identical outputs. Only pandas and numpy are needed.

    python data/sample/make_sample.py [--shared-data ../shared/data] [--out data/sample] [--seed 2024]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data"
SEED = 2024
MAX_BYTES = 5_000_000

COMPETITION = "llm-detect-ai-generated-text"
OUTFOX, DAIGT, ATTACKS = "outfox_essays.csv", "daigt_persuade_samples.csv", "outfox_attacks.csv"
SHARED_FILES = (OUTFOX, DAIGT, ATTACKS)

# The competition's two train prompts; the test set uses three other PERSUADE prompts that the external training
# file never sees, so the dry run measures what the real competition measured: unseen prompts.
TRAIN_PROMPTS = {"Car-free cities": "0", "Does the electoral college work?": "1"}
TEST_PROMPTS = {"Driverless cars": "2", "Facial action coding system": "3", "Seeking multiple opinions": "4"}
NOT_ESSAYS = {"misc (non-essay)", "unknown persuade-style"}  # not essays, or of unknown (maybe test) prompt
# OUTFOX prompt names were inferred (1-3% wrong): training-side rows that talk about a test prompt are left out.
TEST_PROMPT_WORDS = (r"(?i)driverless|self-driving|autonomous (?:car|vehicle)|facial action|\bFACS\b|multiple opinions"
                     r"|seek(?:ing)? (?:advice|multiple)|ask(?:ing)? (?:for )?advice"
                     r"|advice from (?:multiple|more than one|several|many|different)")

TRAIN_ESSAYS_HUMAN = {"Car-free cities": 29, "Does the electoral college work?": 28}
TRAIN_ESSAYS_GENERATED = 3

# (shared file, source) -> rows in the external training file (prompts: all but the test prompts).
EXTERNAL_QUOTAS = {
    (OUTFOX, "human"): 300,
    (DAIGT, "human"): 180,
    (OUTFOX, "flan-t5-xxl"): 150,
    (OUTFOX, "gpt-3.5-turbo-0613"): 150,
    (OUTFOX, "text-davinci-003"): 150,
    (DAIGT, "gpt-3.5-turbo"): 130,
    (DAIGT, "gpt-4"): 90,
    (DAIGT, "llm-unknown(ai-mix-v16)"): 50,
}
# (shared file, source) -> rows in the test set (test prompts only).
TEST_QUOTAS = {
    (OUTFOX, "human"): 135,
    (DAIGT, "human"): 20,
    (OUTFOX, "gpt-3.5-turbo-0613"): 30,
    (OUTFOX, "text-davinci-003"): 30,
    (OUTFOX, "flan-t5-xxl"): 25,
    (ATTACKS, "dipper-paraphrase(gpt-3.5-turbo)"): 12,
    (ATTACKS, "dipper-paraphrase(text-davinci-003)"): 12,
    (ATTACKS, "dipper-paraphrase(flan-t5-xxl)"): 12,
    (ATTACKS, "outfox-attack(gpt-3.5-turbo)"): 20,
    (DAIGT, "llm-unknown(ai-mix-v16)"): 30,
}

PROMPTS = pd.DataFrame({
    "prompt_id": ["0", "1"],
    "prompt_name": list(TRAIN_PROMPTS),
    "instructions": [
        "Using the ideas in the source passages, explain to your fellow citizens what is gained when a community "
        "limits car usage. Support your explanation with evidence from the passages.",
        "Write a letter to your state senator that argues either for keeping the Electoral College or for electing "
        "the President of the United States by popular vote. Use evidence from the source passages.",
    ],
    "source_text": [
        "(Placeholder written for the DAIGT Kit sample: the competition ships several short articles about "
        "car-free suburbs and driving bans here; they are not redistributed.)",
        "(Placeholder written for the DAIGT Kit sample: the competition ships articles for and against the "
        "Electoral College here; they are not redistributed.)",
    ],
})

ORIGINS = {
    OUTFOX: "github ryuryukke/OUTFOX, commit 80275f576058cbeca7f2edcb02ced5750b95a63f (valid + test triplets)",
    DAIGT: "github smarsou/ai-text-detector (commits 37a4d761c2a510d22e723a99bd7b601355ae012a, "
    "db30c84e987195f4c57f7076a161671e9ac0b94b, d6af2ee47f54e82dfd1b663b15cba814824f11f1) and github "
    "NehorayBT/AI-TEXT-DETECTION (commit 544ea63f32ac67a8f33c007d658e30d7ee5f4168; a demo sample of the Kaggle "
    "dataset ai-mix-v16)",
    ATTACKS: "github ryuryukke/OUTFOX, commit 80275f576058cbeca7f2edcb02ced5750b95a63f (test-split attacks)",
}
LICENCES = {
    OUTFOX: "Apache-2.0 (OUTFOX repository); the human essays are PERSUADE 2.0 essays, CC BY-NC-SA 4.0",
    DAIGT: "no licence in either repository; the underlying Kaggle datasets keep their own terms and the human "
    "essays are PERSUADE 2.0 essays, CC BY-NC-SA 4.0",
    ATTACKS: "Apache-2.0 (OUTFOX repository); paraphrases/attacks of essays written for PERSUADE prompts",
}


def load_pool(shared: Path) -> pd.DataFrame:
    """All candidate rows with their provenance, near-duplicates removed across files (first file wins)."""
    frames = []
    for name in SHARED_FILES:
        frame = pd.read_csv(shared / name, dtype=str, keep_default_na=False, encoding="utf-8")
        frame["label"] = frame["label"].astype(int)
        frame["shared_file"] = name
        frame["shared_row"] = np.arange(1, len(frame) + 1)  # 1-based data row, header excluded
        frames.append(frame)
    pool = pd.concat(frames, ignore_index=True)
    # OUTFOX human essays keep non-breaking spaces that no machine essay has: a label shortcut, not a signal.
    pool["nbsp_replaced"] = pool["text"].str.contains("\u00a0", regex=False)
    pool["text"] = pool["text"].str.replace("\u00a0", " ", regex=False)
    pool = pool[~pool["prompt_name"].isin(NOT_ESSAYS)]
    pool = pool[~pool["text"].str.contains(r"@[A-Z]+\d", regex=True)]  # no ASAP anonymisation tokens
    pool["key"] = pool["text"].map(near_duplicate_key)
    pool["mentions_test_prompt"] = pool["text"].str.contains(TEST_PROMPT_WORDS, regex=True)
    return pool.drop_duplicates("key", keep="first").reset_index(drop=True)


def near_duplicate_key(text: str) -> str:
    """Two versions of one essay (re-encoded, re-spaced) share this key: lower-cased words of the first 200 chars."""
    return re.sub(r"\W+", " ", text.lower()).strip()[:200]


def take(pool: pd.DataFrame, quotas: dict[tuple[str, str], int], prompts: set[str], rng: np.random.Generator,
         taken: set[str]) -> pd.DataFrame:
    """Seeded draw of ``quotas`` rows per (file, source) among ``prompts``, skipping keys already ``taken``."""
    parts = []
    for (name, source), n in quotas.items():
        candidates = pool[(pool.shared_file == name) & (pool.source == source) & pool.prompt_name.isin(prompts)
                          & ~pool.key.isin(taken)]
        if len(candidates) < n:
            raise SystemExit(f"only {len(candidates)} rows for {name}/{source} in {sorted(prompts)}, need {n}")
        parts.append(candidates.iloc[np.sort(rng.choice(len(candidates), size=n, replace=False))])
    chosen = pd.concat(parts)
    taken.update(chosen.key)
    return chosen


def hex_ids(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct 8-character lower-case hex ids, like Kaggle's essay ids."""
    values = pd.unique(rng.integers(0, 16**8, size=2 * n + 16))[:n]
    assert len(values) == n
    return [f"{int(v):08x}" for v in values]


def build(shared: Path, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    pool = load_pool(shared)
    taken: set[str] = set()
    train_prompts, test_prompts = set(TRAIN_PROMPTS), set(TEST_PROMPTS)
    test = take(pool, TEST_QUOTAS, test_prompts, rng, taken)
    pool = pool[~pool.mentions_test_prompt]
    external_prompts = set(pool.prompt_name) - test_prompts

    human = pd.concat([
        take(pool, {(DAIGT, "human"): n}, {prompt}, rng, taken) for prompt, n in TRAIN_ESSAYS_HUMAN.items()
    ])
    machine = pool[(pool.shared_file == DAIGT) & (pool.label == 1) & pool.prompt_name.isin(train_prompts)
                   & ~pool.key.isin(taken)]
    machine = machine.iloc[np.sort(rng.choice(len(machine), size=TRAIN_ESSAYS_GENERATED, replace=False))]
    taken.update(machine.key)
    train = pd.concat([human, machine])
    external = take(pool, EXTERNAL_QUOTAS, external_prompts, rng, taken)
    external = external.iloc[rng.permutation(len(external))]

    ids = hex_ids(len(train) + len(test), rng)
    train = train.assign(id=ids[: len(train)], prompt_id=train.prompt_name.map(TRAIN_PROMPTS)).sort_values("id")
    test = test.assign(id=ids[len(train):], prompt_id=test.prompt_name.map(TEST_PROMPTS)).sort_values("id")
    return {"train": train, "test": test, "external": external}


def outputs(parts: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    train, test, external = parts["train"], parts["test"], parts["external"]
    comp = COMPETITION + "/"
    provenance = pd.concat([
        train.assign(sample_file=comp + "train_essays.csv", key=train.id),
        test.assign(sample_file=comp + "test_essays.csv", key=test.id),
        external.assign(sample_file="daigt-external/train.csv", key=[str(i) for i in range(1, len(external) + 1)]),
    ])
    return {
        comp + "train_essays.csv": train.assign(generated=train.label)[["id", "prompt_id", "text", "generated"]],
        comp + "train_prompts.csv": PROMPTS,
        comp + "test_essays.csv": test[["id", "prompt_id", "text"]],
        comp + "sample_submission.csv": pd.DataFrame({"id": test.id, "generated": 0.5}),
        "daigt-external/train.csv": external[["text", "label", "prompt_name", "source"]],
        "test_labels.csv": test.assign(generated=test.label)[["id", "generated"]],
        "provenance.csv": provenance[["sample_file", "key", "shared_file", "shared_row", "label", "source",
                                      "prompt_name", "nbsp_replaced"]],
    }


def check(parts: dict[str, pd.DataFrame]) -> None:
    """The promises the README makes, asserted on the built frames."""
    train, test, external = parts["train"], parts["test"], parts["external"]
    training_keys = set(train.key) | set(external.key)
    assert not set(test.key) & training_keys, "a test essay (or a near-copy) is also on the training side"
    assert not set(test.text) & (set(train.text) | set(external.text))
    assert not set(train.key) & set(external.key)
    assert not set(test.prompt_name) & set(external.prompt_name), "test prompts must be unseen in training"
    assert set(train.prompt_name) == set(TRAIN_PROMPTS)
    ids = pd.concat([train.id, test.id])
    assert ids.is_unique and ids.str.fullmatch(r"[0-9a-f]{8}").all()
    assert external.prompt_name.nunique() >= 6 and external[external.label == 1].source.nunique() >= 4


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    write_bytes(path, frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so an interrupted build never leaves a half-written sample."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def table(frame: pd.DataFrame, by: list[str]) -> str:
    counts = frame.groupby(by).size().reset_index(name="rows")
    header = "| " + " | ".join([*by, "rows"]) + " |\n|" + "---|" * (len(by) + 1) + "\n"
    return header + "".join("| " + " | ".join(str(v) for v in row) + " |\n" for row in counts.itertuples(index=False))


def readme(parts: dict[str, pd.DataFrame], sizes: dict[str, int], shared: Path, seed: int) -> str:
    train, test, external = parts["train"], parts["test"], parts["external"]
    digests = {name: hashlib.sha256((shared / name).read_bytes()).hexdigest()[:16] for name in SHARED_FILES}
    total = sum(sizes.values())
    lines = [
        "# Embedded sample data",
        "",
        "A small, self-contained stand-in for the competition data, so the kit runs end to end offline "
        "(competition folder `llm-detect-ai-generated-text/` + external training file `daigt-external/train.csv`).",
        "It is **generated by `make_sample.py`; do not edit the CSVs by hand** - change the script and rebuild:",
        "",
        "    python data/sample/make_sample.py --shared-data ../shared/data",
        "",
        f"Seed {seed}; the build is deterministic (same shared files -> byte-identical sample).",
        "",
        "## Files",
        "",
        "| file | rows | bytes | what |",
        "|---|---|---|---|",
        f"| {COMPETITION}/train_essays.csv | {len(train)} | {sizes[COMPETITION + '/train_essays.csv']} | Kaggle "
        "layout `id,prompt_id,text,generated`; 2 prompts, almost all human (like the real 1,378-row file with 3 "
        "generated) |",
        f"| {COMPETITION}/train_prompts.csv | {len(PROMPTS)} | {sizes[COMPETITION + '/train_prompts.csv']} | "
        "`prompt_id,prompt_name,instructions,source_text`; instructions paraphrased and source texts replaced by "
        "placeholders written for this sample |",
        f"| {COMPETITION}/test_essays.csv | {len(test)} | {sizes[COMPETITION + '/test_essays.csv']} | "
        "`id,prompt_id,text`; 3 prompts never seen by the training side (prompt_id 2-4, not in train_prompts.csv) |",
        f"| {COMPETITION}/sample_submission.csv | {len(test)} | {sizes[COMPETITION + '/sample_submission.csv']} "
        "| `id,generated` = 0.5 |",
        f"| daigt-external/train.csv | {len(external)} | {sizes['daigt-external/train.csv']} | DAIGT-v2 layout "
        "`text,label,prompt_name,source` |",
        f"| test_labels.csv | {len(test)} | {sizes['test_labels.csv']} | `id,generated` true labels of the test "
        "essays (for a dry-run AUC) |",
        f"| provenance.csv | {len(train) + len(test) + len(external)} | {sizes['provenance.csv']} | the shared "
        "file and 1-based data row of every sample row (`key` = essay id, or 1-based row of daigt-external/train.csv) |",
        "",
        f"Total CSV size: {total} bytes ({total / 1e6:.2f} MB).",
        "",
        "## Provenance",
        "",
        "Every text is a row of a CSV in the team's shared development corpora (`shared/data`, see its README); "
        "the exact row of each sample row is in `provenance.csv`. Shared files used (sha256 prefix of the file "
        "the sample was built from):",
        "",
    ]
    for name in SHARED_FILES:
        lines.append(f"- `{name}` (sha256 {digests[name]}): origin {ORIGINS[name]}. Licence: {LICENCES[name]}.")
    lines += [
        "",
        "How the rows were chosen:",
        "",
        "- Pool: the three files above; rows of `prompt_name` 'misc (non-essay)' and 'unknown persuade-style' "
        "left out; rows with ASAP anonymisation tokens (`@[A-Z]+\\d`) left out (none in practice: the shortcut "
        "lives in asap_gpt.csv and liang2023_detector_bias.csv, which the sample does not use); near-duplicates "
        "(same first 200 characters after lower-casing and collapsing non-word characters) removed across files, "
        "first file wins.",
        "- Only change to texts: non-breaking spaces (U+00A0) replaced by spaces "
        f"({int(pd.concat([train, test, external]).nbsp_replaced.sum())} rows, flagged in provenance.csv). In "
        "OUTFOX about 30% of human essays contain them and almost no machine essay does - a label shortcut.",
        f"- Test: per (file, source) quotas {', '.join(f'{s} ({f}) {n}' for (f, s), n in TEST_QUOTAS.items())}, drawn "
        f"from the prompts {sorted(TEST_PROMPTS)} only; these prompts are absent from the training side, like the "
        "competition's hidden prompts. The OUTFOX attack and DIPPER paraphrase rows are test-only generators.",
        f"- train_essays: {sum(TRAIN_ESSAYS_HUMAN.values())} human essays of daigt_persuade_samples.csv "
        f"({TRAIN_ESSAYS_HUMAN}) and {TRAIN_ESSAYS_GENERATED} generated essays of the same file and prompts.",
        f"- External training file: per (file, source) quotas "
        f"{', '.join(f'{s} ({f}) {n}' for (f, s), n in EXTERNAL_QUOTAS.items())}, from every remaining prompt "
        "except the test prompts, then shuffled.",
        "- Training side (train_essays and external): rows whose text mentions a test prompt's topic (driverless / "
        "self-driving cars, facial action coding, seeking advice or multiple opinions) are left out, because "
        "OUTFOX prompt names were inferred and a few are wrong.",
        "- Test, train_essays and external rows are disjoint (exact text and near-duplicate key); the build "
        "asserts it and tests/test_data.py checks it again. Ids are random 8-character hex strings.",
        "",
        "## Row counts",
        "",
        "### test_essays.csv (with test_labels.csv)",
        "",
        table(test.assign(generated=test.label), ["prompt_id", "prompt_name", "generated"]),
        table(test.assign(generated=test.label), ["generated", "source"]),
        "### train_essays.csv",
        "",
        table(train.assign(generated=train.label), ["prompt_id", "prompt_name", "generated", "source"]),
        "### daigt-external/train.csv",
        "",
        table(external, ["prompt_name", "label"]),
        table(external, ["label", "source"]),
        "## Licence caveats",
        "",
        "- The project's code licence does **not** cover this folder. The human essays (and the prompts the machine "
        "essays answer) come from the PERSUADE 2.0 corpus, published under **CC BY-NC-SA 4.0**: attribution, "
        "non-commercial use only, share-alike. Treat the whole sample as CC BY-NC-SA 4.0 at most.",
        "- OUTFOX (Koike et al., AAAI 2024) is Apache-2.0. The smarsou/ai-text-detector and NehorayBT/AI-TEXT-DETECTION "
        "repositories state no licence; they copy Kaggle datasets ('LLM Generated Essays for the Detect AI Comp', "
        "'ai-mix-v16'), whose own terms apply. Check these before redistributing the sample outside this project.",
        "- Known biases: machine essays often use curly quotes and dashes that human PERSUADE essays lack (as in "
        "the real DAIGT data); OUTFOX prompt names were inferred (about 1-3% may be wrong; the keyword "
        "filter above removes the obvious test-prompt essays from the training side, not necessarily all); the ai-mix rows carry deliberate typo noise; gpt-4 essays often start "
        "with 'Title:'.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", type=Path, default=DEFAULT_SHARED, help="folder with the shared CSVs")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write the sample (default: this folder)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)

    parts = build(args.shared_data, args.seed)
    check(parts)
    files = outputs(parts)
    sizes = {}
    for name, frame in files.items():
        write_csv(args.out / name, frame)
        sizes[name] = (args.out / name).stat().st_size
    total = sum(sizes.values())
    if total > MAX_BYTES:
        raise SystemExit(f"sample is {total} bytes, over the {MAX_BYTES}-byte budget: lower the quotas")
    write_bytes(args.out / "README.md", readme(parts, sizes, args.shared_data, args.seed).encode("utf-8"))
    for name, size in sizes.items():
        print(f"{size:>9}  {name}  ({len(files[name])} rows)")
    print(f"{total:>9}  total")


if __name__ == "__main__":
    main()
