import numpy as np
import pandas as pd
import pytest

from daigt.data import DataError
from daigt.submission import auc_against_labels, make_submission, read_submission, write_submission

IDS = ["0000aaaa", "1111bbbb", "2222cccc"]


def test_write_then_read_round_trip(tmp_path):
    path = write_submission(make_submission(IDS, np.array([0.1, 0.5, 0.9])), tmp_path / "s.csv", IDS)
    back = read_submission(path)
    assert list(back.columns) == ["id", "generated"] and list(back["id"]) == IDS
    assert np.allclose(back["generated"], [0.1, 0.5, 0.9])


@pytest.mark.parametrize(
    "ids, scores, fragment",
    [
        (IDS, [0.1, np.nan, 0.2], "row 3 .*'1111bbbb'.*generated"),
        (IDS, [0.1, 0.2, 1.5], "row 4 .*'2222cccc'"),
        (IDS[::-1], [0.1, 0.2, 0.3], "row 2 .*'2222cccc'.*'0000aaaa'"),
        (IDS[:2], [0.1, 0.2], "2 rows but the test file has 3"),
    ],
)
def test_bad_submissions_name_the_row_and_keep_the_old_file(tmp_path, ids, scores, fragment):
    path = tmp_path / "submission.csv"
    path.write_text("id,generated\nold,0.5\n")
    with pytest.raises(DataError, match=fragment):
        write_submission(make_submission(ids, np.array(scores)), path, IDS)
    assert path.read_text() == "id,generated\nold,0.5\n"
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"]  # no temp file left behind


def test_wrong_header_is_named(tmp_path):
    df = pd.DataFrame({"id": IDS, "score": [0.1, 0.2, 0.3]})
    with pytest.raises(DataError, match="id,generated"):
        write_submission(df, tmp_path / "s.csv", IDS)


def test_auc_against_labels(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("id,generated\n0000aaaa,0\n1111bbbb,1\n2222cccc,1\n")
    assert auc_against_labels(make_submission(IDS, np.array([0.1, 0.8, 0.7])), labels) == 1.0
    assert auc_against_labels(make_submission(IDS, np.array([0.9, 0.8, 0.7])), labels) == 0.0
    labels.write_text("id,generated\n0000aaaa,0\nzzzz,1\n")
    with pytest.raises(DataError, match="1111bbbb"):
        auc_against_labels(make_submission(IDS, np.array([0.1, 0.8, 0.7])), labels)


def test_submission_and_side_files_are_all_new_or_all_old(tmp_path):
    out = tmp_path / "s.csv"
    side = {tmp_path / "s.config.toml": "seed = 1\n", tmp_path / "s.run.json": "{}"}
    write_submission(make_submission(IDS, np.array([0.1, 0.8, 0.7])), out, IDS, side_files=side)
    before = {p: p.read_bytes() for p in [out, *side]}
    blocked = {tmp_path / "s.config.toml": "seed = 2\n", tmp_path / "s.run.json" / "x": "{}"}  # parent is a file
    with pytest.raises(OSError):
        write_submission(make_submission(IDS, np.array([0.2, 0.8, 0.7])), out, IDS, side_files=blocked)
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.config.toml", "s.csv", "s.run.json"]  # no temp files


def test_rename_failure_half_way_restores_the_files_already_replaced(tmp_path, monkeypatch):
    import os

    from daigt import io

    out, side = tmp_path / "s.csv", tmp_path / "s.run.json"
    write_submission(make_submission(IDS, np.array([0.1, 0.8, 0.7])), out, IDS, side_files={side: "old"})
    before = {p: p.read_bytes() for p in (out, side)}
    real_replace = os.replace

    def replace(src, dst):
        if str(dst) == str(side):
            raise KeyboardInterrupt  # as a SIGINT between the two renames
        return real_replace(src, dst)

    monkeypatch.setattr(io.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        write_submission(make_submission(IDS, np.array([0.3, 0.8, 0.7])), out, IDS, side_files={side: "new"})
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "s.run.json"]
