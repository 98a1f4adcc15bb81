"""Kaggle's side of the kit's contract: metadata files, the rules Kaggle enforces on them, image manifests.

Kaggle runs a code-competition submission with the internet off, so everything the kernel imports that the
Kaggle image lacks has to come from an attached dataset. This module knows the metadata files the Kaggle CLI
reads (``dataset-metadata.json``, ``kernel-metadata.json``) and the rules the CLI and the site enforce on them
(checked here so a mistake shows up locally, not after an upload), and reads image manifests (what an image
already provides). Standard library only: ``build_dataset.py`` and ``submit.py`` run on a bare Python.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

COMPETITION = "llm-detect-ai-generated-text"
"""Competition slug: ``/kaggle/input/<COMPETITION>`` and the ``competition_sources`` entry."""
TRAIN_DATASET = "thedrcat/daigt-v2-train-dataset"
"""Default external training dataset (DAIGT v2, ``train_v2_drcat_02.csv``: text, label, prompt_name, source)."""
KIT_DATASET_SLUG = "daigt-kit"
OWNER_PLACEHOLDER = "your-kaggle-username"
"""Owner written into the committed metadata; ``build_dataset.py kernel --owner`` and ``build_dataset.py --owner``
replace it."""
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
"""``build_dataset.py kernel --accelerator`` -> the ``machine_shape`` of kernel-metadata.json, which ``kaggle kernels push``
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
                                  f"(build_dataset.py kernel --accelerator {'|'.join(ACCELERATORS)})")
    if meta.get("enable_gpu") is True and not shape:
        raise KaggleMetadataError(f"{where}: enable_gpu is true but machine_shape is missing; add "
                                  f"\"machine_shape\": \"{ACCELERATORS[DEFAULT_GPU]}\" (T4 x2), or regenerate with "
                                  f"python build_dataset.py kernel --accelerator {DEFAULT_GPU}")
    if shape and meta.get("enable_gpu") is not True:
        raise KaggleMetadataError(f"{where}: machine_shape {shape!r} is a GPU but enable_gpu is not true")


def check_notebook_file(path: Path, where: str) -> None:
    """``kaggle kernels push`` parses a notebook kernel's code file as JSON and uploads its cells."""
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KaggleMetadataError(f"{where}: notebook {path.name} is not valid JSON ({exc}); regenerate it with "
                                  f"python build_dataset.py kernel --notebook") from None
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


