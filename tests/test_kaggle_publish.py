"""`build_dataset.py publish`: build -> dry-run -> upload -> wait -> push -> submit, against a stubbed Kaggle.

Only Kaggle's HTTP server is stubbed (tests/kaggle_http.py): the build is real, the Kaggle steps run the
installed kaggle package's own KaggleApi methods, and every request they send is captured and checked.
"""

import json
from pathlib import Path

import pytest
from kaggle_http import NOT_FOUND, KaggleStub, blob_upload, kaggle_api
from test_build_dataset import small_manifest

from daigt_kaggle import dataset as bd
from daigt_kaggle import dryrun, kernel_helpers, kernels, metadata, publish

pytest.importorskip("kaggle")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A kit dataset built for alice (the publish build step finds it up to date) and her kernel folder."""
    tmp = tmp_path_factory.mktemp("publish")
    args = ["--image", str(small_manifest(tmp / "image.txt")), "--owner", "alice", "--slug", "daigt-kit-pub",
            "--out", str(tmp / "dataset"), "--no-check"]
    bd.build(bd.build_options(bd.parse_args(args)))
    kernel = kernels.write_kernel_folder(tmp / "kernel", kernels.KernelSpec(owner="alice", kit_dataset="alice/daigt-kit-pub"))
    return args, kernel


def status(name: str) -> dict:
    return {"status": name}


def run_publish(monkeypatch, tmp_path, folders, stub: KaggleStub, *extra: str) -> int:
    args, kernel = folders
    kaggle_api(monkeypatch, tmp_path, stub, username="alice")  # credentials in the environment, HTTP to the stub
    monkeypatch.setattr(publish.time, "sleep", lambda seconds: None)
    return bd.main(["publish", *args, "--kernel-dir", str(kernel), "--poll", "5", *extra])


def test_publish_creates_waits_until_ready_pushes_and_submits(monkeypatch, tmp_path, folders, capsys):
    stub = (KaggleStub()
            .reply("GetDatasetStatus", NOT_FOUND, NOT_FOUND, status("BLOBS_RECEIVED"), status("BLOBS_DECOMPRESSED"),
                   status("READY"))
            .reply("StartBlobUpload", blob_upload)
            .reply("CreateDataset", {"ref": "alice/daigt-kit-pub", "url": "https://www.kaggle.com/datasets/alice/daigt-kit-pub"})
            .reply("SaveKernel", {"ref": "/code/alice/daigt-submit", "url": "https://www.kaggle.com/code/alice/daigt-submit",
                                  "versionNumber": 3})
            .reply("GetKernelSessionStatus", status("QUEUED"), status("RUNNING"), status("COMPLETE"))
            .reply("CreateCodeSubmission", {"message": "Successfully submitted", "ref": 42}))
    code = run_publish(monkeypatch, tmp_path, folders, stub, "--skip", "dry-run", "--submit", "first try")
    out = capsys.readouterr().out
    assert code == 0, out
    dataset = folders[0][folders[0].index("--out") + 1]
    assert [s for s in stub.endpoints() if s not in ("StartBlobUpload", "upload")] == [
        "GetDatasetStatus",  # exists? no: create
        "GetDatasetStatus", "CreateDataset",  # the kaggle package's own existence check, then the create
        "GetDatasetStatus", "GetDatasetStatus", "GetDatasetStatus",  # waiting until ready
        "SaveKernel", "GetKernelSessionStatus", "GetKernelSessionStatus", "GetKernelSessionStatus", "CreateCodeSubmission"]
    [create] = stub.calls("CreateDataset")
    assert (create["ownerSlug"], create["slug"], create["licenseName"], create["isPrivate"]) == ("alice", "daigt-kit-pub", "other", True)
    assert {"wheels.zip", kernel_helpers.LOCK_FILE} <= {body["name"] for body in stub.calls("StartBlobUpload")}
    [push] = stub.calls("SaveKernel")
    assert push["slug"] == "alice/daigt-submit" and push["datasetDataSources"][0] == "alice/daigt-kit-pub"
    assert push["enableInternet"] is False
    [submit] = stub.calls("CreateCodeSubmission")
    assert submit == {"competitionName": metadata.COMPETITION, "kernelSlug": "daigt-submit", "kernelOwner": "alice",
                      "kernelVersion": 3, "fileName": "submission.csv", "submissionDescription": "first try"}
    for line in ["1/6 build: $ python build_dataset.py --image test-image --owner alice", "up to date",
                 "2/6 dry-run: skipped (--skip dry-run)",
                 f"3/6 dataset: $ kaggle datasets create -p {dataset} -r zip",
                 "4/6 wait: $ kaggle datasets status alice/daigt-kit-pub", "alice/daigt-kit-pub: blobs_received; checking again in 5 s",
                 "alice/daigt-kit-pub is ready after 10 s",
                 f"5/6 kernel: $ kaggle kernels push -p {folders[1]}", "version 3 of /code/alice/daigt-submit",
                 "$ kaggle kernels status alice/daigt-submit", "alice/daigt-submit version 3: complete after 10 s",
                 f"6/6 submit: $ kaggle competitions submit {metadata.COMPETITION} -k alice/daigt-submit -v 3 -f submission.csv -m 'first try'",
                 "Successfully submitted"]:
        assert line in out, line


def test_publish_versions_an_existing_dataset_and_honours_every_skip(monkeypatch, tmp_path, folders, capsys):
    stub = (KaggleStub().reply("GetDatasetStatus", status("READY")).reply("StartBlobUpload", blob_upload)
            .reply("CreateDatasetVersion", {"ref": "alice/daigt-kit-pub", "url": "https://www.kaggle.com/datasets/alice/daigt-kit-pub"}))
    code = run_publish(monkeypatch, tmp_path, folders, stub, "--skip", "build", "--skip", "dry-run", "--skip", "wait",
                       "--skip", "kernel", "--message", "new wheels")
    out = capsys.readouterr().out
    assert code == 0, out
    assert [s for s in stub.endpoints() if s not in ("StartBlobUpload", "upload")] == ["GetDatasetStatus", "CreateDatasetVersion"]
    [version] = stub.calls("CreateDatasetVersion")
    assert (version["ownerSlug"], version["datasetSlug"], version["body"]["versionNotes"]) == ("alice", "daigt-kit-pub", "new wheels")
    for step in ("build", "dry-run", "wait", "kernel"):
        assert f"{step}: skipped (--skip {step})" in out
    assert "$ kaggle datasets version -p" in out and "-r zip -m 'new wheels'" in out
    assert "submit: not asked" in out


@pytest.mark.parametrize("failure", ["dataset failed", "dataset never ready", "kernel run error"])
def test_publish_stops_at_the_failing_step_with_the_way_forward(monkeypatch, tmp_path, folders, capsys, failure):
    stub = KaggleStub().reply("StartBlobUpload", blob_upload).reply("CreateDatasetVersion", {"ref": "alice/daigt-kit-pub"})
    extra = ["--skip", "build", "--skip", "dry-run"]
    if failure == "dataset failed":
        stub.reply("GetDatasetStatus", status("READY"), status("FAILED"))
        message = "reports the dataset alice/daigt-kit-pub as failed"
    elif failure == "dataset never ready":
        stub.reply("GetDatasetStatus", status("READY"), status("BLOBS_RECEIVED"))
        extra += ["--dataset-timeout", "10"]
        message = "still blobs_received after 10 s; re-run with --skip build --skip dry-run --skip dataset"
    else:
        stub.reply("GetDatasetStatus", status("READY"))
        stub.reply("SaveKernel", {"ref": "/code/alice/daigt-submit", "url": "u", "versionNumber": 4})
        stub.reply("GetKernelSessionStatus", {"status": "ERROR", "failureMessage": "daigt run failed"})
        extra += ["--submit", "never"]
        message = "ended with error (daigt run failed): read its log with `kaggle kernels output alice/daigt-submit"
    assert run_publish(monkeypatch, tmp_path, folders, stub, *extra) == 1
    assert message in capsys.readouterr().err
    assert "CreateCodeSubmission" not in stub.endpoints()


def test_publish_refuses_a_kernel_that_does_not_attach_the_dataset(monkeypatch, tmp_path, folders, capsys):
    other = kernels.write_kernel_folder(tmp_path / "other", kernels.KernelSpec(owner="alice", kit_dataset="alice/another-kit"))
    stub = KaggleStub()
    code = run_publish(monkeypatch, tmp_path, folders, stub, "--skip", "build", "--skip", "dry-run", "--kernel-dir", str(other))
    assert code == 1
    assert "does not attach the dataset alice/daigt-kit-pub: regenerate it with python build_dataset.py kernel" in capsys.readouterr().err
    assert stub.sent == []  # nothing was uploaded


def test_publish_needs_an_owner_and_names_the_steps(monkeypatch, capsys):
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    assert bd.main(["publish"]) == 2
    assert "--owner YOUR_KAGGLE_USERNAME is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bd.main(["publish", "--owner", "alice", "--skip", "upload"])
    assert "invalid choice: 'upload'" in capsys.readouterr().err


def test_dry_run_step_runs_submit_dry_run_with_the_builds_image(monkeypatch, folders):
    """The dry-run step hands the build's image manifest, closure and config to submit.py (its run is tested there)."""
    seen = {}

    def dry_run(options):
        seen["options"] = options
        return dryrun.DryRunResult(Path("submission.csv"), 326, 0.91, 1.0, 0.5, 300.0, "network namespace", Path("."))

    monkeypatch.setattr(dryrun, "dry_run", dry_run)
    opts = bd.build_options(bd.parse_args(folders[0]))
    assert publish.dry_run_step(opts, folders[1]) == "valid submission (326 rows, AUC 0.9100) in 0.5 s; network namespace"
    chosen = seen["options"]
    assert (chosen.manifest, chosen.closure, chosen.config) == (opts.manifest, "image", opts.config)
    assert chosen.kernel == folders[1] / kernels.KERNEL_CODE_FILE
    assert json.loads((folders[1] / "kernel-metadata.json").read_text())["dataset_sources"][0] == "alice/daigt-kit-pub"
