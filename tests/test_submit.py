"""submit.py: the offline dry-run, end to end on the embedded sample, and the failures it must catch.

The full run uses a bare interpreter (a venv with nothing but pip), as on a fresh machine. Wheels come from
the shared cache (wheels/) and the image stand-in is cached in dist/dryrun/, so only a cold CI run downloads.
"""

import csv
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import build_dataset as bd  # noqa: E402
import submit  # noqa: E402
from daigt import kaggle_kit as kk  # noqa: E402

SAMPLE = REPO / "data" / "sample"
HOST = "%d.%d" % sys.version_info[:2]


def run_submit(python, *argv, timeout=900):
    return subprocess.run([str(python), str(REPO / "submit.py"), *map(str, argv)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    """A Python with only pip: what the scripts may rely on."""
    env = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    return env / "bin" / "python"


def stub_kernel(tmp_path: Path, body: str) -> Path:
    """A kernel that skips the kit and writes the sample submission, after ``body`` (which may edit ``rows``)."""
    path = tmp_path / "stub_kernel.py"
    path.write_text(textwrap.dedent("""\
        import csv, os, pathlib
        root = pathlib.Path(os.environ["DAIGT_KAGGLE_ROOT"])
        competition = next(root.glob("input/**/llm-detect-ai-generated-text"))
        with open(competition / "sample_submission.csv", newline="") as f:
            rows = list(csv.reader(f))
        """) + textwrap.dedent(body) + textwrap.dedent("""\
        with open(root / "working/submission.csv", "w", newline="") as f:
            csv.writer(f).writerows(rows)
        print("stub kernel done")
        """))
    return path


def test_full_dry_run_on_the_embedded_sample(bare_python):
    proc = run_submit(bare_python)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    with open(SAMPLE / "llm-detect-ai-generated-text" / "sample_submission.csv", newline="") as f:
        n_rows = sum(1 for _ in csv.reader(f)) - 1
    assert f"OK: valid submission ({n_rows} rows" in out
    auc = float(out.split("AUC ")[1].split()[0])
    assert 0.5 < auc <= 1.0
    assert "network cut: new network namespace" in out or "network NOT cut at the OS level" in out
    assert ("(current layout): input/competitions/llm-detect-ai-generated-text, input/datasets/thedrcat/"
            "daigt-v2-train-dataset, input/datasets/your-kaggle-username/daigt-kit, working/") in out
    assert "--require-hashes" in out and "326 test essays: the scoring run" in out and "[daigt-rehearsal]" not in out
    assert "[daigt-kernel] install kit offline" in out and "--no-index" in out
    assert "peak RSS" in out and "of Kaggle's ~30 GB" in out


def test_kernel_that_opens_a_network_connection_fails_the_dry_run(tmp_path):
    kernel = stub_kernel(tmp_path, """\
        import urllib.request
        try:  # a kernel that swallows the error must still fail the dry-run
            urllib.request.urlopen("https://pypi.org/simple/", timeout=5)
        except OSError as exc:
            print("download failed:", exc)
        """)
    proc = run_submit(sys.executable, "--kernel", kernel)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "the kernel tried to open a network connection" in proc.stderr
    assert "getaddrinfo('pypi.org')" in proc.stderr
    assert "download failed" in proc.stdout and "blocked by the DAIGT dry-run" in proc.stdout


def test_kernel_that_writes_a_malformed_submission_fails_validation_naming_the_row(tmp_path):
    kernel = stub_kernel(tmp_path, """\
        rows[3][1] = "1.5"
        """)
    proc = run_submit(sys.executable, "--kernel", kernel)
    assert proc.returncode == 1, proc.stdout[-3000:]
    with open(SAMPLE / "llm-detect-ai-generated-text" / "sample_submission.csv", newline="") as f:
        bad_id = list(csv.reader(f))[3][0]
    assert "invalid submission" in proc.stderr
    assert f"row 4 (id '{bad_id}'), column 'generated': 1.5 is not a finite number in [0, 1]" in proc.stderr


def test_kernel_over_the_time_budget_is_killed(tmp_path):
    kernel = stub_kernel(tmp_path, """\
        import time
        time.sleep(120)
        """)
    proc = run_submit(sys.executable, "--kernel", kernel, "--timeout", "3")
    assert proc.returncode == 1
    assert "exceeded the wall-clock budget of 3 s" in proc.stderr


@pytest.fixture(scope="module")
def dataset_with_a_dependency(tmp_path_factory) -> Path:
    """A dataset for this Python that vendors one dependency the image lacks (colorama)."""
    out = tmp_path_factory.mktemp("kit") / "daigt-kit"
    bd.build(bd.BuildOptions(python=HOST, extras=("colorama",), out=out))
    return out


def test_wheel_removed_from_the_dataset_is_named(dataset_with_a_dependency, tmp_path):
    dataset = tmp_path / "daigt-kit"
    shutil.copytree(dataset_with_a_dependency, dataset)
    wheel = next((dataset / "wheels").glob("colorama-*.whl"))
    wheel.unlink()
    proc = run_submit(sys.executable, "--dataset", dataset)
    assert proc.returncode == 1
    assert f"wheels/{wheel.name} (colorama " in proc.stderr and "missing" in proc.stderr
    assert "rebuild" in proc.stderr


def test_wheel_missing_from_dataset_and_lock_fails_the_offline_install_naming_it(dataset_with_a_dependency, tmp_path):
    """A dataset built incompletely (lock agrees): the kernel's own offline install must fail and say what is missing."""
    dataset = tmp_path / "daigt-kit"
    shutil.copytree(dataset_with_a_dependency, dataset)
    next((dataset / "wheels").glob("colorama-*.whl")).unlink()
    lock_path = dataset / "daigt-kit.lock"
    lock = json.loads(lock_path.read_text())
    lock["wheels"] = [w for w in lock["wheels"] if w["name"] != "colorama"]
    lock_path.write_text(json.dumps(lock))
    proc = run_submit(sys.executable, "--dataset", dataset)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "no wheel for colorama" in proc.stdout  # the kernel's message, as Kaggle's log would show it
    assert "missing from the kit dataset: colorama" in proc.stderr


def test_kernel_that_writes_into_the_read_only_input_fails_the_dry_run(tmp_path):
    kernel = stub_kernel(tmp_path, """\
        (competition / "cache.bin").write_bytes(b"x")
        """)
    proc = run_submit(sys.executable, "--kernel", kernel)
    assert proc.returncode == 1
    assert "the kernel changed /kaggle/input (competitions/llm-detect-ai-generated-text" in proc.stderr


@pytest.mark.parametrize(
    "argv, message",
    [(["--competition-dir", "/nonexistent"], "--competition-dir /nonexistent: not a directory"),
     (["--competition-dir", str(SAMPLE)], "no test_essays.csv; point it at the competition's files"),
     (["--external-dir", "/nonexistent"], "--external-dir /nonexistent: not a directory"),
     (["--kernel", "/nonexistent.py"], "--kernel /nonexistent.py: no such file; generate one with `daigt kernel"),
     (["--dataset", str(SAMPLE)], f"--dataset {SAMPLE}: no daigt-kit.lock there"),
     (["--labels", "/nonexistent.csv"], "--labels /nonexistent.csv: no such file")],
)
def test_a_bad_path_option_fails_at_once_naming_the_option(argv, message):
    proc = run_submit(sys.executable, *argv, timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "[build_dataset]" not in proc.stdout and "--keep" not in proc.stdout + proc.stderr  # nothing built or staged


@pytest.mark.parametrize("layout", submit.LAYOUTS)
def test_the_kernel_resolves_its_inputs_in_a_staged_tree_of_either_layout(tmp_path, layout, monkeypatch):
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / kk.LOCK_FILE).write_text("{}")
    opts = submit.Options(layout=layout, external_dirs=[SAMPLE / "daigt-external", SAMPLE / "daigt-external"])
    root = tmp_path / "kaggle"
    paths = submit.stage_tree(opts, kit, root)
    expected = {"current": ["input/competitions/llm-detect-ai-generated-text",
                            "input/datasets/thedrcat/daigt-v2-train-dataset", "input/datasets/your-kaggle-username/daigt-external",
                            "input/datasets/your-kaggle-username/daigt-kit"],
                "legacy": ["input/daigt-external", "input/daigt-kit", "input/daigt-v2-train-dataset",
                           "input/llm-detect-ai-generated-text"]}[layout]
    assert submit.staged_inputs(root) == expected
    monkeypatch.setenv(kk.ROOT_ENV, str(root))
    import runpy

    kernel = runpy.run_path(str(submit.DEFAULT_KERNEL), run_name="kernel")
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(key, "1")  # the kernel set them in this process; monkeypatch restores them
    assert kernel["find_source"](kk.COMPETITION, "test_essays.csv", kind="competitions") == paths["competition"]
    assert kernel["find_source"](f"{kk.OWNER_PLACEHOLDER}/{kk.KIT_DATASET_SLUG}", kk.LOCK_FILE) == paths["kit"]
    train_dir = {"current": "input/datasets/thedrcat/daigt-v2-train-dataset", "legacy": "input/daigt-v2-train-dataset"}
    assert kernel["training_files"]([kk.TRAIN_DATASET]) == [root / train_dir[layout] / "train.csv"]


def test_commit_run_placeholder_rehearses_the_scoring_run_in_the_legacy_layout(tmp_path):
    """Kaggle's commit run (3 test rows): the kernel validates everything and runs the full pipeline on training
    essays standing in as test, then still writes the 0.5 placeholder."""
    import pandas as pd

    competition = tmp_path / kk.COMPETITION
    shutil.copytree(SAMPLE / kk.COMPETITION, competition)
    test = pd.read_csv(SAMPLE / kk.COMPETITION / "test_essays.csv", dtype=str).head(3)
    test.to_csv(competition / "test_essays.csv", index=False)
    test[["id"]].assign(generated=0.5).to_csv(competition / "sample_submission.csv", index=False)
    kernel_dir = tmp_path / "kernel"
    written = subprocess.run([sys.executable, "-m", "daigt.kaggle_kit", "--owner", kk.OWNER_PLACEHOLDER, "--out",
                              str(kernel_dir), "--set", "guard.rehearsal_rows=40", "--set", "data.max_train_rows=300"],
                             capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    proc = run_submit(sys.executable, "--competition-dir", competition, "--layout", "legacy",
                      "--kernel", kernel_dir / kk.KERNEL_CODE_FILE)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "(legacy layout): input/daigt-kit, input/daigt-v2-train-dataset, input/llm-detect-ai-generated-text" in out
    assert "3 test essays (< guard.min_test_rows = 6): the commit run's placeholder" in out
    assert "[daigt-rehearsal] training data valid: 300 essays" in out
    assert "full pipeline on 40 training essays standing in as test" in out
    assert "[daigt-rehearsal] extrapolated to 9,000 test essays" in out and "of the 9-hour limit" in out
    assert "OK: valid submission (3 rows" in out and "placeholder guard" in out


def _image(tmp_path: Path, python: str) -> Path:
    path = tmp_path / f"py{python}.txt"
    path.write_text(f"# image: py{python}\n# python: {python}\n# glibc: 2.31\nnumpy==1.26.4\n", encoding="utf-8")
    return path


def test_image_option_takes_the_images_manifest_and_python(tmp_path, capsys):
    same = _image(tmp_path, HOST)
    assert submit.parse_args(["--image", str(same)]).manifest == same
    assert submit.image_interpreter(str(same)) is None  # already the image's Python: no re-run
    other = next(v for v in bd.PYTHONS if v != HOST)
    try:
        found = submit.image_interpreter(str(_image(tmp_path, other)))
    except submit.UsageError as exc:
        assert f"Python {other}" in str(exc) and "pyenv install" in str(exc)
    else:
        version = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        assert version == other
    assert submit.main(["--image", "no-such-image"]) == 2
    assert "known images" in capsys.readouterr().err
