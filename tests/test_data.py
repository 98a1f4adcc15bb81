"""Tests for daigt.data: layouts, every bad-input error, de-duplication, normalisers and the embedded sample."""

from __future__ import annotations

import filecmp
import logging
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from daigt.data import (
    CANONICAL_COLUMNS,
    Competition,
    DataError,
    TextNormalizer,
    UnseenCharacterFilter,
    check_trainable,
    competition_training_rows,
    normalize_nfc,
    normalize_text,
    read_competition_dir,
    read_training_file,
    read_training_files,
    sample_rows,
    stratified_sample,
    strip_anonymisation_tokens,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SAMPLE_COMP = SAMPLE / "llm-detect-ai-generated-text"
SAMPLE_EXTERNAL = SAMPLE / "daigt-external" / "train.csv"
SHARED = REPO.parent / "shared" / "data"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def competition(tmp_path: Path, test: str | bytes | None = None, train: str | bytes | None = None,
                submission: str | None = None, prompts: str | None = None) -> Path:
    root = tmp_path / "comp"
    root.mkdir(parents=True, exist_ok=True)
    files = {"test_essays.csv": test, "train_essays.csv": train, "sample_submission.csv": submission,
             "train_prompts.csv": prompts}
    for name, content in files.items():
        if content is not None:
            write(root / name, content)
    return root


GOOD_TEST = 'id,prompt_id,text\n0000aaaa,2,"First essay,\nwith two lines."\n0000bbbb,3,Second essay.\n'
GOOD_TRAIN = "id,prompt_id,text,generated\n0001,0,Human essay one.,0\n0002,1,Machine essay.,1\n0003,7,Human two.,0\n"
GOOD_PROMPTS = 'prompt_id,prompt_name,instructions,source_text\n0,Car-free cities,Write.,"Text"\n1,Electoral,Argue.,T\n'


# ---- layouts read correctly --------------------------------------------------------------------------------


def test_competition_dir_reads_all_files_with_string_ids_and_extra_columns(tmp_path):
    train = GOOD_TRAIN.replace("generated\n", "generated,extra\n").replace(",0\n", ",0,x\n").replace(",1\n", ",1,y\n")
    root = competition(tmp_path, test=GOOD_TEST, train=train, submission="id,generated\n0000aaaa,0.5\n0000bbbb,0.5\n",
                       prompts=GOOD_PROMPTS)
    comp = read_competition_dir(root)
    assert isinstance(comp, Competition) and comp.path == root
    assert comp.test["id"].tolist() == ["0000aaaa", "0000bbbb"]
    assert comp.test["text"].iloc[0] == "First essay,\nwith two lines."
    assert comp.train["id"].tolist() == ["0001", "0002", "0003"]  # leading zeros kept: ids are strings
    assert comp.train["generated"].dtype == np.int8 and comp.train["generated"].tolist() == [0, 1, 0]
    assert comp.train["extra"].tolist() == ["x", "y", "x"]
    assert comp.prompts["prompt_name"].tolist() == ["Car-free cities", "Electoral"]


def test_competition_dir_optional_files_absent_and_empty_train(tmp_path):
    root = competition(tmp_path, test=GOOD_TEST, train="id,prompt_id,text,generated\n")
    comp = read_competition_dir(root)
    assert comp.prompts is None
    assert len(comp.train) == 0
    rows = competition_training_rows(comp)
    assert list(rows.columns[:5]) == list(CANONICAL_COLUMNS) and len(rows) == 0
    assert rows["label"].dtype == np.int8


def test_competition_dir_accepts_parent_of_kaggle_folder(tmp_path):
    write(tmp_path / "input" / "llm-detect-ai-generated-text" / "test_essays.csv", GOOD_TEST)
    comp = read_competition_dir(tmp_path / "input")
    assert comp.path.name == "llm-detect-ai-generated-text" and len(comp.test) == 2


def test_competition_training_rows_maps_prompt_names_and_sources(tmp_path):
    comp = read_competition_dir(competition(tmp_path, test=GOOD_TEST, train=GOOD_TRAIN, prompts=GOOD_PROMPTS))
    rows = competition_training_rows(comp)
    assert rows["prompt_name"].tolist() == ["Car-free cities", "Electoral", "prompt 7"]
    assert rows["source"].tolist() == ["human", "competition-generated", "human"]
    assert rows["file"].unique().tolist() == ["train_essays.csv"]
    assert rows["label"].tolist() == [0, 1, 0]


def test_daigt_layout_canonical_columns_and_extras(tmp_path):
    path = write(tmp_path / "v2.csv", 'text,label,prompt_name,source,RDizzl3_seven\n"A, b",0,P1,human,True\n'
                                      "NA,1.0,P2,mistral,False\nThird,0.0,P1,human,True\n")
    frame = read_training_file(path)
    assert list(frame.columns) == [*CANONICAL_COLUMNS, "RDizzl3_seven"]
    assert frame["text"].tolist() == ["A, b", "NA", "Third"]  # "NA" is an essay, not a missing value
    assert frame["label"].dtype == np.int8 and frame["label"].tolist() == [0, 1, 0]
    assert frame["source"].tolist() == ["human", "mistral", "human"]
    assert set(frame["file"]) == {"v2.csv"}


def test_competition_layout_training_file_uses_prompts_mapping(tmp_path):
    path = write(tmp_path / "more_train.csv", GOOD_TRAIN)
    frame = read_training_file(path, prompts={"0": "Car-free cities"})
    assert frame["prompt_name"].tolist() == ["Car-free cities", "prompt 1", "prompt 7"]
    assert frame["id"].tolist() == ["0001", "0002", "0003"]
    assert frame["label"].tolist() == [0, 1, 0]


def test_header_only_training_file_gives_zero_rows(tmp_path):
    frame = read_training_file(write(tmp_path / "empty.csv", "text,label,prompt_name,source\n"))
    assert len(frame) == 0 and list(frame.columns) == list(CANONICAL_COLUMNS)


# ---- de-duplication ----------------------------------------------------------------------------------------


def test_read_training_files_dedupes_across_and_within_files_keeping_first(tmp_path, caplog):
    a = write(tmp_path / "a.csv", "text,label,prompt_name,source\nshared,1,P,gpt\nonly a,0,P,human\nonly a,0,P,human\n")
    b = write(tmp_path / "b.csv", "text,label,prompt_name,source\nonly b,0,Q,human\nshared,0,Q,human\n")
    with caplog.at_level(logging.INFO, logger="daigt.data"):
        frame = read_training_files([a, b])
    assert frame["text"].tolist() == ["shared", "only a", "only b"]
    assert frame.loc[0, "file"] == "a.csv" and frame.loc[0, "label"] == 1  # first occurrence kept
    assert "dropped 2 duplicate" in caplog.text and "1 repeat a text of an earlier file" in caplog.text
    assert "1 had the other label" in caplog.text
    assert len(read_training_files([a, b], dedupe=False)) == 5


def test_read_training_files_of_nothing_is_empty_canonical():
    frame = read_training_files([])
    assert len(frame) == 0 and list(frame.columns) == list(CANONICAL_COLUMNS)


# ---- every bad input names file, column, row and the fix ---------------------------------------------------


def assert_names(error: pytest.ExceptionInfo, *parts: str) -> str:
    message = str(error.value)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    assert "Fix:" in message
    return message


def test_missing_test_file(tmp_path):
    root = competition(tmp_path, train=GOOD_TRAIN)
    with pytest.raises(DataError) as error:
        read_competition_dir(root)
    assert_names(error, "test_essays.csv", "train_essays.csv")  # lists what the folder holds


def test_missing_folder(tmp_path):
    with pytest.raises(DataError) as error:
        read_competition_dir(tmp_path / "nope")
    assert_names(error, "nope", "not found")


def test_missing_column_lists_found_columns_and_layout(tmp_path):
    root = competition(tmp_path, test="id,prompt_id,essay\nx,1,Text\n")
    with pytest.raises(DataError) as error:
        read_competition_dir(root)
    assert_names(error, "test_essays.csv", "'text'", "CSV line 1", "['id', 'prompt_id', 'essay']", "id,prompt_id,text")


def test_missing_column_in_training_file_names_both_layouts(tmp_path):
    path = write(tmp_path / "ext.csv", "text,prompt_name,source\nA,P,human\n")
    with pytest.raises(DataError) as error:
        read_training_file(path)
    assert_names(error, "ext.csv", "'label'", "CSV line 1", "DAIGT-v2", "competition train_essays layout",
                 "['text', 'prompt_name', 'source']")


def test_zero_byte_file(tmp_path):
    root = competition(tmp_path, test="")
    with pytest.raises(DataError) as error:
        read_competition_dir(root)
    assert_names(error, "test_essays.csv", "0 bytes", "column", "line 1")


def test_header_only_test_file(tmp_path):
    root = competition(tmp_path, test="id,prompt_id,text\n")
    with pytest.raises(DataError) as error:
        read_competition_dir(root)
    assert_names(error, "test_essays.csv", "'text'", "row 1", "at least one row")


@pytest.mark.parametrize("bad", ["", "   ", "\t\n  "])
def test_empty_or_whitespace_text_reports_row_and_csv_line(tmp_path, bad):
    # Row 1 spans lines 2-4 (quoted line breaks), so the bad row 3 starts on line 6, not line 4.
    content = f'text,label,prompt_name,source\n"a\nb\nc",0,P,human\nok,1,P,gpt\n"{bad}",0,P,human\n'
    path = write(tmp_path / "texts.csv", content)
    with pytest.raises(DataError) as error:
        read_training_file(path)
    assert_names(error, "texts.csv", "'text'", "row 3 (CSV line 6)")


def test_empty_test_text_reports_id(tmp_path):
    root = competition(tmp_path, test="id,prompt_id,text\nabc12345,1,Fine.\nfeed0001,1,\n")
    with pytest.raises(DataError) as error:
        read_competition_dir(root)
    assert_names(error, "test_essays.csv", "'text'", "row 2", "CSV line 3", "id 'feed0001'")


def test_non_utf8_byte_reports_offset_row_and_column(tmp_path):
    raw = "id,prompt_id,text\nabc,1,Fine essay.\nxyz,1,Caf".encode("utf-8") + b"\xe9 au lait.\n"
    root = competition(tmp_path, test=raw)
    with pytest.raises(DataError) as error:
        read_competition_dir(root)
    offset = raw.index(b"\xe9")
    assert_names(error, "test_essays.csv", "'text'", "row 2", "CSV line 3", f"byte offset {offset}", "UTF-8",
                 "Windows-1252")


def test_non_utf8_byte_in_training_file_after_multiline_rows(tmp_path):
    raw = 'text,label\n"line one\nline two",0\n'.encode("utf-8") + b'"bad \x80\x81 bytes",1\n'
    path = write(tmp_path / "latin.csv", raw)
    with pytest.raises(DataError) as error:
        read_training_file(path)
    offset = raw.index(b"\x80")
    assert_names(error, "latin.csv", "'text'", "row 2", "CSV line 4", f"byte offset {offset}")


def test_duplicate_test_ids(tmp_path):
    root = competition(tmp_path, test="id,prompt_id,text\naa,1,One.\nbb,1,Two.\naa,1,Three.\n")
    with pytest.raises(DataError) as error:
        read_competition_dir(root)
    assert_names(error, "test_essays.csv", "'id'", "row 1", "row 3", "duplicate ids ['aa']")


def test_empty_test_id(tmp_path):
    root = competition(tmp_path, test="id,prompt_id,text\naa,1,One.\n,1,Two.\n")
    with pytest.raises(DataError) as error:
        read_competition_dir(root)
    assert_names(error, "test_essays.csv", "'id'", "row 2", "id is empty")


@pytest.mark.parametrize("bad", ["yes", "2", "", "-1", "0.5"])
def test_labels_outside_zero_one(tmp_path, bad):
    path = write(tmp_path / "labels.csv", f"text,label,prompt_name,source\nA,0,P,h\nB,{bad},P,h\nC,1.0,P,g\n")
    with pytest.raises(DataError) as error:
        read_training_file(path)
    assert_names(error, "labels.csv", "'label'", "row 2 (CSV line 3)", repr(bad))


def test_float_labels_accepted(tmp_path):
    path = write(tmp_path / "f.csv", "text,label\nA,0.0\nB,1.0\nC, 1 \n")
    assert read_training_file(path)["label"].tolist() == [0, 1, 1]


def test_bad_generated_in_competition_train(tmp_path):
    root = competition(tmp_path, test=GOOD_TEST, train="id,prompt_id,text,generated\n01,0,A,0\n02,0,B,true\n")
    with pytest.raises(DataError) as error:
        read_competition_dir(root)
    assert_names(error, "train_essays.csv", "'generated'", "row 2", "id '02'", "'true'")


def test_sample_submission_is_not_read(tmp_path):
    """The submission is built from the test ids; a malformed sample_submission.csv cannot abort a run."""
    root = competition(tmp_path, test=GOOD_TEST, submission="id,generated\n0000aaaa,0.5\n0000bbbb,half\n")
    comp = read_competition_dir(root)
    assert comp.test["id"].tolist() == ["0000aaaa", "0000bbbb"] and not hasattr(comp, "sample_submission")


def test_malformed_csv(tmp_path):
    path = write(tmp_path / "broken.csv", "text,label\nA,0\nB,1,extra,fields\n")
    with pytest.raises(DataError) as error:
        read_training_file(path)
    assert_names(error, "broken.csv", "line 3", "quote")


def test_missing_training_file(tmp_path):
    with pytest.raises(DataError) as error:
        read_training_files([tmp_path / "absent.csv"])
    assert_names(error, "absent.csv", "not found")


def test_check_trainable_needs_rows_of_both_labels(tmp_path):
    human = write(tmp_path / "human_only.csv", "text,label,prompt_name,source\nA,0,P,human\nB,0,P,human\n")
    frame = read_training_files([human])
    with pytest.raises(DataError) as error:
        check_trainable(frame)
    assert_names(error, "human_only.csv", "'label'", "all 2 rows", "machine-generated (label 1)")
    empty = read_training_files([write(tmp_path / "none.csv", "text,label\n")])
    with pytest.raises(DataError) as error:
        check_trainable(empty)
    assert_names(error, "'label'", "no training rows")
    both = read_training_files([human, write(tmp_path / "m.csv", "text,label\nC,1\n")])
    assert check_trainable(both) is both


# ---- normalisers -------------------------------------------------------------------------------------------


def test_nfc_makes_composed_and_decomposed_equal():
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert composed != decomposed
    assert normalize_nfc(decomposed) == composed
    assert TextNormalizer().transform([decomposed]) == [composed]
    assert TextNormalizer(nfc=False, strip_anonymisation=False).transform([decomposed]) == [decomposed]
    assert unicodedata.is_normalized("NFC", normalize_text(decomposed))


@pytest.mark.parametrize("raw, expected", [
    ("Dear @CAPS1 @CAPS2, I live in @LOCATION1 and own @NUM1 dogs.", "Dear, I live in and own dogs."),
    ("@PERSON2 said hi.", "said hi."),
    ("It was @DATE1.", "It was."),
    ("Keep  my  double spaces @CAPS1 here", "Keep  my  double spaces here"),
    ("Photo via @Darryl_Hudson today", "Photo via @Darryl_Hudson today"),  # a handle, not a token
    ("e-mail me at bob@example.com", "e-mail me at bob@example.com"),
    ("line one @CAPS1\nline two", "line one\nline two"),
])
def test_strip_anonymisation_tokens(raw, expected):
    assert strip_anonymisation_tokens(raw) == expected
    assert TextNormalizer(nfc=False).transform([raw]) == [expected]


def test_text_normalizer_is_a_clonable_stateless_transformer():
    normalizer = TextNormalizer(nfc=False, strip_anonymisation=True)
    cloned = clone(normalizer)
    assert cloned.get_params() == {"nfc": False, "strip_anonymisation": True}
    assert normalizer.fit_transform(["a @CAPS1 b"]) == ["a b"]
    assert TextNormalizer().transform(pd.Series(["x @NUM1 y"])) == ["x y"]  # usable without fit
    with pytest.raises(TypeError, match="text 1 is float"):
        TextNormalizer().transform(["ok", float("nan")])


def test_unseen_character_filter_drops_chars_absent_from_reference():
    reference = ["the cat sat.", "A dog!"]
    test = ["the c\u0430t s\u00e5t\u200b!", "dog"]  # Cyrillic a, a-ring, zero-width space
    chars = UnseenCharacterFilter().fit(reference)
    assert "\u0430" not in chars.vocabulary_ and "t" in chars.vocabulary_
    assert chars.transform(test) == ["the ct st!", "dog"]
    assert UnseenCharacterFilter(replacement="?").fit(reference).transform(test) == ["the c?t s?t?!", "dog"]
    assert chars.transform(reference) == reference  # training texts are unchanged
    assert clone(chars).get_params() == {"replacement": ""}
    with pytest.raises(NotFittedError):
        UnseenCharacterFilter().transform(test)


def test_normalisers_compose_in_a_pipeline_and_are_deterministic():
    pipe = make_pipeline(TextNormalizer(), UnseenCharacterFilter())
    train = ["Dear @CAPS1, cafe\u0301 is fine.", "plain text"]
    pipe.fit(train)
    out = pipe.transform(["caf\u00e9 \u00a7 @NUM1 text"])
    assert out == ["caf\u00e9  text"]  # the section sign never occurs in training text
    assert pipe.transform(["caf\u00e9 \u00a7 @NUM1 text"]) == out


# ---- sample_rows -------------------------------------------------------------------------------------------


def test_sample_rows_is_stratified_seeded_and_order_preserving():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(1000)], "label": np.r_[np.zeros(800), np.ones(200)].astype("int8")})
    a = sample_rows(frame, 100, seed=1)
    assert len(a) == 100 and (a["label"] == 1).sum() == 20
    assert a.equals(sample_rows(frame, 100, seed=1))
    assert not a["text"].equals(sample_rows(frame, 100, seed=2)["text"])
    positions = a["text"].str[1:].astype(int)
    assert positions.is_monotonic_increasing
    assert len(sample_rows(frame, 0, seed=1)) == 1000 and len(sample_rows(frame, 5000, seed=1)) == 1000
    tiny = sample_rows(frame, 3, seed=0)
    assert set(tiny["label"]) == {0, 1}  # a rare class keeps at least one row


# ---- the embedded sample -----------------------------------------------------------------------------------


def test_embedded_sample_reads_cleanly_and_is_trainable():
    comp = read_competition_dir(SAMPLE_COMP)
    external = read_training_files([SAMPLE_EXTERNAL])
    own = competition_training_rows(comp)
    assert 300 <= len(comp.test) <= 450 and 40 <= len(comp.train) <= 100
    assert own["label"].sum() == 3 and set(own["prompt_name"]) == {"Car-free cities", "Does the electoral college work?"}
    assert 1200 <= len(external) <= 1600 and external["prompt_name"].nunique() >= 6
    assert external[external["label"] == 1]["source"].nunique() >= 4
    check_trainable(pd.concat([own, external], ignore_index=True))
    assert comp.test["id"].str.fullmatch(r"[0-9a-f]{8}").all() and comp.train["id"].str.fullmatch(r"[0-9a-f]{8}").all()


def test_embedded_sample_size_budget():
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total <= 5_000_000, f"data/sample is {total} bytes"


def test_embedded_sample_test_ids_match_submission_and_labels():
    comp = read_competition_dir(SAMPLE_COMP)
    labels = pd.read_csv(SAMPLE / "test_labels.csv", dtype={"id": str})
    submission = pd.read_csv(SAMPLE_COMP / "sample_submission.csv", dtype={"id": str})
    assert submission["id"].tolist() == comp.test["id"].tolist() and (submission["generated"] == 0.5).all()
    assert labels["id"].tolist() == comp.test["id"].tolist()
    assert set(labels["generated"]) == {0, 1} and 0.3 < labels["generated"].mean() < 0.7


def test_embedded_sample_train_and_test_are_disjoint():
    comp = read_competition_dir(SAMPLE_COMP)
    external = read_training_files([SAMPLE_EXTERNAL])
    test_texts = set(comp.test["text"])
    assert not test_texts & set(external["text"])
    assert not test_texts & set(comp.train["text"])
    assert not set(comp.train["text"]) & set(external["text"])
    provenance = pd.read_csv(SAMPLE / "provenance.csv", dtype={"key": str})
    test_prompts = set(provenance[provenance["sample_file"].str.endswith("test_essays.csv")]["prompt_name"])
    assert len(test_prompts) == 3 and not test_prompts & set(external["prompt_name"])
    assert len(provenance) == len(comp.test) + len(comp.train) + len(external)


def test_embedded_sample_readme_states_provenance_and_licence():
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for needle in ("outfox_essays.csv", "daigt_persuade_samples.csv", "80275f576058cbeca7f2edcb02ced5750b95a63f",
                   "CC BY-NC-SA 4.0", "make_sample.py"):
        assert needle in readme


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data folder (repo/../shared/data) not present")
def test_make_sample_rebuilds_the_committed_sample_byte_for_byte(tmp_path):
    subprocess.run([sys.executable, str(SAMPLE / "make_sample.py"), "--shared-data", str(SHARED), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert Path("README.md") in built and len(built) == 8
    for rel in built:
        assert filecmp.cmp(tmp_path / rel, SAMPLE / rel, shallow=False), f"{rel} differs from the committed sample"


# ---- the shared development corpora ------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data folder (repo/../shared/data) not present")
def test_every_shared_csv_reads_in_canonical_layout():
    paths = sorted(SHARED.glob("*.csv"))
    assert paths
    for path in paths:
        frame = read_training_file(path)
        assert len(frame) == len(pd.read_csv(path)), path.name
        assert list(frame.columns[:5]) == list(CANONICAL_COLUMNS)
        assert set(frame["label"].unique()) <= {0, 1} and frame["label"].dtype == np.int8
        assert frame["text"].str.strip().ne("").all()
    combined = read_training_files(paths)
    check_trainable(combined)
    assert combined["text"].is_unique


def test_a_first_row_with_an_extra_field_is_not_read_as_shifted_columns(tmp_path):
    """pandas would take the extra leading field as an index and shift every column by one."""
    path = tmp_path / "shifted.csv"
    path.write_text("text,label,prompt_name,source\nHello, world,1,p,s\nfine,0,p,s\n")
    with pytest.raises(DataError, match=r"shifted.csv: row 1 \(CSV line 2\).*5 fields but the header has 4.*quote"):
        read_training_file(path)


def test_a_directory_is_not_reported_as_missing(tmp_path):
    with pytest.raises(DataError, match="is a directory, not a CSV file"):
        read_training_file(tmp_path)


def test_stratified_sample_keeps_every_cell():
    y = np.array([0] * 90 + [1] * 10)
    groups = np.array(["a"] * 50 + ["b"] * 40 + ["b"] * 10)
    picked = stratified_sample(y, groups, 20, seed=0)
    assert len(picked) == 20 and (y[picked] == 1).sum() == 2 and (groups[picked] == "a").sum() == 10
    np.testing.assert_array_equal(picked, stratified_sample(y, groups, 20, seed=0))
