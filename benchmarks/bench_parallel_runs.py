"""Two molap runs side by side on one machine: wall-clock of two at once against one alone (ratio; 2 cores).

Run: python benchmarks/bench_parallel_runs.py [--quick] [--threads N]

Each run is `molap reproduce` on a shortened quick profile (so the measurement takes minutes, not the quick profile's
full length; the per-step work is the quick profile's). With one torch thread per process (molap's default) two runs
on two cores should take about as long as one; with more threads than cores they fight over them.
"""
import argparse, subprocess, tempfile, time

SHORT = ["--pretrain-steps", "40", "--molap-steps", "60", "--separate-steps", "60", "--joint-steps", "120"]


def start(out, threads):
    return subprocess.Popen(["molap", "reproduce", "--profile", "quick", "--out", out, "--threads", str(threads), *SHORT],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(n, threads):
    "Seconds until `n` runs started at once have all finished."
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        procs = [start(f"{d}/run{k}", threads) for k in range(n)]
        codes = [p.wait() for p in procs]
        assert codes == [0] * n, codes
        return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run (molap's default: 1)")
    args = ap.parse_args(argv)
    one = timed(1, args.threads)
    two = timed(2, args.threads)
    print(f"threads per run {args.threads}: one run {one:.0f} s, two at once {two:.0f} s, ratio two/one {two / one:.2f}")


if __name__ == "__main__":
    main()
