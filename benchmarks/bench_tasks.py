"""Trial generation speed: `molap.tasks.make_batch` against neurogym 2.3.1's `Dataset` on its `yang19` tasks.

Both generate batches of 64 trials at dt = 20 ms with sequences of the same mean length (neurogym's fixed
`seq_len` is set to the mean length of the batches molap draws in the run). neurogym's `Dataset` fills a cache of trials and slices batches from it, so each measurement times a
block of consecutive batches and divides by their number; blocks of the two generators alternate, and the reported
figure is the median over blocks of the per-batch time ratio (neurogym / molap). Target: at least 20x.
neurogym generates whole trials and cuts them at `seq_len`, so its cost follows the number of trials it starts per
sequence: a `seq_len` just above one of its trial lengths costs it two trials. The table prints the lengths used.

    OMP_NUM_THREADS=1 python benchmarks/bench_tasks.py [--quick]

neurogym is a benchmark-only dependency: `pip install -e ".[bench]"`. Its tasks are not faithful copies of the
reference tasks (different epochs and encodings); it serves here as a speed peer, not as a reference.
"""
import argparse, statistics, sys, time, warnings

import torch
from molap.tasks import TASK_NAMES, make_batch

# molap task -> the corresponding neurogym yang19 environment
PEERS = {"DelayPro": "go", "DelayAnti": "anti", "MemPro": "dlygo", "MemAnti": "dlyanti", "MemDm1": "dlydm1",
         "MemDm2": "dlydm2", "ContextMemDm1": "ctxdlydm1", "ContextMemDm2": "ctxdlydm2", "MultiMem": "multidlydm"}


def time_block(fn, n):
    "Seconds per call of `fn`, over a block of `n` calls."
    t0 = time.perf_counter()
    for _ in range(n): fn()
    return (time.perf_counter() - t0) / n


def bench_task(task, batch_size, blocks, per_block, seed=0):
    "Per-batch seconds of both generators, alternating blocks; returns (neurogym times, molap times)."
    import neurogym as ngym
    # neurogym fills sequences of a fixed length; give it the mean length of the batches molap draws below
    # (seeds 0, 1, 2, ...; a batch's length depends only on its seed), so both generate the same number of steps
    n_calls = 1 + blocks * per_block
    seq_len = round(statistics.fmean(int(make_batch(task, 1, seed=s).length[0]) for s in range(n_calls)))
    ds = ngym.Dataset(f"yang19.{PEERS[task]}-v0", env_kwargs={"dt": 20}, batch_size=batch_size, seq_len=seq_len)
    counter = iter(range(10**9))
    ours = lambda: make_batch(task, batch_size, seed=next(counter))
    ds(); ours()  # warm-up: imports, first allocations
    ng, mo = [], []
    for _ in range(blocks):
        ng.append(time_block(ds, per_block))
        mo.append(time_block(ours, per_block))
    return ng, mo, seq_len


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a few blocks of three tasks: a smoke run")
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    try: import neurogym  # noqa: F401
    except ImportError:
        sys.exit("neurogym is not installed: pip install -e '.[bench]'")
    tasks = TASK_NAMES[::4] if args.quick else TASK_NAMES
    blocks, per_block = (2, 3) if args.quick else (7, 20)
    ratios = []
    print(f"{'task':<15}{'steps':>6}{'neurogym ms':>13}{'molap ms':>11}{'ratio':>8}")
    for task in tasks:
        ng, mo, seq_len = bench_task(task, args.batch_size, blocks, per_block)
        r = [a / b for a, b in zip(ng, mo)]
        ratios += r
        print(f"{task:<15}{seq_len:>6}{statistics.median(ng) * 1e3:>13.2f}{statistics.median(mo) * 1e3:>11.3f}"
              f"{statistics.median(r):>7.1f}x")
    med = statistics.median(ratios)
    print(f"\nmedian ratio neurogym/molap over {len(ratios)} blocks: {med:.1f}x (target >= 20x), "
          f"batch {args.batch_size}, dt 20 ms, torch {torch.__version__}, 1 thread")
    return med


if __name__ == "__main__":
    main()
