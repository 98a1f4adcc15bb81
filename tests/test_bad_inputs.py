"""The bad-input corpus: every case of issue 13 (and the data cases that already worked) through the real CLI.

Each refused case asserts exit status 2, that the message names what to fix, and that nothing on disk changed:
the previous submission and its side files stay byte-identical and no temporary file is left. Each accepted
case asserts a valid submission. A Hypothesis test then throws random texts, labels and small configs at
``daigt run``: it must write a valid submission or exit 2 with a message, never raise.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daigt.cli import main

N_TRAIN = 120  # training rows copied from the embedded sample: enough for both labels and several prompts


@pytest.fixture
def case(tmp_path, sample_competition, sample_train):
    """A competition folder, a small training file and a previous submission (with side files) in tmp_path."""
    comp = tmp_path / "llm-detect-ai-generated-text"
    shutil.copytree(sample_competition, comp)
    train = tmp_path / "train.csv"
    pd.read_csv(sample_train).groupby("label").head(N_TRAIN // 2).to_csv(train, index=False)
    labels = tmp_path / "labels.csv"
    shutil.copy(sample_competition.parent / "test_labels.csv", labels)
    runs = tmp_path / "runs"
    runs.mkdir()
    out = runs / "submission.csv"
    out.write_text("id,generated\nprevious,0.5\n")
    out.with_suffix(".config.toml").write_text("# previous config\n")
    out.with_suffix(".run.json").write_text("{}\n")
    return {"tmp": tmp_path, "comp": comp, "train": train, "labels": labels, "out": out}


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def fill(argv: list[str], paths: dict[str, Path]) -> list[str]:
    return [a.format(**paths) for a in argv]


RUN = ["run", "--competition-dir", "{comp}", "--train", "{train}", "--out", "{out}", "-q"]


def write(path: str, content: bytes | str):
    def setup(paths):
        target = paths["tmp"] / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    return setup


def make_dir(path: str):
    return lambda paths: (paths["tmp"] / path).mkdir(parents=True)


def training_without(column: str, name: str):
    def setup(paths):
        pd.read_csv(paths["train"]).drop(columns=[column]).to_csv(paths["tmp"] / name, index=False)
    return setup


# (id, setup, argv, fragments the message must contain). Part numbers refer to issue 13.
REFUSED = [
    # part 1: config values, checked before any data is read
    ("ngram-reversed", None, RUN + ["--set", "features.ngram_range=[5,3]"], ["features.ngram_range", "[3, 5]"]),
    ("ngram-zero", None, RUN + ["--set", "features.ngram_range=[0,2]"], ["features.ngram_range[0]", "[1, 16]"]),
    ("min-df-negative", None, RUN + ["--set", "features.min_df=-3"], ["features.min_df", "-3", ">= 1"]),
    ("max-df-zero", None, RUN + ["--set", "features.max_df=0"], ["features.max_df", "(0, 1]"]),
    ("max-df-five", None, RUN + ["--set", "features.max_df=5"], ["features.max_df", "(0, 1]"]),
    ("quantiles-reversed", None, RUN + ["--set", "pseudo_label.low_quantile=0.9", "--set", "pseudo_label.high_quantile=0.1"],
     ["pseudo_label.low_quantile", "pseudo_label.high_quantile", "low < high"]),
    ("chunk-docs-zero", None, RUN + ["--set", "features.chunk_docs=0"], ["features.chunk_docs", ">= 1"]),
    ("batch-size-zero", None, RUN + ["--set", "tokenizer.batch_size=0"], ["tokenizer.batch_size", ">= 1"]),
    ("sgd-hinge", None, RUN + ["--set", "ensemble.sgd.loss=hinge"], ["ensemble.sgd.loss", "'hinge'", "modified_huber"]),
    ("max-iter-zero", None, RUN + ["--set", "ensemble.sgd.max_iter=0"], ["ensemble.sgd.max_iter", ">= 1"]),
    ("mnb-alpha-negative", None, RUN + ["--set", "ensemble.mnb.alpha=-1"], ["ensemble.mnb.alpha", "> 0"]),
    ("seed-float", None, RUN + ["--set", "seed=1e14"], ["seed", "expected int"]),
    ("seed-huge", None, RUN + ["--set", "seed=100000000000000"], ["seed", "4,294,967,295"]),
    ("typo-rate-two", None, RUN + ["--set", "augment.typo_rate=2"], ["augment.typo_rate", "[0, 1]"]),
    ("vocab-size-zero", None, RUN + ["--set", "tokenizer.vocab_size=0"], ["tokenizer.vocab_size"]),
    ("style-weight-negative", None, RUN + ["--set", "ensemble.style.weight=-1"], ["ensemble.style.weight", ">= 0"]),
    ("max-train-rows-negative", None, RUN + ["--set", "data.max_train_rows=-5"], ["data.max_train_rows", ">= 0"]),
    ("weight-nan", None, RUN + ["--set", "ensemble.mnb.weight=nan"], ["ensemble.mnb.weight", "finite"]),
    ("no-member", None, RUN + ["--set", "ensemble.mnb.weight=0", "--set", "ensemble.sgd.weight=0"],
     ["ensemble.mnb/sgd/logistic/lightgbm.weight", "at least one"]),
    ("config-is-directory", make_dir("conf.toml"), RUN + ["--config", "{tmp}/conf.toml"], ["conf.toml", "is a directory"]),
    ("config-not-utf8", write("conf.toml", b"seed = 1 # caf\xe9\n"), RUN + ["--config", "{tmp}/conf.toml"],
     ["conf.toml", "not UTF-8", "re-save"]),
    ("config-bad-toml", write("conf.toml", "[features\nmin_df = 2\n"), RUN + ["--config", "{tmp}/conf.toml"],
     ["conf.toml", "not valid TOML"]),
    ("config-file-range", write("conf.toml", "[features]\nmin_df = 0\n"), RUN + ["--config", "{tmp}/conf.toml"],
     ["conf.toml", "features.min_df = 0"]),
    ("transformer-dir-missing", None, RUN + ["--set", "transformer.model_dir={tmp}/nothing"],
     ["transformer.model_dir", "does not exist"]),
    ("transformer-dir-no-checkpoint", make_dir("notamodel"), RUN + ["--set", "transformer.model_dir={tmp}/notamodel"],
     ["transformer.model_dir", "notamodel", "no checkpoint found"]),
    ("config-before-data", None, ["run", "--competition-dir", "{tmp}/absent", "--out", "{out}", "--set", "features.min_df=-3"],
     ["features.min_df"]),
    ("cv-config", None, ["cv", "{tmp}/absent.csv", "--set", "features.max_df=5", "-q"], ["features.max_df"]),
    ("report-config", None, ["report", "{tmp}/absent.csv", "--out", "{tmp}/r.html", "--set", "seed=-1", "-q"], ["seed"]),
    # part 4: outputs and --labels, checked before any work
    ("out-is-directory", make_dir("runs/sub.csv"), RUN[:-3] + ["--out", "{tmp}/runs/sub.csv", "-q"], ["sub.csv", "is a directory"]),
    ("side-file-is-directory", make_dir("runs/other.run.json"), RUN[:-3] + ["--out", "{tmp}/runs/other.csv", "-q"],
     ["other.run.json", "is a directory"]),
    ("out-under-a-file", None, RUN[:-3] + ["--out", "{train}/sub.csv", "-q"], ["cannot create the folder", "is a file"]),
    ("out-is-input", None, RUN[:-3] + ["--out", "{comp}/train_essays.csv", "-q"], ["train_essays.csv", "input file"]),
    ("out-is-train-file", None, RUN[:-3] + ["--out", "{train}", "-q"], ["train.csv", "input file"]),
    ("labels-missing", None, RUN + ["--labels", "{tmp}/nope.csv"], ["nope.csv", "not found"]),
    ("labels-directory", make_dir("labels_dir"), RUN + ["--labels", "{tmp}/labels_dir"], ["labels_dir", "is a directory"]),
    ("labels-wrong-columns", write("l.csv", "id,label\na,1\n"), RUN + ["--labels", "{tmp}/l.csv"], ["l.csv", "'generated'"]),
    ("labels-not-covering", write("l.csv", "id,generated\na,1\nb,0\n"), RUN + ["--labels", "{tmp}/l.csv"],
     ["l.csv", "no label for 326 test essay(s)"]),
    ("labels-one-class", write("l.csv", "id,generated\na,1\nb,1\n"), RUN + ["--labels", "{tmp}/l.csv"], ["l.csv", "both classes"]),
    # part 6: misleading messages
    ("shifted-first-row", write("bad.csv", "text,label,prompt_name,source\nhello, world,1,p,s\nfine,0,p,s\n"),
     RUN[:4] + ["{tmp}/bad.csv", "--out", "{out}", "-q"], ["bad.csv", "row 1", "5 fields", "quote"]),
    ("train-is-directory", make_dir("train_dir"), RUN[:4] + ["{tmp}/train_dir", "--out", "{out}", "-q"],
     ["train_dir", "is a directory"]),
    ("cv-no-prompt", training_without("prompt_name", "np.csv"), ["cv", "{tmp}/np.csv", "--protocol", "lopo", "-q"],
     ["np.csv", "'prompt_name'"]),
    ("cv-no-source", training_without("source", "ns.csv"), ["cv", "{tmp}/ns.csv", "--protocol", "loso", "-q"],
     ["ns.csv", "'source'"]),
    ("lcoo-one-file", None, ["cv", "{train}", "--protocol", "lcoo", "-q"], ["lcoo", "two or more"]),
    # data cases that already worked: they must stay this way
    ("train-missing-label", write("bad.csv", "text,prompt_name\nhello,p\n"), RUN[:4] + ["{tmp}/bad.csv", "--out", "{out}", "-q"],
     ["bad.csv", "'label'"]),
    ("train-bad-label", write("bad.csv", 'text,label\n"an essay",maybe\n'), RUN[:4] + ["{tmp}/bad.csv", "--out", "{out}", "-q"],
     ["bad.csv", "'label'", "maybe"]),
    ("train-empty-text", write("bad.csv", 'text,label\n"  ",1\n'), RUN[:4] + ["{tmp}/bad.csv", "--out", "{out}", "-q"],
     ["bad.csv", "'text'", "row 1"]),
    ("train-not-utf8", write("bad.csv", b"text,label\ncaf\xe9,1\n"), RUN[:4] + ["{tmp}/bad.csv", "--out", "{out}", "-q"],
     ["bad.csv", "UTF-8"]),
    ("train-empty-file", write("bad.csv", ""), RUN[:4] + ["{tmp}/bad.csv", "--out", "{out}", "-q"], ["bad.csv", "empty"]),
    ("train-not-found", None, RUN[:4] + ["{tmp}/nope.csv", "--out", "{out}", "-q"], ["nope.csv", "not found"]),
    ("train-one-class", write("one.csv", "text,label\nan essay,1\nanother essay,1\n"),
     ["run", "--competition-dir", "{tmp}/comp1", "--train", "{tmp}/one.csv", "--out", "{out}", "-q"], ["label", "human"]),
    ("test-duplicate-ids", write("dup/test_essays.csv", "id,prompt_id,text\na,0,one\na,0,two\n"),
     ["run", "--competition-dir", "{tmp}/dup", "--out", "{out}", "-q"], ["test_essays.csv", "duplicate ids"]),
    ("competition-missing", None, ["run", "--competition-dir", "{tmp}/absent", "--out", "{out}", "-q"], ["absent", "not found"]),
]


@pytest.mark.parametrize("name, setup, argv, fragments", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_with_exit_2_a_message_and_nothing_changed(case, capsys, name, setup, argv, fragments):
    if name == "train-one-class":
        one = case["tmp"] / "comp1"
        one.mkdir()
        (one / "test_essays.csv").write_text("id,prompt_id,text\n" + "".join(f"t{i},0,essay {i}\n" for i in range(8)))
    if setup is not None:
        setup(case)
    before = snapshot(case["tmp"])
    code = main(fill(argv, case))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "error" in err or "--set" in err
    for fragment in fragments:
        assert fragment.format(**case) in err, (fragment, err)
    assert snapshot(case["tmp"]) == before  # previous submission byte-identical, no temp or probe file left


def test_out_in_an_unwritable_folder(case, capsys):
    folder = Path("/proc/daigt-test")  # not creatable, even by root (chmod does not stop root)
    if not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    before = snapshot(case["tmp"])
    code = main(fill(RUN[:-3], case) + ["--out", str(folder / "submission.csv"), "-q"])
    assert code == 2 and "cannot write in the folder" in capsys.readouterr().err
    assert snapshot(case["tmp"]) == before


# ---- part 2: pathological texts run, with bounded cost ---------------------------------------------------
def replace_test(comp: Path, texts: list[str]) -> None:
    pd.DataFrame({"id": [f"t{i}" for i in range(len(texts))], "prompt_id": 0, "text": texts}).to_csv(
        comp / "test_essays.csv", index=False)
    (comp / "sample_submission.csv").unlink()


def assert_valid_submission(out: Path, n: int) -> pd.DataFrame:
    sub = pd.read_csv(out, dtype={"id": str})
    assert list(sub.columns) == ["id", "generated"] and len(sub) == n
    assert sub["generated"].between(0, 1).all()
    return sub


def test_long_texts_without_whitespace_run(case, sample_competition):
    """A 300k-character word, a run of one character, a base64 blob and 100k spaces: issue 13's hang cases."""
    import base64

    essays = list(pd.read_csv(sample_competition / "test_essays.csv")["text"].head(6))
    texts = essays + ["a" * 300_000, "x" * 50_000 + " end", base64.b64encode(os.urandom(60_000)).decode(),
                      "start" + " " * 100_000 + "end"]
    replace_test(case["comp"], texts)
    assert main(fill(RUN, case)) == 0
    assert_valid_submission(case["out"], len(texts))


def test_texts_that_give_no_ngram_fall_back(case, caplog):
    replace_test(case["comp"], list("abcdefgh"))  # one character each: no 3-gram of tokens anywhere
    assert main(fill(RUN, case)) == 0
    assert_valid_submission(case["out"], 8)
    assert "no n-gram of order 3..5" in caplog.text


def test_three_row_test_set_with_min_df_2_runs_the_whole_pipeline(case, sample_competition, capsys):
    test = pd.read_csv(sample_competition / "test_essays.csv", dtype=str).head(3)
    replace_test(case["comp"], list(test["text"]))
    code = main(fill(RUN, case) + ["--set", "features.min_df=2", "--set", "guard.min_test_rows=0"])
    assert code == 0 and "placeholder guard" not in capsys.readouterr().out
    assert "featurize" in case["out"].with_suffix(".run.json").read_text()
    assert assert_valid_submission(case["out"], 3)["generated"].nunique() > 1


# ---- part 5: signals ----------------------------------------------------------------------------------
def test_sigterm_during_the_write_leaves_no_temporary_file(case):
    from daigt.cli import _exit_on_sigterm
    from daigt.io import write_all_atomic

    out = case["out"]
    before = snapshot(case["tmp"])

    def write_then_get_killed(tmp: Path) -> None:
        tmp.write_text("id,generated\nhalf")
        os.kill(os.getpid(), signal.SIGTERM)
        tmp.write_text("never reached")

    previous = _exit_on_sigterm()
    try:
        with pytest.raises(SystemExit) as stopped:
            write_all_atomic({out.with_suffix(".run.json"): lambda tmp: tmp.write_text("{}"), out: write_then_get_killed})
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert snapshot(case["tmp"]) == before


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_a_running_daigt_run(case, sample_train, signum, code):
    shutil.copy(sample_train, case["train"])  # the full sample: training lasts a few seconds
    before = snapshot(case["tmp"])
    proc = subprocess.Popen([sys.executable, "-m", "daigt", *fill(RUN[:-1], case)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # the run has started once it logs its config: the handlers are in place
        if "resolved config" in line:
            break
    proc.send_signal(signum)
    err = proc.stderr.read()
    proc.wait(timeout=60)
    after = snapshot(case["tmp"])
    if proc.returncode == 0:  # finished before the signal arrived: all three outputs are new
        assert {k for k in before if before[k] != after.get(k)} >= {
            "runs/submission.csv", "runs/submission.config.toml", "runs/submission.run.json"}
    else:
        assert proc.returncode == code and "Traceback" not in err, err
        assert after == before


# ---- property: random inputs give a valid submission or exit 2 ------------------------------------------
TEXT = st.one_of(
    st.text("abcdefghij klmnop.,'\n", min_size=1, max_size=80),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40),
    st.sampled_from(["@CAPS1", "@PERSON2 @NUM1", "x" * 3_000, "\u200b", "NA", " ", "essay about cars and cities"]),
)
CHOICES = {  # mostly valid values, some refused ones
    "features.min_df": ["1", "2", "3", "-1"],
    "features.ngram_range": ["[1, 2]", "[2, 4]", "[3, 5]", "[2, 1]"],
    "features.max_df": ["1.0", "0.5", "0.01", "0"],
    "ensemble.sgd.loss": ["log_loss", "modified_huber", "hinge"],
    "ensemble.style.weight": ["0", "0.5"],
    "ensemble.mnb.weight": ["0", "0.5"],
    "ensemble.logistic.weight": ["0.2"],
    "ensemble.averaging": ["probability", "rank"],
    "pseudo_label.enabled": ["true", "false"],
    "guard.min_test_rows": ["0", "6"],
    "tokenizer.vocab_size": ["260", "300", "1000"],
    "data.strip_anonymisation": ["true", "false"],
    "data.drop_unseen_chars": ["true"],
    "data.spelling_repair": ["true"],
    "augment.typo_rate": ["0.5"],
}
OVERRIDES = st.lists(st.sampled_from([f"{k}={v}" for k, values in CHOICES.items() for v in values]), max_size=4)


@settings(max_examples=40, deadline=30_000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(train_texts=st.lists(TEXT, min_size=0, max_size=12), labels=st.lists(st.integers(0, 1), min_size=12, max_size=12),
       test_texts=st.lists(TEXT, min_size=1, max_size=10), overrides=OVERRIDES)
def test_random_inputs_give_a_submission_or_exit_2(train_texts, labels, test_texts, overrides):
    """Never a traceback (an exception here fails the test) and never a hang (the deadline bounds each example).
    ``derandomize`` makes CI run the same examples every time."""

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        comp = root / "comp"
        comp.mkdir()
        pd.DataFrame({"id": [f"t{i}" for i in range(len(test_texts))], "prompt_id": 0, "text": test_texts}).to_csv(
            comp / "test_essays.csv", index=False)
        both = ["A student wrote this essay about cars.", "The model generated this essay about cities."]
        pd.DataFrame({"text": train_texts + both, "label": labels[: len(train_texts)] + [0, 1],
                      "prompt_name": "p"}).to_csv(root / "train.csv", index=False)
        out = root / "runs" / "submission.csv"
        argv = ["run", "--competition-dir", str(comp), "--train", str(root / "train.csv"), "--out", str(out), "-q",
                "--set", "guard.min_test_rows=0"]  # train on every example unless an override sets the guard
        for override in overrides:
            argv += ["--set", override]
        code, message = _run_capturing_stderr(argv)
        assert code in (0, 2), message
        if code == 0:
            assert_valid_submission(out, len(test_texts))
        else:
            assert "error" in message and not out.exists()


def _run_capturing_stderr(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, buffer.getvalue()


@pytest.mark.parametrize("argv, fragment", [
    (["--folds", "1"], "argument --folds: 1 is out of range: use a value >= 2"),
    (["--min-rows", "0"], "argument --min-rows: 0 is out of range: use a value >= 1"),
    (["--min-rows", "abc"], "argument --min-rows: 'abc' is not an integer"),
    (["--test-noise", "2"], "argument --test-noise: 2 is out of range: use a value in [0, 1]"),
    (["--test-char-noise", "-0.1"], "argument --test-char-noise: -0.1 is out of range"),
])
def test_cv_options_out_of_range_exit_2_before_any_file_is_read(capsys, argv, fragment):
    with pytest.raises(SystemExit) as stop:
        main(["cv", "no-such-file.csv", *argv])
    assert stop.value.code == 2
    assert fragment in capsys.readouterr().err
