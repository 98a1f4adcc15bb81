"""Kaggle packaging of the kit: metadata for the offline dataset and the submission kernel, and `daigt kernel`.

Kaggle runs a code-competition submission with the internet off, so everything the kernel imports that the
Kaggle image lacks has to come from an attached dataset. This module knows the Kaggle side of that contract:
the metadata files the Kaggle CLI reads (``dataset-metadata.json``, ``kernel-metadata.json``), the rules the
CLI and the site enforce on them (checked here so a mistake shows up locally, not after an upload), the
image manifest (what the image already provides) and the source of the submission kernel itself.

It imports only the standard library (plus ``daigt.io``): ``build_dataset.py`` and ``submit.py`` import it
on a machine that has nothing but Python and pip. ``nbformat`` is imported only to write notebooks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daigt.config import Config, ConfigError
from daigt.io import write_text_atomic

COMPETITION = "llm-detect-ai-generated-text"
"""Competition slug: ``/kaggle/input/<COMPETITION>`` and the ``competition_sources`` entry."""
TRAIN_DATASET = "thedrcat/daigt-v2-train-dataset"
"""Default external training dataset (DAIGT v2, ``train_v2_drcat_02.csv``: text, label, prompt_name, source)."""
KIT_DATASET_SLUG = "daigt-kit"
KERNEL_SLUG = "daigt-submit"
OWNER_PLACEHOLDER = "your-kaggle-username"
"""Owner written into the committed metadata; ``daigt kernel --owner`` and ``build_dataset.py --owner`` replace it."""
LOCK_FILE = "daigt-kit.lock"
"""JSON file at the dataset root: every wheel and model file with its sha256, and the pinned kit requirement."""
ROOT_ENV = "DAIGT_KAGGLE_ROOT"
"""Environment variable that moves the kernel's ``/kaggle`` root (the local dry-run points it at a staged tree)."""
KERNEL_CODE_FILE = "daigt_submit.py"
NOTEBOOK_CODE_FILE = "daigt_submit.ipynb"
KAGGLE_MEMORY_GB = 30.0
KAGGLE_TIME_LIMIT_S = 9 * 3600

# Licence names the Kaggle CLI accepts in dataset-metadata.json (kaggle-api docs/datasets_metadata.md).
DATASET_LICENSES = (
    "CC0-1.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC-BY-NC-SA-4.0", "GPL-2.0", "ODbL-1.0", "DbCL-1.0",
    "copyright-authors", "other", "unknown", "CC-BY-4.0", "CC-BY-NC-4.0", "PDDL", "CC-BY-3.0", "CC-BY-3.0-IGO",
    "US-Government-Works", "CC-BY-NC-SA-3.0-IGO", "CDLA-Permissive-1.0", "CDLA-Sharing-1.0", "CC-BY-ND-4.0",
    "CC-BY-NC-ND-4.0", "ODC-BY-1.0", "LGPL-3.0", "AGPL-3.0", "FDL-1.3", "EU-ODP-Legal-Notice", "apache-2.0",
    "GPL-3.0",
)
KERNEL_TYPES = ("script", "notebook")
KERNEL_LANGUAGES = ("python", "r", "rmarkdown")


class KaggleMetadataError(ValueError):
    """Metadata the Kaggle CLI or site would reject; the message names the file, the field and the fix."""


# ---- slugs and references -------------------------------------------------------------------------------
def kaggle_slug(title: str) -> str:
    """The URL slug Kaggle derives from a kernel title (lowercase, runs of other characters -> one dash).

    Kaggle links a kernel's title to its slug; ``kaggle kernels push`` warns when they disagree and the
    site may then create a differently named kernel. Matches python-slugify for ASCII titles.
    """
    return re.sub(r"[^a-z0-9]+", "-", title.lower().replace("'", "")).strip("-")


def title_for_slug(slug: str) -> str:
    """A readable title that resolves back to ``slug`` (``daigt-submit`` -> ``DAIGT Submit``)."""
    words = slug.split("-")
    return " ".join(w.upper() if w in {"daigt", "llm", "ai", "tfidf", "gpu", "cpu"} else w.capitalize() for w in words)


def split_ref(ref: str, what: str) -> tuple[str, str]:
    """``owner/slug`` -> ``(owner, slug)``; the error says which reference is malformed and how to write it."""
    parts = ref.split("/")
    if len(parts) != 2 or not all(parts) or any(not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", p) for p in parts):
        raise KaggleMetadataError(f"{what} {ref!r}: expected 'owner/slug', e.g. '{OWNER_PLACEHOLDER}/{KIT_DATASET_SLUG}'")
    return parts[0], parts[1]


# ---- dataset metadata -----------------------------------------------------------------------------------
def dataset_metadata(
    owner: str,
    slug: str,
    title: str,
    license_name: str = "other",
    subtitle: str = "",
    description: str = "",
    keywords: tuple[str, ...] = (),
    resources: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """``dataset-metadata.json`` for ``kaggle datasets create/version -p DIR`` (validated before returning).

    ``resources`` are ``(path, description)`` pairs of top-level files, shown as file descriptions on Kaggle.
    """
    meta: dict[str, Any] = {"title": title, "id": f"{owner}/{slug}", "licenses": [{"name": license_name}]}
    if subtitle:
        meta["subtitle"] = subtitle
    if description:
        meta["description"] = description
    if keywords:
        meta["keywords"] = list(keywords)
    if resources:
        meta["resources"] = [{"path": path, "description": text} for path, text in resources]
    check_dataset_metadata(meta)
    return meta


def check_dataset_metadata(meta: dict[str, Any], where: str = "dataset-metadata.json") -> None:
    """The checks ``kaggle datasets create`` runs before uploading (title/slug 6-50 chars, one licence...)."""
    for key in ("title", "id", "licenses"):
        if key not in meta:
            raise KaggleMetadataError(f"{where}: missing field {key!r}")
    _, slug = split_ref(str(meta["id"]), f"{where}: id")
    if not 6 <= len(slug) <= 50:
        raise KaggleMetadataError(f"{where}: dataset slug {slug!r} must be 6-50 characters (Kaggle CLI rule); use --slug")
    title = str(meta["title"])
    if not 6 <= len(title) <= 50:
        raise KaggleMetadataError(f"{where}: title {title!r} must be 6-50 characters (Kaggle CLI rule); use --title")
    if title == "INSERT_TITLE_HERE" or slug == "INSERT_SLUG_HERE":
        raise KaggleMetadataError(f"{where}: still has the `kaggle datasets init` placeholder title/slug")
    licenses = meta["licenses"]
    if not isinstance(licenses, list) or len(licenses) != 1 or not isinstance(licenses[0], dict):
        raise KaggleMetadataError(f"{where}: 'licenses' must be a list with exactly one {{\"name\": ...}} entry")
    name = licenses[0].get("name")
    if name not in DATASET_LICENSES:
        raise KaggleMetadataError(f"{where}: licence {name!r} is not one Kaggle accepts; choose one of {list(DATASET_LICENSES)}")
    subtitle = meta.get("subtitle")
    if subtitle and not 20 <= len(subtitle) <= 80:
        raise KaggleMetadataError(f"{where}: subtitle must be 20-80 characters, got {len(subtitle)}")
    paths = [str(r.get("path", "")) for r in meta.get("resources", [])]
    if len(set(paths)) != len(paths):
        raise KaggleMetadataError(f"{where}: a resources path is listed twice")


def check_dataset_folder(folder: Path) -> dict[str, Any]:
    """Validate a dataset folder as ``kaggle datasets create -p folder`` would; returns its metadata."""
    folder = Path(folder)
    where = folder / "dataset-metadata.json"
    meta = read_json(where)
    check_dataset_metadata(meta, where=str(where))
    for resource in meta.get("resources", []):
        if not (folder / str(resource.get("path", ""))).is_file():
            raise KaggleMetadataError(f"{where}: resource {resource.get('path')!r} does not exist in {folder}")
    return meta


# ---- kernel metadata ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KernelSpec:
    """What a submission kernel folder is made of; ``write_kernel_folder`` turns it into files."""

    owner: str = OWNER_PLACEHOLDER
    slug: str = KERNEL_SLUG
    title: str = ""
    """Empty = derived from the slug, so that title and slug agree."""
    kit_dataset: str = ""
    """``owner/slug`` of the kit dataset; empty = ``<owner>/daigt-kit``."""
    train_datasets: tuple[str, ...] = (TRAIN_DATASET,)
    kernel_type: str = "script"
    enable_gpu: bool = False
    is_private: bool = True
    overrides: tuple[str, ...] = ()
    """``section.field=value`` config overrides the kernel passes to ``daigt run`` after the dataset's config."""
    extra_sources: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.slug}"

    @property
    def resolved_title(self) -> str:
        return self.title or title_for_slug(self.slug)

    @property
    def resolved_kit_dataset(self) -> str:
        return self.kit_dataset or f"{self.owner}/{KIT_DATASET_SLUG}"

    @property
    def code_file(self) -> str:
        return NOTEBOOK_CODE_FILE if self.kernel_type == "notebook" else KERNEL_CODE_FILE


def kernel_metadata(spec: KernelSpec) -> dict[str, Any]:
    """``kernel-metadata.json`` for ``kaggle kernels push -p DIR``: internet off, competition + datasets attached."""
    meta = {
        "id": spec.ref,
        "title": spec.resolved_title,
        "code_file": spec.code_file,
        "language": "python",
        "kernel_type": spec.kernel_type,
        "is_private": spec.is_private,
        "enable_gpu": spec.enable_gpu,
        "enable_tpu": False,
        "enable_internet": False,
        "dataset_sources": [spec.resolved_kit_dataset, *spec.train_datasets],
        "competition_sources": [COMPETITION],
        "kernel_sources": list(spec.extra_sources.get("kernel_sources", [])),
        "model_sources": list(spec.extra_sources.get("model_sources", [])),
    }
    check_kernel_metadata(meta)
    return meta


def check_kernel_metadata(meta: dict[str, Any], folder: Path | None = None, where: str = "kernel-metadata.json") -> None:
    """The checks ``kaggle kernels push`` runs, plus what a code-competition submission needs (internet off)."""
    if "id" not in meta:
        raise KaggleMetadataError(f"{where}: missing 'id' (owner/kernel-slug)")
    _, slug = split_ref(str(meta["id"]), f"{where}: id")
    if len(slug) < 5:
        raise KaggleMetadataError(f"{where}: kernel slug {slug!r} must be at least five characters (Kaggle CLI rule)")
    title = str(meta.get("title") or "")
    if len(title) < 5:
        raise KaggleMetadataError(f"{where}: title {title!r} must be at least five characters (Kaggle CLI rule)")
    if kaggle_slug(title) != slug.lower():
        raise KaggleMetadataError(
            f"{where}: title {title!r} resolves to slug {kaggle_slug(title)!r}, not {slug!r}; Kaggle links the two, "
            f"so use e.g. title {title_for_slug(slug)!r}"
        )
    if meta.get("language") not in KERNEL_LANGUAGES:
        raise KaggleMetadataError(f"{where}: language must be one of {list(KERNEL_LANGUAGES)}")
    if meta.get("kernel_type") not in KERNEL_TYPES:
        raise KaggleMetadataError(f"{where}: kernel_type must be one of {list(KERNEL_TYPES)}")
    code_file = str(meta.get("code_file") or "")
    if not code_file:
        raise KaggleMetadataError(f"{where}: 'code_file' is required")
    if folder is not None and not (folder / code_file).is_file():
        raise KaggleMetadataError(f"{where}: code_file {code_file!r} not found in {folder}")
    for source in meta.get("dataset_sources", []):
        split_ref(source, f"{where}: dataset_sources entry")
    if meta.get("enable_internet") is not False:
        raise KaggleMetadataError(f"{where}: enable_internet must be false: code-competition submissions run offline")
    if COMPETITION not in meta.get("competition_sources", []):
        raise KaggleMetadataError(f"{where}: competition_sources must include {COMPETITION!r}")


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KaggleMetadataError(f"{path}: not found") from None
    except json.JSONDecodeError as exc:
        raise KaggleMetadataError(f"{path}: not valid JSON ({exc})") from None


def check_kernel_folder(folder: Path) -> dict[str, Any]:
    """Validate a kernel folder as ``kaggle kernels push -p folder`` would; returns its metadata."""
    folder = Path(folder)
    meta = read_json(folder / "kernel-metadata.json")
    check_kernel_metadata(meta, folder, where=str(folder / "kernel-metadata.json"))
    return meta


# ---- image manifest -------------------------------------------------------------------------------------
def read_manifest_lines(path: Path) -> list[str]:
    """Requirement lines (``name==version [; marker]``) of an image manifest, comments and blanks dropped.

    The manifest is a pip constraints file, so ``pip install -c manifest`` reads it as is; markers let one
    file describe the Python 3.10 and 3.11 images.
    """
    lines = []
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "==" not in line.split(";", 1)[0]:
            raise KaggleMetadataError(f"{path}:{number}: {raw.strip()!r} is not pinned; write name==version [; marker]")
        lines.append(line)
    return lines


def normalize_name(name: str) -> str:
    """PEP 503 project-name normalisation (``Scikit_Learn`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ---- the kernel ---------------------------------------------------------------------------------------
_KERNEL_TEMPLATE = '''\
"""DAIGT Kit submission kernel for Kaggle's "LLM - Detect AI Generated Text".

Generated by `daigt kernel` (regenerate it rather than editing the logic). Kaggle runs it with the internet
off: it installs the kit from the attached kit dataset with `pip --no-index`, trains on the attached training
dataset and predicts the competition's test essays into /kaggle/working/submission.csv, printing the time and
peak memory of each stage. Set DAIGT_KAGGLE_ROOT to run it on a local copy of the /kaggle tree
(`python submit.py` in the kit's repository does that, with the network cut).
"""

# %% Settings (written by `daigt kernel`)
KIT_DATASET = __KIT_DATASET__
TRAIN_DATASETS = __TRAIN_DATASETS__
COMPETITION = __COMPETITION__
OVERRIDES = __OVERRIDES__  # "section.field=value" settings applied after the dataset's config.toml

# %% Offline switches: set before anything imports the Hugging Face libraries
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # explicit: tokenizers + a later fork would warn or hang

# %% Helpers
import csv
import hashlib
import json
import re
import resource
import subprocess
import sys
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(os.environ.get(__ROOT_ENV__, "/kaggle"))
INPUT = ROOT / "input"
WORKING = ROOT / "working"
LOCK_FILE = __LOCK_FILE__


def say(message):
    print(f"[daigt-kernel] {message}", flush=True)


def peak_rss_mib():
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return max(self_peak, child_peak)


@contextmanager
def stage(name, timings):
    start = time.perf_counter()
    say(f"{name} ...")
    yield
    seconds = time.perf_counter() - start
    timings.append((name, seconds, peak_rss_mib()))
    say(f"{name}: {seconds:.1f} s, peak RSS {timings[-1][2]:.0f} MiB")


def find_source(ref, marker):
    """Kaggle mounts an input at /kaggle/input/<slug>; newer mounts nest it deeper, so search a few levels."""
    slug = ref.split("/")[-1]
    direct = INPUT / slug
    if direct.is_dir() and any(direct.glob(marker)):
        return direct
    for depth in range(1, 5):
        for path in sorted(INPUT.glob("/".join(["*"] * depth))):
            if path.is_dir() and path.name == slug and any(path.rglob(marker)):
                return path
    hint = "competition_sources" if "/" not in ref else "dataset_sources"
    raise SystemExit(f"input {ref!r} not found under {INPUT} (looked for a folder {slug!r} containing {marker}): "
                     f"attach it to the kernel ({hint} in kernel-metadata.json, or 'Add Input' on Kaggle)")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_lock(kit_dir):
    locks = sorted(kit_dir.rglob(LOCK_FILE))
    if not locks:
        raise SystemExit(f"{kit_dir}: no {LOCK_FILE}; is {KIT_DATASET!r} a dataset built by build_dataset.py?")
    lock = json.loads(locks[0].read_text(encoding="utf-8"))
    built_for = lock["target"]["python"]
    if built_for != "%d.%d" % sys.version_info[:2]:
        say(f"WARNING: the kit dataset was built for Python {built_for} but this image runs "
            f"{sys.version.split()[0]}; if the install fails, rebuild it with `python build_dataset.py --python "
            + "%d.%d`" % sys.version_info[:2])
    return locks[0], lock


def unpacked_archives(kit_dir):
    """`kaggle datasets create -r zip` uploads folders as zip files and Kaggle unpacks them; should an archive
    arrive packed, unpack it to a scratch folder instead of failing."""
    target = Path(os.environ.get("TMPDIR", "/tmp")) / "daigt-kit-unpacked"
    for archive in sorted(kit_dir.rglob("*.zip")):
        say(f"unpacking {archive}")
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(target / archive.stem)
    return target


def verify_wheels(kit_dir, lock):
    """Every wheel in the lock must be in the dataset, unchanged; returns the folders to install from."""
    present = {path.name: path for path in kit_dir.rglob("*.whl")}
    if any(entry["file"].split("/")[-1] not in present for entry in lock["wheels"]):
        present.update({path.name: path for path in unpacked_archives(kit_dir).rglob("*.whl")})
    for entry in lock["wheels"]:
        name = entry["file"].split("/")[-1]
        if name not in present:
            raise SystemExit(f"wheel {name} ({entry['name']} {entry['version']}) listed in {LOCK_FILE} is missing from "
                             f"the dataset {KIT_DATASET!r}: rebuild it with `python build_dataset.py` and upload a new "
                             f"version (`kaggle datasets version -p DIR -r zip -m MSG`)")
        if sha256(present[name]) != entry["sha256"]:
            raise SystemExit(f"wheel {name} in the dataset does not match its sha256 in {LOCK_FILE}: the upload is "
                             f"corrupt or stale; rebuild the dataset and upload a new version")
    return sorted({path.parent for path in present.values()})


def install_kit(lock, wheel_dirs):
    links = [arg for folder in wheel_dirs for arg in ("--find-links", str(folder))]
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", "--no-input",
               "--progress-bar", "off", *links, *lock["install"]]
    say("$ " + " ".join(command))
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout[-4000:], flush=True)
    if proc.returncode != 0:
        missing = sorted(set(re.findall(r"satisfies the requirement ([^\\s]+)", proc.stdout)))
        if missing:
            raise SystemExit(f"offline install of {' '.join(lock['install'])} failed: no wheel for {', '.join(missing)} in the "
                             f"dataset and the image lacks it; add it to the dataset (build_dataset.py vendors the "
                             f"closure; remove it from the image manifest if the image does not really have it)")
        raise SystemExit(f"offline install of {' '.join(lock['install'])} failed (pip exit {proc.returncode}); see pip's output above")


def attached_transformer():
    """The folder holding `daigt train-transformer` checkpoints (daigt_transformer.json files) in any attached
    input, e.g. the output of the daigt-train-transformer kernel added as a kernel source; None when absent."""
    markers = sorted(INPUT.glob("*/**/daigt_transformer.json"))
    if not markers:
        return None
    folders = {path.parent for path in markers if "_state" not in path.parts}
    return Path(os.path.commonpath([str(folder) for folder in folders])) if folders else None


def training_files(refs):
    """CSV files with text and label columns in the attached training datasets."""
    files = []
    for ref in refs:
        folder = find_source(ref, "*.csv")
        found = []
        for path in sorted(folder.rglob("*.csv")):
            with open(path, newline="", encoding="utf-8") as handle:
                header = next(csv.reader(handle), [])
            if "text" in header and "label" in header:
                found.append(path)
        if not found:
            raise SystemExit(f"dataset {ref!r} ({folder}) has no CSV file with 'text' and 'label' columns")
        files.extend(found)
    return files


def main():
    timings = []
    start = time.perf_counter()
    with stage("locate inputs", timings):
        competition_dir = find_source(COMPETITION, "test_essays.csv")
        kit_dir = find_source(KIT_DATASET, LOCK_FILE)
        lock_path, lock = read_lock(kit_dir)
        train = training_files(TRAIN_DATASETS)
        say(f"competition: {competition_dir}; kit: {kit_dir} ({' '.join(lock['install'])}); training files: "
            + ", ".join(str(path) for path in train))
    with stage("verify wheels", timings):
        wheel_dirs = verify_wheels(kit_dir, lock)
    with stage("install kit offline", timings):
        install_kit(lock, wheel_dirs)
    WORKING.mkdir(parents=True, exist_ok=True)
    out = WORKING / "submission.csv"
    command = [sys.executable, "-m", "daigt", "run", "--competition-dir", str(competition_dir),
               "--train", *map(str, train), "--out", str(out)]
    config = lock_path.parent / "config.toml"
    if config.is_file():
        command += ["--config", str(config)]
    settings = list(OVERRIDES)
    model_dir = lock_path.parent / lock["default_model"] if lock.get("default_model") else attached_transformer()
    if model_dir:
        say(f"transformer checkpoint(s) found under {model_dir}: blending them with the TF-IDF ensemble")
        settings.insert(0, "transformer.model_dir=" + json.dumps(str(model_dir)))
    else:
        say("no transformer checkpoint attached: TF-IDF ensemble only")
    for item in settings:
        command += ["--set", item]
    with stage("daigt run", timings):
        say("$ " + " ".join(command))
        code = subprocess.call(command)
        if code != 0:
            raise SystemExit(f"daigt run failed (exit {code}); its traceback is above")
    say(f"wrote {out} ({out.stat().st_size} bytes)")
    say("stage timings:")
    for name, seconds, peak in timings:
        say(f"  {name:<22} {seconds:9.1f} s   peak RSS {peak:8.0f} MiB")
    say(f"total {time.perf_counter() - start:.1f} s; peak RSS {peak_rss_mib():.0f} MiB of Kaggle's ~30 GB")
    return 0


# %% Run
if __name__ == "__main__":
    status = main()
    if status:
        raise SystemExit(status)
'''


def kernel_source(spec: KernelSpec) -> str:
    """The submission kernel's Python source for ``spec`` (one source for the script and the notebook)."""
    values = {
        "__KIT_DATASET__": json.dumps(spec.resolved_kit_dataset),
        "__TRAIN_DATASETS__": json.dumps(list(spec.train_datasets)),
        "__COMPETITION__": json.dumps(COMPETITION),
        "__OVERRIDES__": json.dumps(list(spec.overrides)),
        "__ROOT_ENV__": json.dumps(ROOT_ENV),
        "__LOCK_FILE__": json.dumps(LOCK_FILE),
    }
    source = _KERNEL_TEMPLATE
    for key, value in values.items():
        source = source.replace(key, value)
    return source


def kernel_notebook(source: str) -> Any:
    """The kernel as an nbformat v4 notebook: the docstring becomes a markdown cell, each ``# %%`` block a code cell."""
    try:
        import nbformat
        from nbformat import v4
    except ImportError:  # pragma: no cover - depends on the environment
        raise KaggleMetadataError("writing a notebook kernel needs nbformat: pip install nbformat") from None
    docstring, _, body = source.partition('"""\n\n')
    cells = [v4.new_markdown_cell(docstring.strip().strip('"').strip())]
    for block in re.split(r"^# %% ?", body, flags=re.MULTILINE):
        block = block.strip("\n")
        if not block:
            continue
        title, _, code = block.partition("\n")
        cells.append(v4.new_markdown_cell(f"### {title.strip()}"))
        cells.append(v4.new_code_cell(code.strip("\n")))
    for index, cell in enumerate(cells):
        cell["id"] = f"daigt-{index:02d}"  # nbformat draws random ids; fixed ones keep regeneration diff-free
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.validate(notebook)
    return notebook


def write_kernel_folder(folder: Path, spec: KernelSpec) -> Path:
    """Write (or update) ``folder`` with ``kernel-metadata.json`` and the kernel code; other files are kept."""
    folder = Path(folder)
    meta = kernel_metadata(spec)
    source = kernel_source(spec)
    if spec.kernel_type == "notebook":
        import nbformat

        code = nbformat.writes(kernel_notebook(source)) + "\n"
    else:
        code = source
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / spec.code_file, code)
    write_text_atomic(folder / "kernel-metadata.json", json.dumps(meta, indent=2) + "\n")
    check_kernel_folder(folder)
    return folder


# ---- `daigt kernel` --------------------------------------------------------------------------------------
def add_kernel_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``daigt kernel`` (the CLI wires this parser to ``kernel_command``)."""
    parser.add_argument("--owner", default=os.environ.get("KAGGLE_USERNAME", ""),
                        help="your Kaggle username (default: $KAGGLE_USERNAME)")
    parser.add_argument("--slug", default=KERNEL_SLUG, help=f"kernel slug (default {KERNEL_SLUG})")
    parser.add_argument("--title", default="", help="kernel title; must resolve to the slug (default: from the slug)")
    parser.add_argument("--dataset", default="", metavar="OWNER/SLUG",
                        help=f"the kit dataset built by build_dataset.py (default OWNER/{KIT_DATASET_SLUG})")
    parser.add_argument("--train-dataset", action="append", default=None, metavar="OWNER/SLUG",
                        help=f"external training dataset, repeatable (default {TRAIN_DATASET})")
    parser.add_argument("--out", type=Path, default=None, help="kernel folder to write (default kernels/SLUG)")
    parser.add_argument("--notebook", action="store_true", help="write a notebook kernel instead of a script")
    parser.add_argument("--gpu", action="store_true", help="request a GPU (only useful with a transformer model)")
    parser.add_argument("--public", action="store_true", help="make the kernel public (default private)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="config override the kernel passes to `daigt run`, repeatable")


def kernel_command(args: argparse.Namespace) -> int:
    """``daigt kernel``: write the submission kernel folder for the user's own owner/slug."""
    if not args.owner:
        print("daigt kernel: --owner is required (your Kaggle username), or set KAGGLE_USERNAME", file=sys.stderr)
        return 2
    try:  # the kernel would only fail on Kaggle, after its upload: check the overrides here
        Config().with_overrides(args.overrides)
    except ConfigError as exc:
        print(f"daigt kernel: --set: {exc}", file=sys.stderr)
        return 2
    spec = KernelSpec(
        owner=args.owner,
        slug=args.slug,
        title=args.title,
        kit_dataset=args.dataset,
        train_datasets=tuple(args.train_dataset or (TRAIN_DATASET,)),
        kernel_type="notebook" if args.notebook else "script",
        enable_gpu=args.gpu,
        is_private=not args.public,
        overrides=tuple(args.overrides),
    )
    folder = args.out or Path("kernels") / args.slug
    try:
        write_kernel_folder(folder, spec)
    except KaggleMetadataError as exc:
        print(f"daigt kernel: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {folder}/ ({spec.code_file}, kernel-metadata.json) for {spec.ref}")
    print(f"attached: {', '.join(kernel_metadata(spec)['dataset_sources'])} and competition {COMPETITION}")
    print(f"next: kaggle kernels push -p {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m daigt.kaggle_kit`` runs ``daigt kernel`` (handy before the CLI is installed)."""
    parser = argparse.ArgumentParser(prog="daigt kernel", description=kernel_command.__doc__)
    add_kernel_arguments(parser)
    return kernel_command(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
