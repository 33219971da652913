"""cnnblocks against PyTorch (CPU, NCHW and channels_last), same process, same thread count.

Usage::

    python -m benchmarks.run                  # full workloads a-g, 1 and 2 threads, RESULTS.md
    python -m benchmarks.run --quick          # shapes / 4: a minute, for development
    python -m benchmarks.run --tiny --rounds 1 --no-probe   # smoke run (the tests use it)
    python -m benchmarks.run --only vgg --threads 2

Method. Every workload runs forward, and forward + backward (the training path: max pooling saves
its argmax indices). Each implementation is timed in blocks of back-to-back calls, the blocks of
all implementations taken in rotating order (so drifting machine load hits all alike, while no
call is timed in the wake of another library's still-spinning threads), and the median is
reported. PyTorch runs with
``THP_MEM_ALLOC_ENABLE=1`` (huge pages for its fresh outputs, its best case on this machine);
NumPy asks for huge pages itself. GB/s counts the bytes a perfect implementation must move
(inputs read once, outputs written once) and is set against a STREAM-like copy measured here,
with numba, at the same thread count. The ratio is cnnblocks (NCHW, the default layout) over
PyTorch's faster memory format: below 1 means cnnblocks is faster.

Before the tables, the run reports how long ``import cnnblocks`` takes, how long the first calls
take in a fresh process with an empty kernel cache (compilation), and in a second fresh process
(which must load every kernel from the cache: no recompilation).
"""

from __future__ import annotations

import os

# PyTorch reads this when it is imported: huge pages for its allocations (see PERFORMANCE.md).
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import cnnblocks
from cnnblocks import functional as F

RESULTS = Path(__file__).with_name("RESULTS.md")
BANDWIDTH_TARGET = ("b-vgg-max", "b-vgg-avg", "e-global-avg", "f-sigmoid", "f-relu")


# ------------------------------------------------------------------------------------ workloads


@dataclass(frozen=True)
class Workload:
    """One benchmark case; ``key`` is what ``--only`` matches."""

    key: str
    title: str
    kind: str  # max, avg, global_avg, sigmoid, relu
    shape: tuple[int, ...]
    kernel: int = 1
    stride: int = 1
    padding: Any = 0  # cnnblocks form
    torch_pad: tuple[int, int, int, int] | None = None  # explicit F.pad (left, right, top, bottom)


def workloads(size: str) -> list[Workload]:
    """Workloads a-g of issue 3 (and h, 3-D windows) at full size, or scaled down for ``quick``
    and ``tiny``."""

    def shape(n: int, c: int, *spatial: int) -> tuple[int, ...]:
        if size == "quick":
            return max(1, n // 4), c, *spatial
        if size == "tiny":
            return 2, 3, *(min(d, 15) for d in spatial)
        return n, c, *spatial

    elems = {"full": 32 * 2**20, "quick": 8 * 2**20, "tiny": 4099}[size]
    return [
        Workload("a-stem-max", "a. ResNet stem max 3×3/2 p1", "max", shape(32, 64, 112, 112),
                 3, 2, 1),
        Workload("b-vgg-max", "b. VGG max 2×2/2", "max", shape(32, 128, 56, 56), 2, 2, 0),
        Workload("b-vgg-avg", "b. VGG avg 2×2/2", "avg", shape(32, 128, 56, 56), 2, 2, 0),
        Workload("c-3x3-max", "c. max 3×3/1 p1", "max", shape(16, 64, 56, 56), 3, 1, 1),
        Workload("c-3x3-avg", "c. avg 3×3/1 p1", "avg", shape(16, 64, 56, 56), 3, 1, 1),
        Workload("d-7x7-max", "d. max 7×7/1 p3", "max", shape(8, 32, 128, 128), 7, 1, 3),
        Workload("d-7x7-avg", "d. avg 7×7/1 p3", "avg", shape(8, 32, 128, 128), 7, 1, 3),
        Workload("e-global-avg", "e. global avg", "global_avg", shape(32, 2048, 7, 7)),
        Workload("f-sigmoid", "f. sigmoid", "sigmoid", (elems,)),
        Workload("f-relu", "f. relu", "relu", (elems,)),
        Workload("g-asym-max", "g. max 2×2/2 pad (0,1,0,1)", "max", shape(32, 128, 55, 55), 2, 2,
                 (0, 1, 0, 1), torch_pad=(0, 1, 0, 1)),
        # not in the list: 3-D windows (video, volumes), NCDHW vs channels_last_3d
        Workload("h-3d-max", "h. 3-D max 3×3×3/1 p1", "max", shape(4, 32, 16, 56, 56), 3, 1, 1),
        Workload("h-3d-avg", "h. 3-D avg 3×3×3/1 p1", "avg", shape(4, 32, 16, 56, 56), 3, 1, 1),
    ]


def _out_elems(w: Workload) -> int:
    if w.kind in ("sigmoid", "relu"):
        return int(np.prod(w.shape))
    n, c = w.shape[:2]
    if w.kind == "global_avg":
        return n * c
    size = cnnblocks.shapes.pool_output_shape(w.shape, w.kernel, w.stride, w.padding)
    return int(np.prod(size))


def bytes_moved(w: Workload, training: bool, itemsize: int = 4) -> int:
    """Minimum bytes: every input read once, every output written once (int64 indices)."""
    x, y = int(np.prod(w.shape)), _out_elems(w)
    if w.kind in ("sigmoid", "relu"):
        # forward: x -> y; backward: (grad_y, y) -> grad_x
        return itemsize * (2 * x + (3 * x if training else 0))
    if not training:
        return itemsize * (x + y)
    if w.kind == "max":  # forward with int64 indices, then (grad_y, indices) -> grad_x
        return itemsize * (x + y) + 8 * y + itemsize * (y + x) + 8 * y
    return itemsize * (x + y) + itemsize * (y + x)


# ------------------------------------------------------------------------ the implementations


def _cnnblocks_calls(
    w: Workload, x: np.ndarray, training: bool, data_format: str
) -> Callable[[], Any]:
    """A no-argument call running the workload through cnnblocks' public API."""
    if w.kind in ("sigmoid", "relu"):
        fwd = F.sigmoid_forward if w.kind == "sigmoid" else F.relu_forward
        plain = F.sigmoid if w.kind == "sigmoid" else F.relu
        bwd = F.sigmoid_backward if w.kind == "sigmoid" else F.relu_backward
        if not training:
            return lambda: plain(x)
        g = np.ones_like(x)
        return lambda: bwd(g, fwd(x)[1])
    if w.kind == "global_avg":
        if not training:
            return lambda: F.global_avg_pool(x, data_format=data_format)
        y, _ = F.global_avg_pool_forward(x, data_format=data_format)
        g = np.ones_like(y)
        return lambda: F.global_avg_pool_backward(
            g, F.global_avg_pool_forward(x, data_format=data_format)[1]
        )
    args = (w.kernel, w.stride, w.padding)
    if w.kind == "max":
        if not training:
            return lambda: F.max_pool(x, *args, data_format=data_format)
        g = np.ones_like(F.max_pool(x, *args, data_format=data_format))
        return lambda: F.max_pool_backward(
            g, F.max_pool_forward(x, *args, data_format=data_format)[1]
        )
    if not training:
        return lambda: F.avg_pool(x, *args, data_format=data_format)
    g = np.ones_like(F.avg_pool(x, *args, data_format=data_format))
    return lambda: F.avg_pool_backward(g, F.avg_pool_forward(x, *args, data_format=data_format)[1])


def _torch_calls(torch: Any, w: Workload, x: np.ndarray, training: bool,
                 channels_last: bool) -> Callable[[], Any] | None:
    """The same workload in PyTorch through its ATen operators (no autograd bookkeeping)."""
    tf = torch.nn.functional
    aten = torch.ops.aten
    xt = torch.from_numpy(x)
    if w.kind in ("sigmoid", "relu"):
        if channels_last:
            return None
        g = torch.ones_like(xt)
        if w.kind == "sigmoid":
            if not training:
                return lambda: torch.sigmoid(xt)
            return lambda: aten.sigmoid_backward(g, torch.sigmoid(xt))
        if not training:
            return lambda: torch.relu(xt)
        return lambda: aten.threshold_backward(g, torch.relu(xt), 0)
    rank = xt.ndim - 2
    if channels_last:
        xt = xt.contiguous(
            memory_format=torch.channels_last_3d if rank == 3 else torch.channels_last
        )
    if w.kind == "global_avg":
        if not training:
            return lambda: tf.adaptive_avg_pool2d(xt, 1)
        g1 = torch.ones_like(tf.adaptive_avg_pool2d(xt, 1))

        def train_global() -> Any:
            tf.adaptive_avg_pool2d(xt, 1)
            return aten._adaptive_avg_pool2d_backward(g1, xt)

        return train_global
    k, s = w.kernel, w.stride

    def padded() -> Any:
        if w.torch_pad is None:
            return xt
        return tf.pad(xt, w.torch_pad, value=-float("inf"))

    p = 0 if w.torch_pad is not None else w.padding
    # the same ATen operators for 2-D and 3-D windows, picked by rank
    max_pool = tf.max_pool3d if rank == 3 else tf.max_pool2d
    avg_pool = tf.avg_pool3d if rank == 3 else tf.avg_pool2d
    max_backward = (aten.max_pool3d_with_indices_backward if rank == 3
                    else aten.max_pool2d_with_indices_backward)
    avg_backward = aten.avg_pool3d_backward if rank == 3 else aten.avg_pool2d_backward
    ks, ss, ps, ds = [k] * rank, [s] * rank, [p] * rank, [1] * rank
    if w.kind == "max":
        if not training:
            return lambda: max_pool(padded(), k, s, p)
        y0 = max_pool(padded(), k, s, p)
        g = torch.ones_like(y0)

        def train_max() -> Any:
            xin = padded()
            _, idx = max_pool(xin, k, s, p, return_indices=True)
            gx = max_backward(g, xin, ks, ss, ps, ds, False, idx)
            if w.torch_pad is not None:  # the gradient of the explicit pad: crop it
                gx = gx[..., : x.shape[2], : x.shape[3]]
            return gx

        return train_max
    if not training:
        return lambda: avg_pool(xt, k, s, p)
    g = torch.ones_like(avg_pool(xt, k, s, p))

    def train_avg() -> Any:
        avg_pool(xt, k, s, p)
        return avg_backward(g, xt, ks, ss, ps, False, True, None)

    return train_avg


# ------------------------------------------------------------------------------ measurement


# Rounds are taken in this many blocks per implementation (see median_times).
BLOCKS = 3
# Each block first calls untimed for at least this long, then keeps timing calls until it has its
# share of the rounds and at least BLOCK_SECONDS: sub-millisecond workloads get many samples.
WARMUP_SECONDS = 0.01
BLOCK_SECONDS = 0.03


def median_times(
    calls: dict[str, Callable[[], Any]],
    rounds: int,
    warmup_seconds: float = WARMUP_SECONDS,
    block_seconds: float = BLOCK_SECONDS,
) -> dict[str, float]:
    """Median seconds per call, timed in blocks: each implementation runs its calls back to back.

    Why blocks and not one call of each in turn: after each call PyTorch's OpenMP worker threads
    keep spinning on the other core for a while, and a call of ours started in that window shares
    its second core with them (measured: 3×3/1 average pooling at 2 threads, 3.35 ms timed back
    to back, 5.1 ms right after a PyTorch call). Each block starts with untimed calls (at least
    ``WARMUP_SECONDS``), so no implementation is timed in the wake of another, and times at
    least ``BLOCK_SECONDS`` of calls (the first calls after a switch run from colder caches; a
    median over a handful of sub-millisecond calls was dominated by that). The blocks are taken
    in rotating order (``BLOCKS`` of them, together at least ``rounds`` timed calls per
    implementation), so slow drifts of the machine's load still reach every implementation alike.
    The smoke run (``--tiny``) passes 0 for both durations.
    """
    names = list(calls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    per_block = [rounds // BLOCKS + (1 if b < rounds % BLOCKS else 0) for b in range(BLOCKS)]
    for block, count in enumerate(per_block):
        if count == 0:
            continue
        shift = block % len(names)
        for name in names[shift:] + names[:shift]:
            call = calls[name]
            began = time.perf_counter()
            call()  # untimed: lets the previous implementation's threads settle
            while time.perf_counter() - began < warmup_seconds:
                call()
            timed = 0.0
            taken = 0
            while taken < count or timed < block_seconds:
                start = time.perf_counter()
                call()
                elapsed = time.perf_counter() - start
                samples[name].append(elapsed)
                timed += elapsed
                taken += 1
    return {name: statistics.median(v) for name, v in samples.items()}


def _stream_kernels() -> tuple[Any, Any]:
    from cnnblocks.engine._numba import kernel

    def copy(lo: int, hi: int, a: Any, b: Any) -> None:  # pragma: no cover - compiled
        src, dst = a[lo:hi], b[lo:hi]
        for i in range(hi - lo):
            dst[i] = src[i]

    def triad(lo: int, hi: int, a: Any, b: Any, c: Any, s: Any) -> None:  # pragma: no cover
        out, x, y = a[lo:hi], b[lo:hi], c[lo:hi]
        for i in range(hi - lo):
            out[i] = x[i] + s * y[i]

    return kernel()(copy), kernel()(triad)


def bandwidth(n_elems: int, rounds: int) -> dict[str, float]:
    """STREAM-like copy and triad in numba on cnnblocks' threads, GB/s of read + write bytes."""
    from cnnblocks.engine._numba import parallel_for

    copy, triad = _stream_kernels()
    a = np.ones(n_elems, np.float32)
    b = np.ones(n_elems, np.float32)  # pre-faulted: measure memory, not page faults
    c = np.ones(n_elems, np.float32)
    s = np.float32(3.0)
    times = median_times({"copy": lambda: parallel_for(copy, n_elems, n_elems, a, b),
                          "triad": lambda: parallel_for(triad, n_elems, n_elems, a, b, c, s)},
                         rounds)
    return {"copy": 2 * a.nbytes / times["copy"] / 1e9,
            "triad": 3 * a.nbytes / times["triad"] / 1e9}


@dataclass
class Row:
    workload: Workload
    training: bool
    threads: int
    ms: dict[str, float] = field(default_factory=dict)
    gbps: float = 0.0
    bandwidth_share: float = 0.0
    ratio: float | None = None


def run_workload(torch: Any, w: Workload, threads: int, rounds: int, bw: float,
                 layouts: bool, durations: tuple[float, float] = (WARMUP_SECONDS, BLOCK_SECONDS),
                 ) -> list[Row]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(w.shape, dtype=np.float32)
    last = (0, *range(2, x.ndim), 1)  # channels to the end: NHWC, or NDHWC for 3-D windows
    x_nhwc = np.ascontiguousarray(x.transpose(last)) if x.ndim >= 4 and layouts else None
    rows = []
    for training in (False, True):
        calls: dict[str, Callable[[], Any]] = {
            "cnnblocks": _cnnblocks_calls(w, x, training, "NCHW")
        }
        if x_nhwc is not None:
            calls["cnnblocks NHWC"] = _cnnblocks_calls(w, x_nhwc, training, "NHWC")
        if torch is not None:
            for name, last in (("torch NCHW", False), ("torch channels_last", True)):
                call = _torch_calls(torch, w, x, training, last)
                if call is not None:
                    calls[name] = call
        times = median_times(calls, rounds, *durations)
        row = Row(w, training, threads, {k: v * 1e3 for k, v in times.items()})
        row.gbps = bytes_moved(w, training) / times["cnnblocks"] / 1e9
        row.bandwidth_share = row.gbps / bw
        peers = [v for k, v in times.items() if k.startswith("torch")]
        if peers:
            row.ratio = times["cnnblocks"] / min(peers)
        rows.append(row)
    return rows


# ------------------------------------------------------------------- first call and import


def _probe() -> None:
    """In a fresh process: time the first call of every workload on tiny shapes (compile/load)."""
    from cnnblocks.engine import _numba

    _numba.numba_module()  # chooses the cache directory, imports numba: kept out of the timing

    start = time.perf_counter()
    for w in workloads("tiny"):
        x = np.random.default_rng(0).standard_normal(w.shape, dtype=np.float32)
        for training in (False, True):
            _cnnblocks_calls(w, x, training, "NCHW")()
            if x.ndim >= 4:
                last = (0, *range(2, x.ndim), 1)
                _cnnblocks_calls(w, np.ascontiguousarray(x.transpose(last)), training, "NHWC")()
    total = time.perf_counter() - start
    from cnnblocks.engine import numba_activations, numba_pool, numba_pool3d

    hits = misses = 0
    for module in (numba_pool, numba_pool3d, numba_activations):
        for value in vars(module).values():
            if isinstance(value, _numba.LazyKernel) and value._dispatcher is not None:
                hits += sum(value._dispatcher.stats.cache_hits.values())
                misses += sum(value._dispatcher.stats.cache_misses.values())
    print(json.dumps({"seconds": total, "cache_hits": hits, "cache_misses": misses,
                      "per_kernel": _numba.compile_seconds(), "cache_dir": _numba.cache_dir()}))


def _python(code_or_args: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, *code_or_args], env=env, capture_output=True,
                          text=True, check=False, cwd=Path(__file__).parent.parent)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return done.stdout.strip().splitlines()[-1]


def first_call_report() -> dict[str, Any]:
    """Import time, cold first calls (empty cache), warm first calls (second process)."""
    env = dict(os.environ)
    env.pop("NUMBA_CACHE_DIR", None)
    imports = []
    for _ in range(3):
        out = _python(["-c", "import time, sys; t = time.perf_counter(); import cnnblocks, "
                       "cnnblocks.functional; print(time.perf_counter() - t, "
                       "'numba' in sys.modules)"], env)
        seconds, numba_loaded = out.split()
        imports.append(float(seconds))
    with tempfile.TemporaryDirectory() as cache:
        env["CNNBLOCKS_CACHE_DIR"] = cache
        cold = json.loads(_python(["-m", "benchmarks.run", "--probe"], env))
        warm = json.loads(_python(["-m", "benchmarks.run", "--probe"], env))
    return {"import_s": statistics.median(imports), "import_loads_numba": numba_loaded == "True",
            "cold": cold, "warm": warm}


# ---------------------------------------------------------------------------------- output


def _fmt(v: float | None, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


COLUMNS = ("cnnblocks", "cnnblocks NHWC", "torch NCHW", "torch channels_last")


def table_rows(rows: list[Row]) -> list[list[str]]:
    out = []
    for r in rows:
        out.append([
            r.workload.title, "fwd+bwd" if r.training else "fwd", str(r.threads),
            *(_fmt(r.ms.get(c)) for c in COLUMNS),
            _fmt(r.ratio), f"{r.gbps:.1f}", f"{100 * r.bandwidth_share:.0f}%",
        ])
    return out


HEADER = ["workload", "pass", "thr", "cnnblocks ms", "cnnblocks NHWC ms", "torch NCHW ms",
          "torch CL ms", "ratio", "GB/s", "% BW"]


def print_table(rows: list[Row]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="cnnblocks vs PyTorch (median ms; ratio = cnnblocks / PyTorch's faster format)")
    for h in HEADER:
        t.add_column(h, justify="left" if h in ("workload", "pass") else "right")
    for values in table_rows(rows):
        t.add_row(*values)
    Console(width=max(Console().width, 150)).print(t)


def misses(rows: list[Row]) -> list[str]:
    notes = []
    for r in rows:
        what = f"{r.workload.title} {'fwd+bwd' if r.training else 'fwd'} at {r.threads} thread(s)"
        if r.ratio is not None and r.ratio > 1.0:
            notes.append(f"{what}: {r.ratio:.2f}× PyTorch's faster format (target ≤ 1.0×)")
        if r.workload.key in BANDWIDTH_TARGET and r.bandwidth_share < 0.6:
            notes.append(f"{what}: {100 * r.bandwidth_share:.0f}% of bandwidth (target ≥ 60%)")
    return notes


def write_markdown(path: Path, rows: list[Row], meta: dict[str, Any]) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python -m benchmarks.run {meta['args']}` on {meta['date']}.",
        "",
        f"- Machine: {meta['cpu']}, {meta['cores']} cores; load average before / after the run: "
        f"{meta['load_before']} / {meta['load_after']} (other jobs shared the machine).",
        f"- Versions: Python {meta['python']}, NumPy {meta['numpy']}, numba {meta['numba']}, "
        f"PyTorch {meta['torch']} (THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE')}).",
        f"- Rounds per measurement: at least {meta['rounds']}, in {BLOCKS} blocks of back-to-back "
        f"calls per implementation (each block after {WARMUP_SECONDS * 1e3:.0f} ms of untimed "
        f"calls and at least {BLOCK_SECONDS * 1e3:.0f} ms long), blocks in rotating order; "
        "median reported; float32.",
        "- Bandwidth (numba STREAM-like, read + write bytes): "
        + "; ".join(f"{t} thread(s): copy {b['copy']:.1f} GB/s, triad {b['triad']:.1f} GB/s"
                    for t, b in meta["bandwidth"].items()) + ". % BW is against copy.",
        "- ratio = cnnblocks (NCHW, the default) / PyTorch's faster memory format; < 1 is faster.",
        "- % BW above 100%: the data came from cache, not memory. Inputs that fit in the "
        "last-level cache (e. global avg reads 12.8 MB) stay there between repeated calls, for "
        "every implementation alike.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(v) + " |" for v in table_rows(rows)]
    first = meta.get("first_call")
    if first:
        lines += [
            "",
            "## Import and compilation",
            "",
            f"- `import cnnblocks, cnnblocks.functional`: {first['import_s'] * 1e3:.0f} ms "
            f"(numba imported: {first['import_loads_numba']}).",
            f"- First call of every workload in a fresh process, empty cache (compiles every "
            f"kernel): {first['cold']['seconds']:.1f} s; kernel signatures compiled: "
            f"{first['cold']['cache_misses']}, loaded from the cache: "
            f"{first['cold']['cache_hits']}.",
            f"- The same in a second fresh process: {first['warm']['seconds']:.2f} s; kernels "
            f"loaded from the cache: {first['warm']['cache_hits']}, recompiled: "
            f"{first['warm']['cache_misses']}.",
        ]
    notes = misses(rows)
    lines += ["", "## Targets missed", ""]
    lines += [f"- {n}" for n in notes] if notes else ["- none"]
    path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="batch / 4, 8M-element activations")
    size.add_argument("--tiny", action="store_true", help="tiny shapes (a smoke run)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--only", default=None, help="run workloads whose key contains this text")
    p.add_argument("--rounds", type=int, default=None, help="rounds per measurement")
    p.add_argument("--out", type=Path, default=None,
                   help="markdown output (default benchmarks/RESULTS.md for full runs only)")
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    p.add_argument("--no-probe", action="store_true", help="skip the import/compile report")
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    if args.probe:
        _probe()
        return []
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    rounds = args.rounds or {"full": 11, "quick": 5, "tiny": 2}[size]
    # a smoke run must be quick: no minimum durations per block
    durations = (0.0, 0.0) if size == "tiny" else (WARMUP_SECONDS, BLOCK_SECONDS)
    threads = [int(t) for t in str(args.threads).split(",") if t.strip()]
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch is not installed: cnnblocks only")
    chosen = [w for w in workloads(size) if args.only is None or args.only in w.key]
    load_before = os.getloadavg()
    first = None if args.no_probe else first_call_report()
    rows: list[Row] = []
    bws: dict[int, dict[str, float]] = {}
    stream_elems = {"full": 32 * 2**20, "quick": 16 * 2**20, "tiny": 2**16}[size]
    threads_before = cnnblocks.get_num_threads(), (torch.get_num_threads() if torch else None)
    try:
        for t in threads:
            cnnblocks.set_num_threads(t)
            if torch is not None:
                torch.set_num_threads(t)
            bws[t] = bandwidth(stream_elems, max(3, rounds))
            for w in chosen:
                rows += run_workload(torch, w, t, rounds, bws[t]["copy"], layouts=True,
                                     durations=durations)
    finally:  # leave the process as it was (the smoke test runs in-process)
        cnnblocks.set_num_threads(threads_before[0])
        if torch is not None and threads_before[1] is not None:
            torch.set_num_threads(threads_before[1])
    print_table(rows)
    if first is not None:
        print(f"import cnnblocks: {first['import_s'] * 1e3:.0f} ms; first calls with an empty "
              f"cache: {first['cold']['seconds']:.1f} s ({first['cold']['cache_misses']} kernels "
              f"compiled); in a second process: {first['warm']['seconds']:.2f} s "
              f"({first['warm']['cache_hits']} loaded, {first['warm']['cache_misses']} recompiled)")
    for note in misses(rows):
        print("missed:", note)
    # Only a complete run may replace RESULTS.md: a partial one would silently drop rows.
    complete = size == "full" and args.only is None
    out = args.out if args.out is not None else (RESULTS if complete else None)
    if out is not None:
        import numba

        cpu = "unknown CPU"
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        meta = {
            "args": " ".join(sys.argv[1:] if argv is None else argv),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu, "cores": os.cpu_count(),
            "load_before": " ".join(f"{v:.2f}" for v in load_before),
            "load_after": " ".join(f"{v:.2f}" for v in os.getloadavg()),
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__,
            "torch": getattr(torch, "__version__", "not installed"),
            "rounds": rounds, "bandwidth": bws, "first_call": first,
        }
        write_markdown(out, rows, meta)
        print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
