"""DAIGT Kit image probe: what a Kaggle kernel really has, written to /kaggle/working/probe.json.

Run it once on Kaggle (`kaggle kernels push -p kernels/daigt-probe`, then `kaggle kernels output
OWNER/daigt-probe -p out/`) and turn the output into an image manifest for build_dataset.py:

    python build_dataset.py --image-freeze out/probe.json --image-name kaggle-2026-12
    python build_dataset.py --image kaggle-2026-12

It records `pip list --format=freeze`, the Python version, glibc, the GPUs (nvidia-smi and torch.cuda, with
the CUDA architectures torch was built for) and the /kaggle/input tree (how inputs are mounted). Standard
library only; no network. Set DAIGT_KAGGLE_ROOT to run it on a local copy of the /kaggle tree.
"""

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("DAIGT_KAGGLE_ROOT", "/kaggle"))
MAX_TREE_ENTRIES = 5000
TREE_DEPTH = 5
ENV_KEYS = ("KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_IS_COMPETITION_RERUN", "KAGGLE_DOCKER_IMAGE", "CUDA_VERSION")
"""Environment values worth knowing; deliberately not all of KAGGLE_*, which includes tokens."""


def pip_freeze():
    proc = subprocess.run([sys.executable, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
                          capture_output=True, text=True)
    return sorted(line.strip() for line in proc.stdout.splitlines() if "==" in line), proc.stderr.strip()[-2000:]


def glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").split()[-1]
    except (AttributeError, ValueError, OSError, IndexError):
        return platform.libc_ver()[1]


def gpus():
    found = {"nvidia_smi": [], "torch": {}}
    try:
        proc = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version,compute_cap",
                               "--format=csv,noheader"], capture_output=True, text=True, timeout=60)
        found["nvidia_smi"] = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    except (OSError, subprocess.TimeoutExpired) as exc:
        found["nvidia_smi_error"] = str(exc)
    code = ("import json, torch; c = torch.cuda; n = c.device_count() if c.is_available() else 0; print(json.dumps({"
            "'version': torch.__version__, 'cuda': torch.version.cuda, 'available': c.is_available(), 'devices': "
            "[c.get_device_name(i) + ' sm_%d%d' % c.get_device_capability(i) for i in range(n)], "
            "'arch_list': c.get_arch_list() if n else []}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if proc.returncode == 0 and proc.stdout.strip():
        found["torch"] = json.loads(proc.stdout.strip().splitlines()[-1])
    else:
        found["torch_error"] = proc.stderr.strip()[-500:] or "no output"
    return found


def input_tree(root):
    """Folders and files under ``root`` (relative paths; sizes of files), breadth-limited for huge inputs."""
    entries = []
    base = len(root.parts)
    for folder, dirs, files in os.walk(root):
        depth = len(Path(folder).parts) - base
        dirs.sort()
        if depth >= TREE_DEPTH:
            dirs[:] = []
        rel = Path(folder).relative_to(root).as_posix()
        entries.append(rel + "/" if rel != "." else "./")
        for name in sorted(files):
            path = Path(folder) / name
            try:
                size = path.stat().st_size
            except OSError:
                size = -1
            entries.append(f"{(Path(rel) / name).as_posix()}  {size}")
        if len(entries) >= MAX_TREE_ENTRIES:
            entries.append(f"... truncated at {MAX_TREE_ENTRIES} entries")
            break
    return entries


def main():
    start = time.perf_counter()
    freeze, pip_error = pip_freeze()
    probe = {
        "probe_version": 1,
        "captured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "executable": sys.executable,
        "glibc": glibc(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "env": {key: os.environ[key] for key in ENV_KEYS if key in os.environ},
        "pip_freeze": freeze,
        "gpu": gpus(),
        "input_tree": input_tree(ROOT / "input") if (ROOT / "input").is_dir() else [],
    }
    if pip_error:
        probe["pip_stderr"] = pip_error
    out = ROOT / "working" / "probe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written atomically by hand: the probe is pushed as committed (no helpers region rendered in) and runs on the
    # bare image without installing the kit, so neither daigt_kaggle.kernel_helpers nor daigt.io is there to use.
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(probe, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    print(f"[daigt-probe] Python {probe['python']}, glibc {probe['glibc']}, {len(freeze)} packages, "
          f"GPUs: {', '.join(probe['gpu']['nvidia_smi']) or 'none'}; {len(probe['input_tree'])} input entries; "
          f"wrote {out} in {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main()
