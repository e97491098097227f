"""Batch throughput: convcli vs `vips conv` (xargs -P2) vs ImageMagick `mogrify`, from the shell.

    python benchmarks/batch_vs_vips.py [--photos 16] [--megapixels 12] [--repeat 3] [--dir DIR]

Makes N JPEG photos of about 12 megapixels (the bundled cat photo scaled up, with noise so the
encoder cannot cheat) in a temporary directory, then times — wall clock, whole commands, runs
alternated, median of --repeat — a 3×3 convolution with same padding (the Gaussian 1 2 1 / 2 4 2 /
1 2 1, divided by 16) written back as JPEG quality 95 by:

* convcli, one call for the whole folder: ``convcli convolve DIR -k "..." --padding same --out-dir OUT``
* vips, one process per file, two at a time: ``ls *.jpg | xargs -P2 -I{} vips conv {} OUT/{}[Q=95] mask``
* ImageMagick, one call: ``mogrify -path OUT -quality 95 -morphology Convolve 3x3:... *.jpg``

and reports peak resident memory per process (ru_maxrss of the children). Needs ``vips`` and
ImageMagick (``apt-get install libvips-tools imagemagick``); a peer that is missing is skipped.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "0.0625,0.125,0.0625;0.125,0.25,0.125;0.0625,0.125,0.0625"


def make_photos(directory: Path, count: int, megapixels: float) -> None:
    src = Image.open(ROOT / "sample_images" / "rgb.jpg").convert("RGB")
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    big = np.asarray(src.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    rng = np.random.default_rng(0)
    for i in range(count):
        noisy = np.clip(big + rng.integers(-6, 7, big.shape, dtype=np.int16), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(directory / f"photo{i:02d}.jpg", quality=92)


def run(cmd: str, cwd: Path) -> tuple[float, int]:
    """Wall seconds and the peak RSS (KiB) of the biggest process the command started."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, shell=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd}\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak if peak > before else -1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="work here instead of a temporary directory")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="convcli-bench-"))
    photos = work / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    if not list(photos.glob("*.jpg")):
        print(f"making {args.photos} photos of {args.megapixels:g} MP in {photos} ...", flush=True)
        make_photos(photos, args.photos, args.megapixels)
    (work / "mask.mat").write_text("3 3 16 0\n1 2 1\n2 4 2\n1 2 1\n")
    convcli = f'{sys.executable} -m convcli convolve photos -k "{KERNEL}" --padding same --out-dir out -q'
    peers = {"convcli (one call)": convcli}
    if shutil.which("vips"):
        peers["vips conv, xargs -P2"] = ("ls photos/*.jpg | xargs -P2 -I{} sh -c "
                                         "'vips conv \"$1\" out/$(basename \"$1\")[Q=95] mask.mat' _ {}")
    mogrify = "/usr/bin/mogrify" if os.path.exists("/usr/bin/mogrify") else shutil.which("mogrify")
    if mogrify:
        peers["ImageMagick mogrify"] = (f"{mogrify} -path out -quality 95 -morphology Convolve "
                                        "'3x3: 0.0625,0.125,0.0625 0.125,0.25,0.125 0.0625,0.125,0.0625' photos/*.jpg")
    # warm-up: compile and cache the Numba kernels, warm the page cache
    (work / "out").mkdir(exist_ok=True)
    run(convcli, work)
    times: dict[str, list[float]] = {k: [] for k in peers}
    peaks: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, cmd in peers.items():       # alternate the tools within each round
            shutil.rmtree(work / "out", ignore_errors=True)
            (work / "out").mkdir()
            # a fresh child process per measurement so ru_maxrss is its own
            probe = subprocess.run([sys.executable, "-c", _PROBE, cmd, str(work)], capture_output=True, text=True)
            if probe.returncode != 0:
                raise SystemExit(f"{name} failed:\n{probe.stderr}")
            elapsed, peak = map(float, probe.stdout.split())
            times[name].append(elapsed)
            peaks[name] = max(peaks.get(name, 0), int(peak))
    n = len(list(photos.glob("*.jpg")))
    base = statistics.median(times["convcli (one call)"])
    print(f"\n{n} photos, {args.megapixels:g} MP each, 3×3 convolution, same padding, JPEG q95; "
          f"median of {args.repeat}; {os.cpu_count()} cores")
    print(f"{'tool':28s} {'median s':>9s} {'photos/s':>9s} {'convcli/peer':>13s} {'peak RSS MiB':>13s}")
    for name in peers:
        med = statistics.median(times[name])
        print(f"{name:28s} {med:9.2f} {n / med:9.2f} {base / med:13.2f} {peaks[name] / 1024:13.0f}")
    if "vips conv, xargs -P2" in times:
        ratio = base / statistics.median(times["vips conv, xargs -P2"])
        print(f"\ngoal: convcli ≤ 0.67× vips' wall time -> {ratio:.2f}× ({'met' if ratio <= 2 / 3 else 'NOT met'})")
    if "ImageMagick mogrify" in times:
        ratio = base / statistics.median(times["ImageMagick mogrify"])
        print(f"goal: beat mogrify -> {ratio:.2f}× ({'met' if ratio < 1 else 'NOT met'})")
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)


# runs one shell command in a fresh interpreter and prints "seconds peak_kib" of its children
_PROBE = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.run(sys.argv[1], shell=True, cwd=sys.argv[2], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
dt = time.perf_counter() - t0
if p.returncode:
    sys.stderr.write(p.stderr.decode()); sys.exit(1)
print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

if __name__ == "__main__":
    main()
