from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def sample_competition() -> Path:
    return SAMPLE / "llm-detect-ai-generated-text"


@pytest.fixture
def sample_train() -> Path:
    return SAMPLE / "daigt-external" / "train.csv"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not present (CI and developer machines have it)")
    return SHARED_DATA
