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
    labels.write_text("id,generated\n0000aaaa,0\n")
    with pytest.raises(DataError, match="1111bbbb"):
        auc_against_labels(make_submission(IDS, np.array([0.1, 0.8, 0.7])), labels)
