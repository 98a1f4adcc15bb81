"""Kernel folders: ``kernel-metadata.json``, ``kernel-settings.json`` and the code file Kaggle runs.

A kernel's source (kernels/<name>/<code_file>) is a real module: it reads ``kernel-settings.json`` beside it
and imports ``daigt_kaggle.kernel_helpers``. Kaggle receives a kernel as one file (``code_file``), nothing
beside it, so the code written for Kaggle is the source with its two marked regions rendered:

- ``# <daigt:settings>`` ... ``# </daigt:settings>``: reading the settings file becomes ``SETTINGS = {...}``,
  the file's values;
- ``# <daigt:helpers>`` ... ``# </daigt:helpers>``: importing the helpers becomes their text (and the kernel's
  own imports below it that the helpers' text already makes are dropped, so that the rendered file is
  pyflakes-clean).

``python build_dataset.py kernel`` writes a submission kernel folder for the user's own owner/slug
(dist/kernels/SLUG); ``--render`` writes a Kaggle-ready copy of a committed folder; ``--refresh`` rewrites the
committed generated kernels (the notebook) in place. The local dry-run renders the kernel the same way.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daigt.io import write_all_atomic
from daigt_kaggle import kernel_helpers
from daigt_kaggle.metadata import (
    ACCELERATOR_WARNINGS, ACCELERATORS, COMPETITION, DEFAULT_GPU, KIT_DATASET_SLUG, OWNER_PLACEHOLDER, TRAIN_DATASET,
    KaggleMetadataError, check_kernel_folder, check_kernel_metadata, read_json, title_for_slug,
)

REPO = Path(__file__).resolve().parents[2]
KERNELS_DIR = REPO / "kernels"
KERNEL_SLUG = "daigt-submit"
KERNEL_CODE_FILE = "daigt_submit.py"
NOTEBOOK_CODE_FILE = "daigt_submit.ipynb"
SUBMIT_SOURCE = KERNELS_DIR / KERNEL_SLUG / KERNEL_CODE_FILE
"""The submission kernel's source: every submission kernel written (script or notebook) is rendered from it."""
DEFAULT_CONFIG = Path("kernels") / KERNEL_SLUG / "config.toml"
"""Pipeline config that build_dataset.py ships by default (relative to the repository root)."""
SETTINGS_FILE = "kernel-settings.json"
METADATA_FILE = "kernel-metadata.json"
REGIONS = ("settings", "helpers")
OUT_DIR = Path("dist") / "kernels"
"""Where written kernels go by default (relative to the working directory): ready for ``kaggle kernels push -p``."""


# ---- the generated regions of a kernel's code -----------------------------------------------------------
def helpers_text() -> str:
    """``kernel_helpers.py`` without its module docstring: what a kernel's helpers region holds."""
    path = Path(kernel_helpers.__file__)
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    if any(isinstance(node, ast.ImportFrom) and node.module == "__future__" for node in tree.body):
        raise KaggleMetadataError(f"{path}: a __future__ import cannot be inlined into a kernel's middle; remove it")
    if "# %%" in source:
        raise KaggleMetadataError(f"{path}: '# %%' would split the notebook kernel's helpers cell; remove it")
    start = tree.body[0].end_lineno if ast.get_docstring(tree) is not None else 0
    return "\n".join(source.splitlines()[start:]).strip("\n")


def settings_text(settings: dict[str, Any], where: str) -> str:
    """``SETTINGS = {...}``: the settings as a Python literal (JSON strings, numbers and lists read as Python)."""
    for key, value in settings.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise KaggleMetadataError(f"{where}: setting {key!r}: names are lowercase_with_underscores")
        if not _literal(value):
            raise KaggleMetadataError(f"{where}: setting {key!r}: {value!r} is not a string, number or list of them")
    return "SETTINGS = " + json.dumps(settings, indent=4)


def _literal(value: Any) -> bool:
    """Whether ``json.dumps(value)`` is the same value in Python (no true/false/null)."""
    if isinstance(value, list):
        return all(_literal(item) for item in value)
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def has_regions(source: str) -> bool:
    """Whether ``source`` is a kit kernel with regions to render (a plain script is run as it is)."""
    return any(f"# <daigt:{region}>" in source for region in REGIONS)


def render_code(source: str, settings: dict[str, Any], where: str) -> str:
    """``source`` with its settings and helpers regions rewritten (rendering is idempotent); the rest of it is kept
    byte for byte, less the imports the inlined helpers already made (:func:`without_repeated_imports`)."""
    texts = {"settings": settings_text(settings, where), "helpers": helpers_text()}
    for region in REGIONS:
        pattern = re.compile(rf"^(# <daigt:{region}>[^\n]*\n).*?^(# </daigt:{region}>)$", re.MULTILINE | re.DOTALL)
        if len(pattern.findall(source)) != 1:
            raise KaggleMetadataError(f"{where}: needs exactly one '# <daigt:{region}>' ... '# </daigt:{region}>' "
                                      f"region (lines of their own) to render")
        source = pattern.sub(lambda match: match.group(1) + texts[region] + "\n" + match.group(2), source)
    return without_repeated_imports(source)


def without_repeated_imports(code: str) -> str:
    """Rendered ``code`` without the kernel's own top-level imports, below the helpers region, that the inlined
    helpers already made under the same names (``import sys`` again).

    The source needs them (there the region is a single ``from daigt_kaggle.kernel_helpers import ...``); in the
    rendered code they would bind the same modules to the same names a second time, which pyflakes reports as
    redefinitions. Only whole statements go, each on lines of its own, and only when every name they bind is bound
    the same way by the helpers, so the code runs exactly as before.
    """
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    start, end = (lines.index(f"# {marker}\n") + 1 for marker in ("<daigt:helpers>", "</daigt:helpers>"))
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    made = set().union(*(_import_bindings(node) for node in imports if start < node.lineno < end))
    for node in reversed(imports):
        whole_lines = "".join(lines[node.lineno - 1 : node.end_lineno]).strip() == ast.get_source_segment(code, node)
        if node.lineno > end and whole_lines and _import_bindings(node) <= made:
            del lines[node.lineno - 1 : node.end_lineno]
    return "".join(lines)


def _import_bindings(node: ast.Import | ast.ImportFrom) -> set[tuple[Any, ...]]:
    if isinstance(node, ast.Import):
        return {("import", alias.name, alias.asname) for alias in node.names}
    return {("from", node.level, node.module, alias.name, alias.asname) for alias in node.names}


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


def code_file_text(source: str, settings: dict[str, Any], kernel_type: str, where: str) -> str:
    """The code file's text: the rendered script, or the notebook made from it."""
    code = render_code(source, settings, where)
    if kernel_type != "notebook":
        return code
    import nbformat

    return nbformat.writes(kernel_notebook(code)) + "\n"


# ---- kernel folders -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KernelSpec:
    """A submission kernel folder for one owner/slug; ``write_kernel_folder`` turns it into files."""

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
    causal_lm: str = ""
    """An attached causal LM for the causal-LM member (a path under /kaggle/input, e.g. a Kaggle Models
    input); empty = the one vendored in the kit dataset, if any."""
    causal_lm_weight: float = kernel_helpers.CAUSAL_LM_WEIGHT
    """The member's weight when an LM is attached; 0 = never used."""
    causal_lm_guide: int = kernel_helpers.CAUSAL_LM_GUIDE
    """1: the LM's zero-shot score vets the pseudo-labels (``kernel_helpers.GUIDED_PSEUDO_LABELS``); 0 = not."""
    causal_lm_budget_hours: float = kernel_helpers.CAUSAL_LM_BUDGET_HOURS
    """``ensemble.causal_lm.time_budget_hours`` the kernel sets: the scoring run skips the member over it."""
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

    @property
    def settings(self) -> dict[str, Any]:
        """``kernel-settings.json``: what the submission kernel reads from its settings region."""
        return {"kit_dataset": self.resolved_kit_dataset, "train_datasets": list(self.train_datasets),
                "competition": COMPETITION, "overrides": list(self.overrides), "causal_lm": self.causal_lm,
                "causal_lm_weight": self.causal_lm_weight, "causal_lm_guide": self.causal_lm_guide,
                "causal_lm_budget_hours": self.causal_lm_budget_hours}


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


def folder_texts(meta: dict[str, Any], settings: dict[str, Any], source: Path) -> dict[str, str]:
    """File name -> text of a kernel folder whose code is rendered from ``source``."""
    code = code_file_text(source.read_text(encoding="utf-8"), settings, meta["kernel_type"], str(source))
    return {METADATA_FILE: json.dumps(meta, indent=2) + "\n", SETTINGS_FILE: json.dumps(settings, indent=2) + "\n",
            meta["code_file"]: code}


def write_texts(folder: Path, texts: dict[str, str]) -> Path:
    """Write a kernel folder's files all at once (either all new or all as before); other files are kept."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_all_atomic({folder / name: (lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))
                      for name, text in texts.items()})
    return folder


def write_kernel_folder(folder: Path, spec: KernelSpec) -> Path:
    """Write (or update) a submission kernel folder for ``spec``, its code rendered from ``SUBMIT_SOURCE``."""
    write_texts(folder, folder_texts(kernel_metadata(spec), spec.settings, SUBMIT_SOURCE))
    check_kernel_folder(folder)
    return Path(folder)


def kernel_source(folder: Path, meta: dict[str, Any]) -> Path:
    """The hand-written code a committed folder is rendered from: its own script, or the submission kernel's
    for a notebook (the notebook is generated, never edited)."""
    return SUBMIT_SOURCE if meta["kernel_type"] == "notebook" else Path(folder) / meta["code_file"]


def rendered_folder(folder: Path) -> dict[str, str]:
    """File name -> text of a Kaggle-ready copy of a committed kernel folder (a folder without settings, like the
    probe's, is copied as it is)."""
    folder = Path(folder)
    meta = read_json(folder / METADATA_FILE)
    if not (folder / SETTINGS_FILE).is_file():
        return {METADATA_FILE: (folder / METADATA_FILE).read_text(encoding="utf-8"),
                meta["code_file"]: (folder / meta["code_file"]).read_text(encoding="utf-8")}
    return folder_texts(meta, read_json(folder / SETTINGS_FILE), kernel_source(folder, meta))


def rendered_script(path: Path) -> str:
    """A kernel script as Kaggle would receive it: rendered with the settings beside it, or as it is without regions."""
    path = Path(path)
    source = path.read_text(encoding="utf-8")
    if not has_regions(source):
        return source
    return render_code(source, read_json(path.with_name(SETTINGS_FILE)), str(path))


def generated_folders() -> list[Path]:
    """Committed kernel folders whose code is generated rather than written (the notebook)."""
    return sorted(path.parent for path in KERNELS_DIR.glob(f"*/{METADATA_FILE}")
                  if read_json(path)["kernel_type"] == "notebook")


def refresh_kernel_folders(folders: list[Path]) -> list[Path]:
    """Rewrite generated kernel folders in place (``generated_folders()`` when none is named); returns the files
    that changed."""
    changed = []
    for folder in folders or generated_folders():
        stale = {name: text for name, text in rendered_folder(folder).items()
                 if not (Path(folder) / name).is_file() or (Path(folder) / name).read_text(encoding="utf-8") != text}
        if stale:
            write_texts(folder, stale)
            changed += [Path(folder) / name for name in stale]
    return changed


# ---- `python build_dataset.py kernel` -------------------------------------------------------------------
def add_kernel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--owner", default=os.environ.get("KAGGLE_USERNAME", ""),
                        help="your Kaggle username (default: $KAGGLE_USERNAME)")
    parser.add_argument("--slug", default=KERNEL_SLUG, help=f"kernel slug (default {KERNEL_SLUG})")
    parser.add_argument("--title", default="", help="kernel title; must resolve to the slug (default: from the slug)")
    parser.add_argument("--dataset", default="", metavar="OWNER/SLUG",
                        help=f"the kit dataset built by build_dataset.py (default OWNER/{KIT_DATASET_SLUG})")
    parser.add_argument("--train-dataset", action="append", default=None, metavar="OWNER/SLUG",
                        help=f"external training dataset, repeatable (default {TRAIN_DATASET})")
    parser.add_argument("--out", type=Path, default=None, help=f"kernel folder to write (default {OUT_DIR}/SLUG)")
    parser.add_argument("--notebook", action="store_true", help="write a notebook kernel instead of a script")
    parser.add_argument("--accelerator", default=None, choices=[*ACCELERATORS, "cpu"], type=_accelerator_name,
                        help=f"the session's machine, written as machine_shape: none/cpu (default), {DEFAULT_GPU} "
                             f"(2x T4, NvidiaTeslaT4), or P100 (retired; current torch builds cannot run on it)")
    parser.add_argument("--gpu", action="store_true", help=f"same as --accelerator {DEFAULT_GPU} (only useful with a transformer model)")
    parser.add_argument("--public", action="store_true", help="make the kernel public (default private)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="config override the kernel passes to `daigt run`, repeatable")
    parser.add_argument("--causal-lm", default="", metavar="PATH",
                        help="an attached causal LM for the causal-LM member, e.g. a Kaggle Models input "
                             "(/kaggle/input/MODEL/FRAMEWORK/VARIATION/VERSION; attach it with --model-source); "
                             "default: the one vendored in the kit dataset (build_dataset.py --causal-lm), if any")
    parser.add_argument("--causal-lm-weight", type=float, default=kernel_helpers.CAUSAL_LM_WEIGHT, metavar="W",
                        help=f"the member's blend weight when an LM is attached (default {kernel_helpers.CAUSAL_LM_WEIGHT}; "
                             "0 = never used)")
    parser.add_argument("--causal-lm-guide", action="store_true",
                        help="let the attached LM's zero-shot score vet the pseudo-labels (README \"Pseudo-labels "
                             "guided by a causal LM\"); off by default")
    parser.add_argument("--causal-lm-budget-hours", type=float, default=kernel_helpers.CAUSAL_LM_BUDGET_HOURS,
                        metavar="H", help="the scoring run skips the member when its timed probe estimates more "
                                          f"(default {kernel_helpers.CAUSAL_LM_BUDGET_HOURS}; 0 = no limit)")
    parser.add_argument("--model-source", action="append", default=[], metavar="OWNER/MODEL/FRAMEWORK/VARIATION/VERSION",
                        help="a Kaggle Model to attach (model_sources), repeatable")
    parser.add_argument("--config", type=Path, default=None,
                        help="the config.toml the kit dataset ships, which the --set values are checked on top of "
                             f"(default {DEFAULT_CONFIG} when it exists)")
    parser.add_argument("--render", nargs="+", type=Path, default=None, metavar="FOLDER",
                        help=f"instead: write a Kaggle-ready copy of these committed kernel folders (settings and "
                             f"helpers rendered in) into {OUT_DIR}/NAME, or into --out with one folder")
    parser.add_argument("--refresh", nargs="*", type=Path, default=None, metavar="FOLDER",
                        help="instead: rewrite the committed generated kernels (the notebook) from their source")


def kernel_command(args: argparse.Namespace) -> int:
    """``python build_dataset.py kernel``: write the submission kernel folder for the user's own owner/slug."""
    if args.refresh is not None or args.render:
        try:
            if args.render:
                for folder in args.render:
                    out = write_texts(args.out if args.out and len(args.render) == 1 else OUT_DIR / folder.name,
                                      rendered_folder(folder))
                    print(f"wrote {out}/ from {folder}; next: kaggle kernels push -p {out}")
                return 0
            changed = refresh_kernel_folders(args.refresh)
        except KaggleMetadataError as exc:
            print(f"build_dataset.py kernel: {exc}", file=sys.stderr)
            return 2
        print("\n".join(f"rewrote {path}" for path in changed) or "every generated kernel is current")
        return 0
    if not args.owner:
        print("build_dataset.py kernel: --owner is required (your Kaggle username), or set KAGGLE_USERNAME", file=sys.stderr)
        return 2
    folder = args.out or OUT_DIR / args.slug
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
            causal_lm=args.causal_lm,
            causal_lm_weight=args.causal_lm_weight,
            causal_lm_guide=int(args.causal_lm_guide),
            causal_lm_budget_hours=args.causal_lm_budget_hours,
            extra_sources={"model_sources": list(args.model_source)} if args.model_source else {},
        )
        check_overrides(spec.overrides, args.config)
        write_kernel_folder(folder, spec)
    except KaggleMetadataError as exc:
        print(f"build_dataset.py kernel: {exc}", file=sys.stderr)
        return 2
    if spec.accelerator in ACCELERATOR_WARNINGS:
        print(f"build_dataset.py kernel: warning: --accelerator {spec.accelerator}: "
              f"{ACCELERATOR_WARNINGS[spec.accelerator]}", file=sys.stderr)
    print(f"wrote {folder}/ ({spec.code_file}, {METADATA_FILE}, {SETTINGS_FILE}) for {spec.ref}")
    print(f"attached: {', '.join(kernel_metadata(spec)['dataset_sources'])} and competition {COMPETITION}")
    print(f"next: kaggle kernels push -p {folder}")
    return 0


def check_overrides(overrides: tuple[str, ...], config: Path | None) -> None:
    """Load the config the kernel will run with through the config loader, so a bad ``--set`` value fails here
    and not in Kaggle's hidden scoring run (the commit run's placeholder test set trains nothing)."""
    if not overrides:
        return
    from daigt.config import Config, ConfigError  # standard library only, like this package

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
    parser = argparse.ArgumentParser(prog="build_dataset.py kernel", description=kernel_command.__doc__)
    add_kernel_arguments(parser)
    return kernel_command(parser.parse_args(argv))
