"""Wall-clock timing for the report scripts (asv_bench/report.py, weighted_report.py): the one best-of-repeats
timer, so that every ratio in the reports is measured the same way."""
import time


def best_time(func, repeat=5, number=None):
    """Best wall time per call (seconds), auto-scaling the inner loop to ~20 ms."""
    if number is None:
        number, elapsed = 1, 0.0
        while True:
            start = time.perf_counter()
            for _ in range(number):
                func()
            elapsed = time.perf_counter() - start
            if elapsed > 0.02 or number > 10_000:
                break
            number *= 4
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        times.append((time.perf_counter() - start) / number)
    return min(times)
