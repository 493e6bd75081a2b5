"""Interleaved timing: the one harness every example and benchmark uses.

Candidates are timed in rounds; each round runs every candidate once (in a rotating order), so
a slow moment of the machine (another process, frequency change) hits all of them alike rather
than one. Each figure is the median over rounds of the per-call time, with the spread given as
the interquartile range. Ratios are of medians.
"""
import statistics
import time


class Stats:
    def __init__(self, samples):
        samples = sorted(samples)
        self.samples = samples
        self.median = statistics.median(samples)
        q = statistics.quantiles(samples, n=4) if len(samples) >= 2 else [samples[0]] * 3
        self.q1, self.q3 = q[0], q[2]

    def spread(self):
        """Interquartile range as a fraction of the median."""
        return (self.q3 - self.q1) / self.median if self.median else 0.0


def _calibrate(func, target_s):
    """How many calls make one timed sample last about target_s.

    The first call is made before anything is timed: it can pay one-off costs (first touch of an
    output's pages — tens of ms when the kernel compacts memory for a huge page — FFT planning,
    lazy imports). Calibrating on it once gave a 270 µs call a sample size of 1, so every sample
    of that candidate was a single call on a cold cache, 2x slower than its real speed
    (bench_array's 1e6 out= row, in about one process in three)."""
    func()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= target_s / 4 or number >= 1 << 24:
            return max(1, int(number * target_s / max(elapsed, 1e-9)))
        number *= 4


def compare(candidates, rounds=15, target_s=0.02):
    """Time each zero-argument callable in `candidates` (name -> func); return name -> Stats of
    seconds per call."""
    numbers = {name: _calibrate(func, target_s) for name, func in candidates.items()}
    samples = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            func, number = candidates[name], numbers[name]
            start = time.perf_counter()
            for _ in range(number):
                func()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: Stats(s) for name, s in samples.items()}


def fmt_time(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:7.2f} {unit}"
    return f"{seconds / 1e-9:7.2f} ns"


def report(title, stats, baseline=None, nbytes=None):
    """Print one table: median per call, spread, optional throughput, and ratio to baseline."""
    print(f"\n{title}")
    base = stats[baseline].median if baseline else None
    for name, st in stats.items():
        line = f"  {name:<28} {fmt_time(st.median)}  ±{st.spread() * 100:4.1f}% IQR"
        if nbytes:
            line += f"  {nbytes / st.median / 1e9:8.2f} GB/s"
        if base:
            line += f"  {base / st.median:8.2f}x vs {baseline}"
        print(line)
