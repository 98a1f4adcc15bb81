"""DAIGT Kit submission kernel for Kaggle's "LLM - Detect AI Generated Text".

Kaggle runs it with the internet off: it installs the kit from the attached kit dataset with
`pip --no-index --require-hashes`, trains on the attached training dataset and predicts the competition's test
essays into /kaggle/working/submission.csv, printing the time and peak memory of each stage. On the commit
run's 3-row placeholder test set it rehearses: it validates the config and every training file and runs the
full pipeline on training essays standing in as test, extrapolating time and memory to the hidden 9,000
essays. Set DAIGT_KAGGLE_ROOT to run it on a local copy of the /kaggle tree (`python submit.py` in the kit's
repository does that, with the network cut).
"""

# %% Settings
# Rendered from kernel-settings.json beside this file by `python build_dataset.py kernel` (edit that file, or pass
# the command's options, and re-run it): Kaggle receives this file alone, so its settings travel inside it.
# KIT_DATASET: the kit dataset (owner/slug); TRAIN_DATASETS: datasets of training CSVs (text, label);
# COMPETITION: the competition's slug; OVERRIDES: "section.field=value" applied after the dataset's config.toml.
# <daigt:settings>
KIT_DATASET = "your-kaggle-username/daigt-kit"
TRAIN_DATASETS = ["thedrcat/daigt-v2-train-dataset"]
COMPETITION = "llm-detect-ai-generated-text"
OVERRIDES = []
# </daigt:settings>

# %% Offline switches: set before anything imports the Hugging Face libraries
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # explicit: tokenizers + a later fork would warn or hang

# %% Helpers shared by the kit's kernels
# <daigt:helpers> src/daigt_kaggle/kernel_helpers.py, inlined by `python build_dataset.py kernel`: edit it there
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
ROOT = Path(os.environ.get(ROOT_ENV, "/kaggle"))
INPUT = ROOT / "input"
WORKING = ROOT / "working"
LOG_NAME = "daigt-kernel"  # a kernel may rebind it after the helpers: say() reads it on every call


def say(message):
    print(f"[{LOG_NAME}] {message}", flush=True)


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
# </daigt:helpers>

# %% Submission
import csv  # with the helpers' imports (json, os, subprocess, sys, time, Path)

RERUN_ENV = "KAGGLE_IS_COMPETITION_RERUN"  # set by Kaggle in the hidden scoring run


def resolved_config(config_path, overrides):
    """The config `daigt run` will use, as a dict, loaded by the installed kit: a bad value stops the kernel
    here, with the loader's message, instead of in the hidden scoring run."""
    code = ("import json, sys\nfrom daigt.config import Config, ConfigError\ntry:\n"
            "    config = Config.from_toml(sys.argv[1]) if sys.argv[1] else Config()\n"
            "    print(json.dumps(config.with_overrides(sys.argv[2:]).to_dict()))\n"
            "except ConfigError as exc:\n    sys.exit(str(exc))\n")
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
        lock_path, lock = read_lock(kit_dir, KIT_DATASET)
        train = training_files(TRAIN_DATASETS)
        say(f"competition: {competition_dir}; kit: {kit_dir} ({' '.join(lock['install'])}); training files: "
            + ", ".join(str(path) for path in train))
    with stage("verify wheels", timings):
        wheel_dirs = verify_wheels(kit_dir, lock, KIT_DATASET)
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
