"""Hostile input and faults, through the real console script.

Every attack checks the same promise: the documented exit code, exactly one line on stderr (no
traceback, no Python warning, no control character that could forge a second line), nothing left
in the output location or the temp directory, and the inputs' bytes unchanged.
"""
from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import SAMPLES, os_is_root, snapshot

CONVCLI = str(Path(sys.executable).with_name("convcli"))
SLIDE = "50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0"


def run(*args, stdin=None, env=None, timeout=120, cwd=None, limit_memory: int | None = None, **kw):
    """Run convcli; ``limit_memory`` caps the child's address space (bytes) with setrlimit."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", **(env or {})}
    full_env.pop("CONVCLI_MAX_PIXELS", None) if "CONVCLI_MAX_PIXELS" not in (env or {}) else None

    def cap():
        if limit_memory:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (limit_memory, limit_memory))

    return subprocess.run([CONVCLI, *map(str, args)], input=stdin, capture_output=True, env=full_env,
                          timeout=timeout, cwd=cwd, preexec_fn=cap if limit_memory else None, **kw)


def one_error_line(proc, code: int, *words: str) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    lines = err.splitlines()
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}: {err!r}"
    assert len(lines) == 1 and lines[0].startswith("convcli: error: "), err
    assert "Traceback" not in err and "Warning" not in err and "\x1b" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def no_temp_files(*dirs: Path) -> None:
    for d in dirs:
        if d.exists():
            assert not [p for p in d.rglob(".convcli-*")], list(d.rglob("*"))


@pytest.fixture
def work(tmp_path) -> Path:
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    shutil.copy(SAMPLES / "slide_5x5.csv", tmp_path / "in" / "in.csv")
    shutil.copy(SAMPLES / "gray.png", tmp_path / "in" / "gray.png")
    np.save(tmp_path / "in" / "k.npy", np.ones((3, 3), np.float32))
    return tmp_path


# ----------------------------------------------------------------------------- 1. one write guard

@pytest.mark.parametrize("spelling", ["same", "dot", "symlink", "hardlink"])
@pytest.mark.parametrize("option", ["--trace-out", "-o"])
def test_no_written_file_is_an_input(work, spelling, option):
    src = work / "in" / "in.csv"
    target = {"same": src, "dot": work / "in" / "." / "in.csv", "symlink": work / "link.csv",
              "hardlink": work / "hard.csv"}[spelling]
    if spelling == "symlink":
        os.symlink(src, target)
    if spelling == "hardlink":
        os.link(src, target)
    before = snapshot(work)
    other = ["-o", work / "out" / "r.npy"] if option == "--trace-out" else []
    proc = run("convolve", src, "-k", "box", option, target, *other)
    one_error_line(proc, 5, "overwrite the input")
    assert snapshot(work) == before
    no_temp_files(work)


@pytest.mark.parametrize("role", ["kernel", "output-of-kernel-hardlink"])
def test_kernel_files_are_inputs_too(work, role):
    kernel = work / "in" / "k.npy"
    target = kernel
    if role == "output-of-kernel-hardlink":
        target = work / "out" / "k_alias.npy"
        os.link(kernel, target)
    before = snapshot(work)
    proc = run("convolve", work / "in" / "in.csv", "-k", kernel, "-o", target)
    one_error_line(proc, 5, "overwrite the input")
    assert snapshot(work) == before


@pytest.mark.skipif(not os_is_root(), reason="making a device node needs root")
def test_a_device_is_streamed_into_never_replaced(work):
    node = work / "out" / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))     # a private /dev/null
    for option in ("--trace-out", "-o"):
        extra = ["-o", work / "out" / "r.npy"] if option == "--trace-out" else ["--format", "npy"]
        proc = run("convolve", work / "in" / "in.csv", "-k", "box", option, node, *extra)
        assert proc.returncode == 0, proc.stderr
        assert stat.S_ISCHR(os.lstat(node).st_mode), "the device node was replaced"
    no_temp_files(work)


def test_dev_stdout_works_and_fifo_without_reader_is_refused(work):
    proc = run("convolve", work / "in" / "in.csv", "-k", "vertical-edge", "-o", "/dev/stdout", "--format", "csv")
    assert proc.returncode == 0 and proc.stdout.decode().splitlines() == ["150,150,0"] * 3, proc
    fifo = work / "out" / "pipe"
    os.mkfifo(fifo)
    started = time.monotonic()
    proc = run("convolve", work / "in" / "in.csv", "-k", "box", "-o", fifo, "--format", "npy", timeout=60)
    one_error_line(proc, 5, "no reader")
    assert time.monotonic() - started < 30 and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_fifo_with_a_reader_gets_the_data(work):
    fifo = work / "out" / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    time.sleep(0.3)
    proc = run("convolve", work / "in" / "in.csv", "-k", "vertical-edge", "-o", fifo, "--format", "txt")
    data = reader.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0 and data.splitlines() == ["150 150 0"] * 3


def test_trace_out_is_not_written_when_the_run_fails(work):
    # the result cannot be encoded (a 3-channel result as a 2-D text grid): no trace file either
    trace = work / "out" / "trace.txt"
    proc = run("convolve", SAMPLES / "rgb.jpg", "-k", "box", "--trace-out", trace, "-o", work / "out" / "r.csv")
    assert proc.returncode != 0
    assert sorted(os.listdir(work / "out")) == []
    proc = run("convolve", work / "in" / "in.csv", "-k", "box", "--trace-out", trace, "-o", work / "out" / "r.csv")
    assert proc.returncode == 0 and trace.read_text().startswith("convolution")


def test_output_symlink_keeps_the_link(work):
    real = work / "out" / "real.csv"
    real.write_text("old\n")
    link = work / "out" / "link.csv"
    os.symlink(real, link)
    proc = run("convolve", work / "in" / "in.csv", "-k", "vertical-edge", "-o", link)
    assert proc.returncode == 0, proc.stderr
    assert os.path.islink(link) and real.read_text().splitlines() == ["150,150,0"] * 3


# ----------------------------------------------------------------------------- signals

def _big_batch(work: Path, n: int = 12) -> Path:
    folder = work / "big"
    folder.mkdir()
    rng = np.random.default_rng(0)
    from PIL import Image

    img = Image.fromarray(rng.integers(0, 255, (1500, 2000, 3), dtype=np.uint8))
    for i in range(n):
        img.save(folder / f"p{i}.png", compress_level=1)
    return folder


def _default_signals() -> None:
    """The child starts with default dispositions, whatever the test runner ignores (nohup)."""
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, signal.SIG_DFL)


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_signal_mid_batch_leaves_no_part_file(work, sig, code):
    folder = _big_batch(work)
    before = snapshot(folder)
    out = work / "out"
    env = {**os.environ, "NO_COLOR": "1"}
    # PNG encoding of noise is slow (zlib finds nothing to compress): the batch runs for seconds
    proc = subprocess.Popen([CONVCLI, "convolve", str(folder), "-k", "gaussian:15", "--padding", "same",
                             "--out-dir", str(out), "-q", "--format", "png", "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=_default_signals)
    # wait until the batch is under way (the first output appears), then interrupt it
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not list(out.iterdir()):
        time.sleep(0.01)
    if proc.poll() is not None:
        pytest.skip("the batch finished before the signal could be sent")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    lines = err.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcli: error:"), err
    no_temp_files(out, folder)
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]
    assert snapshot(folder) == before


# ----------------------------------------------------------------------------- 3. limits

def test_channels_count_toward_the_limit(work):
    np.save(work / "in" / "w.npy", np.ones((300000, 1, 1, 1), np.float32))
    np.save(work / "in" / "x.npy", np.ones((100, 100), np.float32))
    proc = run("convolve", work / "in" / "x.npy", "-k", work / "in" / "w.npy", "-o", work / "out" / "r.npy",
               limit_memory=3 << 30)
    one_error_line(proc, 6, "300,000 channels", "values")
    assert os.listdir(work / "out") == []


@pytest.mark.parametrize("args", [
    ["tconv", "-k", "W", "-s", "2"],
    ["chain", "convolve -k W", "pool --size 1"],
])
def test_channel_heavy_weights_in_other_ops(work, args):
    np.save(work / "in" / "w.npy", np.ones((1, 200000, 2, 2), np.float32))       # (C_in, C_out, kh, kw)
    np.save(work / "in" / "wc.npy", np.ones((200000, 1, 2, 2), np.float32))     # (C_out, C_in, kh, kw)
    np.save(work / "in" / "x.npy", np.ones((100, 100), np.float32))
    weight = work / "in" / ("w.npy" if args[0] == "tconv" else "wc.npy")
    argv = [a.replace("W", str(weight)) for a in args]
    proc = run(*argv, work / "in" / "x.npy", "-o", work / "out" / "r.npy", limit_memory=3 << 30)
    one_error_line(proc, 6, "channels")
    assert os.listdir(work / "out") == []


def test_huge_jobs_is_capped(work):
    proc = run("convolve", work / "in" / "in.csv", "-k", "box", "--jobs", "1000000000000",
               "-o", work / "out" / "r.csv", timeout=60)
    assert proc.returncode == 0 and (work / "out" / "r.csv").exists()


# ----------------------------------------------------------------------------- 4. strict numbers

BAD_NUMBERS = ["+-2", "2²", "²", "٣", "1_0", "0x10", "1e400", "nan", "inf", "-inf", "", " ", "1,2,3",
               "9" * 70, str(10**30), "1.5"]


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("command, option", [
    ("convolve -k box", "--stride"), ("convolve -k box", "--dilation"), ("convolve -k box", "--padding"),
    ("pool", "--size"), ("pool", "--stride"), ("tconv -k box", "--output-padding"),
    ("convolve -k box", "--max-steps"), ("convolve -k box", "--channel"), ("convolve -k box", "--jobs"),
    ("convolve -k box", "--max-pixels"),
])
def test_whole_number_options_are_strict(work, command, option, value):
    proc = run(*command.split(), "--matrix", SLIDE, option, value)
    one_error_line(proc, 2, option)


@pytest.mark.parametrize("value", ["1e39", "-1e39", "nan", "inf", "1e400", "²", "+-1", "0x1p3", "1..2"])
@pytest.mark.parametrize("command, option", [
    ("convolve -k box", "--bias"), ("upsample", "--scale"), ("activate --fn leaky-relu", "--alpha"),
    ("convolve -k box --animate", "--delay"),
])
def test_real_number_options_are_strict(work, command, option, value):
    proc = run(*command.split(), "--matrix", SLIDE, option, value)
    one_error_line(proc, 2, option)


def test_stage_options_and_shape_layers_are_strict(work):
    proc = run("chain", "convolve -k box --stride ²", "--matrix", SLIDE)
    one_error_line(proc, 2, "--stride")
    proc = run("chain", f"pool --size {10**30}", "--matrix", SLIDE)
    one_error_line(proc, 2, "--size")


def test_no_python_warning_reaches_stderr(work):
    proc = run("convolve", "--matrix", "3e38,3e38;3e38,3e38", "-k", "1,1;1,1", "--bias", "3e38")
    assert proc.returncode == 0 and proc.stderr == b""


# ----------------------------------------------------------------------------- 5. --name

@pytest.mark.parametrize("template, words", [
    ("{stem.__class__}", "unknown field"), ("{stem[0]}", "unknown field"), ("{stem:>400000000}", "unknown field"),
    ("{0}", "unknown field"), ("{}", "unknown field"), ("{stem", "unclosed"), ("a}", "unmatched"),
    ("../{stem}", "plain file name"), ("sub/{stem}", "plain file name"), ("..", "plain file name"),
    ("x\ny", "plain file name"), ("{stem}" + "x" * 300, "255 bytes"),
])
def test_name_is_a_template_of_documented_fields_only(work, template, words):
    proc = run("convolve", work / "in" / "in.csv", "-k", "box", "--out-dir", work / "out", "--name", template,
               limit_memory=3 << 30)
    one_error_line(proc, 2, words)
    assert os.listdir(work / "out") == []


def test_name_fields(work):
    shutil.copy(work / "in" / "in.csv", work / "in" / "b.csv")
    proc = run("convolve", work / "in" / "in.csv", work / "in" / "b.csv", "-k", "box", "--out-dir", work / "out",
               "--name", "{index}-{stem}.{ext}{{x}}", "-q")
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(work / "out")) == ["1-in.csv{x}.csv", "2-b.csv{x}.csv"]


# ----------------------------------------------------------------------------- 6. one-line errors

@pytest.mark.parametrize("name", ["bad\nconvcli: error: forged.png", "esc\x1b[2J.png", "tab\there.csv", "cr\rx.png"])
def test_names_in_messages_are_escaped(work, name):
    path = work / "in" / name
    path.write_bytes(b"not an image")
    proc = run("convolve", path, "-k", "box", "-o", work / "out" / "r.png")
    line = one_error_line(proc, 3)
    assert "\\n" in line or "\\x1b" in line or "\\t" in line or "\\r" in line


# ----------------------------------------------------------------------------- 7. environment

@pytest.mark.parametrize("value", ["garbage", "-5", "0", "١٢٣", "1e9", "99999999999999999999999999"])
def test_garbage_max_pixels_env_fails_closed(work, value):
    proc = run("convolve", work / "in" / "in.csv", "-k", "box", env={"CONVCLI_MAX_PIXELS": value})
    one_error_line(proc, 2, "CONVCLI_MAX_PIXELS")


def test_max_pixels_env_is_honoured(work):
    proc = run("convolve", work / "in" / "in.csv", "-k", "box", env={"CONVCLI_MAX_PIXELS": "10"})
    one_error_line(proc, 6, "limit of 10 pixels")


# ----------------------------------------------------------------------------- 8. batch isolation

def test_an_internal_error_is_one_inputs_record(tmp_path, monkeypatch, cli):
    """A bug that raises for one input fails that input alone; the others are written."""
    import convcli.ops.conv as conv

    for n in ("a", "b", "c"):
        shutil.copy(SAMPLES / "slide_5x5.csv", tmp_path / f"{n}.csv")
    (tmp_path / "b.csv").write_text("1,2,3\n4,5,6\n7,8,9\n")     # a 3×3 input trips the fake bug
    real = conv.run_plan

    def buggy(data, plan, *a, **k):
        if data.shape == (3, 3):
            raise RuntimeError("simulated bug")
        return real(data, plan, *a, **k)

    monkeypatch.setattr("convcli.cli.convolve.run_plan", buggy)
    out = tmp_path / "out"
    code, _, err = cli("convolve", tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv", "-k", "1",
                       "--out-dir", out, "-q")
    assert code == 4
    assert sorted(os.listdir(out)) == ["a.csv", "c.csv"]
    assert err.splitlines() == [f"convcli: error: {tmp_path / 'b.csv'}: internal error: RuntimeError: simulated bug "
                                "(rerun with --debug for the traceback)"]


# ----------------------------------------------------------------------------- 9. stdout failures

def test_full_stdout_is_one_line_exit_5(work):
    with open("/dev/full", "wb") as full:
        for fmt in ("png", "npy"):
            proc = subprocess.run([CONVCLI, "convolve", str(work / "in" / "in.csv"), "-k", "box", "-o", "-",
                                   "--format", fmt], stdout=full, stderr=subprocess.PIPE, timeout=60)
            one_error_line(proc, 5, "stdout")
        proc = subprocess.run([CONVCLI, "convolve", str(work / "in" / "in.csv"), "-k", "box"], stdout=full,
                              stderr=subprocess.PIPE, timeout=60)
        one_error_line(proc, 5, "stdout")


def test_closed_stdout_is_one_line_exit_5(work):
    proc = subprocess.run(f"'{CONVCLI}' convolve '{work / 'in' / 'in.csv'}' -k box -o - >&-", shell=True,
                          stderr=subprocess.PIPE, timeout=60)
    one_error_line(proc, 5, "stdout")


def test_broken_pipe_is_quiet(work):
    proc = subprocess.run(f"'{CONVCLI}' convolve '{SAMPLES / 'gray.png'}' -k box -o - --format csv | head -c 10",
                          shell=True, stderr=subprocess.PIPE, stdout=subprocess.PIPE, timeout=60)
    assert proc.stderr == b"" and len(proc.stdout) == 10


# ----------------------------------------------------------------------------- 2. bounded reads

MEMORY_CAP = 3 << 30          # the child's whole address space: Numba and NumPy fit, 12 GB does not


@pytest.mark.parametrize("op", ["convolve -k box", "pool", "activate --fn relu"])
def test_endless_stdin_is_refused_under_a_memory_cap(work, op):
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.run([CONVCLI, *op.split(), "-", "-o", str(work / "out" / "r.npy"), "--max-pixels", "100000"],
                              stdin=zero, capture_output=True, timeout=120,
                              env={**os.environ, "NO_COLOR": "1"},
                              preexec_fn=lambda: __import__("resource").setrlimit(
                                  __import__("resource").RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP)))
    one_error_line(proc, 6, "stdin")
    assert os.listdir(work / "out") == []


def _feed_forever(fifo: str) -> subprocess.Popen:
    return subprocess.Popen(f"exec yes 1,2,3 > '{fifo}'", shell=True, stderr=subprocess.DEVNULL)


def _stop(feeder: subprocess.Popen, fifo: str) -> None:
    feeder.kill()
    try:            # a writer still waiting for a reader is unblocked by opening the read end
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    except OSError:
        pass
    feeder.wait(timeout=10)


@pytest.mark.parametrize("make", ["devzero", "fifo"])
def test_endless_files_are_refused_on_every_read_path(work, make):
    """/dev/zero or a FIFO fed forever, as an input, a kernel file, a stats file and a pipeline."""
    endless = "/dev/zero"
    if make == "fifo":
        endless = str(work / "in" / "endless.csv")
        os.mkfifo(endless)
    cases = [
        (["convolve", endless, "-k", "box", "--max-pixels", "10000"], (3, 6)),
        (["convolve", str(work / "in" / "in.csv"), "-k", endless], (2, 3, 6)),
        (["bnorm-stats", str(work / "in" / "in.csv"), "--eval", "--stats", endless], (3, 6)),
        (["chain", "--pipeline", endless, str(work / "in" / "in.csv")], (2, 6)),
    ]
    before = snapshot(work / "in") if make == "devzero" else None
    for argv, codes in cases:
        feeder = _feed_forever(endless) if make == "fifo" else None
        try:
            proc = run(*argv, limit_memory=MEMORY_CAP, timeout=120)
        finally:
            if feeder is not None:
                _stop(feeder, endless)
        assert proc.returncode in codes, (argv, proc.stderr)
        one_error_line(proc, proc.returncode)
    if before is not None:
        assert snapshot(work / "in") == before


# ----------------------------------------------------------------------------- bnorm-stats' files

@pytest.fixture
def two(work) -> tuple[Path, Path]:
    a, b = work / "in" / "a.csv", work / "in" / "b.csv"
    shutil.copy(work / "in" / "in.csv", a)
    b.write_text("1,2,3,4,5\n5,4,3,2,1\n0,0,0,0,0\n9,9,9,9,9\n1,1,1,1,1\n")
    return a, b


def test_bnorm_stats_file_is_never_rewritten_in_place(work, two):
    a, b = two
    stats = work / "in" / "s.json"
    assert run("bnorm-stats", a, b, "--save-stats", stats).returncode == 0
    before = snapshot(work / "in")
    proc = run("bnorm-stats", a, "--eval", "--stats", stats, "--save-stats", stats)
    one_error_line(proc, 5, "overwrite the input")
    proc = run("bnorm-stats", a, "--eval", "--stats", stats, "--trace-out", work / "in" / "." / "s.json")
    one_error_line(proc, 5, "overwrite the input")
    proc = run("bnorm-stats", a, b, "--trace-out", b)
    one_error_line(proc, 5, "overwrite the input")
    assert snapshot(work / "in") == before


def test_bnorm_out_dir_is_all_or_nothing(work, two):
    a, b = two
    out = work / "out"
    (out / "b.csv").mkdir()                   # the second output's place is taken by a directory
    proc = run("bnorm-stats", a, b, "--out-dir", out, "--save-stats", out / "s.json", "--trace-out", out / "t.txt")
    one_error_line(proc, 5, "b.csv")
    assert sorted(os.listdir(out)) == ["b.csv"] and os.listdir(out / "b.csv") == []
    no_temp_files(out)
    # a failing run (channel counts differ) creates no directory and no stats or trace file
    rgb = work / "in" / "rgb.npy"
    np.save(rgb, np.ones((5, 5, 3), np.float32))
    proc = run("bnorm-stats", a, rgb, "--out-dir", work / "new", "--save-stats", work / "s.json",
               "--trace-out", work / "t.txt")
    one_error_line(proc, 3, "channel")
    assert not (work / "new").exists() and not (work / "s.json").exists() and not (work / "t.txt").exists()
    # the same, working: everything appears
    proc = run("bnorm-stats", a, b, "--out-dir", work / "new", "--save-stats", work / "s.json",
               "--trace-out", work / "t.txt")
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(work / "new")) == ["a.csv", "b.csv"] and (work / "s.json").exists()
    assert (work / "t.txt").read_text().strip()
