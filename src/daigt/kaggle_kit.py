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
DEFAULT_CONFIG = Path("kernels") / KERNEL_SLUG / "config.toml"
"""Pipeline config that build_dataset.py ships by default (relative to the repository root)."""
NOTEBOOK_CODE_FILE = "daigt_submit.ipynb"
KAGGLE_MEMORY_GB = 30.0
KAGGLE_TIME_LIMIT_S = 9 * 3600

# Licence names of dataset-metadata.json (kaggle-api docs/datasets_metadata.md, "Licenses"): the CLI sends the
# name as is and the server judges it; `kaggle datasets list --license` filters (cc, gpl, odb) are not these.
DATASET_LICENSES = (
    "CC0-1.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC-BY-NC-SA-4.0", "GPL-2.0", "ODbL-1.0", "DbCL-1.0",
    "copyright-authors", "other", "unknown", "CC-BY-4.0", "CC-BY-NC-4.0", "PDDL", "CC-BY-3.0", "CC-BY-3.0-IGO",
    "US-Government-Works", "CC-BY-NC-SA-3.0-IGO", "CDLA-Permissive-1.0", "CDLA-Sharing-1.0", "CC-BY-ND-4.0",
    "CC-BY-NC-ND-4.0", "ODC-BY-1.0", "LGPL-3.0", "AGPL-3.0", "FDL-1.3", "EU-ODP-Legal-Notice", "apache-2.0",
    "GPL-3.0",
)
KERNEL_TYPES = ("script", "notebook")
KERNEL_LANGUAGES = ("python", "r", "rmarkdown")
ACCELERATORS = {"none": "", "T4x2": "NvidiaTeslaT4", "P100": "NvidiaTeslaP100"}
"""``daigt kernel --accelerator`` -> the ``machine_shape`` of kernel-metadata.json, which ``kaggle kernels push``
sends as the session's machine (the kaggle package's names: NvidiaTeslaT4 = T4 x2; NvidiaTeslaP100 is retired)."""
DEFAULT_GPU = "T4x2"
"""The GPU of ``--gpu``: T4 x2, which current torch builds run; ``enable_gpu`` alone leaves the machine to the
server (historically the P100)."""
ACCELERATOR_WARNINGS = {
    "P100": "the P100 (sm_60) is retired on Kaggle and current torch builds ship no kernels for it "
            "(cudaErrorNoKernelImageForDevice); use T4x2",
}


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
    accelerator: str = "none"
    """A key of ``ACCELERATORS``: ``none`` (CPU) or the GPU machine, written as ``machine_shape``."""
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

    @property
    def enable_gpu(self) -> bool:
        return bool(ACCELERATORS.get(self.accelerator))


def kernel_metadata(spec: KernelSpec) -> dict[str, Any]:
    """``kernel-metadata.json`` for ``kaggle kernels push -p DIR``: internet off, competition + datasets attached."""
    if spec.accelerator not in ACCELERATORS:
        raise KaggleMetadataError(f"accelerator {spec.accelerator!r}: choose one of {list(ACCELERATORS)}")
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
        **({"machine_shape": ACCELERATORS[spec.accelerator]} if spec.enable_gpu else {}),
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
    if folder is not None and meta.get("kernel_type") == "notebook":
        check_notebook_file(folder / code_file, where)
    for source in meta.get("dataset_sources", []):
        split_ref(source, f"{where}: dataset_sources entry")
    for source in meta.get("kernel_sources", []):
        _, kernel_slug = split_ref(source, f"{where}: kernel_sources entry")
        if len(kernel_slug) < 5:
            raise KaggleMetadataError(f"{where}: kernel_sources entry {source!r}: kernel slugs have at least five characters")
    for source in meta.get("model_sources", []):
        parts = str(source).split("/")
        if len(parts) != 5 or not all(parts) or not parts[4].isdigit():
            raise KaggleMetadataError(
                f"{where}: model_sources entry {source!r}: expected 'owner/model/framework/variation/version' with a "
                f"numeric version, e.g. 'google/gemma/transformers/2b/1' (the model's page on Kaggle shows it)")
    check_machine_shape(meta, where)
    if meta.get("enable_internet") is not False:
        raise KaggleMetadataError(f"{where}: enable_internet must be false: code-competition submissions run offline")
    if COMPETITION not in meta.get("competition_sources", []):
        raise KaggleMetadataError(f"{where}: competition_sources must include {COMPETITION!r}")


def check_machine_shape(meta: dict[str, Any], where: str = "kernel-metadata.json") -> None:
    """A GPU kernel names its machine: without ``machine_shape`` the server picks one (historically the P100)."""
    shape = meta.get("machine_shape")
    shapes = {value: name for name, value in ACCELERATORS.items() if value}
    if shape and shape not in shapes:
        raise KaggleMetadataError(f"{where}: machine_shape {shape!r} is not one of {sorted(shapes)} "
                                  f"(daigt kernel --accelerator {'|'.join(ACCELERATORS)})")
    if meta.get("enable_gpu") is True and not shape:
        raise KaggleMetadataError(f"{where}: enable_gpu is true but machine_shape is missing; add "
                                  f"\"machine_shape\": \"{ACCELERATORS[DEFAULT_GPU]}\" (T4 x2), or regenerate with "
                                  f"daigt kernel --accelerator {DEFAULT_GPU}")
    if shape and meta.get("enable_gpu") is not True:
        raise KaggleMetadataError(f"{where}: machine_shape {shape!r} is a GPU but enable_gpu is not true")


def check_notebook_file(path: Path, where: str) -> None:
    """``kaggle kernels push`` parses a notebook kernel's code file as JSON and uploads its cells."""
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KaggleMetadataError(f"{where}: notebook {path.name} is not valid JSON ({exc}); regenerate it with "
                                  f"daigt kernel --notebook") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise KaggleMetadataError(f"{where}: notebook {path.name} has no 'cells' list; is it an .ipynb file?")


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

    The manifest (kernels/images/NAME.txt, one per Kaggle image generation) is a pip constraints file, so
    ``pip install -c manifest`` reads it as is; its header comments give the image's Python and glibc.
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
off: it installs the kit from the attached kit dataset with `pip --no-index --require-hashes`, trains on the
attached training dataset and predicts the competition's test essays into /kaggle/working/submission.csv,
printing the time and peak memory of each stage. On the commit run's 3-row placeholder test set it rehearses:
it validates the config and every training file and runs the full pipeline on training essays standing in as
test, extrapolating time and memory to the hidden 9,000 essays. Set DAIGT_KAGGLE_ROOT to run it on a local
copy of the /kaggle tree (`python submit.py` in the kit's repository does that, with the network cut).
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
import codecs
import csv
import hashlib
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(os.environ.get(__ROOT_ENV__, "/kaggle"))
INPUT = ROOT / "input"
WORKING = ROOT / "working"
LOCK_FILE = __LOCK_FILE__
RERUN_ENV = "KAGGLE_IS_COMPETITION_RERUN"  # set by Kaggle in the hidden scoring run


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


def find_source(ref, marker, kind="datasets"):
    """The folder of the attached input `ref` ("owner/slug"; a competition is its "slug") holding `marker`.

    Current kernels mount inputs at /kaggle/input/competitions/<slug>, /kaggle/input/datasets/<owner>/<slug> and
    /kaggle/input/notebooks/<owner>/<slug>; older ones at /kaggle/input/<slug>. The exact mount wins; else a folder
    named <slug> up to four levels down, of the same owner where the layout tells it. Two candidates are an error:
    with two attached datasets of one slug, taking the first in sort order could train on the wrong data."""
    owner, _, slug = ref.rpartition("/")
    for path in (INPUT / kind / owner / slug if owner else INPUT / kind / slug, INPUT / slug):
        if path.is_dir() and any(path.rglob(marker)):
            return path
    found = [path for depth in range(1, 5) for path in sorted(INPUT.glob("/".join(["*"] * depth)))
             if path.name == slug and path.is_dir() and any(path.rglob(marker))]
    found = [path for path in found if not any(other in path.parents for other in found)]
    owned = [path for path in found if owner and path.parent.name == owner]
    found = owned or found
    if len(found) > 1:
        raise SystemExit(f"input {ref!r} is ambiguous: {len(found)} attached folders named {slug!r} hold {marker}: "
                         + ", ".join(map(str, found)) + "; detach all but one (kernel-metadata.json or 'Add Input'), "
                         "or name the one you mean as owner/slug")
    if found:
        if owner and found[0].parent.name != owner and found[0].parent != INPUT:
            say(f"NOTE: {ref!r} is not attached; using {found[0]}, the only attached folder named {slug!r}")
        return found[0]
    hint = "competition_sources" if kind == "competitions" else f"{kind[:-1]}_sources"
    raise SystemExit(f"input {ref!r} not found under {INPUT} (looked for {INPUT / kind / ref}, {INPUT / slug} and any "
                     f"folder {slug!r} containing {marker}): attach it to the kernel ({hint} in kernel-metadata.json, "
                     "or 'Add Input' on Kaggle)")


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
    arrive packed, unpack it into a fresh private folder (a fixed /tmp path could be prepared by someone else)."""
    target = Path(tempfile.mkdtemp(prefix="daigt-kit-unpacked-"))
    for archive in sorted(kit_dir.rglob("*.zip")):
        say(f"unpacking {archive} into {target}")
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


def hashed_requirements(lock, folder):
    """A requirements file pinning every wheel of the lock to its sha256. With `--require-hashes` pip installs
    these and nothing else: a wheel in the dataset that the lock does not list is never picked up."""
    wanted = {re.sub(r"[-_.]+", "-", req.split("[")[0].split("=")[0]).lower(): req for req in lock["install"]}
    pins = {}
    for entry in lock["wheels"]:  # one line per project; several wheels of it (platforms) = several hashes
        name = re.sub(r"[-_.]+", "-", entry["name"]).lower()
        pins.setdefault(name, [wanted.pop(name, entry["name"] + "==" + entry["version"])])
        pins[name].append("--hash=sha256:" + entry["sha256"])
    lines = [" ".join(pin) for pin in pins.values()] + list(wanted.values())  # no wheel: pip refuses it (no hash)
    path = Path(folder) / "daigt-kit-requirements.txt"
    path.write_text("".join(line + "\\n" for line in lines), encoding="utf-8")
    return path


def install_kit(lock, wheel_dirs):
    links = [arg for folder in wheel_dirs for arg in ("--find-links", str(folder))]
    requirements = hashed_requirements(lock, tempfile.mkdtemp(prefix="daigt-kit-install-"))
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--require-hashes", "--disable-pip-version-check",
               "--no-input", "--progress-bar", "off", *links, "-r", str(requirements)]
    say("$ " + " ".join(command) + f"   # {len(lock['wheels'])} wheel(s), each pinned to its sha256")
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout[-4000:], flush=True)
    if proc.returncode != 0:
        unlisted = sorted(set(re.findall(r"^    ([A-Za-z0-9_.-]+) from file:", proc.stdout, flags=re.MULTILINE)))
        if unlisted:
            raise SystemExit(f"offline install failed: {', '.join(unlisted)} would come from a wheel that {LOCK_FILE} does "
                             f"not list (no sha256 to check it against); rebuild the dataset with build_dataset.py, "
                             f"which locks every wheel it ships")
        missing = sorted(set(re.findall(r"satisfies the requirement ([^\\s]+)", proc.stdout)))
        if missing:
            raise SystemExit(f"offline install of {' '.join(lock['install'])} failed: no wheel for {', '.join(missing)} in the "
                             f"dataset and the image lacks it; add it to the dataset (build_dataset.py vendors the "
                             f"closure; remove it from the image manifest if the image does not really have it)")
        raise SystemExit(f"offline install of {' '.join(lock['install'])} failed (pip exit {proc.returncode}); see pip's output above")


def resolved_config(config_path, overrides):
    """The config `daigt run` will use, as a dict, loaded by the installed kit: a bad value stops the kernel
    here, with the loader's message, instead of in the hidden scoring run."""
    code = ("import json, sys\\nfrom daigt.config import Config, ConfigError\\ntry:\\n"
            "    config = Config.from_toml(sys.argv[1]) if sys.argv[1] else Config()\\n"
            "    print(json.dumps(config.with_overrides(sys.argv[2:]).to_dict()))\\n"
            "except ConfigError as exc:\\n    sys.exit(str(exc))\\n")
    proc = subprocess.run([sys.executable, "-c", code, str(config_path or ""), *overrides], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bad config ({config_path or 'defaults'} + OVERRIDES {list(overrides)}): "
                         f"{proc.stderr.strip()[-3000:]}")
    return json.loads(proc.stdout)


def attached_transformer():
    """The folder holding `daigt train-transformer` checkpoints (daigt_transformer.json files) in any attached
    input, e.g. the output of the daigt-train-transformer kernel added as a kernel source; None when absent."""
    markers = sorted(INPUT.glob("*/**/daigt_transformer.json"))
    if not markers:
        return None
    folders = {path.parent for path in markers if "_state" not in path.parts}
    return Path(os.path.commonpath([str(folder) for folder in folders])) if folders else None


def gpu_count():
    """CUDA devices torch can use (0 when torch is missing or sees none); an NVIDIA device node is the fallback."""
    code = "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)"
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        if proc.returncode == 0:
            return int(proc.stdout.split()[-1]), "torch.cuda"
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        pass
    return len(list(Path("/dev").glob("nvidia[0-9]*"))), "/dev/nvidia* (torch not importable)"


def transformer_settings(config, lock_path, lock):
    """Overrides that use an attached or configured transformer only where it can finish in time: with a GPU, or
    when the config opts in (transformer.allow_cpu); a 5-fold DeBERTa on 9,000 essays on 4 CPU cores can exceed
    the 9-hour limit. Says which it did and why."""
    configured = config["transformer"]["model_dir"]
    model_dir = configured or (lock_path.parent / lock["default_model"] if lock.get("default_model") else attached_transformer())
    if not model_dir:
        say("no transformer checkpoint attached: TF-IDF ensemble only")
        return []
    gpus, how = gpu_count()
    use = gpus > 0 or config["transformer"]["allow_cpu"]
    why = (f"{gpus} GPU(s) ({how})" if gpus else f"no GPU ({how}), "
           + ("but transformer.allow_cpu = true" if use else "and transformer.allow_cpu = false"))
    say(f"transformer {model_dir}: {'USED' if use else 'NOT used'}: {why}"
        + ("" if use else "; TF-IDF ensemble only (enable a GPU, or set transformer.allow_cpu=true)"))
    if not use:
        return ['transformer.model_dir=""'] if configured else []
    return [] if configured else ["transformer.model_dir=" + json.dumps(str(model_dir))]


def checked_utf8(path):
    """`path`, once every byte of it decodes as `daigt run` reads CSVs (UTF-8, a byte-order mark allowed); a file in
    another encoding stops the kernel with its name and the fix, not a raw UnicodeDecodeError."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise SystemExit(non_utf8_message(path, offset + exc.start)) from None
            offset += len(block)
    return path


def non_utf8_message(path, offset):
    raw = Path(path).read_bytes()
    source = "utf-16" if raw.startswith((b"\\xff\\xfe", b"\\xfe\\xff")) else "cp1252"
    try:
        raw.decode(source)
        guess = f" It decodes as {source}, so it was probably saved in that encoding."
    except UnicodeDecodeError:
        guess = ""
    line = raw.count(b"\\n", 0, offset) + 1
    return (f"{path}: byte {raw[offset:offset + 1]!r} at byte offset {offset} (line {line}) "
            f"is not valid UTF-8.{guess} Fix: re-save the file as UTF-8 (e.g. `iconv -f {source} -t utf-8 in.csv > "
            f"out.csv`) and upload a new version of the dataset")


def training_files(refs):
    """CSV files with text and label columns in the attached training datasets."""
    files = []
    for ref in refs:
        folder = find_source(ref, "*.csv")
        found = []
        for path in sorted(folder.rglob("*.csv")):
            with open(checked_utf8(path), newline="", encoding="utf-8-sig") as handle:
                header = [column.strip() for column in next(csv.reader(handle), [])]
            if "text" in header and "label" in header:
                found.append(path)
        if not found:
            raise SystemExit(f"dataset {ref!r} ({folder}) has no CSV file with 'text' and 'label' columns")
        files.extend(found)
    return files


def test_rows(competition_dir):
    with open(checked_utf8(competition_dir / "test_essays.csv"), newline="", encoding="utf-8-sig") as handle:
        return sum(1 for record in csv.reader(handle) if record) - 1


def rehearsal_wanted(n_test, config):
    """True on the commit run's placeholder (fewer test rows than guard.min_test_rows), unless Kaggle says this is
    the scoring rerun."""
    min_rows = config["guard"]["min_test_rows"]
    if n_test >= min_rows:
        say(f"{n_test} test essays: the scoring run")
        return False
    if os.environ.get(RERUN_ENV):
        say(f"{n_test} test essays but {RERUN_ENV} is set: no rehearsal")
        return False
    say(f"{n_test} test essays (< guard.min_test_rows = {min_rows}): the commit run's placeholder; rehearsing the "
        "scoring run")
    return True


def rehearse(competition_dir, train, config_path, settings):
    """The commit run proves the scoring run: `daigt rehearse` validates the config and every training file
    and runs the full pipeline on training essays standing in as test; a failure fails the commit."""
    command = [sys.executable, "-m", "daigt", "rehearse", "--competition-dir", str(competition_dir),
               "--train", *map(str, train)]
    command += ["--config", str(config_path)] if config_path else []
    for item in settings:
        command += ["--set", item]
    say("$ " + " ".join(command))
    code = subprocess.call(command)
    if code != 0:
        raise SystemExit(f"commit-run rehearsal failed (exit {code}): the hidden scoring run would fail too; "
                         "its message is above")


def main():
    timings = []
    start = time.perf_counter()
    with stage("locate inputs", timings):
        competition_dir = find_source(COMPETITION, "test_essays.csv", kind="competitions")
        kit_dir = find_source(KIT_DATASET, LOCK_FILE)
        lock_path, lock = read_lock(kit_dir)
        train = training_files(TRAIN_DATASETS)
        say(f"competition: {competition_dir}; kit: {kit_dir} ({' '.join(lock['install'])}); training files: "
            + ", ".join(str(path) for path in train))
    with stage("verify wheels", timings):
        wheel_dirs = verify_wheels(kit_dir, lock)
    with stage("install kit offline", timings):
        install_kit(lock, wheel_dirs)
    config_path = lock_path.parent / "config.toml"
    config_path = config_path if config_path.is_file() else None
    with stage("check config", timings):
        config = resolved_config(config_path, OVERRIDES)
        settings = list(OVERRIDES) + transformer_settings(config, lock_path, lock)
    if rehearsal_wanted(test_rows(competition_dir), config):
        with stage("commit-run rehearsal", timings):
            rehearse(competition_dir, train, config_path, settings)
    WORKING.mkdir(parents=True, exist_ok=True)
    out = WORKING / "submission.csv"
    command = [sys.executable, "-m", "daigt", "run", "--competition-dir", str(competition_dir),
               "--train", *map(str, train), "--out", str(out)]
    command += ["--config", str(config_path)] if config_path else []
    for item in settings:
        command += ["--set", item]
    with stage("daigt run", timings):
        say("$ " + " ".join(command))
        code = subprocess.call(command)
        if code != 0:
            raise SystemExit(f"daigt run failed (exit {code}); its message is above")
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
    parser.add_argument("--accelerator", default=None, choices=[*ACCELERATORS, "cpu"], type=_accelerator_name,
                        help=f"the session's machine, written as machine_shape: none/cpu (default), {DEFAULT_GPU} "
                             f"(2x T4, NvidiaTeslaT4), or P100 (retired; current torch builds cannot run on it)")
    parser.add_argument("--gpu", action="store_true", help=f"same as --accelerator {DEFAULT_GPU} (only useful with a transformer model)")
    parser.add_argument("--public", action="store_true", help="make the kernel public (default private)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="config override the kernel passes to `daigt run`, repeatable")
    parser.add_argument("--config", type=Path, default=None,
                        help="the config.toml the kit dataset ships, which the --set values are checked on top of "
                             f"(default {DEFAULT_CONFIG} when it exists)")


def kernel_command(args: argparse.Namespace) -> int:
    """``daigt kernel``: write the submission kernel folder for the user's own owner/slug."""
    if not args.owner:
        print("daigt kernel: --owner is required (your Kaggle username), or set KAGGLE_USERNAME", file=sys.stderr)
        return 2
    folder = args.out or Path("kernels") / args.slug
    try:
        spec = KernelSpec(
            owner=args.owner,
            slug=args.slug,
            title=args.title,
            kit_dataset=args.dataset,
            train_datasets=tuple(args.train_dataset or (TRAIN_DATASET,)),
            kernel_type="notebook" if args.notebook else "script",
            accelerator=accelerator_choice(args),
            is_private=not args.public,
            overrides=tuple(args.overrides),
        )
        check_overrides(spec.overrides, args.config)
        write_kernel_folder(folder, spec)
    except KaggleMetadataError as exc:
        print(f"daigt kernel: {exc}", file=sys.stderr)
        return 2
    if spec.accelerator in ACCELERATOR_WARNINGS:
        print(f"daigt kernel: warning: --accelerator {spec.accelerator}: {ACCELERATOR_WARNINGS[spec.accelerator]}", file=sys.stderr)
    print(f"wrote {folder}/ ({spec.code_file}, kernel-metadata.json) for {spec.ref}")
    print(f"attached: {', '.join(kernel_metadata(spec)['dataset_sources'])} and competition {COMPETITION}")
    print(f"next: kaggle kernels push -p {folder}")
    return 0


def check_overrides(overrides: tuple[str, ...], config: Path | None) -> None:
    """Load the config the kernel will run with through the config loader, so a bad ``--set`` value fails here
    and not in Kaggle's hidden scoring run (the commit run's placeholder test set trains nothing)."""
    if not overrides:
        return
    from daigt.config import Config, ConfigError  # not at import: build_dataset.py imports this module bare

    base = config if config is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    try:
        (Config.from_toml(base) if base else Config()).with_overrides(list(overrides))
    except ConfigError as exc:
        raise KaggleMetadataError(f"--set: {exc}") from None


def _accelerator_name(value: str) -> str:
    """Case-insensitive ``--accelerator`` (``t4x2``, ``CPU``); the choices check then sees the canonical name."""
    names = {name.lower(): name for name in ACCELERATORS}
    return names.get(value.lower(), "none" if value.lower() == "cpu" else value)


def accelerator_choice(args: argparse.Namespace) -> str:
    if args.accelerator is None:
        return DEFAULT_GPU if args.gpu else "none"
    if args.gpu and args.accelerator == "none":
        raise KaggleMetadataError("--gpu contradicts --accelerator none: pass one of them")
    return args.accelerator


def main(argv: list[str] | None = None) -> int:
    """``python -m daigt.kaggle_kit`` runs ``daigt kernel`` (handy before the CLI is installed)."""
    parser = argparse.ArgumentParser(prog="daigt kernel", description=kernel_command.__doc__)
    add_kernel_arguments(parser)
    return kernel_command(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
