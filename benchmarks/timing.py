"""The timing loop the benchmarks share: each case warmed up once, then the cases alternated for `repeats` rounds so
that machine load hits them alike; the median seconds of each."""
import statistics, time


def alternated_medians(cases: dict, repeats: int) -> dict:
    "Median seconds of each callable in `cases` (name -> function of no arguments), measured in alternation."
    for run in cases.values(): run()  # warm up
    times = {k: [] for k in cases}
    for _ in range(repeats):
        for k, run in cases.items():
            t0 = time.perf_counter(); run(); times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}
