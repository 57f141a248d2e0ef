# %% [markdown]
# # Core
#
# > The few helpers every other notebook shares: checking settings, writing files atomically, where shipped data lives, and how many threads torch uses.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/00_core.ipynb)

# %% [markdown]
# This is the plumbing page: nothing here is about MoLaP itself, and a reader who wants the science can skip to
# [the task corpus](tasks.html). It exists so that each of these jobs is done once, in one place, the same way for
# every experiment: a setting is checked with one message style, a result file is never left half-written, and
# every run chooses its thread count deliberately.

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp core

# %%
#| export
from __future__ import annotations
import json, math, numbers, os, tempfile
from pathlib import Path
import torch

# %%
#| hide
from fastcore.test import *


# %% [markdown]
# ## Checking settings
#
# A user's mistake (a batch size of 0, a learning rate of `nan`, a seed given as a NumPy integer) should give one
# line that says what was wrong and what is allowed, at the moment the setting is made, not a traceback from deep
# inside a run minutes later. Every dataclass and function of molap validates its numbers with these two helpers.

# %%
#| export
def check_int(name: str,         # the setting's name, for the message
              value,             # the value to check: a Python or NumPy integer (not a bool)
              minimum: int = 1,  # smallest allowed value
             ) -> int:
    "`value` as an `int` if it is an integer ≥ `minimum`, else a `ValueError` naming the setting."
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# %% [markdown]
# NumPy integers are accepted (they come out of `np.arange` and friends), booleans are not (`True` is an int in
# Python, but never a batch size anyone meant):

# %%
import numpy as np

# %%
check_int("steps", np.int64(250)), type(check_int("steps", np.int64(250)))

# %% [markdown]
# The checks: a seed may be 0 (it has `minimum=0`), a batch size may not; a float that happens to be whole is still not
# an integer, so `steps=2.0` is refused rather than silently truncated.

# %%
test_eq(check_int("seed", 0, minimum=0), 0)
test_fail(lambda: check_int("batch_size", 0), contains="batch_size must be an integer >= 1, got 0")
test_fail(lambda: check_int("steps", 2.0), contains="steps must be an integer")
test_fail(lambda: check_int("steps", True), contains="got True")


# %%
#| export
def check_float(name: str,                   # the setting's name, for the message
                value,                       # the value to check
                minimum: float | None = None,  # smallest allowed value (None: no bound)
                positive: bool = False,      # require value > 0
               ) -> float:
    "`value` as a finite `float` within bounds, else a `ValueError` naming the setting."
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0: raise ValueError(f"{name} must be > 0, got {value!r}")
    if minimum is not None and value < minimum: raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return float(value)


# %% [markdown]
# `nan` and `inf` are refused everywhere a number is checked: a `nan` learning rate would otherwise train quietly
# into a network of `nan`s.

# %%
test_eq(check_float("lr", 1e-3, positive=True), 1e-3)
test_fail(lambda: check_float("lr", float("nan"), positive=True), contains="lr must be a finite number")
test_fail(lambda: check_float("sigma_in", -0.1, minimum=0), contains="sigma_in must be >= 0")
test_fail(lambda: check_float("lr", 0, positive=True), contains="lr must be > 0")


# %% [markdown]
# ## Files that are whole or absent
#
# Results, checkpoints and figures are written to a temporary file next to their destination and moved into place
# only once complete (`os.replace` is atomic on one file system), so an interrupted run never leaves a truncated
# checkpoint that a later run would trust. The file gets the permissions any file the user writes would get
# (`0o666` minus the umask), not the owner-only mode of `tempfile.mkstemp`.

# %%
#| export
def _umask() -> int:
    mask = os.umask(0); os.umask(mask)
    return mask

def atomic_write(path,        # final location of the file
                 write,       # function that writes to a path it is given
                ) -> Path:
    "Write a file through `write(tmp_path)` and move it to `path` only once it is complete."
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp): os.remove(tmp)
    return path


# %%
d = Path(tempfile.mkdtemp())
atomic_write(d / "a.txt", lambda p: Path(p).write_text("whole"))
(d / "a.txt").read_text(), oct((d / "a.txt").stat().st_mode & 0o777)

# %% [markdown]
# The file has the user's usual permissions, and a writer that fails halfway leaves nothing behind, neither the
# destination nor the temporary file:

# %%
test_eq(oct((d / "a.txt").stat().st_mode & 0o777), oct(0o666 & ~_umask()))
def broken(p): open(p, "w").write("half"); raise RuntimeError("interrupted")
test_fail(lambda: atomic_write(d / "b.txt", broken), contains="interrupted")
test_eq(sorted(p.name for p in d.iterdir()), ["a.txt"])  # nothing half-written


# %% [markdown]
# An output folder is checked before any work starts, so that a typo in `--out` costs a second, not the run:

# %%
#| export
def check_out_dir(path) -> Path:
    "Create the output folder `path` if needed; a one-line `ValueError` if it is empty, a file or not writable."
    if path is None or not str(path).strip(): raise ValueError("the output folder is empty; give a folder name, e.g. --out molap-results")
    path = Path(path)
    if path.exists() and not path.is_dir(): raise ValueError(f"output folder {path} is a file; give a folder")
    try: path.mkdir(parents=True, exist_ok=True)
    except OSError as e: raise ValueError(f"cannot create output folder {path}: {e.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK): raise ValueError(f"output folder {path} is not writable")
    return path


# %%
check_out_dir(d / "new" / "folder")

# %% [markdown]
# A path that is an existing file is refused with a message that says so; a missing folder is simply created.

# %%
test_fail(lambda: check_out_dir(d / "a.txt"), contains="is a file")
test_fail(lambda: check_out_dir(""), contains="output folder is empty")  # "" would be the current folder
assert (d / "new" / "folder").is_dir()


# %% [markdown]
# Every weights file molap reads goes through one function. It loads with `weights_only=True` (a checkpoint is data,
# never code) and turns any failure into one line that names the file; PyTorch's own message would advise loading
# with `weights_only=False`, which runs whatever code the file holds, and that advice never reaches the user.

# %%
#| export
def load_weights(path,                    # a file written by `torch.save`
                 what: str = "checkpoint", # what the file should be, for the message
                ):
    "`torch.load(path, weights_only=True)` on the CPU; a one-line `ValueError` if the file cannot be read safely."
    path = Path(path)
    if not path.is_file(): raise FileNotFoundError(f"no {what} at {path}")
    try: return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # the message alone: torch's text advises an unsafe load
        raise ValueError(f"cannot read {what} {path}: corrupt, truncated, or not a weights-only PyTorch file "
                         f"({type(e).__name__})") from None


# %%
(d / "ok.pt").write_bytes(b""); torch.save({"w": torch.ones(2)}, d / "ok.pt")
load_weights(d / "ok.pt")

# %% [markdown]
# A file that is not a checkpoint, one that holds objects other than plain data, and a missing one each get one line:

# %%
(d / "bad.pt").write_bytes(b"not a checkpoint")
test_fail(lambda: load_weights(d / "bad.pt"), contains="cannot read checkpoint")
torch.save({"f": Path("x")}, d / "code.pt")  # an object that is not plain data
try: load_weights(d / "code.pt", "modules file")
except ValueError as e: msg = str(e)
assert "modules file" in msg and "weights_only=False" not in msg and "\n" not in msg, msg
test_fail(lambda: load_weights(d / "missing.pt"), contains="no checkpoint at")


# %% [markdown]
# A shipped number is only as good as the weights it was measured on. Results files that score shipped networks record
# a digest of each network's weights (of the tensors, not of the file: re-saving the same weights changes the file's
# bytes), and the tests recompute it against the networks that ship:

# %%
#| export
def weights_digest(model: torch.nn.Module) -> str:
    "A short digest (16 hex digits) of a model's state dict: names and tensor values."
    import hashlib
    h = hashlib.sha256()
    for k, v in model.state_dict().items(): h.update(k.encode()); h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# %%
a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
b.load_state_dict(a.state_dict())
test_eq(weights_digest(a), weights_digest(b))
with torch.no_grad(): b.bias[0] += 1e-6
test_ne(weights_digest(a), weights_digest(b))


# %% [markdown]
# A device is checked the same way: asking for CUDA on a machine without it fails at once, not after minutes of work.

# %%
#| export
def check_device(device=None,  # "cpu", "cuda", "cuda:1", a torch.device, or None (cuda if available, else cpu)
                ) -> str:
    "The device to run on, as a string; a one-line `ValueError` if it does not exist here."
    if device is None: return "cuda" if torch.cuda.is_available() else "cpu"
    try: d = torch.device(device)
    except (RuntimeError, TypeError): raise ValueError(f"unknown device {device!r}; use cpu or cuda") from None
    if d.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} asked for, but this torch has no CUDA device; use --device cpu")
    if d.type not in ("cpu", "cuda"): raise ValueError(f"device {str(device)!r} is not supported; use cpu or cuda")
    return str(d)


# %%
check_device(), check_device("cpu")

# %%
test_fail(lambda: check_device("gpu"), contains="unknown device 'gpu'")
if not torch.cuda.is_available(): test_fail(lambda: check_device("cuda"), contains="has no CUDA device")


# %% [markdown]
# ## Shipped data
#
# Results, trained weights and pre-trained modules of the full profile ship inside the package, in one folder:

# %%
#| export
def data_dir() -> Path:
    "The package data folder (`molap/data`): shipped results, checkpoints and pre-trained modules."
    from importlib import resources
    return Path(str(resources.files("molap"))) / "data"


# %%
sorted(p.name for p in data_dir().iterdir())

# %% [markdown]
# The folder is found through `importlib.resources`, so it is the same whether molap runs from a clone, an editable
# install or a wheel installed in Colab.

# %%
assert (data_dir() / "results").is_dir()


# %% [markdown]
# The numbers of a shipped run are one JSON file per profile, read with `load_results`:

# %%
#| export
def load_results(name: str = "full",  # a shipped results file, e.g. "full"
                ) -> dict:
    "A results file shipped with the package (`molap/data/results/<name>.json`)."
    p = data_dir() / "results" / f"{name}.json"
    if not p.exists():
        avail = sorted(q.stem for q in p.parent.glob("*.json")) if p.parent.exists() else []
        raise FileNotFoundError(f"no shipped results named {name!r}; available: {', '.join(avail) or 'none'}")
    return json.loads(p.read_text())


# %%
load_results("full")["profile"], sorted(load_results("full")["methods"])

# %%
test_fail(lambda: load_results("huge"), contains="no shipped results named 'huge'; available:")

# %% [markdown]
# ## Threads
#
# The networks here are small (64–256 units), and PyTorch's default of one thread per core works against them: two
# runs side by side with default threads were measured ≈ 30× slower each than one run alone, while one thread each
# costs about 5% against two threads for a single run (measured once on this project's two-core machine with
# `benchmarks/bench_parallel_runs.py`, which measures it on yours; the ratios depend on the machine). So every molap command runs one torch thread per process by
# default (`--threads` to change it), and the package's own parallel work uses processes, one thread each.
# `set_threads` also asks glibc's allocator to keep freed blocks for reuse (`keep_freed_memory`): a training step
# allocates several `[T, B, n]` tensors, and by default each one comes fresh from the kernel, page by page.

# %%
#| export
DEFAULT_THREADS = 1  # torch threads per process: small networks gain ≈5% from a second thread, and lose ≈30x when two processes share cores

def keep_freed_memory() -> bool:
    "Let glibc's malloc keep freed blocks up to 32 MiB for reuse; True where it applied (Linux with glibc)."
    # By default glibc hands large blocks straight back to the kernel, so every fresh [T, B, n] tensor of a training
    # step pays a page fault per 4 KiB page on first touch: ≈10% of the reference step. Speed only: values are unchanged.
    import ctypes, ctypes.util
    try: libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError: return False
    if not hasattr(libc, "mallopt"): return False  # not glibc (macOS, musl without it): nothing to tune
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3     # glibc's option numbers; 32 MiB is the largest mmap threshold it takes
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 256 << 20))

def set_threads(n: int | None = None,  # torch threads for this process (None: `DEFAULT_THREADS`)
               ) -> int:
    "Set torch's intra-op thread count for this process (and let it reuse freed memory: `keep_freed_memory`); return it."
    n = check_int("threads", DEFAULT_THREADS if n is None else n)
    torch.set_num_threads(n)
    keep_freed_memory()
    return n


# %% [markdown]
# Setting the thread count is one call; a count below 1 is a user's mistake and gets the usual one-line error.

# %%
before = torch.get_num_threads()
set_threads(1), torch.get_num_threads()

# %%
test_eq(torch.get_num_threads(), 1)
test_fail(lambda: set_threads(0), contains="threads must be an integer >= 1")
torch.set_num_threads(before)
