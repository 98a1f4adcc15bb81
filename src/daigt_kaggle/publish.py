"""One command from build to submission: ``python build_dataset.py publish``.

build the kit dataset -> local dry-run -> upload it (or a new version) -> wait until Kaggle reports it ready ->
push the submission kernel -> optionally wait for its run and submit its output. Every step prints the
``kaggle`` CLI command it stands for, so a user can redo any one by hand, and every step can be skipped.

The Kaggle calls go through the installed ``kaggle`` package's own ``KaggleApi`` methods, so its checks and
its requests are exactly the CLI's. ``publish`` takes the build and the dry-run as callables (``main`` passes
``daigt_kaggle.dataset``'s and ``daigt_kaggle.dryrun``'s), so the Kaggle steps are tested on their own.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from daigt_kaggle import dryrun, metadata
from daigt_kaggle.dataset import BuildError, BuildOptions, build, build_options, build_parser, log, read_image
from daigt_kaggle.kernel_helpers import LOCK_FILE
from daigt_kaggle.kernels import KERNEL_CODE_FILE, KERNEL_SLUG, OUT_DIR

STEPS = ("build", "dry-run", "dataset", "wait", "kernel", "submit")
SKIPPABLE = STEPS[:-1]
READY = "ready"
FAILED_DATASET = {"failed", "deleted"}
DONE_KERNEL = "complete"
FAILED_KERNEL = {"error", "cancel_requested", "cancel_acknowledged"}


class PublishError(RuntimeError):
    """A step failed; the message names the step, what Kaggle said and the command to retry it by hand."""


@dataclass(frozen=True)
class PublishOptions:
    owner: str
    dataset_ref: str
    """``owner/slug`` of the kit dataset the build writes (its dataset-metadata.json id)."""
    dataset_dir: Path
    kernel_dir: Path
    image: str = ""
    """The build step's ``--image``; shown in its command line."""
    skip: tuple[str, ...] = ()
    message: str = ""
    """Version notes of a new dataset version (default: the kit version)."""
    submit: str = ""
    """The submission's message; empty = do not submit."""
    kernel_version: int | None = None
    """The kernel version to submit when the push step is skipped."""
    accelerator: str = ""
    """``kaggle kernels push --accelerator`` (empty: the kernel-metadata.json's machine_shape)."""
    public: bool = False
    poll_s: float = 15.0
    dataset_timeout_s: float = 1800.0
    kernel_timeout_s: float = metadata.KAGGLE_TIME_LIMIT_S + 3600.0


@dataclass
class PublishResult:
    steps: list[tuple[str, str]] = field(default_factory=list)
    """``(step, outcome)`` in order; skipped steps say so."""
    kernel_version: int | None = None


def say(message: str) -> None:
    print(f"[publish] {message}", flush=True)


def kaggle_api() -> Any:
    """The kaggle package's API, authenticated like the CLI (``~/.kaggle/kaggle.json`` or KAGGLE_* variables)."""
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError:
        raise PublishError("the Kaggle steps need the kaggle package: pip install kaggle") from None
    api = KaggleApi()
    try:
        api.authenticate()
    except SystemExit:
        raise PublishError("no Kaggle credentials: put kaggle.json in ~/.kaggle/ or set KAGGLE_USERNAME and "
                           "KAGGLE_KEY (or KAGGLE_API_TOKEN), or skip the Kaggle steps") from None
    return api


def publish(opts: PublishOptions, api: Any, build: Callable[[], str], dry_run: Callable[[], str],
            sleep: Callable[[float], None] | None = None) -> PublishResult:
    """Run the steps in order; ``build`` and ``dry_run`` return a one-line outcome and raise on failure."""
    sleep = sleep or time.sleep
    unknown = set(opts.skip) - set(SKIPPABLE)
    if unknown:
        raise PublishError(f"--skip {', '.join(sorted(unknown))}: steps are {', '.join(SKIPPABLE)}")
    result = PublishResult()
    kernel_meta = metadata.check_kernel_folder(opts.kernel_dir) if "kernel" not in opts.skip or opts.submit else {}
    kernel_ref = kernel_meta.get("id", "")
    if kernel_meta and opts.dataset_ref not in kernel_meta.get("dataset_sources", []):
        raise PublishError(f"{opts.kernel_dir}/kernel-metadata.json does not attach the dataset {opts.dataset_ref}: "
                           f"regenerate it with python build_dataset.py kernel --owner {opts.owner} --dataset {opts.dataset_ref}")
    steps: list[tuple[str, Callable[[Callable[[str], None]], str]]] = [
        ("build", lambda announce: announce(f"python build_dataset.py --image {opts.image or 'DEFAULT'} --owner {opts.owner} "
                                            f"--out {opts.dataset_dir}") or build()),
        ("dry-run", lambda announce: announce("python submit.py") or dry_run()),
        ("dataset", lambda announce: _upload(opts, api, announce)),
        ("wait", lambda announce: _wait_dataset(opts, api, sleep, announce)),
        ("kernel", lambda announce: _push(opts, api, result, announce)),
    ]
    for number, (name, run) in enumerate(steps, start=1):
        label = f"{number}/{len(STEPS)} {name}"
        if name in opts.skip:
            say(f"{label}: skipped (--skip {name})")
            result.steps.append((name, "skipped"))
            continue
        outcome = run(lambda command, label=label: say(f"{label}: $ {command}"))
        say(f"{label}: {outcome}")
        result.steps.append((name, outcome))
    if not opts.submit:
        say(f"{len(STEPS)}/{len(STEPS)} submit: not asked (--submit MESSAGE submits the kernel's output)")
        result.steps.append(("submit", "not asked"))
        return result
    version = result.kernel_version or opts.kernel_version
    if not version:
        raise PublishError("submit: no kernel version: push the kernel in this run or pass --kernel-version N")
    _wait_kernel(opts, api, kernel_ref, version, sleep)
    command = (f"kaggle competitions submit {metadata.COMPETITION} -k {kernel_ref} -v {version} -f submission.csv "
               f"-m {_quote(opts.submit)}")
    say(f"{len(STEPS)}/{len(STEPS)} submit: $ {command}")
    response = api.competition_submit_code("submission.csv", opts.submit, metadata.COMPETITION, kernel_ref, version, quiet=True)
    outcome = str(getattr(response, "message", "") or "submitted")
    say(f"{len(STEPS)}/{len(STEPS)} submit: {outcome}; follow it with: kaggle competitions submissions {metadata.COMPETITION}")
    result.steps.append(("submit", outcome))
    return result


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _dataset_exists(api: Any, ref: str) -> bool:
    from requests.exceptions import HTTPError

    try:
        api.dataset_status(ref)
    except HTTPError as exc:
        if exc.response is not None and exc.response.status_code == 404:
            return False
        raise PublishError(f"kaggle datasets status {ref}: {exc}") from None
    return True


def _version_notes(opts: PublishOptions) -> str:
    if opts.message:
        return opts.message
    lock = metadata.read_json(Path(opts.dataset_dir) / LOCK_FILE)
    return f"kit {lock['kit']['version']}"


def _upload(opts: PublishOptions, api: Any, announce: Callable[[str], None]) -> str:
    ref = metadata.check_dataset_folder(opts.dataset_dir)["id"]
    if ref != opts.dataset_ref:
        raise PublishError(f"{opts.dataset_dir} holds the dataset {ref}, not {opts.dataset_ref}: rebuild it (drop --skip build)")
    folder = str(opts.dataset_dir)
    if _dataset_exists(api, ref):
        notes = _version_notes(opts)
        announce(f"kaggle datasets version -p {folder} -r zip -m {_quote(notes)}")
        response = api.dataset_create_version(folder, notes, quiet=True, dir_mode="zip")
        what = "new version of"
    else:
        announce(f"kaggle datasets create -p {folder} -r zip" + (" --public" if opts.public else ""))
        response = api.dataset_create_new(folder, public=opts.public, quiet=True, dir_mode="zip")
        what = "created"
    if getattr(response, "error", None) or getattr(response, "status", "") == "error":
        raise PublishError(f"dataset upload of {folder} to {ref} failed: {response.error}")
    return f"{what} {ref} ({getattr(response, 'url', '') or 'no URL returned'})"


def _wait_dataset(opts: PublishOptions, api: Any, sleep: Callable[[float], None], announce: Callable[[str], None]) -> str:
    ref = opts.dataset_ref
    announce(f"kaggle datasets status {ref}   (every {opts.poll_s:.0f} s until ready)")
    waited = _poll(
        ref, lambda: (api.dataset_status(ref), None), READY, FAILED_DATASET, opts.dataset_timeout_s, opts.poll_s, sleep,
        failed=lambda status, _: (f"Kaggle reports the dataset {ref} as {status}: open it on kaggle.com for the "
                                  f"processing error, fix the folder and upload again"),
        timed_out=lambda status, waited: (f"{ref} is still {status} after {waited:.0f} s; re-run with --skip build "
                                          f"--skip dry-run --skip dataset once `kaggle datasets status {ref}` says ready"))
    return f"{ref} is ready after {waited:.0f} s"


def _poll(ref: str, fetch: Callable[[], tuple[str, Any]], done: str, failures: set[str], timeout_s: float,
          poll_s: float, sleep: Callable[[float], None], failed: Callable[[str, Any], str],
          timed_out: Callable[[str, float], str]) -> float:
    """Ask ``fetch()`` for ``(status, response)`` every ``poll_s`` seconds until ``done``; returns the seconds waited.
    A status in ``failures``, or ``timeout_s`` passing, raises PublishError with ``failed``'s or ``timed_out``'s words."""
    waited = 0.0
    while True:
        status, response = fetch()
        if status == done:
            return waited
        if status in failures:
            raise PublishError(failed(status, response))
        if waited >= timeout_s:
            raise PublishError(timed_out(status, waited))
        say(f"  {ref}: {status}; checking again in {poll_s:.0f} s")
        sleep(poll_s)
        waited += poll_s


def _push(opts: PublishOptions, api: Any, result: PublishResult, announce: Callable[[str], None]) -> str:
    announce(f"kaggle kernels push -p {opts.kernel_dir}" + (f" --accelerator {opts.accelerator}" if opts.accelerator else ""))
    response = api.kernels_push(str(opts.kernel_dir), acc=opts.accelerator or None)
    if response is None or getattr(response, "error", None):
        raise PublishError(f"kaggle kernels push -p {opts.kernel_dir} failed: {getattr(response, 'error', 'no response')}")
    problems = [getattr(response, key, "") for key in ("invalid_dataset_sources", "invalid_competition_sources")]
    if any(problems):
        raise PublishError(f"Kaggle pushed the kernel but cannot attach {', '.join(p for p in problems if p)}: "
                           f"check the slugs and that you accepted the competition rules")
    result.kernel_version = response.version_number
    return f"version {response.version_number} of {response.ref or '?'} is running ({response.url})"


def _wait_kernel(opts: PublishOptions, api: Any, ref: str, version: int, sleep: Callable[[float], None]) -> None:
    """A code-competition submission needs the kernel version's run to have finished without error."""
    say(f"{len(STEPS)}/{len(STEPS)} submit: waiting for the run: $ kaggle kernels status {ref}")

    def fetch() -> tuple[str, Any]:
        response = api.kernels_status(ref)
        return response.status.name.lower(), response

    waited = _poll(
        ref, fetch, DONE_KERNEL, FAILED_KERNEL, opts.kernel_timeout_s, opts.poll_s, sleep,
        failed=lambda status, response: (f"the kernel run of {ref} ended with {status} "
                                         f"({response.failure_message or 'no message'}): read its log with "
                                         f"`kaggle kernels output {ref} -p out/`; nothing was submitted"),
        timed_out=lambda status, waited: (f"{ref} is still {status} after {waited:.0f} s; submit later with --skip build "
                                          f"--skip dry-run --skip dataset --skip wait --skip kernel --kernel-version {version}"))
    say(f"  {ref} version {version}: complete after {waited:.0f} s")


# ---- command line: build_dataset.py publish -------------------------------------------------------------
def add_publish_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kernel-dir", type=Path, default=OUT_DIR / KERNEL_SLUG,
                        help="the kernel folder to push, written by `python build_dataset.py kernel --owner YOU` (default dist/kernels/daigt-submit)")
    parser.add_argument("--skip", action="append", default=[], choices=SKIPPABLE, help="skip a step, repeatable")
    parser.add_argument("--message", default="", help="version notes of a new dataset version (default: the kit version)")
    parser.add_argument("--submit", default="", metavar="MESSAGE",
                        help="after the push, wait for the kernel's run and submit its output with this message")
    parser.add_argument("--kernel-version", type=int, default=None, help="kernel version to submit when --skip kernel")
    parser.add_argument("--accelerator", default="",
                        help="override the kernel's machine_shape for this push: T4x2, P100 or a Kaggle machine shape name")
    parser.add_argument("--public", action="store_true", help="create the dataset public (default private)")
    parser.add_argument("--poll", dest="poll_s", type=float, default=15.0, help="seconds between status checks (default 15)")
    parser.add_argument("--dataset-timeout", dest="dataset_timeout_s", type=float, default=1800.0,
                        help="give up waiting for the dataset after this many seconds (default 1800)")


def run_command(opts: PublishOptions, build: Callable[[], str], dry_run: Callable[[], str], api: Any = None) -> int:
    """Exit status of the whole command: 0 done, 1 a step failed (the message says which and how to retry)."""
    try:
        needs_api = not {"dataset", "wait", "kernel"} <= set(opts.skip) or opts.submit
        result = publish(opts, api if api is not None else (kaggle_api() if needs_api else None), build, dry_run)
    except (RuntimeError, ValueError, OSError) as exc:  # PublishError, BuildError, DryRunError, kaggle's own checks
        print(f"publish: error: {exc}", file=sys.stderr)
        return 1
    say("done: " + "; ".join(f"{name} {outcome}" for name, outcome in result.steps))
    return 0


def main(argv: list[str]) -> int:
    """``build_dataset.py publish``: the build options plus the publish options; the build and the dry-run steps
    are daigt_kaggle.dataset's and daigt_kaggle.dryrun's."""
    parser = build_parser(prog="build_dataset.py publish", description=__doc__.split("\n\n")[0],
                          epilog=__doc__.split("\n\n")[1])
    add_publish_arguments(parser)
    args = parser.parse_args(argv)
    try:
        opts = build_options(args)
    except BuildError as exc:
        print(f"build_dataset: error: {exc}", file=sys.stderr)
        return 2
    if opts.owner == metadata.OWNER_PLACEHOLDER:
        print("build_dataset publish: error: --owner YOUR_KAGGLE_USERNAME is required (or set KAGGLE_USERNAME)", file=sys.stderr)
        return 2
    publish_opts = PublishOptions(
        owner=opts.owner, dataset_ref=f"{opts.owner}/{opts.slug}", dataset_dir=opts.out_dir, kernel_dir=args.kernel_dir, image=read_image(opts.manifest).name,
        skip=tuple(args.skip), message=args.message, submit=args.submit, kernel_version=args.kernel_version,
        accelerator=metadata.ACCELERATORS.get(args.accelerator, args.accelerator), public=args.public, poll_s=args.poll_s, dataset_timeout_s=args.dataset_timeout_s,
    )
    return run_command(publish_opts, lambda: build_step(opts), lambda: dry_run_step(opts, args.kernel_dir))


def build_step(opts: BuildOptions) -> str:
    result = build(opts)
    for warning in result.warnings:
        log(f"WARNING: {warning}")
    state = "up to date" if result.reused else f"built in {result.seconds:.1f} s"
    return f"{result.out}: {state}; kit {result.kit_version}; {len(result.wheels)} wheel(s), {result.size_bytes / 1e6:.1f} MB"


def dry_run_step(opts: BuildOptions, kernel_dir: Path) -> str:
    """submit.py's dry-run with this build's image manifest, config, extras and models, on this machine's Python."""
    kernel = Path(kernel_dir) / KERNEL_CODE_FILE
    result = dryrun.dry_run(dryrun.Options(
        kernel=kernel if kernel.is_file() else dryrun.DEFAULT_KERNEL, manifest=opts.manifest, closure=opts.closure,
        extras=opts.extras, config=opts.config, model_dirs=opts.model_dirs,
    ))
    auc = f"AUC {result.auc:.4f}" if result.auc is not None else "no labels"
    return f"valid submission ({result.rows} rows, {auc}) in {result.kernel_seconds:.1f} s; {result.network}"
