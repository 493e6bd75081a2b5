"""The GIL is released during a large scan, and two threads scan at the same time.

A witness thread timestamps itself in a loop; a tick that falls in the middle half of a scan
can only happen if the scan let go of the GIL (at a call's edges the interpreter may switch
threads, hence the margins). `_sum_holding_gil` is the same scan without the release: the
control that shows the measure can tell the two apart."""
import threading
import time

import course05

DATA = memoryview(bytes(range(256)) * (1 << 18))[::2]  # 32 Mi items, strided: ~100 ms a scan
EXPECTED = sum(DATA.tobytes())


def mid_windows(func, rounds=3):
    windows = []
    for _ in range(rounds):
        start = time.perf_counter()
        assert func(DATA) == EXPECTED
        end = time.perf_counter()
        windows.append((start + (end - start) / 4, end - (end - start) / 4))
    return windows


def witness_ticks_inside_scans(func):
    ticks = []
    stop = threading.Event()

    def witness():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0)

    t = threading.Thread(target=witness)
    t.start()
    try:
        windows = mid_windows(func)
    finally:
        stop.set()
        t.join()
    return sum(1 for tick in ticks for lo, hi in windows if lo < tick < hi)


def test_gil_is_released_during_a_large_scan():
    assert witness_ticks_inside_scans(course05.fast_sum) > 0


def test_control_no_other_thread_runs_while_the_gil_is_held():
    assert witness_ticks_inside_scans(course05._sum_holding_gil) == 0


def scans_ended_inside_other_scans(func):
    """One thread runs long scans; a second runs shorter scans in a loop and timestamps the end
    of each. An end in the middle of a long scan means the two scans overlapped in time: the
    short one was running up to that moment, and the long one was under way around it. Holding
    the GIL, the second thread can neither scan nor take a timestamp while the first scans."""
    short = DATA[: 4 << 20]  # above the release threshold, ~1/8 of a long scan
    short_sum = sum(short.tobytes())
    ends = []
    stop = threading.Event()

    def second_scanner():
        while not stop.is_set():
            assert func(short) == short_sum
            ends.append(time.perf_counter())

    t = threading.Thread(target=second_scanner)
    t.start()
    try:
        windows = mid_windows(func)
    finally:
        stop.set()
        t.join()
    return sum(1 for end in ends for lo, hi in windows if lo < end < hi)


def test_two_threads_scan_at_the_same_time():
    assert scans_ended_inside_other_scans(course05.fast_sum) > 0


def test_control_scans_holding_the_gil_take_turns():
    assert scans_ended_inside_other_scans(course05._sum_holding_gil) == 0


def test_small_scans_keep_the_gil_and_give_the_same_answer():
    for n in [0, 1, (1 << 16) - 1, 1 << 16]:
        data = bytes(range(256)) * (n // 256) + bytes(n % 256)
        assert course05.fast_sum(data) == course05._sum_holding_gil(data) == sum(data)
