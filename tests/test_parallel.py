import threading
import time

import pytest

from daigt.parallel import available_cores, ordered_map, thread_count


def test_ordered_map_keeps_input_order_and_bounds_the_work_in_flight():
    started, running, peak = [], [0], [0]
    lock = threading.Lock()

    def work(i):
        with lock:
            started.append(i)
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.002 * (5 - i % 5))  # later items finish first
        with lock:
            running[0] -= 1
        return i * i

    results = ordered_map(work, range(30), threads=3)
    first = next(results)
    assert first == 0 and len(started) <= 4  # 3 threads + 1 queued, not all 30 submitted at once
    assert [first, *results] == [i * i for i in range(30)]
    assert peak[0] <= 3


def test_single_thread_is_plain_map():
    assert list(ordered_map(str, [3, 1, 2], threads=1)) == ["3", "1", "2"]


@pytest.mark.parametrize("n_jobs, expected", [(None, 1), (1, 1), (3, 3)])
def test_thread_count(n_jobs, expected):
    assert thread_count(n_jobs) == expected
    assert thread_count(-1) == available_cores() >= 1


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_n_jobs_is_named(bad):
    with pytest.raises(ValueError, match="n_jobs"):
        thread_count(bad)
