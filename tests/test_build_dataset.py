"""build_dataset.py: wheels only, a verified lock, valid Kaggle metadata, and an offline install that works.

The image manifest of these tests claims the kit's heavy dependencies (at this environment's versions), so
the closure left to vendor is tiny (the kit, tqdm, six) and the tests stay fast; the wheel cache (wheels/)
is shared with every other build, so re-runs download nothing.
"""

import importlib.metadata
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from daigt import kaggle_kit as kk

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import build_dataset as bd  # noqa: E402

HOST = "%d.%d" % sys.version_info[:2]
HEAVY = ("numpy", "scipy", "pandas", "scikit-learn", "lightgbm", "tokenizers", "regex")


def small_manifest(path: Path, extra_lines: tuple[str, ...] = ()) -> Path:
    """An image that has the heavy dependencies (as stubs: their versions here satisfy the kit), not tqdm."""
    lines = [f"{name}=={importlib.metadata.version(name)}" for name in HEAVY]
    path.write_text("# test image\n" + "\n".join([*lines, *extra_lines]) + "\n")
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "tiny-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 8}')
    (folder / "weights.bin").write_bytes(bytes(range(256)))
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory, model_dir):
    tmp = tmp_path_factory.mktemp("build")
    version_file = (REPO / "src" / "daigt" / "_version.py").read_text()
    opts = bd.BuildOptions(owner="tester", slug="daigt-kit-test", title="DAIGT Kit test wheels", python=HOST,
                           manifest=small_manifest(tmp / "manifest.txt"), extras=("six",), model_dirs=(model_dir,),
                           out=tmp / "dataset")
    result = bd.build(opts)
    assert (REPO / "src" / "daigt" / "_version.py").read_text() == version_file, "a tracked file was changed"
    again = bd.build(opts)  # right away: a later one would see other edits of the working tree as changes
    return opts, result, again


def test_dataset_holds_wheels_only_for_exactly_the_closure_the_image_lacks(built):
    opts, result, _ = built
    files = sorted(p.name for p in (result.out / "wheels").iterdir())
    assert all(name.endswith(".whl") for name in files), files
    names = sorted(w["name"] for w in result.wheels)
    assert names == ["daigt-kit", "six", "tqdm"]  # numpy & co. come from the image; tomli only below 3.11
    for path in (result.out / "wheels").iterdir():
        with zipfile.ZipFile(path) as archive:
            assert any(n.endswith(".dist-info/WHEEL") for n in archive.namelist())


def test_lock_lists_every_file_with_its_verified_sha256(built):
    _, result, _ = built
    lock = json.loads((result.out / kk.LOCK_FILE).read_text())
    assert {w["file"] for w in lock["wheels"]} == {f"wheels/{p.name}" for p in (result.out / "wheels").iterdir()}
    for entry in lock["wheels"] + lock["models"]:
        assert bd.sha256_file(result.out / entry["file"]) == entry["sha256"]
        assert (result.out / entry["file"]).stat().st_size == entry["size"]
    assert {m["file"] for m in lock["models"]} == {"models/tiny-model/config.json", "models/tiny-model/weights.bin"}
    assert lock["default_model"] == "models/tiny-model"
    version = lock["kit"]["version"]
    assert lock["install"] == [f"daigt-kit=={version}", "six"]
    assert version.split("+")[0] == importlib.metadata.version("daigt-kit").split("+")[0]
    assert version.split("+")[1].startswith(("g", "nogit"))
    assert lock["target"] == {"python": HOST, "platforms": ["manylinux2014_x86_64"], "max_glibc": "2.35",
                              "implementation": "cp", "closure": "image"}
    assert set(lock["image_manifest"]["provided"]) == set(HEAVY)
    assert "fresh Python" in lock["check"]
    assert bd.verify_dataset(result.out) == []


def test_metadata_is_valid_for_the_kaggle_cli(built):
    _, result, _ = built
    meta = kk.check_dataset_folder(result.out)
    assert meta["id"] == "tester/daigt-kit-test" and meta["title"] == "DAIGT Kit test wheels"
    assert len(meta["licenses"]) == 1
    pytest.importorskip("six")
    import os

    os.environ.setdefault("KAGGLE_API_TOKEN", "placeholder-for-offline-validation")
    kaggle = pytest.importorskip("kaggle")
    kaggle.api.validate_dataset_string(meta["id"])
    kaggle.api.validate_resources(str(result.out), meta["resources"])
    assert (result.out / "config.toml").read_text() == (REPO / "kernels" / "daigt-submit" / "config.toml").read_text()
    assert "pip install --no-index --find-links /kaggle/input/daigt-kit-test/wheels" in (result.out / "README.md").read_text()


def test_dataset_installs_offline_into_a_fresh_venv(built, tmp_path):
    opts, result, _ = built
    lock = json.loads((result.out / kk.LOCK_FILE).read_text())
    provided = bd.image_pins(opts.manifest, HOST, opts.platforms)
    python = bd.make_env(tmp_path / "venv", sys.executable, provided)  # the image's packages as metadata stubs
    proc = subprocess.run(
        bd.pip("--python", str(python), "install", "--no-index", "--find-links", str(result.out / "wheels"), *lock["install"]),
        env=bd.pip_env(True), capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = subprocess.run([str(python), "-c", "import daigt, tqdm, six; print(daigt.__version__)"], capture_output=True, text=True)
    assert out.stdout.strip() == lock["kit"]["version"], out.stderr


def test_rebuild_with_the_same_inputs_reuses_the_dataset(built):
    _, result, again = built
    assert again.reused and again.out == result.out
    assert [w["sha256"] for w in again.wheels] == [w["sha256"] for w in result.wheels]


def test_a_missing_or_altered_wheel_is_named(built, tmp_path):
    _, result, _ = built
    copy = tmp_path / "ds"
    shutil.copytree(result.out, copy)
    tqdm_wheel = next((copy / "wheels").glob("tqdm-*.whl"))
    tqdm_wheel.unlink()
    six_wheel = next((copy / "wheels").glob("six-*.whl"))
    six_wheel.write_bytes(b"not a wheel")
    (copy / "wheels" / "extra-1.0.tar.gz").write_text("sdist")
    problems = "\n".join(bd.verify_dataset(copy))
    assert f"wheels/{tqdm_wheel.name} (tqdm " in problems and "missing" in problems
    assert f"wheels/{six_wheel.name} (six " in problems and "sha256" in problems
    assert "extra-1.0.tar.gz is in the dataset but not in" in problems and "(not a wheel)" in problems


@pytest.mark.skipif(bd.find_interpreter("3.10") is None, reason="needs a Python 3.10 interpreter for exact markers")
def test_python_310_target_vendors_tomli_from_the_kits_marker(tmp_path):
    opts = bd.BuildOptions(python="3.10", manifest=small_manifest(tmp_path / "m.txt", ("tqdm==4.66.1",)), out=tmp_path / "ds")
    result = bd.build(opts)
    names = {w["name"]: w for w in result.wheels}
    assert set(names) == {"daigt-kit", "tomli"}
    assert "cp311" not in json.dumps(result.wheels)


def test_manifest_markers_select_the_targets_image(tmp_path):
    manifest = tmp_path / "m.txt"
    manifest.write_text('numpy==1.24.3 ; python_version == "3.10"\nnumpy==1.26.4 ; python_version >= "3.11"\n')
    assert bd.image_pins(manifest, "3.10", ("manylinux2014_x86_64",)) == {"numpy": "1.24.3"}
    assert bd.image_pins(manifest, "3.11", ("manylinux2014_x86_64",)) == {"numpy": "1.26.4"}


def test_platforms_widen_to_the_manylinux_tags_kaggles_glibc_runs():
    tags = bd.expand_platforms(("manylinux2014_x86_64",), "2.35")
    assert tags[0] == "manylinux2014_x86_64" and "manylinux_2_28_x86_64" in tags and "manylinux_2_35_x86_64" in tags
    assert "manylinux_2_36_x86_64" not in tags
    assert bd.expand_platforms(("manylinux2014_x86_64",), "2.17") == ("manylinux2014_x86_64", "manylinux_2_17_x86_64")


@pytest.mark.parametrize(
    "argv, message",
    [(["--title", "Kit"], "6-50 characters"), (["--slug", "kit"], "6-50 characters"),
     (["--python", "3.9"], "invalid choice"), (["--model-dir", "/nonexistent/model"], "not a directory")],
)
def test_bad_options_fail_before_any_work_with_the_fix(tmp_path, capsys, argv, message):
    code = None
    try:
        code = bd.main([*argv, "--out", str(tmp_path / "ds")])
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()
