"""Dry-run the Kaggle submission locally, offline, the way Kaggle will run it.

    python submit.py                     # the embedded sample; builds the kit dataset if missing or stale
    python submit.py --competition-dir ~/data/llm-detect-ai-generated-text --external-dir ~/data/daigt-v2

1. stages a Kaggle-like tree in a temporary folder, in today's layout (input/competitions/<slug>/,
   input/datasets/<owner>/<slug>/) or with --layout legacy the 2023-24 one (input/<slug>/): the competition, the
   kit dataset (built with build_dataset.py for this Python when missing or stale), the training dataset(s),
   and working/;
2. creates a fresh environment standing in for the Kaggle image: the image manifest's packages that the
   kernel needs, installed from the local wheel cache (cached between runs), and nothing else;
3. runs the kernel there with the network cut (a network namespace where the OS allows it, plus a socket
   guard that reports any connection attempt), under a wall-clock budget, and measures its peak memory;
4. validates working/submission.csv against sample_submission.csv with the kit's own validator and prints the
   AUC when labels of the test essays are known.

Any failure exits non-zero with what went wrong and how to fix it (2 for a bad path option, found before any
work; 1 for a failed dry-run). Needs only Python and pip.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from daigt.stages import run_measured
from daigt_kaggle import dataset as builder
from daigt_kaggle import metadata
from daigt_kaggle.kernel_helpers import LOCK_FILE, ROOT_ENV
from daigt_kaggle.kernels import SUBMIT_SOURCE, rendered_script

REPO = Path(__file__).resolve().parents[2]
SANDBOX = Path(__file__).resolve().parent / "sandbox"
"""Files run in the kernel's environment, by path: the socket guard, the namespace boot, the validator."""
SAMPLE = REPO / "data" / "sample"
DEFAULT_KERNEL = SUBMIT_SOURCE
DRYRUN_CACHE = REPO / "dist" / "dryrun"
HOST_PYTHON = "%d.%d" % sys.version_info[:2]


LAYOUTS = ("current", "legacy")
"""How Kaggle mounts inputs: ``current`` = input/competitions/<slug>, input/datasets/<owner>/<slug>;
``legacy`` (kernels of the competition's time) = input/<slug>."""


class DryRunError(RuntimeError):
    """The dry-run failed; the message says what Kaggle would have done and how to fix it."""


class UsageError(DryRunError):
    """A bad command-line path, found before any work (exit 2); the message names the option and the fix."""


@dataclass
class Options:
    competition_dir: Path = SAMPLE / metadata.COMPETITION
    external_dirs: list[Path] = field(default_factory=lambda: [SAMPLE / "daigt-external"])
    labels: Path | None = None
    kernel: Path = DEFAULT_KERNEL
    dataset: Path | None = None
    manifest: Path = builder.DEFAULT_MANIFEST
    image: str | None = None
    closure: str = "image"
    extras: tuple[str, ...] = ()
    config: Path | None = builder.DEFAULT_CONFIG
    model_dirs: tuple[Path, ...] = ()
    rebuild: bool = False
    timeout: float = metadata.KAGGLE_TIME_LIMIT_S
    memory_gb: float = metadata.KAGGLE_MEMORY_GB
    network: str = "auto"
    layout: str = "current"
    keep: bool = False
    work_dir: Path | None = None
    cache_dir: Path = DRYRUN_CACHE


@dataclass
class DryRunResult:
    submission: Path
    rows: int
    auc: float | None
    seconds: float
    kernel_seconds: float
    peak_rss_mb: float
    network: str
    stage_root: Path


def say(message: str) -> None:
    print(f"[submit] {message}", flush=True)


# ---- the kit dataset ------------------------------------------------------------------------------------
def prepare_dataset(opts: Options) -> Path:
    """The kit dataset to attach: a prebuilt one (checked), or one built here for this Python."""
    if opts.dataset:
        lock = read_lock(opts.dataset)
        if lock["target"]["python"] != HOST_PYTHON:
            raise DryRunError(f"{opts.dataset} was built for Python {lock['target']['python']}, this dry-run runs "
                              f"{HOST_PYTHON}: run submit.py with Python {lock['target']['python']}, or drop --dataset "
                              f"to build one for {HOST_PYTHON}")
        return opts.dataset
    glibc = {"max_glibc": builder.read_image(opts.image).glibc} if opts.image else {}
    build_opts = builder.BuildOptions(
        python=HOST_PYTHON, **glibc, closure=opts.closure, manifest=opts.manifest, extras=tuple(opts.extras),
        config=opts.config, model_dirs=tuple(opts.model_dirs), force=opts.rebuild,
        out=opts.cache_dir / f"py{HOST_PYTHON}" / metadata.KIT_DATASET_SLUG,
    )
    result = builder.build(build_opts)
    state = "up to date" if result.reused else f"built in {result.seconds:.1f} s"
    say(f"kit dataset {result.out}: {state} ({len(result.wheels)} wheel(s), {result.size_bytes / 1e6:.1f} MB, "
        f"kit {result.kit_version})")
    return result.out


def read_lock(dataset: Path) -> dict:
    try:
        return json.loads((Path(dataset) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DryRunError(f"{dataset}: no readable {LOCK_FILE} ({exc}); build it with python build_dataset.py") from None


def check_dataset(dataset: Path) -> None:
    problems = builder.verify_dataset(dataset)
    if problems:
        raise DryRunError("the kit dataset is incomplete; on Kaggle the offline install would fail:\n  "
                          + "\n  ".join(problems)
                          + "\nfix: rebuild it (python build_dataset.py, or python submit.py --rebuild) and upload a new version")


# ---- staging --------------------------------------------------------------------------------------------
def kernel_sources(kernel: Path) -> tuple[str, list[str]]:
    """(kit dataset, training datasets) as ``owner/slug`` the kernel expects, from its kernel-metadata.json if any."""
    meta_path = kernel.parent / "kernel-metadata.json"
    if meta_path.is_file():
        sources = metadata.read_json(meta_path).get("dataset_sources", [])
        if sources:
            return sources[0], list(sources[1:])
    return f"{metadata.OWNER_PLACEHOLDER}/{metadata.KIT_DATASET_SLUG}", [metadata.TRAIN_DATASET]


def input_path(inputs: Path, ref: str, layout: str, kind: str = "datasets") -> Path:
    """Where Kaggle mounts input ``ref`` (``owner/slug``, or a competition's ``slug``) in ``layout``."""
    if layout == "legacy":
        return inputs / ref.split("/")[-1]
    return inputs / kind / ref


def copy_read_only(src: Path, dst: Path) -> None:
    """Copy like Kaggle mounts an input: read-only (root ignores the mode bits: ``tree_state`` catches that)."""
    shutil.copytree(src, dst, symlinks=False)
    for path in [dst, *dst.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def check_paths(opts: Options) -> None:
    """Every path option checked before the dataset build (~20 s): a typo fails at once, naming the option."""
    competition = Path(opts.competition_dir)
    if not competition.is_dir():
        raise UsageError(f"--competition-dir {competition}: not a directory; pass the folder holding test_essays.csv "
                         f"and sample_submission.csv (e.g. the unzipped competition download)")
    for name in ("test_essays.csv", "sample_submission.csv"):
        if not (competition / name).is_file():
            raise UsageError(f"--competition-dir {competition}: no {name}; point it at the competition's files")
    for folder in opts.external_dirs:
        if not Path(folder).is_dir():
            raise UsageError(f"--external-dir {folder}: not a directory; pass the folder of a training dataset "
                             f"(CSV files with text,label columns)")
    if not Path(opts.kernel).is_file():
        raise UsageError(f"--kernel {opts.kernel}: no such file; generate one with `python build_dataset.py kernel --owner YOU`")
    if opts.dataset and not (Path(opts.dataset) / LOCK_FILE).is_file():
        raise UsageError(f"--dataset {opts.dataset}: no {LOCK_FILE} there; pass a folder built by build_dataset.py "
                         f"(default dist/daigt-kit), or drop --dataset to build one")
    if opts.labels and not Path(opts.labels).is_file():
        raise UsageError(f"--labels {opts.labels}: no such file; pass a CSV id,generated of the test essays' labels")


def stage_tree(opts: Options, dataset: Path, root: Path) -> dict[str, Path]:
    """A /kaggle tree in ``opts.layout``: the competition, the kit dataset and the training datasets, read-only."""
    kit_ref, train_refs = kernel_sources(opts.kernel)
    inputs = root / "input"
    competition = input_path(inputs, metadata.COMPETITION, opts.layout, "competitions")
    kit = input_path(inputs, kit_ref, opts.layout)
    copy_read_only(Path(opts.competition_dir), competition)
    copy_read_only(dataset, kit)
    refs = train_refs or [metadata.TRAIN_DATASET]
    for index, folder in enumerate(opts.external_dirs):
        ref = refs[index] if index < len(refs) else f"{metadata.OWNER_PLACEHOLDER}/{Path(folder).name}"
        copy_read_only(Path(folder), input_path(inputs, ref, opts.layout))
    (root / "working").mkdir(parents=True)
    return {"competition": competition, "kit": kit, "working": root / "working"}


def staged_kernel(kernel: Path, folder: Path) -> Path:
    """The kernel as Kaggle receives it, in ``folder``: a kit kernel's source with its settings and helpers
    rendered in (the file alone, nothing beside it); any other script as it is."""
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / kernel.name
    staged.write_text(rendered_script(kernel), encoding="utf-8")
    return staged


def staged_inputs(root: Path) -> list[str]:
    """The mounted input folders of a staged tree, relative to it (input/datasets/owner/slug, ...)."""
    marks = ("test_essays.csv", LOCK_FILE, "*.csv")
    found = {path.parent for mark in marks for path in (root / "input").rglob(mark)}
    tops = sorted(p for p in found if not any(q in p.parents for q in found))
    return [str(p.relative_to(root)) for p in tops]


# ---- the stand-in for the Kaggle image ------------------------------------------------------------------
def image_packages(dataset: Path, lock: dict, cache: Path) -> list[Path]:
    """Host wheels of what the image provides to the kernel: the manifest packages in the kit's closure, at
    the manifest's versions, with whatever they need; nothing the dataset vendors and nothing else."""
    vendored = {w["name"] for w in lock["wheels"]}
    provided = {k: v for k, v in lock["image_manifest"]["provided"].items() if k not in vendored}
    if not provided:
        return []
    with tempfile.TemporaryDirectory(prefix="daigt-standin-") as tmp:
        constraints = Path(tmp) / "image-constraints.txt"
        constraints.write_text("".join(f"{k}=={v}\n" for k, v in sorted(provided.items())), encoding="utf-8")
        closure = _resolve_host(["-c", str(constraints), "--find-links", str(dataset / "wheels"), *lock["install"]],
                                cache, Path(tmp) / "closure.json")
        needed = sorted(k for k in closure if k in provided)
        if not needed:
            return []
        items = _resolve_host([f"{k}=={provided[k]}" for k in needed], cache, Path(tmp) / "image.json")
    return builder.fetch(list(items.values()), cache)


def _resolve_host(requirements: list[str], cache: Path, report: Path) -> dict[str, dict]:
    """pip's resolution of ``requirements`` for this Python (binary only), from the cache first."""
    base = builder.pip("install", "--dry-run", "--quiet", "--ignore-installed", "--only-binary=:all:", "--report", str(report),
                  "--find-links", str(cache), *requirements)
    try:
        builder.run([*base, "--no-index"], "resolving the image stand-in from the wheel cache", builder.pip_env(True))
    except builder.BuildError:
        builder.run(base, "resolving the image stand-in (image manifest versions for this Python)", builder.pip_env(False))
    items = json.loads(report.read_text(encoding="utf-8"))["install"]
    return {metadata.normalize_name(item["metadata"]["name"]): item for item in items}


def image_env(opts: Options, wheels: list[Path]) -> Path:
    """A cached venv holding exactly ``wheels`` (+ pip): the read-only base layer of every dry-run."""
    key = hashlib.sha256((sys.version + "\n".join(sorted(p.name for p in wheels))).encode()).hexdigest()[:16]
    env = opts.cache_dir / f"image-py{HOST_PYTHON}-{key}"
    done = env / ".complete"
    if done.exists():
        done.touch()  # most recently used: kept by prune_image_envs
        return env
    prune_image_envs(opts.cache_dir, keep=1)
    shutil.rmtree(env, ignore_errors=True)
    say(f"creating the image stand-in {env.name} ({len(wheels)} packages from the wheel cache)")
    builder.run([sys.executable, "-m", "venv", str(env)], "creating the image stand-in venv")
    python = env / "bin" / "python"
    if wheels:
        builder.run([str(python), "-m", "pip", "install", "--no-index", "--no-deps", "--quiet", *map(str, wheels)],
               "installing the image stand-in packages", builder.pip_env(True))
    done.write_text("\n".join(p.name for p in wheels) + "\n", encoding="utf-8")
    return env


def prune_image_envs(cache_dir: Path, keep: int) -> None:
    """Stand-ins are ~0.5 GB each: keep only the ``keep`` most recently used before adding one."""
    envs = sorted(cache_dir.glob(f"image-py{HOST_PYTHON}-*"), key=lambda p: (p / ".complete").stat().st_mtime
                  if (p / ".complete").exists() else 0, reverse=True)
    for env in envs[keep:]:
        shutil.rmtree(env, ignore_errors=True)


def site_packages(python: Path) -> Path:
    return Path(builder.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], "locating site-packages").strip())


def run_env(where: Path, image: Path) -> Path:
    """A fresh venv for this run: sees the image layer through a .pth file, and has the socket guard."""
    builder.run([sys.executable, "-m", "venv", "--without-pip", str(where)], "creating the run venv")
    python = where / "bin" / "python"
    site = site_packages(python)
    (site / "daigt_image.pth").write_text(str(site_packages(image / "bin" / "python")) + "\n", encoding="utf-8")
    shutil.copyfile(SANDBOX / "netguard.py", site / "_daigt_netguard.py")
    (site / "daigt_netguard.pth").write_text("import _daigt_netguard\n", encoding="utf-8")
    return python


# ---- running the kernel ---------------------------------------------------------------------------------
def network_cut(mode: str) -> tuple[list[str], str]:
    """The command prefix that cuts the network, and a sentence saying what was done."""
    if mode != "guard":
        flags = "-n" if os.geteuid() == 0 else "-rn"
        unshare = shutil.which("unshare")
        probe = subprocess.run([unshare, flags, "true"], capture_output=True, text=True) if unshare else None
        if probe is not None and probe.returncode == 0:
            return [unshare, flags], (f"network cut: new network namespace (unshare {flags}; loopback only) "
                                      "+ socket guard")
        why = "unshare not found" if unshare is None else f"`unshare {flags}` failed: {probe.stderr.strip()}"
        if mode == "namespace":
            raise DryRunError(f"--network namespace: cannot create a network namespace here ({why})")
        return [], (f"network NOT cut at the OS level ({why}); a socket guard in the kernel's Python makes every "
                    "non-loopback connection and name lookup fail and fails the dry-run, but programs other than "
                    "Python (curl, wget) are not blocked")
    return [], "network guarded by a socket guard only (--network guard)"


def run_kernel(python: Path, kernel: Path, root: Path, log_path: Path, guard_log: Path, prefix: list[str],
               timeout: float) -> tuple[int, float, float]:
    """Run the kernel as Kaggle would (cwd /kaggle/working, clean environment); returns (exit code, seconds,
    peak RSS in MiB of the largest process of the kernel's tree)."""
    env = {
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(root.parent / "home"),
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONUNBUFFERED": "1", "TMPDIR": str(root.parent / "tmp"),
        ROOT_ENV: str(root), "DAIGT_NETGUARD_LOG": str(guard_log), "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
    }
    for folder in (env["HOME"], env["TMPDIR"]):
        Path(folder).mkdir(parents=True, exist_ok=True)
    boot = [str(python), str(SANDBOX / "netns_boot.py")]  # loopback up inside the namespace, then the kernel
    command = [*prefix, *boot, str(kernel)] if prefix else [str(python), str(kernel)]
    with open(log_path, "wb") as log:
        code, seconds, peak = run_measured(command, timeout, lambda line: _tee(line, log), cwd=root / "working", env=env)
    if code is None:
        raise DryRunError(f"the kernel exceeded the wall-clock budget of {timeout:.0f} s (--timeout) and was "
                          f"killed; Kaggle stops a submission after 9 h")
    return code, seconds, peak


def _tee(line: bytes, log) -> None:
    """A kernel output line to the console (marked as the kernel's) and to its log."""
    sys.stdout.buffer.write(b"  | " + line)
    sys.stdout.flush()
    log.write(line)


def kernel_failure(code: int, log_text: str, manifest: Path) -> str:
    """An actionable message for a failed kernel, from its output."""
    message = f"the kernel failed (exit {code}); its output and traceback are above (lines starting with '  |')"
    missing = re.findall(r"no wheel for ([^\n]+?) in the dataset", log_text)
    missing += re.findall(r"wheel (\S+ \([^)]*\)) listed in \S+ is missing", log_text)
    missing += re.findall(r"No matching distribution found for ([^\s]+)", log_text)
    if missing:
        message += (f"\nmissing from the kit dataset: {', '.join(dict.fromkeys(missing))}\nfix: rebuild the dataset "
                    f"(python submit.py --rebuild, or python build_dataset.py); if the image manifest claims the package, "
                    f"check the image manifest ({manifest}) against the real image")
    last = [line for line in log_text.splitlines() if line.strip()][-1:]
    if last:
        message += f"\nlast line: {last[0]}"
    return message


# ---- validation -----------------------------------------------------------------------------------------
def validate(python: Path, submission: Path, sample: Path, labels: Path | None, kit_dir: Path, lock: dict) -> dict:
    """Check the submission with the kit's own validator (daigt.submission), as the pipeline does."""
    if not submission.is_file():
        raise DryRunError(f"the kernel exited 0 but wrote no {submission.name} in /kaggle/working: Kaggle would "
                          f"report 'Submission CSV Not Found'")
    command = [str(python), str(SANDBOX / "validate_submission.py"), str(submission), str(sample), str(labels or "")]
    env = dict(builder.pip_env(True), DAIGT_NETGUARD_LOG="")
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr:
        # A substituted kernel may not have installed the kit: install it offline from the staged dataset.
        builder.run([str(python), "-m", "pip", "install", "--no-index", "--quiet", "--find-links", str(kit_dir / "wheels"),
                *lock["install"]], "installing the kit to validate the submission", env)
        proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise DryRunError(f"could not validate {submission}:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in result:
        raise DryRunError(f"invalid submission: {result['error']}")
    return result


# ---- the dry-run ----------------------------------------------------------------------------------------
def dry_run(opts: Options) -> DryRunResult:
    start = time.perf_counter()
    check_paths(opts)
    dataset = prepare_dataset(opts)
    check_dataset(dataset)
    lock = read_lock(dataset)
    work = Path(opts.work_dir) if opts.work_dir else Path(tempfile.mkdtemp(prefix="daigt-dryrun-"))
    work.mkdir(parents=True, exist_ok=True)
    root = work / "kaggle"
    if root.exists():
        raise DryRunError(f"--work-dir {work} already holds a staged tree; remove it or pick another folder")
    ok = False
    try:
        paths = stage_tree(opts, dataset, root)
        say(f"staged {root} ({opts.layout} layout): {', '.join(staged_inputs(root))}, working/")
        image = image_env(opts, image_packages(dataset, lock, Path(builder.DEFAULT_WHEEL_CACHE)))
        python = run_env(work / "env", image)
        prefix, network = network_cut(opts.network)
        say(network)
        say(f"running {opts.kernel} (budget {opts.timeout:.0f} s, memory limit {opts.memory_gb:.0f} GB)")
        guard_log = work / "netguard.log"
        log_path = work / "kernel.log"
        inputs_before = tree_state(root / "input")
        kernel = staged_kernel(Path(opts.kernel), work / "code")
        code, seconds, peak = run_kernel(python, kernel, root, log_path, guard_log, prefix, opts.timeout)
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
        if guard_log.exists() and guard_log.read_text(encoding="utf-8").strip():
            attempts = guard_log.read_text(encoding="utf-8").split("---\n")[0].strip()
            raise DryRunError(f"the kernel tried to open a network connection; Kaggle runs submissions offline, so it "
                              f"would fail or hang there:\n{attempts}\nfix: load everything from /kaggle/input "
                              f"(ship models with build_dataset.py --model-dir)")
        if code != 0:
            raise DryRunError(kernel_failure(code, log_text, opts.manifest))
        changed = sorted(set(inputs_before.items()) ^ set(tree_state(root / "input").items()))
        if changed:
            raise DryRunError(f"the kernel changed /kaggle/input ({changed[0][0]}, ...), which is read-only on Kaggle: "
                              f"write to /kaggle/working or /tmp instead")
        say(f"kernel finished in {seconds:.1f} s; peak RSS {peak:.0f} MiB = {peak / 1024 / opts.memory_gb:.1%} of "
            f"Kaggle's ~{opts.memory_gb:.0f} GB")
        if peak / 1024 > opts.memory_gb:
            raise DryRunError(f"peak memory {peak / 1024:.1f} GB exceeds Kaggle's ~{opts.memory_gb:.0f} GB: the kernel "
                              f"would be killed; lower features.chunk_docs / raise features.min_df")
        labels = opts.labels
        if labels is None and Path(opts.competition_dir).resolve() == (SAMPLE / metadata.COMPETITION).resolve():
            labels = SAMPLE / "test_labels.csv"
        result = validate(python, paths["working"] / "submission.csv", paths["competition"] / "sample_submission.csv",
                          labels, paths["kit"], lock)
        ok = True
        return DryRunResult(paths["working"] / "submission.csv", result["rows"], result["auc"], time.perf_counter() - start,
                            seconds, peak, network, root)
    finally:
        if opts.keep or opts.work_dir:
            say(f"staged tree kept at {work}")
        else:
            remove_tree(work)
        if not ok and not opts.keep and not opts.work_dir:
            say("re-run with --keep to inspect the staged tree")


def remove_tree(path: Path) -> None:
    """Delete a staged tree, whose inputs were made read-only."""
    if path.exists():
        for item in [path, *path.rglob("*")]:
            if not item.is_symlink():
                item.chmod(item.stat().st_mode | stat.S_IWUSR)
        shutil.rmtree(path)


# ---- command line ---------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> Options:
    d = Options()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--competition-dir", type=Path, default=d.competition_dir,
                        help="the competition's files (default: the embedded sample)")
    parser.add_argument("--external-dir", dest="external_dirs", type=Path, action="append", default=None,
                        help="training dataset folder, staged as input/<its slug> (default: data/sample/daigt-external)")
    parser.add_argument("--labels", type=Path, default=None,
                        help="CSV id,generated of true test labels, for the AUC (default: the sample's, with the sample)")
    parser.add_argument("--kernel", type=Path, default=d.kernel, help="kernel script to run (default kernels/daigt-submit/)")
    parser.add_argument("--dataset", type=Path, default=None, help="attach this prebuilt kit dataset instead of building one")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the kit dataset even if it is up to date")
    parser.add_argument("--image", default=None, metavar="NAME",
                        help="Kaggle image generation (kernels/images/NAME.txt): its manifest, glibc and Python; run "
                             "under that Python (found here, e.g. via pyenv) when this one differs")
    parser.add_argument("--manifest", type=Path, default=d.manifest,
                        help=f"image manifest (default today's image, {builder.DEFAULT_MANIFEST.relative_to(REPO)})")
    parser.add_argument("--closure", choices=("image", "full"), default=d.closure, help="dataset closure (see build_dataset.py)")
    parser.add_argument("--extra", dest="extras", action="append", default=[], help="kit extra or requirement to vendor")
    parser.add_argument("--config", type=Path, default=d.config, help="pipeline config shipped in the dataset")
    parser.add_argument("--model-dir", dest="model_dirs", type=Path, action="append", default=[], help="model folder to ship")
    parser.add_argument("--timeout", type=float, default=d.timeout, help="wall-clock budget in seconds (default 32400 = 9 h)")
    parser.add_argument("--memory-gb", type=float, default=d.memory_gb, help="memory limit to check against (default 30)")
    parser.add_argument("--network", choices=("auto", "namespace", "guard"), default=d.network,
                        help="auto: network namespace if the OS allows, else socket guard only (default)")
    parser.add_argument("--layout", choices=LAYOUTS, default=d.layout,
                        help="input mounts: current = input/competitions/SLUG, input/datasets/OWNER/SLUG (default); "
                             "legacy = input/SLUG")
    parser.add_argument("--keep", action="store_true", help="keep the staged tree")
    parser.add_argument("--work-dir", type=Path, default=None, help="stage here instead of a temporary folder (kept)")
    parser.add_argument("--cache-dir", type=Path, default=d.cache_dir, help="dry-run cache (default dist/dryrun)")
    a = parser.parse_args(argv)
    manifest = builder.image_path(a.image) if a.image else a.manifest
    return Options(
        competition_dir=a.competition_dir, external_dirs=a.external_dirs or d.external_dirs, labels=a.labels,
        kernel=a.kernel, dataset=a.dataset, manifest=manifest, image=a.image, closure=a.closure, extras=tuple(a.extras),
        config=a.config, model_dirs=tuple(a.model_dirs), rebuild=a.rebuild, timeout=a.timeout, memory_gb=a.memory_gb,
        network=a.network, layout=a.layout, keep=a.keep, work_dir=a.work_dir, cache_dir=a.cache_dir,
    )


def image_interpreter(image: str) -> str | None:
    """The Python to re-run under for ``--image``, or None when this one is already the image's."""
    python = builder.read_image(image).python
    if python == HOST_PYTHON:
        return None
    found = builder.find_interpreter(python)
    if not found:
        raise UsageError(f"--image {image} runs the kernel under Python {python}, and none was found here (this is "
                         f"{HOST_PYTHON}): install it (e.g. pyenv install {python}) or run submit.py with it")
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        opts = parse_args(argv)
        interpreter = image_interpreter(opts.image) if opts.image else None
    except (UsageError, builder.BuildError) as exc:
        print(f"submit: error: {exc}", file=sys.stderr)
        return 2
    if interpreter:
        say(f"--image {opts.image}: re-running under {interpreter}")
        return subprocess.call([interpreter, str(REPO / "submit.py"), *argv])
    try:
        result = dry_run(opts)
    except UsageError as exc:
        print(f"submit: error: {exc}", file=sys.stderr)
        return 2
    except (DryRunError, builder.BuildError, metadata.KaggleMetadataError) as exc:
        print(f"\nsubmit: DRY-RUN FAILED: {exc}", file=sys.stderr)
        return 1
    auc = f"AUC {result.auc:.4f} on the staged test essays" if result.auc is not None else "AUC: no labels for these test essays"
    say(f"OK: valid submission ({result.rows} rows, header id,generated, ids in sample_submission order, values in [0, 1]); {auc}")
    say(f"kernel {result.kernel_seconds:.1f} s of the {opts.timeout:.0f} s budget; peak RSS {result.peak_rss_mb:.0f} MiB; "
        f"dry-run total {result.seconds:.1f} s; {result.network}")
    return 0
