"""Issue #14: every op subcommand through the cross product of input kinds, output modes and flags.

Each combination runs the REAL console script (``.venv/bin/convcli``) in a subprocess, in its own
directory with fresh copies of small inputs, and checks what a user would see:

* the exit code is a documented one (0, 2, 3, 4, 5, 6; never 1) and stderr never holds a traceback
  or an "internal error";
* a failing run prints exactly one ``convcli: error: ...`` line per failing input on stderr (besides
  ``convcli: warning:`` lines and the batch summary line);
* a combination that is valid usage exits 0; one that is not (see :func:`expectation`) exits with
  its documented code, writes nothing, and says so in one line;
* whatever was written decodes (Pillow, numpy.load, numpy.loadtxt) with the shape the op's
  parameters give, and ``-o -`` puts exactly one image/array on stdout and nothing else;
* the inputs are unchanged, byte for byte, and no stray file (``.convcli-*.part``, temporary files)
  is left in the working directory, the output directory or ``$TMPDIR``.

The whole matrix is 3,888 runs (about 30 minutes on 2 idle cores). By default a seeded sample is run
(the seed is in each test id): first a greedy set that covers every *pair* of dimension values
(op × input, input × output, output × flag, ...), then random fill up to 300 combinations.

    CONVCLI_COMBINATIONS=all      every combination
    CONVCLI_COMBINATIONS=800      a bigger sample
    CONVCLI_COMBINATIONS_SEED=7   another sample
    CONVCLI_COMBINATIONS_JOBS=2   runs of convcli at once (default 2)

The runs of all selected combinations start together (a small thread pool, each run in its own
directory) the first time a test of this module asks for its result; each test then checks its own.
"""
from __future__ import annotations

import io
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"

DEFAULT_SAMPLE = 300
DEFAULT_SEED = 14
TIMEOUT = 120            # seconds per run: a first run may compile Numba kernels
DOCUMENTED_CODES = {0, 2, 3, 4, 5, 6}
H, W = 24, 32            # image inputs
MH, MW = 12, 16          # .npy / .csv inputs
INLINE = [[(r * 8 + c) % 11 - 5 for c in range(8)] for r in range(6)]   # --matrix, 6×8, negatives too
INLINE_TEXT = ";".join(",".join(str(v) for v in row) for row in INLINE)


def convcli_exe() -> str:
    here = Path(sys.executable).parent / "convcli"
    if here.exists():
        return str(here)
    found = shutil.which("convcli")
    if found is None:
        pytest.fail("the convcli console script is not installed (pip install -e '.[test]')")
    return found


# ----------------------------------------------------------------------------------- dimensions

# op -> (arguments before the inputs, expected (H, W) -> (H', W'))
OPS: dict[str, tuple[list[str], object]] = {
    "convolve": (["convolve", "-k", "box", "--padding", "same"], lambda h, w: (h, w)),
    "pool": (["pool", "--size", "2"], lambda h, w: (h // 2, w // 2)),
    "upsample": (["upsample", "--scale", "2"], lambda h, w: (2 * h, 2 * w)),
    "tconv": (["tconv", "-k", "box", "-s", "2"], lambda h, w: ((h - 1) * 2 + 3, (w - 1) * 2 + 3)),
    "activate": (["activate", "--fn", "relu"], lambda h, w: (h, w)),
    # a 3×3 box without padding, then 2×2 pooling
    "chain": (["chain", "convolve -k box", "pool --size 2"], lambda h, w: ((h - 2) // 2, (w - 2) // 2)),
    "bnorm": (["bnorm-stats"], lambda h, w: (h, w)),
}


@dataclass(frozen=True)
class Member:
    """One file the op will see (after folders and globs are expanded)."""

    path: str | None          # relative to the run directory; None for stdin / --matrix
    out_stem: str             # the name --out-dir gives its output
    out_ext: str              # the extension --out-dir gives it (the input's own format)
    shape: tuple[int, int]
    channels: int             # colour channels of the result (alpha not counted)
    alpha: bool
    kind: str                 # image8 | image16 | matrix


def _img(path, stem, ext, channels=1, alpha=False, kind="image8", shape=(H, W)):
    return Member(path, stem, ext, shape, channels, alpha, kind)


# input kind -> (arguments, stdin file or None, members)
INPUTS: dict[str, tuple[list[str], str | None, list[Member]]] = {
    "gray_png": (["in/gray.png"], None, [_img("in/gray.png", "gray", ".png")]),
    "rgb_png": (["in/rgb.png"], None, [_img("in/rgb.png", "rgb", ".png", 3)]),
    "rgba_png": (["in/rgba.png"], None, [_img("in/rgba.png", "rgba", ".png", 3, True)]),
    "gray16_png": (["in/gray16.png"], None, [_img("in/gray16.png", "gray16", ".png", kind="image16")]),
    "jpeg": (["in/photo.jpg"], None, [_img("in/photo.jpg", "photo", ".jpg", 3)]),
    "npy": (["in/matrix.npy"], None, [_img("in/matrix.npy", "matrix", ".npy", kind="matrix", shape=(MH, MW))]),
    "csv": (["in/matrix.csv"], None, [_img("in/matrix.csv", "matrix", ".csv", kind="matrix", shape=(MH, MW))]),
    "matrix": (["--matrix", INLINE_TEXT], None,
               [_img(None, "matrix", ".csv", kind="matrix", shape=(len(INLINE), len(INLINE[0])))]),
    "stdin_png": (["-"], "in/rgb.png", [_img(None, "stdin", ".png", 3)]),
    "stdin_npy": (["-"], "in/matrix.npy", [_img(None, "stdin", ".png", kind="matrix", shape=(MH, MW))]),
    "dir1": (["one"], None, [_img("one/scan.png", "scan", ".png")]),
    "dir3": (["three"], None, [_img("three/a.png", "a", ".png"), _img("three/b.jpg", "b", ".jpg", 3),
                               _img("three/c.png", "c", ".png", 3, True)]),
    # the pattern reaches convcli unexpanded (no shell); many/notes.csv must not match
    "glob": (["many/*.png"], None, [_img("many/g1.png", "g1", ".png"),
                                    _img("many/g2.png", "g2", ".png", kind="image16")]),
}

IMAGE_EXTS = ("png", "jpg", "tif", "bmp", "webp")
TEXT_EXTS = ("csv", "txt")
OUTPUTS = ["none"] + [f"o_{e}" for e in IMAGE_EXTS + ("npy",) + TEXT_EXTS] + ["o_stdout", "outdir_new",
                                                                               "outdir_existing"]
FLAGS = ["plain", "json", "trace", "show"]


def applies(op: str, inp: str, out: str, flag: str) -> bool:
    """bnorm-stats has no -o and no --matrix: those combinations do not exist."""
    if op == "bnorm":
        return inp != "matrix" and out in ("none", "outdir_new", "outdir_existing")
    return True


ALL = [c for c in itertools.product(OPS, INPUTS, OUTPUTS, FLAGS) if applies(*c)]


# ------------------------------------------------------------------------------- expectations

# README ("Pictures, animations and exports"): every op, "and chain for its final result", shares
# the trace options. If the project decides chain has no trace, set this to False: chain --trace is
# then a usage error (exit 2, one line), which the test checks instead.
CHAIN_TRACES = True

@dataclass
class Expect:
    code: int                    # the exit code of a correct product
    why: str = ""                # for a non-zero code: the rule that refuses it
    refusal_ok: bool = False     # code 0 expected, but a one-line refusal with exit 2 is accepted too


def expectation(op: str, inp: str, out: str, flag: str) -> Expect:
    """What a correct convcli does with this combination.

    Invalid usage (exit 2):
    * several inputs (folder of three, glob) with no output and no --json: nowhere to put them;
    * several inputs with ``-o FILE`` or ``-o -``: -o names one output;
    * ``-o x.csv`` / ``-o x.txt`` for a result with more than one channel (RGB, RGBA inputs): the text
      formats hold 2-D grids only;
    * bnorm-stats with ``-`` (it reads files; documented refusal).
    Bad input data (exit 3):
    * bnorm-stats over the folder of three (1-, 3- and 3+alpha-channel images): a batch needs one
      channel count.
    Either way (exit 0 with clean stdout, or a one-line refusal with exit 2):
    * ``-o -`` with --json, --trace or --show: stdout is the data, so these must go to stderr or be
      refused.
    Everything else is valid usage and must exit 0, including ``--out-dir`` naming a directory that
    does not exist yet (it is created, as bnorm-stats documents), stdin holding a .npy, and chain with
    --trace (README: chain shares the trace options for its final result).
    """
    members = INPUTS[inp][2]
    many = len(members) > 1
    if op == "chain" and flag == "trace" and not CHAIN_TRACES:
        return Expect(2, "chain has no --trace")
    if op == "bnorm":
        if inp.startswith("stdin"):
            return Expect(2, "bnorm-stats reads files, not stdin")
        if inp == "dir3":
            return Expect(3, "bnorm-stats needs one channel count")
        return Expect(0)
    if many and out == "none" and flag != "json":
        return Expect(2, "several inputs need --out-dir (or --json)")
    if many and out.startswith("o_"):
        return Expect(2, "-o names one output")
    if out in ("o_csv", "o_txt") and members[0].channels > 1:
        return Expect(2, "a text format holds a 2-D result")
    if out == "o_stdout" and flag != "plain":
        return Expect(0, refusal_ok=True)
    return Expect(0)


# ------------------------------------------------------------------------------------ sampling

def _pairs(combo) -> list[tuple]:
    return [(i, combo[i], j, combo[j]) for i, j in itertools.combinations(range(4), 2)]


def choose(combos: list[tuple], count: int, seed: int) -> list[tuple]:
    """A greedy pairwise-covering subset (every value pair of two dimensions appears), then random
    fill up to ``count``; deterministic for a seed."""
    rnd = random.Random(seed)
    uncovered = {p for c in combos for p in _pairs(c)}
    chosen: list[tuple] = []
    left = list(combos)
    while uncovered and len(chosen) < count:
        candidates = rnd.sample(left, min(len(left), 400))
        best = max(candidates, key=lambda c: sum(p in uncovered for p in _pairs(c)))
        if not any(p in uncovered for p in _pairs(best)):       # the sample missed: take any that helps
            best = next(c for c in left if any(p in uncovered for p in _pairs(c)))
        chosen.append(best)
        left.remove(best)
        uncovered.difference_update(_pairs(best))
    rest = rnd.sample(left, max(0, min(len(left), count - len(chosen))))
    picked = set(chosen + rest)
    return [c for c in combos if c in picked]      # in the matrix's order


def selected() -> tuple[list[tuple], int | None]:
    setting = os.environ.get("CONVCLI_COMBINATIONS", "").strip().lower()
    if setting == "all":
        return ALL, None
    seed = int(os.environ.get("CONVCLI_COMBINATIONS_SEED", DEFAULT_SEED))
    count = int(setting) if setting else DEFAULT_SAMPLE
    if count >= len(ALL):
        return ALL, None
    return choose(ALL, count, seed), seed


SELECTED, SEED = selected()


def combo_id(combo) -> str:
    op, inp, out, flag = combo
    return "-".join([op, inp, out, flag]) + (f"-seed{SEED}" if SEED is not None else "")


# ------------------------------------------------------------------------------------- inputs

def _crop(name: str, left: int | None = None, top: int | None = None):
    """A W×H crop (the centre by default)."""
    from PIL import Image

    with Image.open(SAMPLES / name) as im:
        im.load()
        left = (im.size[0] - W) // 2 if left is None else left
        top = (im.size[1] - H) // 2 if top is None else top
        return im.crop((left, top, left + W, top + H))


def make_inputs(base: Path) -> None:
    """Small real inputs, cropped from sample_images/ (alpha.png at the edge of its opaque disc, so
    the crop is partly transparent)."""
    from PIL import Image

    (base / "in").mkdir(parents=True)
    gray = _crop("gray.png").convert("L")
    rgb = _crop("rgb.jpg").convert("RGB")
    rgba = _crop("alpha.png", 20, 30).convert("RGBA")
    gray16 = _crop("gray16.png")
    assert gray16.mode == "I;16" and rgba.getextrema()[3][0] < 255
    gray.save(base / "in/gray.png")
    rgb.save(base / "in/rgb.png")
    rgba.save(base / "in/rgba.png")
    gray16.save(base / "in/gray16.png")
    rgb.save(base / "in/photo.jpg", quality=92)
    rng = np.random.default_rng(14)
    matrix = rng.uniform(-5, 5, size=(MH, MW)).round(3).astype(np.float32)
    np.save(base / "in/matrix.npy", matrix)
    np.savetxt(base / "in/matrix.csv", matrix, delimiter=",", fmt="%.3f")
    (base / "one").mkdir()
    gray.save(base / "one/scan.png")
    (base / "three").mkdir()
    gray.save(base / "three/a.png")
    rgb.save(base / "three/b.jpg", quality=92)
    rgba.save(base / "three/c.png")
    (base / "many").mkdir()
    gray.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(base / "many/g1.png")
    gray16.save(base / "many/g2.png")
    np.savetxt(base / "many/notes.csv", matrix[:3], delimiter=",")     # not matched by *.png


# --------------------------------------------------------------------------------------- runs

@dataclass
class Run:
    combo: tuple
    argv: list[str]
    stdin_name: str | None
    cwd: Path
    code: int | None = None
    stdout: bytes = b""
    stderr: str = ""
    before: dict = field(default_factory=dict)     # every file with its bytes, before the run
    after: dict = field(default_factory=dict)
    timed_out: bool = False
    seconds: float = 0.0

    def __repr__(self) -> str:          # keeps pytest's assertion messages short
        return f"Run({self.command_line()!r}, exit {self.code})"

    def command_line(self) -> str:
        import shlex

        line = " ".join(shlex.quote(a) for a in ["convcli"] + self.argv[1:])
        return line + (f" < {self.stdin_name}" if self.stdin_name else "")


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def output_args(out: str) -> list[str]:
    if out == "none":
        return []
    if out == "o_stdout":
        return ["-o", "-"]
    if out.startswith("o_"):
        return ["-o", f"result.{out[2:]}"]
    return ["--out-dir", "outs"]


def prepare(combo, master: Path, base: Path) -> Run:
    op, inp, out, flag = combo
    cwd = base / combo_id(combo)
    shutil.copytree(master, cwd)
    (cwd / "tmp").mkdir()
    if out == "outdir_existing":
        (cwd / "outs").mkdir()
        (cwd / "outs/keep.txt").write_text("not convcli's\n")
    args, stdin_name, _ = INPUTS[inp]
    flags = {"plain": [], "json": ["--json"], "trace": ["--trace"], "show": ["--show"]}[flag]
    argv = [convcli_exe()] + OPS[op][0] + args + output_args(out) + flags
    return Run(combo, argv, stdin_name, cwd)


def execute(run: Run) -> Run:
    import time

    run.before = snapshot(run.cwd)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVCLI_") and k not in ("FORCE_COLOR",)}
    env.update(NO_COLOR="1", COLUMNS="100", TMPDIR=str(run.cwd / "tmp"))
    stdin = (run.cwd / run.stdin_name).read_bytes() if run.stdin_name else b""
    started = time.perf_counter()
    try:
        proc = subprocess.run(run.argv, input=stdin, capture_output=True, cwd=run.cwd, env=env, timeout=TIMEOUT)
        run.code, run.stdout, run.stderr = proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as exc:
        run.timed_out = True
        run.stdout = exc.stdout or b""
        run.stderr = (exc.stderr or b"").decode("utf-8", "replace")
    run.seconds = time.perf_counter() - started
    run.after = snapshot(run.cwd)
    return run


_results: dict[tuple, Run] = {}
_results_lock = threading.Lock()


@pytest.fixture(scope="session")
def master_inputs(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("combo_master")
    make_inputs(base / "m")
    return base / "m"


@pytest.fixture
def combo_run(request, master_inputs, tmp_path_factory):
    """The finished run of this test's combination. The first call runs every combination collected
    from this module, ``CONVCLI_COMBINATIONS_JOBS`` at a time."""
    combo = request.param
    with _results_lock:
        if combo not in _results:
            wanted = [item.callspec.params["combo_run"] for item in request.session.items
                      if getattr(item, "callspec", None) is not None and "combo_run" in item.callspec.params]
            todo = [c for c in dict.fromkeys(wanted) if c not in _results] or [combo]
            if combo not in todo:
                todo.append(combo)
            base = tmp_path_factory.mktemp("combos")
            runs = [prepare(c, master_inputs, base) for c in todo]
            jobs = max(1, int(os.environ.get("CONVCLI_COMBINATIONS_JOBS", "2")))
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                for run in pool.map(execute, runs):
                    _results[run.combo] = run
    return _results[combo]


# ------------------------------------------------------------------------------------ decoding

def image_from(data: bytes, what: str):
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def png_length(data: bytes) -> int:
    """Bytes up to the end of the first PNG's IEND chunk (so trailing bytes can be found)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"not a PNG: {data[:40]!r}"
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos
    raise AssertionError("PNG without IEND")


def expected_dims(op: str, member: Member) -> tuple[int, int]:
    return OPS[op][1](*member.shape)


def check_image(im, op: str, member: Member, ext: str, where: str) -> None:
    h, w = expected_dims(op, member)
    assert im.size == (w, h), f"{where}: image is {im.size[1]}×{im.size[0]}, expected {h}×{w}"
    bands = len(im.getbands())
    if member.channels == 1 and ext == "webp":
        allowed = {1, 3}          # WebP has no gray mode: a gray result is stored as R ≈ G ≈ B (lossy)
        if bands == 3:
            r, g, b = (np.asarray(c, dtype=np.int16) for c in im.split())
            assert max(np.abs(r - g).max(), np.abs(g - b).max()) <= 4, f"{where}: a gray result written in colour"
    elif member.channels == 1:
        allowed = {1}
    elif member.alpha and ext in ("png", "tif", "webp"):
        allowed = {4}
    elif member.alpha and ext == "bmp":
        allowed = {3, 4}
    else:
        allowed = {3}
    assert bands in allowed, f"{where}: image has {bands} band(s) ({im.mode}), expected {sorted(allowed)}"
    if member.kind == "image16" and ext in ("png", "tif"):
        assert im.mode in ("I;16", "I;16B", "I", "I;16L"), f"{where}: 16-bit input written as mode {im.mode}"


def check_array(arr: np.ndarray, op: str, member: Member, where: str, *, text: bool = False) -> None:
    h, w = expected_dims(op, member)
    shape = (h, w) if member.channels == 1 or text else (h, w, member.channels)
    assert arr.shape == shape, f"{where}: array shape {arr.shape}, expected {shape}"
    assert np.isfinite(arr).all(), f"{where}: array holds NaN or inf"


def check_file(path: Path, data: bytes, op: str, member: Member) -> None:
    ext = path.suffix.lower().lstrip(".")
    where = str(path.name)
    if ext in ("png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp"):
        im = image_from(data, where)
        expect_fmt = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF", "bmp": "BMP",
                      "webp": "WEBP"}[ext]
        assert im.format == expect_fmt, f"{where}: written as {im.format}, not {expect_fmt}"
        check_image(im, op, member, {"jpeg": "jpg", "tiff": "tif"}.get(ext, ext), where)
    elif ext == "npy":
        arr = np.load(io.BytesIO(data), allow_pickle=False)
        check_array(arr, op, member, where)
    elif ext in ("csv", "txt"):
        text = data.decode("utf-8")
        rows = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        delim = "," if "," in rows[0] else None
        arr = np.loadtxt(io.StringIO(text), delimiter=delim, ndmin=2)
        check_array(arr, op, member, where, text=True)
    else:
        raise AssertionError(f"unexpected output file {where}")


def check_stdout_data(data: bytes, op: str, member: Member) -> None:
    """``-o -``: exactly one PNG (the documented default for stdout), nothing before or after it."""
    assert data, "-o - wrote nothing on stdout"
    if data[:6] == b"\x93NUMPY":
        raise AssertionError("-o - without --format wrote .npy; README: PNG for stdout")
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"stdout does not start with a PNG: {data[:60]!r}"
    end = png_length(data)
    assert end == len(data), f"stdout holds {len(data) - end} byte(s) after the PNG: {data[end:end + 80]!r}"
    check_image(image_from(data, "stdout"), op, member, "png", "stdout")


# -------------------------------------------------------------------------------------- stderr

ERROR_LINE = re.compile(r"^convcli: error: \S")
WARNING_LINE = re.compile(r"^convcli: warning: ")
SUMMARY_LINE = re.compile(r"^convcli: \d+ written( to .*)?, \d+ failed, in [0-9.]+ s$")


def stderr_lines(run: Run) -> list[str]:
    return [ln for ln in run.stderr.splitlines() if ln.strip()]


def stderr_only_messages(run: Run) -> bool:
    """Does this run send nothing but messages to stderr? (--show/--trace pictures and tables go to
    stderr with --json or -o -, bnorm-stats prints its table there with --json, activate its report.)"""
    op, _, out, flag = run.combo
    if flag in ("show", "trace") and (out == "o_stdout" or flag == "json"):
        return False
    if flag == "json" and op in ("bnorm", "activate"):
        return False
    if out == "o_stdout" and op == "activate":
        return False
    return True


# --------------------------------------------------------------------------------------- test

@pytest.mark.parametrize("combo_run", SELECTED, ids=[combo_id(c) for c in SELECTED], indirect=True)
def test_combination(combo_run: Run):
    run = combo_run
    op, inp, out, flag = run.combo
    expect = expectation(*run.combo)
    members = INPUTS[inp][2]
    cmd = run.command_line()
    report = f"\n$ {cmd}\nexit {run.code}\nstderr:\n{run.stderr[-3000:]}"

    # --- never a crash, never an undocumented exit code
    assert not run.timed_out, f"timed out after {TIMEOUT} s{report}"
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, f"crash{report}"
    assert run.code in DOCUMENTED_CODES, f"exit code {run.code} is not a documented one{report}"

    # --- inputs unchanged, nothing stray anywhere
    inputs_before = {k: v for k, v in run.before.items() if not k.startswith(("outs/", "tmp/"))}
    for name, data in inputs_before.items():
        assert run.after.get(name) == data, f"input {name} was changed or removed{report}"
    new = {k: v for k, v in run.after.items() if k not in run.before}
    stray = [k for k in new if k.startswith("tmp/") or ".part" in k or Path(k).name.startswith(".")]
    assert not stray, f"stray files left behind: {stray}{report}"
    assert run.after.get("outs/keep.txt", b"not convcli's\n") == b"not convcli's\n", f"outs/keep.txt touched{report}"

    # --- the exit code the combination deserves
    lines = stderr_lines(run)
    errors = [ln for ln in lines if ERROR_LINE.match(ln)]
    if run.code == 0:
        assert not errors, f"exit 0 but errors on stderr{report}"
    else:
        if stderr_only_messages(run) or run.code != 4:
            others = [ln for ln in lines if not (ERROR_LINE.match(ln) or WARNING_LINE.match(ln)
                                                 or SUMMARY_LINE.match(ln))]
            assert not others, f"stderr holds more than convcli: error/warning lines: {others[:5]}{report}"
        if run.code == 4:
            assert 1 <= len(errors) < len(members), f"exit 4 needs one error line per failed input{report}"
        else:
            assert len(errors) == 1, f"exit {run.code} needs exactly one 'convcli: error:' line, got {len(errors)}{report}"

    if expect.code != 0:
        assert run.code == expect.code, f"expected exit {expect.code} ({expect.why}){report}"
        assert not new, f"a refused run wrote {sorted(new)}{report}"
        return
    if expect.refusal_ok and run.code == 2:
        assert not new and not run.stdout, f"a refused run wrote something{report}"
        return
    assert run.code == 0, f"valid usage, expected exit 0{report}"

    # --- what was written
    stdout_text = run.stdout.decode("utf-8", "replace")
    if flag == "json" and out != "o_stdout":
        try:
            doc = json.loads(stdout_text)
        except ValueError:
            raise AssertionError(f"--json: stdout is not one JSON document: {stdout_text[:300]!r}{report}") from None
        if op != "bnorm":
            assert len(doc["records"]) == len(members) and doc["failed"] == 0, f"JSON records: {doc}{report}"
            for rec, m in zip(doc["records"], members):
                assert rec["status"] == "ok" and tuple(rec["output_shape"][:2]) == expected_dims(op, m), \
                    f"JSON record {rec}{report}"
        else:
            assert doc.get("count") == sum(m.shape[0] * m.shape[1] for m in members), f"JSON {doc}{report}"

    if out == "none":
        assert not new, f"no output asked for, but {sorted(new)} written{report}"
        if flag != "json":
            assert stdout_text.strip(), f"no output and nothing printed{report}"
    elif out == "o_stdout":
        assert not new, f"-o - also wrote {sorted(new)}{report}"
        try:
            check_stdout_data(run.stdout, op, members[0])
        except AssertionError as exc:
            raise AssertionError(f"{exc}{report}") from None
    elif out.startswith("o_"):
        target = f"result.{out[2:]}"
        assert sorted(new) == [target], f"expected exactly {target}, got {sorted(new)}{report}"
        try:
            check_file(Path(target), new[target], op, members[0])
        except (AssertionError, ValueError, OSError) as exc:
            raise AssertionError(f"{target}: {exc}{report}") from None
    else:
        written = {k: v for k, v in new.items() if k.startswith("outs/")}
        expected = {f"outs/{m.out_stem}{m.out_ext}": m for m in members}
        assert sorted(written) == sorted(expected) and len(new) == len(written), \
            f"--out-dir: expected {sorted(expected)}, got {sorted(new)}{report}"
        for name, m in expected.items():
            try:
                check_file(Path(name), written[name], op, m)
            except (AssertionError, ValueError, OSError) as exc:
                raise AssertionError(f"{name}: {exc}{report}") from None


def test_sample_covers_every_pair():
    """The default sample covers every pair of values of two dimensions (op × input, input × output,
    output × flag, ...) that the matrix has."""
    if SEED is None:
        return
    want = {p for c in ALL for p in _pairs(c)}
    have = {p for c in SELECTED for p in _pairs(c)}
    assert want <= have, f"{len(want - have)} pairs missing, e.g. {sorted(want - have)[:5]}"
    assert len(SELECTED) == min(len(ALL), int(os.environ.get("CONVCLI_COMBINATIONS") or DEFAULT_SAMPLE))
