"""Reading, checking and normalising the essays the kit trains and predicts on.

Two kinds of input meet here: the competition folder (Kaggle's fixed layout, whose hidden test set is only seen
inside the scoring run) and external training files (the community's DAIGT-v2 layout, or more files in the
competition's train layout). A bad file must fail before any model is trained, with a message a user can act on
without reading code: every :class:`DataError` names the file, the column, the row and the fix.

All CSVs are read with pandas' C parser as strings (``dtype=str``, no NA guessing) so that ids such as ``0001``
keep their leading zeros, a text ``"NA"`` stays a text, and pandas 2 (object) and pandas 3 (``str`` dtype) give
the same values. Checks are vectorised; the slow work of mapping a bad row to its CSV line happens only once an
error is certain.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from daigt.config import DataConfig
from daigt.errors import DataError

log = logging.getLogger(__name__)

PathLike = Union[str, Path]

COMPETITION_SLUG = "llm-detect-ai-generated-text"
TRAIN_FILE = "train_essays.csv"
TEST_FILE = "test_essays.csv"
PROMPTS_FILE = "train_prompts.csv"

TRAIN_COLUMNS = ("id", "prompt_id", "text", "generated")
TEST_COLUMNS = ("id", "prompt_id", "text")
PROMPT_COLUMNS = ("prompt_id", "prompt_name", "instructions", "source_text")
DAIGT_COLUMNS = ("text", "label", "prompt_name", "source")
DAIGT_REQUIRED = ("text", "label")
CANONICAL_COLUMNS = ("text", "label", "prompt_name", "source", "file")

DAIGT_LAYOUT = "DAIGT-v2 layout (text,label,prompt_name,source[,RDizzl3_seven])"
COMPETITION_TRAIN_LAYOUT = "competition train_essays layout (id,prompt_id,text,generated)"

_MAX_LISTED = 5


# ---- competition folder ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Competition:
    """The competition's files the kit reads, checked. ``train`` may have 0 rows; an absent ``prompts`` is ``None``.

    All id-like columns (``id``, ``prompt_id``) are strings and ``train.generated`` is int8 0/1. Columns beyond
    the required ones are kept. ``sample_submission.csv`` is not read: the submission is built from the test ids,
    so that file holds nothing the kit needs (``submit.py`` checks a written submission against it).
    """

    path: Path
    train: pd.DataFrame
    test: pd.DataFrame
    prompts: pd.DataFrame | None


def read_competition_dir(path: PathLike) -> Competition:
    """Read a folder in Kaggle's layout (or its parent holding ``llm-detect-ai-generated-text/``).

    A missing ``train_essays.csv`` gives an empty train frame (the kit can train on external files alone); a
    missing ``test_essays.csv`` is an error because there would be nothing to predict.
    """
    root = _resolve_competition_dir(Path(path))
    test = _read_test(root / TEST_FILE)
    train_path = root / TRAIN_FILE
    if train_path.exists():
        train = _read_competition_train(train_path)
    else:
        log.warning("%s not found: the competition contributes no training rows", train_path)
        train = _empty_frame(TRAIN_COLUMNS).astype({"generated": np.int8})
    prompts_path = root / PROMPTS_FILE
    prompts = _read_csv(prompts_path, PROMPT_COLUMNS, "competition train_prompts") if prompts_path.exists() else None
    log.info("competition %s: %d train rows, %d test rows", root, len(train), len(test))
    return Competition(path=root, train=train, test=test, prompts=prompts)


def _resolve_competition_dir(path: Path) -> Path:
    if not path.is_dir():
        raise DataError(
            f"{path}: competition folder not found (column: -, row: -). "
            f"Fix: pass the folder that contains {TEST_FILE} (on Kaggle: /kaggle/input/{COMPETITION_SLUG})."
        )
    if not (path / TEST_FILE).exists() and (path / COMPETITION_SLUG / TEST_FILE).exists():
        return path / COMPETITION_SLUG
    if not (path / TEST_FILE).exists():
        found = sorted(p.name for p in path.iterdir())[:20]
        raise DataError(
            f"{path / TEST_FILE}: file not found (column: -, row: -); the folder holds {found}. "
            f"Fix: pass the competition folder, which must contain {TEST_FILE} with columns {','.join(TEST_COLUMNS)}."
        )
    return path


def _read_test(path: Path) -> pd.DataFrame:
    test = _read_csv(path, TEST_COLUMNS, "competition test_essays")
    if len(test) == 0:
        raise DataError(
            f"{path}: column 'text', row 1 (CSV line 2): the file has a header but no essays. "
            "Fix: test_essays.csv needs at least one row (id,prompt_id,text)."
        )
    _check_texts(path, test, "text")
    _check_ids(path, test, "id")
    return test


def _read_competition_train(path: Path) -> pd.DataFrame:
    train = _read_csv(path, TRAIN_COLUMNS, "competition train_essays")
    _check_texts(path, train, "text")
    return train.assign(generated=_parse_labels(path, train, "generated"))


# ---- training files ----------------------------------------------------------------------------------------


def read_training_file(path: PathLike, prompts: pd.DataFrame | Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read one training CSV into the canonical columns ``text,label,prompt_name,source,file`` (+ its extras).

    The layout is recognised from the header: DAIGT-v2 (``text,label,...``) or the competition's train layout
    (``id,prompt_id,text,generated``), whose prompt names come from ``prompts`` (a ``train_prompts`` frame or a
    ``{prompt_id: name}`` mapping) or default to ``"prompt <id>"``. A header-only file gives 0 rows (whether
    there is enough to train on is :func:`check_trainable`'s decision, made over all files together).
    """
    path = Path(path)
    frame = _read_csv(path, (), "training file")
    if "generated" in frame.columns and "label" not in frame.columns:
        _require_columns(path, frame, TRAIN_COLUMNS, COMPETITION_TRAIN_LAYOUT, DAIGT_LAYOUT)
        canonical = _canonical_from_competition(path, frame, path.name, prompts)
    else:
        _require_columns(path, frame, DAIGT_REQUIRED, DAIGT_LAYOUT, COMPETITION_TRAIN_LAYOUT)
        canonical = _canonical_from_daigt(path, frame)
    if len(canonical) == 0:
        log.warning("%s has a header but no rows", path)
    return canonical


def read_training_files(
    paths: PathLike | Iterable[PathLike],
    dedupe: bool = True,
    prompts: pd.DataFrame | Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read several training files into one canonical frame, dropping repeated texts (first occurrence wins).

    Public training sets copy each other's essays; a text that is in the training data twice gets twice the
    weight and, across a validation split, leaks. Exact text equality is the criterion.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    frames = [read_training_file(p, prompts=prompts) for p in paths]
    if not frames:
        return _empty_canonical()
    combined = pd.concat(frames, ignore_index=True)
    return drop_duplicate_texts(combined) if dedupe else combined


def drop_duplicate_texts(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the first row of every distinct ``text``; log how many rows went, across files and with label clashes."""
    duplicated = frame["text"].duplicated(keep="first")
    n_dropped = int(duplicated.sum())
    if n_dropped == 0:
        return frame.reset_index(drop=True)
    first = frame.groupby("text", sort=False)[["file", "label"]].transform("first")
    across = int((duplicated & (first["file"] != frame["file"])).sum())
    clashes = int((duplicated & (first["label"] != frame["label"])).sum())
    log.info(
        "dropped %d duplicate training texts of %d (%d repeat a text of an earlier file; %d had the other label)",
        n_dropped, len(frame), across, clashes,
    )
    return frame.loc[~duplicated].reset_index(drop=True)


def competition_training_rows(comp: Competition) -> pd.DataFrame:
    """The competition's own train essays in the canonical layout (0 rows is a valid answer)."""
    return _canonical_from_competition(comp.path / TRAIN_FILE, comp.train, TRAIN_FILE, comp.prompts)


def check_trainable(frame: pd.DataFrame) -> pd.DataFrame:
    """Raise unless ``frame`` has rows of both labels; returns it unchanged so calls can be chained.

    A classifier fitted on one class fails deep inside scikit-learn or LightGBM with a message about arrays;
    this check says which files were read and what is missing instead.
    """
    files = sorted(frame["file"].astype(str).unique()) if "file" in frame.columns and len(frame) else []
    where = f"training data from {files}" if files else "training data (no files with rows)"
    if len(frame) == 0:
        raise DataError(
            f"{where}: column 'label', rows: none: there are no training rows. "
            "Fix: pass training files with essays (e.g. data/sample/daigt-external/train.csv) or a competition "
            "folder whose train_essays.csv has rows."
        )
    counts = frame["label"].value_counts()
    missing = [label for label in (0, 1) if counts.get(label, 0) == 0]
    if missing:
        kind = {0: "human-written (label 0)", 1: "machine-generated (label 1)"}[missing[0]]
        present = 1 - missing[0]
        raise DataError(
            f"{where}: column 'label', all {len(frame)} rows have label {present}; there are no {kind} essays. "
            f"Fix: add a training file with {kind} essays."
        )
    return frame


def sample_rows(frame: pd.DataFrame, n: int, seed: int, label_column: str = "label") -> pd.DataFrame:
    """A seeded sample of ``n`` rows with the label proportions of ``frame`` (``n <= 0`` or ``n >= len``: all rows).

    Rows keep their original order, so capping a training set does not reshuffle it.
    """
    labels = frame[label_column].to_numpy()
    return frame.iloc[stratified_sample(labels, np.zeros(len(frame), dtype=int), n, seed)].reset_index(drop=True)


def proportional_quotas(counts: np.ndarray, n: int) -> np.ndarray:
    """Largest-remainder allocation of ``n`` over ``counts``; every present class keeps at least one row."""
    exact = counts / counts.sum() * n
    quotas = np.floor(exact).astype(int)
    quotas = np.maximum(quotas, np.minimum(1, counts))
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    i = 0
    while quotas.sum() < n:
        k = order[i % len(order)]
        if quotas[k] < counts[k]:
            quotas[k] += 1
        i += 1
    while quotas.sum() > n:
        k = int(np.argmax(quotas))
        quotas[k] -= 1
    return quotas


def stratified_sample(y: np.ndarray, groups: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded sample of ``size`` rows keeping each (group, label) cell's share (all rows
    when there are fewer); every cell keeps at least one row (:func:`daigt.data.proportional_quotas`)."""
    y, groups = np.asarray(y), np.asarray(groups)
    if size <= 0 or size >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    cells = [rows for _, rows in sorted(pd.Series(np.arange(len(y))).groupby([groups, y]).indices.items(),
                                        key=lambda kv: str(kv[0]))]
    take = proportional_quotas(np.array([len(rows) for rows in cells]), size)
    picked = [rng.choice(rows, size=n, replace=False) for rows, n in zip(cells, take)]
    return np.sort(np.concatenate(picked))


def _canonical_from_daigt(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    _check_texts(path, frame, "text")
    labels = _parse_labels(path, frame, "label")
    columns = {
        "text": frame["text"],
        "label": labels,
        "prompt_name": _optional_column(path, frame, "prompt_name"),
        "source": _optional_column(path, frame, "source"),
        "file": path.name,
    }
    extras = frame.drop(columns=[c for c in (*DAIGT_COLUMNS, "file") if c in frame.columns])
    return _assemble(columns, extras, len(frame))


def _canonical_from_competition(
    path: Path, frame: pd.DataFrame, file_name: str, prompts: pd.DataFrame | Mapping[str, str] | None
) -> pd.DataFrame:
    _check_texts(path, frame, "text")
    labels = frame["generated"] if frame["generated"].dtype == np.int8 else _parse_labels(path, frame, "generated")
    names = _prompt_names(prompts)
    prompt_ids = frame["prompt_id"].astype(str).str.strip()
    prompt_name = prompt_ids.map(lambda pid: names.get(pid, f"prompt {pid}"))
    if "source" in frame.columns:
        source = frame["source"]
    else:
        source = pd.Series(np.where(labels.to_numpy() == 1, "competition-generated", "human"), index=frame.index)
    columns = {"text": frame["text"], "label": labels, "prompt_name": prompt_name, "source": source, "file": file_name}
    extras = frame.drop(columns=[c for c in ("text", "generated", "prompt_name", "source", "file") if c in frame.columns])
    return _assemble(columns, extras, len(frame))


def _assemble(columns: dict[str, object], extras: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    index = pd.RangeIndex(n_rows)
    out = pd.DataFrame({
        "text": _as_str(columns["text"], index),
        "label": pd.Series(np.asarray(columns["label"], dtype=np.int8), index=index),
        "prompt_name": _as_str(columns["prompt_name"], index),
        "source": _as_str(columns["source"], index),
        "file": _as_str(columns["file"], index),
    })
    if extras.shape[1]:
        out = pd.concat([out, extras.reset_index(drop=True)], axis=1)
    return out


def _as_str(values: object, index: pd.RangeIndex) -> pd.Series:
    if isinstance(values, pd.Series):
        return pd.Series(values.to_numpy(), index=index).astype(str)
    return pd.Series([values] * len(index), index=index, dtype=object).astype(str)


def _optional_column(path: Path, frame: pd.DataFrame, column: str) -> pd.Series | str:
    if column in frame.columns:
        return frame[column]
    log.warning("%s has no %r column; using 'unknown'", path, column)
    return "unknown"


def _prompt_names(prompts: pd.DataFrame | Mapping[str, str] | None) -> dict[str, str]:
    if prompts is None:
        return {}
    if isinstance(prompts, pd.DataFrame):
        return dict(zip(prompts["prompt_id"].astype(str).str.strip(), prompts["prompt_name"].astype(str)))
    return {str(k).strip(): str(v) for k, v in prompts.items()}


def _empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=str) for c in columns})


def _empty_canonical() -> pd.DataFrame:
    return _assemble({"text": "", "label": [], "prompt_name": "", "source": "", "file": ""}, pd.DataFrame(), 0)


# ---- CSV reading and checks --------------------------------------------------------------------------------


def _read_csv(path: Path, required: Sequence[str], what: str) -> pd.DataFrame:
    noun = what if what.endswith("file") else f"{what} file"
    if path.is_dir():
        raise DataError(
            f"{path}: is a directory, not a CSV file (column: -, row: -). Fix: pass the {noun} itself, e.g. "
            f"{path / '*.csv'} for every CSV in it."
        )
    if not path.is_file():
        raise DataError(f"{path}: file not found (column: -, row: -). Fix: check the path of the {noun}.")
    if path.stat().st_size == 0:
        raise DataError(
            f"{path}: column: all, row 1 (CSV line 1): the file is empty (0 bytes). "
            f"Fix: write the {noun} again with a header line and its rows."
        )
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8", engine="c")
    except UnicodeDecodeError:
        raise _non_utf8_error(path) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: column: all, row 1 (CSV line 1): the file holds no header and no rows. "
            f"Fix: write the {noun} again with a header line and its rows."
        ) from None
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{path}: column: unknown, {str(exc).strip()} (row numbers are CSV lines). Fix: quote every field that "
            "contains commas, quotes or line breaks (re-save it with pandas.DataFrame.to_csv or another CSV writer)."
        ) from None
    if not isinstance(frame.index, pd.RangeIndex):
        raise _shifted_columns_error(path, frame)
    frame.columns = [str(c).strip() for c in frame.columns]
    if required:
        _require_columns(path, frame, required, f"{what} layout ({','.join(required)})")
    return frame


def _shifted_columns_error(path: Path, frame: pd.DataFrame) -> DataError:
    """pandas reads a first data row with more fields than the header as "the leading fields are an index" and
    shifts every column left, which would otherwise surface as a wrong value in every row."""
    n_extra = frame.index.nlevels
    lines = _record_start_lines(path, 1)
    line = f"CSV line {lines[0]}" if lines else "CSV line 2"
    return DataError(
        f"{path}: row 1 ({line}), all columns: the row has {len(frame.columns) + n_extra} fields but the header "
        f"has {len(frame.columns)} ({','.join(map(str, frame.columns))}), so every column would be shifted. "
        "Fix: quote the fields that contain commas (e.g. \"Hello, world\") or remove the extra separators."
    )


def _require_columns(path: Path, frame: pd.DataFrame, required: Sequence[str], layout: str, other: str = "") -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        alternative = f" (or the {other})" if other else ""
        raise DataError(
            f"{path}: column {', '.join(repr(c) for c in missing)} missing, header row (CSV line 1): found columns "
            f"{list(frame.columns)}; expected the {layout}{alternative}. "
            f"Fix: rename or add the column(s) {missing} in the header."
        )


def _check_texts(path: Path, frame: pd.DataFrame, column: str) -> None:
    values = frame[column].fillna("").astype(str)
    bad = np.flatnonzero(values.str.strip().eq("").to_numpy())
    if len(bad):
        raise DataError(
            f"{path}: column {column!r}, {_describe_rows(path, frame, bad)}: the text is missing, empty or only "
            "whitespace. Fix: fill in the essay text or delete the row."
        )


def _parse_labels(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    raw = frame[column].fillna("").astype(str).str.strip()
    values = pd.to_numeric(raw, errors="coerce")
    bad = np.flatnonzero((~values.isin([0, 1])).to_numpy())
    if len(bad):
        raise DataError(
            f"{path}: column {column!r}, {_describe_rows(path, frame, bad)}: label must be 0 (human) or 1 "
            f"(machine), found {_quote_values(frame[column], bad)}. Fix: write 0 or 1 (0.0/1.0 also accepted) "
            "in every row."
        )
    return values.astype(np.int8)


def _check_ids(path: Path, frame: pd.DataFrame, column: str) -> None:
    ids = frame[column].fillna("").astype(str)
    empty = np.flatnonzero(ids.str.strip().eq("").to_numpy())
    if len(empty):
        raise DataError(
            f"{path}: column {column!r}, {_describe_rows(path, frame, empty)}: the id is empty. "
            "Fix: give every essay a unique id."
        )
    duplicated = np.flatnonzero(ids.duplicated(keep=False).to_numpy())
    if len(duplicated):
        raise DataError(
            f"{path}: column {column!r}, {_describe_rows(path, frame, duplicated)}: duplicate ids "
            f"{sorted(set(ids.iloc[duplicated]))[:_MAX_LISTED]}. Fix: give every essay a unique id (a submission "
            "needs exactly one prediction per id)."
        )


def _quote_values(values: pd.Series, positions: np.ndarray) -> str:
    shown = [repr(str(v)[:20]) for v in values.iloc[positions[:_MAX_LISTED]]]
    return ", ".join(shown) + (" ..." if len(positions) > _MAX_LISTED else "")


def _describe_rows(path: Path, frame: pd.DataFrame, positions: np.ndarray) -> str:
    """"row 3 (CSV line 4, id 'ab12')" for the first few bad rows; rows are 1-based data rows, header excluded."""
    shown = [int(p) for p in positions[:_MAX_LISTED]]
    lines = _record_start_lines(path, max(shown) + 1)
    parts = []
    for p in shown:
        where = [f"CSV line {lines[p]}"] if p < len(lines) else []
        if "id" in frame.columns:
            where.append(f"id {str(frame['id'].iloc[p])!r}")
        parts.append(f"row {p + 1}" + (f" ({', '.join(where)})" if where else ""))
    if len(positions) == 1:
        return parts[0]
    more = f" and {len(positions) - len(shown)} more" if len(positions) > len(shown) else ""
    return f"{len(positions)} rows: " + ", ".join(parts) + more


def _record_start_lines(path: Path, n_records: int) -> list[int]:
    """1-based file line on which each of the first ``n_records`` data rows starts (quoted fields span lines)."""
    if not path.is_file():
        return []
    starts: list[int] = []
    with path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        previous = 0
        header_seen = False
        for record in reader:
            start = previous + 1
            previous = reader.line_num
            if not record:
                continue  # pandas skips blank lines
            if not header_seen:
                header_seen = True
                continue
            starts.append(start)
            if len(starts) >= n_records:
                break
    return starts


def _non_utf8_error(path: Path) -> DataError:
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        return DataError(f"{path}: column: unknown, row: unknown: not readable as UTF-8. Fix: re-save the file as UTF-8.")
    except UnicodeDecodeError as exc:
        offset, bad = exc.start, raw[exc.start:exc.end]
    line = raw.count(b"\n", 0, offset) + 1
    row, column = _locate_undecodable(raw)
    guess, source_encoding = "", "cp1252"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        source_encoding = "utf-16"
        guess = " The file starts with a UTF-16 byte-order mark (saved as 'Unicode text')."
    else:
        try:
            raw.decode("cp1252")
            guess = " It decodes as Windows-1252/Latin-1, so it was probably saved in that encoding."
        except UnicodeDecodeError:
            pass
    where = f"row {row} (bad byte on CSV line {line})" if row else f"header row (CSV line {line})"
    return DataError(
        f"{path}: column {column!r}, {where}: byte {bad!r} at byte offset {offset} is not valid UTF-8.{guess} "
        f"Fix: re-save the file as UTF-8 (e.g. `iconv -f {source_encoding} -t utf-8 in.csv > out.csv`, or "
        f"pandas.read_csv(..., encoding='{source_encoding}').to_csv(..., index=False))."
    )


_SURROGATE = re.compile("[\udc80-\udcff]")


def _locate_undecodable(raw: bytes) -> tuple[int, str]:
    """(1-based data row or 0 for the header, column name) of the first field holding a non-UTF-8 byte."""
    text = raw.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] = []
    row = 0
    for record in reader:
        if not record:
            continue
        for index, field in enumerate(record):
            if _SURROGATE.search(field):
                if not header:
                    return 0, field.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
                return row + 1, header[index] if index < len(header) else f"#{index + 1}"
        if not header:
            header = [h.strip() for h in record]
        else:
            row += 1
    return 0, "unknown"


# ---- text normalisation ------------------------------------------------------------------------------------

_TOKEN = r"@[A-Z]+(?:\d+|(?![A-Za-z]))"
ANONYMISATION_RE = re.compile(rf"[ \t]*{_TOKEN}(?:[ \t]+{_TOKEN})*[ \t]*")
"""ASAP anonymisation tokens (``@CAPS1``, ``@PERSON2``, ``@NUM1``, ``@LOCATION1``), runs of them, and the blanks
around them. ``@Darryl`` (a handle) is not a token: letters after the capitals must be followed by a digit or end."""


def normalize_nfc(text: str) -> str:
    """Unicode NFC: a composed ``é`` and ``e`` + combining accent become the same characters (and tokens)."""
    return unicodedata.normalize("NFC", text)


def strip_anonymisation_tokens(text: str) -> str:
    """Remove ASAP anonymisation tokens, leaving one space where a token stood between two words.

    The tokens occur only in human essays of ASAP-derived sets, so a model learns "@CAPS1 means human", a
    shortcut that does not exist in the competition's test set.
    """
    if "@" not in text:
        return text
    return ANONYMISATION_RE.sub(_token_replacement, text)


def _token_replacement(match: re.Match[str]) -> str:
    found = match.group()
    return " " if found[:1] in " \t" and found[-1:] in " \t" else ""


def normalize_text(text: str, nfc: bool = True, strip_anonymisation: bool = True) -> str:
    """Apply the enabled normalisations in a fixed order (NFC first, so tokens are matched on NFC text)."""
    if nfc:
        text = normalize_nfc(text)
    if strip_anonymisation:
        text = strip_anonymisation_tokens(text)
    return text


def normalize_texts(texts: Iterable[str], nfc: bool = True, strip_anonymisation: bool = True) -> list[str]:
    return [normalize_text(t, nfc=nfc, strip_anonymisation=strip_anonymisation) for t in _as_text_list(texts)]


def character_vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """Every character occurring in ``texts``."""
    seen: set[str] = set()
    for text in texts:
        seen.update(text)
    return frozenset(seen)


def drop_unseen_characters(texts: Iterable[str], vocabulary: frozenset[str] | set[str], replacement: str = "") -> list[str]:
    """Replace (by default: delete) every character that is not in ``vocabulary``."""
    texts = _as_text_list(texts)
    unseen = character_vocabulary(texts) - set(vocabulary)
    if not unseen:
        return list(texts)
    table = {ord(c): replacement for c in sorted(unseen)}
    return [t.translate(table) for t in texts]


class TextNormalizer(TransformerMixin, BaseEstimator):
    """Stateless text clean-up as a scikit-learn transformer (``fit`` learns nothing; ``transform`` maps str -> str).

    Parameters
    ----------
    nfc : bool
        Unicode NFC normalisation.
    strip_anonymisation : bool
        Remove ASAP anonymisation tokens such as ``@CAPS1``.
    """

    def __init__(self, nfc: bool = DataConfig.nfc, strip_anonymisation: bool = DataConfig.strip_anonymisation) -> None:
        self.nfc = nfc
        self.strip_anonymisation = strip_anonymisation

    @classmethod
    def from_config(cls, config: DataConfig) -> TextNormalizer:
        return cls(nfc=config.nfc, strip_anonymisation=config.strip_anonymisation)

    def fit(self, X: Iterable[str], y: object = None) -> TextNormalizer:
        return self

    def transform(self, X: Iterable[str]) -> list[str]:
        return normalize_texts(X, nfc=self.nfc, strip_anonymisation=self.strip_anonymisation)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags

    def _more_tags(self) -> dict[str, bool]:  # scikit-learn < 1.6
        return {"requires_fit": False, "stateless": True}


class UnseenCharacterFilter(TransformerMixin, BaseEstimator):
    """Drop characters that never occur in the reference (training) texts.

    The hidden test essays carry character-level obfuscation (odd symbols, foreign letters) that the training
    essays lack; such characters only create n-grams no training essay has. Fit on the training texts,
    transform the test texts.

    Parameters
    ----------
    replacement : str
        What an unseen character becomes (default: nothing).

    Attributes
    ----------
    vocabulary_ : frozenset of str
        Characters seen during ``fit``.
    """

    def __init__(self, replacement: str = "") -> None:
        self.replacement = replacement

    def fit(self, X: Iterable[str], y: object = None) -> UnseenCharacterFilter:
        self.vocabulary_ = character_vocabulary(_as_text_list(X))
        return self

    def transform(self, X: Iterable[str]) -> list[str]:
        if not hasattr(self, "vocabulary_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("UnseenCharacterFilter is not fitted: call fit(reference_texts) first.")
        return drop_unseen_characters(X, self.vocabulary_, self.replacement)


def _as_text_list(texts: Iterable[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of texts, got a single str; wrap it in a list")
    items = texts.tolist() if isinstance(texts, (pd.Series, np.ndarray)) else list(texts)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"text {i} is {type(item).__name__}, expected str (fill or drop missing texts first)")
    return items
