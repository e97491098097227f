"""convcli against its peers: medians, ratios, goals.

    python benchmarks/bench.py [--quick] [--only conv,sep,scipy,pool,upsample,tconv,batchnorm,memory,startup,shell]
                               [--sizes 512,2048,4096] [--kernels 3,5,15,31]

Every peer is timed in the same process as convcli, with the runs alternated (convcli, peer,
convcli, peer, ...) so that a busy machine slows both alike, and with the same number of threads
(OpenCV, PyTorch and Numba all get the machine's cores). The ratio is convcli's median over the
peer's; below 1 convcli is faster. The checkout this file sits in is what gets measured.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREADS = os.cpu_count() or 1
# before Numba / OpenMP / MKL load
os.environ.setdefault("NUMBA_NUM_THREADS", str(THREADS))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import convcli  # noqa: E402

ALL_GROUPS = ("conv", "sep", "scipy", "pool", "upsample", "tconv", "batchnorm", "memory", "startup", "shell")


# ------------------------------------------------------------------------------------------ peers

def _optional(name):
    try:
        return __import__(name)
    except ImportError:
        return None


cv2 = _optional("cv2")
torch = _optional("torch")
try:
    import scipy.ndimage as ndimage
except ImportError:
    ndimage = None
if cv2 is not None:
    cv2.setNumThreads(THREADS)
if torch is not None:
    torch.set_num_threads(THREADS)


# ----------------------------------------------------------------------------------------- timing

@dataclass
class Row:
    case: str
    ours: float | None = None        # seconds (median)
    peer_name: str = ""
    peer: float | None = None
    goal: float | None = None        # ratio convcli/peer must be <= goal
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.peer:
            return None
        return self.ours / self.peer


ROWS: list[Row] = []


def alternate(ours, peer, *, budget: float, min_runs: int = 3, max_runs: int = 15):
    """Median seconds of ``ours`` and ``peer``, run alternately after one warm-up each."""
    ours()
    peer()
    a, b = [], []
    start = time.perf_counter()
    while len(a) < max_runs and (len(a) < min_runs or time.perf_counter() - start < budget):
        for fn, acc in ((ours, a), (peer, b)) if len(a) % 2 == 0 else ((peer, b), (ours, a)):
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


def agree(x, y, what: str) -> str:
    """'' when two outputs agree to float32 accuracy, else a note with the difference."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape:
        return f"{what}: shapes differ {x.shape} vs {y.shape}"
    scale = max(1.0, float(np.abs(y).max()))
    err = float(np.abs(x - y).max()) / scale
    return "" if err < 1e-4 else f"{what}: max |diff| {err:.1e} of max |peer|"


def record(row: Row) -> None:
    ROWS.append(row)
    print(_format(row), flush=True)


def _ms(s: float | None) -> str:
    if s is None:
        return "—"
    return f"{s * 1e3:9.2f} ms" if s < 10 else f"{s:9.2f} s "


def _format(row: Row) -> str:
    r = row.ratio
    ratio = f"{r:6.2f}×" if r is not None else "     —"
    goal = f"≤ {row.goal:.2f}×" if row.goal is not None else "      "
    met = "" if (row.goal is None or r is None) else ("met" if r <= row.goal else "NOT met")
    return (f"{row.case:<38} {_ms(row.ours)} {row.peer_name:<24} {_ms(row.peer)} {ratio} "
            f"{goal:>8} {met:<8} {row.note}")


def header(title: str) -> None:
    print(f"\n== {title}")
    print(f"{'case':<38} {'convcli':>12} {'peer':<24} {'peer time':>12} {'ratio':>7} {'goal':>8}")


def skip(group: str, why: str) -> None:
    print(f"\n== {group}: skipped — {why}")


# ---------------------------------------------------------------------------------------- inputs

def image(size: int, dtype: str, rng) -> np.ndarray:
    x = rng.uniform(0, 255, (size, size))
    return x.astype(np.uint8) if dtype == "uint8" else x.astype(np.float32)


def gaussian_1d(k: int) -> np.ndarray:
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8          # OpenCV's default, as convcli's gaussian:k
    x = np.arange(k) - (k - 1) / 2
    g = np.exp(-x * x / (2 * sigma * sigma))
    return (g / g.sum()).astype(np.float32)


def budget_for(size: int, k: int, quick: bool) -> float:
    """Seconds to keep alternating runs (at least 3 runs each, at most 15)."""
    base = 1.0 if quick else 3.0
    return min(base * max(1.0, (size / 2048) ** 2 * (k / 5)), 6.0 if quick else 20.0)


# ------------------------------------------------------------------------------------ conv cases

def bench_conv(sizes, kernels, quick, rng):
    if cv2 is None:
        return skip("convolution vs cv2.filter2D", "OpenCV is not installed (pip install '.[bench]')")
    header("convolution (padding same, reflect = cv2.BORDER_REFLECT_101) vs cv2.filter2D")
    for size in sizes:
        for dtype in ("float32", "uint8"):
            x = image(size, dtype, rng)
            for k in kernels:
                kinds = {"random": rng.standard_normal((k, k)).astype(np.float32),
                         "gaussian": np.outer(gaussian_1d(k), gaussian_1d(k)).astype(np.float32)}
                for kind, kern in kinds.items():
                    if quick and dtype == "uint8" and kind == "gaussian":
                        continue
                    ours = lambda: convcli.convolve(x, kern, padding="same", padding_mode="reflect")  # noqa: E731
                    peer = lambda: cv2.filter2D(x, cv2.CV_32F, kern, borderType=cv2.BORDER_REFLECT_101)  # noqa
                    t_ours, t_peer = alternate(ours, peer, budget=budget_for(size, k, quick))
                    record(Row(f"{size}² {dtype} {k}×{k} {kind}", t_ours, "cv2.filter2D", t_peer,
                               1.0 if k <= 5 else 0.7, agree(ours(), peer(), "vs cv2")))


def bench_separable(sizes, kernels, quick, rng):
    if cv2 is None:
        return skip("separable vs cv2.sepFilter2D", "OpenCV is not installed")
    header("separable kernels (padding same, reflect) vs cv2.sepFilter2D")
    cases = [(f"gaussian {k}×{k}", gaussian_1d(k), gaussian_1d(k)) for k in kernels]
    cases += [(f"box {k}×{k}", np.full(k, 1 / k, np.float32), np.full(k, 1 / k, np.float32))
              for k in kernels if k in (3, 5, 15)]
    # sobel-x = [1, 2, 1]ᵀ ⊗ [-1, 0, 1]
    cases.append(("sobel-x 3×3", np.array([1, 2, 1], np.float32), np.array([-1, 0, 1], np.float32)))
    for size in sizes:
        for dtype in ("float32", "uint8"):
            if quick and dtype == "uint8":
                continue
            x = image(size, dtype, rng)
            for name, col, row in cases:
                kern = np.outer(col, row).astype(np.float32)
                ours = lambda: convcli.convolve(x, kern, padding="same", padding_mode="reflect")  # noqa: E731
                peer = lambda: cv2.sepFilter2D(x, cv2.CV_32F, row, col, borderType=cv2.BORDER_REFLECT_101)  # noqa
                t_ours, t_peer = alternate(ours, peer, budget=budget_for(size, 3, quick))
                record(Row(f"{size}² {dtype} {name}", t_ours, "cv2.sepFilter2D", t_peer, 1.0,
                           agree(ours(), peer(), "vs cv2")))


def bench_scipy(sizes, kernels, quick, rng):
    if ndimage is None:
        return skip("convolution vs scipy.ndimage.correlate", "scipy is not installed")
    header("convolution vs scipy.ndimage.correlate (mode mirror = reflect); goal: ≥ 3× faster")
    for size in sizes:
        x = image(size, "float32", rng)
        for k in kernels:
            if size * size * k * k > (2048 * 2048 * 31 * 31 if not quick else 2048 * 2048 * 15 * 15):
                print(f"{size}² {k}×{k}: skipped (scipy would take minutes per run; see --help)")
                continue
            kern = rng.standard_normal((k, k)).astype(np.float32)
            ours = lambda: convcli.convolve(x, kern, padding="same", padding_mode="reflect")  # noqa: E731
            peer = lambda: ndimage.correlate(x, kern, mode="mirror")  # noqa: E731
            t_ours, t_peer = alternate(ours, peer, budget=budget_for(size, k, quick), min_runs=1, max_runs=3)
            record(Row(f"{size}² float32 {k}×{k} random", t_ours, "scipy.ndimage.correlate", t_peer,
                       1 / 3, agree(ours(), peer(), "vs scipy")))


# ---------------------------------------------------------------------------- the other ops' cases

def _missing(name: str) -> bool:
    return not hasattr(convcli, name)


def bench_pool(sizes, quick, rng):
    if _missing("pool"):
        return skip("pooling", "convcli.pool does not exist yet")
    if torch is None:
        return skip("pooling", "PyTorch is not installed")
    F = torch.nn.functional
    header("pooling 2×2 stride 2 vs PyTorch (goal ≤ 0.5×)")
    for size in sizes:
        x = image(size, "float32", rng)
        xt = torch.from_numpy(x)[None, None]
        for mode, fn in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
            ours = lambda: convcli.pool(x, mode=mode, size=2)  # noqa: E731
            peer = lambda: fn(xt, 2)  # noqa: E731
            t_ours, t_peer = alternate(ours, peer, budget=budget_for(size, 2, quick))
            record(Row(f"{size}² {mode}-pool 2×2", t_ours, f"torch {fn.__name__}", t_peer, 0.5,
                       agree(ours(), peer()[0, 0].numpy(), "vs torch")))


def bench_upsample(sizes, quick, rng):
    if _missing("upsample"):
        return skip("upsampling", "convcli.upsample does not exist yet")
    header("bilinear upsampling ×2 vs cv2.resize (goal ≤ 1.0×) and torch interpolate")
    for size in sizes:
        x = image(size, "float32", rng)
        ours = lambda: convcli.upsample(x, mode="bilinear", scale=2)  # noqa: E731
        if cv2 is not None:
            peer = lambda: cv2.resize(x, (2 * size, 2 * size), interpolation=cv2.INTER_LINEAR)  # noqa: E731
            t_ours, t_peer = alternate(ours, peer, budget=budget_for(size, 2, quick))
            record(Row(f"{size}² bilinear ×2", t_ours, "cv2.resize", t_peer, 1.0,
                       agree(ours(), peer(), "vs cv2")))
        if torch is not None:
            xt = torch.from_numpy(x)[None, None]
            peer = lambda: torch.nn.functional.interpolate(xt, scale_factor=2, mode="bilinear",  # noqa: E731
                                                           align_corners=False)
            t_ours, t_peer = alternate(ours, peer, budget=budget_for(size, 2, quick))
            record(Row(f"{size}² bilinear ×2", t_ours, "torch interpolate", t_peer, None,
                       agree(ours(), peer()[0, 0].numpy(), "vs torch")))


def bench_tconv(sizes, quick, rng):
    if _missing("tconv"):
        return skip("transposed convolution", "convcli.tconv does not exist yet")
    if torch is None:
        return skip("transposed convolution", "PyTorch is not installed")
    header("transposed convolution 4×4 stride 2 vs torch conv_transpose2d (goal ≤ 0.25×)")
    k = rng.standard_normal((4, 4)).astype(np.float32)
    wt = torch.from_numpy(k)[None, None]
    for size in sizes:
        x = image(size, "float32", rng)
        xt = torch.from_numpy(x)[None, None]
        ours = lambda: convcli.tconv(x, k, stride=2)  # noqa: E731
        peer = lambda: torch.nn.functional.conv_transpose2d(xt, wt, stride=2)  # noqa: E731
        t_ours, t_peer = alternate(ours, peer, budget=budget_for(size, 4, quick))
        record(Row(f"{size}² tconv 4×4 s2", t_ours, "torch conv_transpose2d", t_peer, 0.25,
                   agree(ours(), peer()[0, 0].numpy(), "vs torch")))


def bench_batchnorm(sizes, quick, rng):
    if _missing("batch_norm"):
        return skip("batch-norm statistics", "convcli.batch_norm does not exist yet")
    header("batch-norm statistics (per-channel mean and variance) vs NumPy (goal ≤ 1.0×)")
    for size in sizes:
        x = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
        # the statistics pass of batch norm in training mode: normalise with the batch's own mean/var
        ours = lambda: convcli.batch_norm(x)  # noqa: E731

        def peer():
            mean = x.mean(axis=(0, 1))
            var = x.var(axis=(0, 1))
            return (x - mean) / np.sqrt(var + 1e-5)

        t_ours, t_peer = alternate(ours, peer, budget=budget_for(size, 2, quick))
        record(Row(f"{size}²×3 batch norm (batch stats)", t_ours, "numpy mean/var", t_peer, 1.0))
        if torch is not None:
            xt = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
            tpeer = lambda: torch.nn.functional.batch_norm(xt, None, None, training=True)  # noqa: E731
            t_ours, t_peer = alternate(ours, tpeer, budget=budget_for(size, 2, quick))
            record(Row(f"{size}²×3 batch norm (batch stats)", t_ours, "torch batch_norm", t_peer, None))


# --------------------------------------------------------------------------------- peak memory

_MEMORY_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
which, size, k = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
kern = np.random.default_rng(1).standard_normal((k, k)).astype(np.float32)
if which == "convcli":
    import convcli
    run = lambda x: convcli.convolve(x, kern, padding="same", padding_mode="reflect")
elif which == "cv2":
    import cv2
    run = lambda x: cv2.filter2D(x, cv2.CV_32F, kern, borderType=cv2.BORDER_REFLECT_101)
else:
    import scipy.ndimage as nd
    run = lambda x: nd.correlate(x, kern, mode="mirror")
run(np.ones((600, 600), np.float32))                  # compile / load caches, start thread pools

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))

x = np.random.default_rng(0).uniform(0, 255, (size, size)).astype(np.float32)
with open("/proc/self/clear_refs", "w") as f:        # reset the peak (VmHWM) to the current RSS
    f.write("5")
before = status("VmRSS:")
y = run(x)
print(before, status("VmHWM:"))
"""


def bench_memory(quick):
    size = 2048 if quick else 4096
    print(f"\n== peak memory: growth of the peak RSS during one {size}² float32 convolution, padding same "
          f"(the output alone is {size * size * 4 / 2**20:.0f} MiB)")
    for k in (3, 15):
        peak = {}
        for which in ("convcli", "cv2", "scipy"):
            proc = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(ROOT), which, str(size), str(k)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                continue
            before, after = map(int, proc.stdout.split())
            peak[which] = (after - before) / 1024            # ru_maxrss is in KiB on Linux
        for peer in ("cv2", "scipy"):
            if "convcli" in peak and peer in peak:
                mine, theirs = peak["convcli"], peak[peer]
                ratio = f"{mine / theirs:6.2f}×" if theirs > 0 else "     —"
                print(f"{f'{size}² {k}×{k} peak growth':<38} {mine:9.1f} MiB {peer:<24} {theirs:9.1f} MiB {ratio}")


# ------------------------------------------------------------------------------------ start-up

def _run(cmd, env=None, cwd=None):
    """Wall seconds and peak RSS (MiB) of one child process.

    The peak comes from GNU time (``/usr/bin/time -f %M``) when it exists: a child forked from this
    (large) process inherits its RSS high-water mark in wait4's ru_maxrss, even after exec.
    """
    gnu_time = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        full = ([gnu_time, "-f", "%M", "-o", rss_file.name] if gnu_time else []) + list(map(str, cmd))
        t0 = time.perf_counter()
        proc = subprocess.run(full, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()[-400:]
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): {err}")
        text = rss_file.read().strip().splitlines()
        peak_kib = float(text[-1]) if gnu_time and text else float("nan")
    return wall, peak_kib / 1024


def _child_env(cache_dir: str | None = None) -> dict:
    env = dict(os.environ)
    # a user's Python writes .pyc files: without them every run recompiles convcli's modules
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def bench_startup(quick):
    header("CLI start-up: python -m convcli convolve sample_images/gray.png -k box -o out.png")
    print(f"(scipy importable in this interpreter: {ndimage is not None} — Numba then imports "
          "scipy.linalg on its first call)")
    with tempfile.TemporaryDirectory(prefix="convcli-bench-") as tmp:
        out = os.path.join(tmp, "out.png")
        cmd = [sys.executable, "-m", "convcli", "convolve", str(ROOT / "sample_images" / "gray.png"),
               "-k", "box", "-o", out]
        cache = os.path.join(tmp, "numba-cache")
        cold, _ = _run(cmd, env=_child_env(cache), cwd=tmp)
        warm = statistics.median(_run(cmd, env=_child_env(cache), cwd=tmp)[0] for _ in range(3 if quick else 7))
        bare = statistics.median(_run([sys.executable, "-c", "pass"], cwd=tmp)[0] for _ in range(5))
        numpy_only = statistics.median(_run([sys.executable, "-c", "import numpy"], cwd=tmp)[0] for _ in range(5))
        version = statistics.median(_run([sys.executable, "-m", "convcli", "--version"], env=_child_env(cache),
                                         cwd=tmp)[0] for _ in range(5))
    record(Row("cold: first run, empty Numba cache", cold, "goal 5 s", 5.0, 1.0))
    record(Row("warm: later runs", warm, "python -c pass", bare, None))
    record(Row("warm: later runs", warm, "python -c 'import numpy'", numpy_only, None))
    record(Row("convcli --version", version, "python -c pass", bare, None))


# ----------------------------------------------------------------------------- end to end, shell

SHARPEN = ((0, -1, 0), (-1, 5, -1), (0, -1, 0))


def _make_jpeg(path: str) -> tuple[int, int]:
    from PIL import Image
    src = Image.open(ROOT / "sample_images" / "rgb.jpg").convert("RGB")
    big = src.resize((4000, 3000), Image.BICUBIC)
    arr = np.asarray(big, dtype=np.float32)
    arr += np.random.default_rng(0).normal(0, 8, arr.shape)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=92)
    return big.size


def bench_shell(quick):
    import shutil
    header("end to end from the shell: 12-megapixel JPEG, 3×3 sharpen, padding same -> JPEG")
    with tempfile.TemporaryDirectory(prefix="convcli-bench-") as tmp:
        src = os.path.join(tmp, "in.jpg")
        w, h = _make_jpeg(src)
        print(f"(input {w}×{h} = {w * h / 1e6:.1f} MP, {os.path.getsize(src) / 2**20:.1f} MiB)")
        spec = ";".join(",".join(str(v) for v in row) for row in SHARPEN)
        cache = os.path.join(tmp, "numba-cache")
        env = _child_env(cache)
        ours = [sys.executable, "-m", "convcli", "convolve", src, "-k", spec, "--padding", "same",
                "--padding-mode", "replicate", "-o", os.path.join(tmp, "convcli.jpg")]
        peers = {}
        if shutil.which("convert"):
            im_kernel = "3x3: " + ",".join(str(v) for row in SHARPEN for v in row)
            peers["ImageMagick convert"] = ["convert", src, "-morphology", "Convolve", im_kernel,
                                            os.path.join(tmp, "magick.jpg")]
        if shutil.which("vips"):
            mask = os.path.join(tmp, "mask.mat")
            Path(mask).write_text("3 3 1 0\n" + "\n".join(" ".join(str(v) for v in row) for row in SHARPEN) + "\n")
            peers["vips conv"] = ["vips", "conv", src, os.path.join(tmp, "vips.jpg"), mask]
        cold, cold_rss = _run(ours, env=env, cwd=tmp)
        record(Row("12 MP: convcli cold (compiles)", cold, "goal 5 s", 5.0, 1.0, f"peak RSS {cold_rss:.0f} MiB"))
        if not peers:
            return skip("shell peers", "neither ImageMagick nor vips is installed")
        runs = 3 if quick else 7
        for name, cmd in peers.items():
            mine, theirs, rss_mine, rss_theirs = [], [], [], []
            for _ in range(runs):
                t, r = _run(ours, env=env, cwd=tmp)
                mine.append(t)
                rss_mine.append(r)
                t, r = _run(cmd, cwd=tmp)
                theirs.append(t)
                rss_theirs.append(r)
            goal = 1.3 if name.startswith("ImageMagick") else None
            record(Row("12 MP: wall time, warm", statistics.median(mine), name, statistics.median(theirs), goal))
            m, t = max(rss_mine), max(rss_theirs)
            print(f"{'12 MP: peak RSS':<38} {m:9.0f} MiB {name:<24} {t:9.0f} MiB {m / t:6.2f}× "
                  f"{'≤ 1.00×' if goal else '':>8} {('met' if m < t else 'NOT met') if goal else ''}")


# ----------------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer sizes, cases and runs (a few minutes)")
    ap.add_argument("--only", default=",".join(ALL_GROUPS), help=f"comma-separated groups: {','.join(ALL_GROUPS)}")
    ap.add_argument("--sizes", default=None, help="image sides (default 512,2048,4096; --quick: 512,2048)")
    ap.add_argument("--kernels", default="3,5,15,31", help="kernel sides for the convolution cases")
    args = ap.parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(groups) - set(ALL_GROUPS)
    if unknown:
        ap.error(f"unknown group(s) {', '.join(sorted(unknown))}; choose from {', '.join(ALL_GROUPS)}")
    sizes = [int(s) for s in (args.sizes or ("512,2048" if args.quick else "512,2048,4096")).split(",")]
    kernels = [int(k) for k in args.kernels.split(",")]
    rng = np.random.default_rng(0)
    import numba
    print(f"convcli {convcli.__version__} from {ROOT}; numpy {np.__version__}, numba {numba.__version__} "
          f"({numba.get_num_threads()} threads); cv2 {getattr(cv2, '__version__', '—')}, "
          f"torch {getattr(torch, '__version__', '—')}, scipy {'yes' if ndimage is not None else '—'}; "
          f"{THREADS} cores")
    print("medians of alternated runs; ratio = convcli / peer (below 1: convcli is faster)")
    if "conv" in groups:
        bench_conv(sizes, kernels, args.quick, rng)
    if "sep" in groups:
        bench_separable(sizes, kernels, args.quick, rng)
    if "scipy" in groups:
        bench_scipy(sizes, kernels, args.quick, rng)
    if "pool" in groups:
        bench_pool(sizes, args.quick, rng)
    if "upsample" in groups:
        bench_upsample(sizes, args.quick, rng)
    if "tconv" in groups:
        bench_tconv(sizes, args.quick, rng)
    if "batchnorm" in groups:
        bench_batchnorm(sizes, args.quick, rng)
    if "memory" in groups:
        bench_memory(args.quick)
    if "startup" in groups:
        bench_startup(args.quick)
    if "shell" in groups:
        bench_shell(args.quick)
    goals = [r for r in ROWS if r.goal is not None and r.ratio is not None]
    if goals:
        missed = [r for r in goals if r.ratio > r.goal]
        print(f"\n{len(goals) - len(missed)} of {len(goals)} goals met")
        for r in missed:
            print("  not met: " + _format(r).strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
