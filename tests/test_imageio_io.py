"""Reading and writing under hostile input and in everyday use (issues #13, #14).

Bounded reads (stdin, FIFOs, devices, matrices, kernels, stats files), what stdin may carry,
byte-order marks, feature maps that must not become transparency, float TIFF, 16-bit colour PNG,
and one ``convcli: warning:`` line per lossy read or write. Most cases run both in-process and
through the installed console script.
"""
from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import convcli
from convcli import imageio, png16, statsio
from convcli.errors import ConvcliWarning, InputError, LimitError, ParameterError
from convcli.limits import set_max_pixels

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"
CONVCLI = Path(sys.executable).parent / "convcli"
CAP_1000 = 16 * 1000 + (1 << 20)          # the input cap with --max-pixels 1000


def run(*args, stdin=None, input_bytes=None, timeout=60, preexec_fn=None):
    env = dict(os.environ, NO_COLOR="1")
    env.pop("CONVCLI_MAX_PIXELS", None)
    return subprocess.run([str(CONVCLI), *map(str, args)], stdin=stdin, input=input_bytes, capture_output=True,
                          env=env, timeout=timeout, preexec_fn=preexec_fn)


def lines(stderr: bytes | str) -> list[str]:
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    return [ln for ln in text.splitlines() if ln.strip()]


def one_error(proc, code: int, *words: str) -> str:
    err = lines(proc.stderr)
    assert proc.returncode == code, (proc.returncode, err)
    assert len(err) == 1 and err[0].startswith("convcli: error: "), err
    for w in words:
        assert w in err[0], err[0]
    return err[0]


def feed_fifo(path: Path, payload: bytes) -> threading.Thread:
    """Write ``payload`` into the FIFO ``path`` from a thread (the reader may stop early)."""
    def write():
        try:
            with open(path, "wb") as fh:
                fh.write(payload)
        except (BrokenPipeError, OSError):
            pass
    t = threading.Thread(target=write, daemon=True)
    t.start()
    return t


# ------------------------------------------------------------------------- 1. bounded reads

def test_dev_zero_on_stdin_ends_at_the_cap_without_keeping_it(tmp_path):
    """Nothing can decode /dev/zero: it is read on (and thrown away, not buffered) only to the cap."""
    out = tmp_path / "r.png"
    cap = 16 * 89_478_485 + (1 << 20)
    with open("/dev/zero", "rb") as zero:
        proc = run("convolve", "-", "-k", "box", "-o", out, stdin=zero,
                   preexec_fn=lambda: __import__("resource").setrlimit(
                       __import__("resource").RLIMIT_AS, (1 << 30, 1 << 30)))   # far less than the cap
    assert one_error(proc, 6) == (f"convcli: error: stdin: input is more than {cap:,} bytes, over the limit; "
                                  f"refusing to read on (16 bytes per pixel of --max-pixels, plus 1 MiB)")
    assert not out.exists() and not list(tmp_path.iterdir())


def test_dev_zero_as_a_file_argument(tmp_path):
    out = tmp_path / "r.png"
    proc = run("convolve", "/dev/zero", "-k", "box", "-o", out, "--max-pixels", "100")
    one_error(proc, 6, f"/dev/zero: input is more than {16 * 100 + (1 << 20):,} bytes")
    assert not out.exists()


def test_short_garbage_on_stdin_is_bad_input(tmp_path):
    proc = run("convolve", "-", "-k", "box", "-o", tmp_path / "r.png", input_bytes=b"\x00\x01garbage" * 10)
    assert one_error(proc, 3) == ("convcli: error: stdin: not an image (PNG, JPEG, TIFF, BMP, WebP, GIF), a .npy "
                                  "array or a text matrix: its first bytes are none of these")
    assert not (tmp_path / "r.png").exists()


def test_endless_stream_that_looks_like_an_image_stops_at_the_cap(tmp_path):
    """A PNG signature followed by zeros for ever: read up to the cap, then exit 6."""
    out = tmp_path / "r.png"
    writer = subprocess.Popen(["sh", "-c", r"printf '\211PNG\r\n\032\n'; cat /dev/zero"], stdout=subprocess.PIPE)
    try:
        proc = run("convolve", "-", "-k", "box", "-o", out, "--max-pixels", "1000", stdin=writer.stdout)
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert one_error(proc, 6) == (f"convcli: error: stdin: input is more than {CAP_1000:,} bytes, over the limit; "
                                  f"refusing to read on (16 bytes per pixel of --max-pixels, plus 1 MiB)")
    assert not out.exists()


def test_stdin_cap_in_process_reads_no_further_than_the_cap():
    set_max_pixels(10)
    cap = imageio.input_cap()
    assert cap == 16 * 10 + (1 << 20)

    class Endless(io.RawIOBase):
        given = 0

        def readable(self):
            return True

        def readinto(self, b):
            n = len(b)
            b[:n] = b"1," * (n // 2) + b"1" * (n % 2)
            Endless.given += n
            return n

    with pytest.raises(LimitError, match=f"more than {cap:,} bytes"):
        imageio.read_stdin(Endless())
    assert Endless.given <= cap + 1


def test_npy_on_stdin_declaring_a_huge_array_is_refused_before_its_data(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000)})
    stream = header.getvalue()
    taken = []

    class Source(io.RawIOBase):
        pos = 0

        def readable(self):
            return True

        def readinto(self, b):                # the header, then zeros for ever
            n = len(b)
            chunk = (stream[self.pos:] + bytes(n))[:n]
            self.pos += n
            taken.append(n)
            b[:n] = chunk
            return n

    with pytest.raises(LimitError, match=r"100000×100000"):
        imageio.read_stdin(io.BufferedReader(Source()))
    assert sum(taken) <= imageio.PREFIX_BYTES + 8192
    proc = run("convolve", "-", "-k", "box", "-o", tmp_path / "r.npy", input_bytes=stream + bytes(1000))
    one_error(proc, 6, "stdin", "100000×100000")


def test_pickled_npy_on_stdin_is_refused(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    proc = run("convolve", "-", "-k", "box", "-o", tmp_path / "r.npy", input_bytes=buf.getvalue())
    one_error(proc, 3, "stdin", "Python objects")
    assert not (tmp_path / "r.npy").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_inputs_are_read_like_files(tmp_path):
    png = tmp_path / "pipe.png"
    os.mkfifo(png)
    feed_fifo(png, (SAMPLES / "gray.png").read_bytes())
    loaded = imageio.load_input(str(png))
    np.testing.assert_array_equal(loaded.data, imageio.load_input(str(SAMPLES / "gray.png")).data)
    assert loaded.source == str(png)

    grid = tmp_path / "grid.csv"
    os.mkfifo(grid)
    feed_fifo(grid, b"1,2\n3,4\n")
    np.testing.assert_array_equal(imageio.load_input(str(grid)).data, [[1, 2], [3, 4]])

    plain = tmp_path / "noext"               # no extension: told by its content
    os.mkfifo(plain)
    buf = io.BytesIO()
    np.save(buf, np.arange(6, dtype=np.float64).reshape(2, 3))
    feed_fifo(plain, buf.getvalue())
    got = imageio.load_input(str(plain))
    assert got.kind == "matrix" and got.data.dtype == np.float32
    np.testing.assert_array_equal(got.data, np.arange(6).reshape(2, 3))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_through_the_console_script(tmp_path):
    fifo = tmp_path / "in.png"
    os.mkfifo(fifo)
    feed_fifo(fifo, (SAMPLES / "gray.png").read_bytes())
    out = tmp_path / "o.npy"
    proc = run("convolve", fifo, "-k", "box", "-p", "same", "-o", out)
    assert proc.returncode == 0 and lines(proc.stderr) == [], proc.stderr
    expected = convcli.convolve(np.asarray(Image.open(SAMPLES / "gray.png"), np.float32), "box", padding="same")
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-6, atol=1e-4)

    big = tmp_path / "big.csv"             # a FIFO that never ends is cut at the cap
    os.mkfifo(big)
    feed_fifo(big, b"1," * (CAP_1000 // 2 + 10_000))
    proc = run("convolve", big, "-k", "box", "-o", tmp_path / "b.npy", "--max-pixels", "1000")
    one_error(proc, 6, f"big.csv: input is more than {CAP_1000:,} bytes")
    assert not (tmp_path / "b.npy").exists()


def test_huge_csv_file_is_refused_by_size_before_reading(tmp_path):
    big = tmp_path / "huge.csv"
    with open(big, "wb") as fh:
        fh.truncate(CAP_1000 + 1)             # sparse: no disk used, and never read
    proc = run("convolve", big, "-k", "box", "-o", tmp_path / "h.npy", "--max-pixels", "1000")
    assert one_error(proc, 6) == (f"convcli: error: {big}: input is {CAP_1000 + 1:,} bytes, over the limit of "
                                  f"{CAP_1000:,} bytes (16 per pixel of --max-pixels, plus 1 MiB)")
    assert not (tmp_path / "h.npy").exists()


def test_csv_over_the_pixel_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    p = tmp_path / "wide.csv"
    p.write_text("\n".join(",".join(["1"] * 50) for _ in range(50)) + "\n")
    set_max_pixels(2000)
    calls = []
    real_float = float
    monkeypatch.setattr("builtins.float", lambda *a: calls.append(a) or real_float(*a))
    with pytest.raises(LimitError, match=r"50×50 = 2,500 pixels"):
        imageio.load_input(str(p))
    assert calls == []


def test_kernel_file_that_is_a_device_is_refused(tmp_path):
    proc = run("convolve", SAMPLES / "slide_5x5.csv", "-k", "/dev/zero", "--max-pixels", "100")
    one_error(proc, 6, f"/dev/zero: kernel file is more than {16 * 100 + (1 << 20):,} bytes")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_kernel_file_through_a_fifo(tmp_path):
    k = tmp_path / "k.csv"
    os.mkfifo(k)
    feed_fifo(k, b"\xef\xbb\xbf0,0,0\r\n0,2,0\r\n0,0,0\r\n")
    got = convcli.convolve(np.arange(16, dtype=np.float32).reshape(4, 4), str(k), padding="same")
    np.testing.assert_array_equal(got, 2 * np.arange(16).reshape(4, 4))


def test_empty_and_missing_inputs():
    with pytest.raises(InputError, match="no data on stdin"):
        imageio.read_stdin(io.BytesIO(b""))
    with pytest.raises(InputError, match="^/dev/null: file is empty$"):    # a device with nothing in it
        imageio.load_input("/dev/null")
    set_max_pixels(10)
    with pytest.raises(LimitError, match="^/dev/zero: input is more than 1,048,736 bytes"):
        imageio.load_input("/dev/zero")


# -------------------------------------------------------------------------- stats files

def _stats(tmp_path, doc, name="s.json") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


GOOD = {"running_mean": [0.5, 0.25], "running_var": [0.1, 0.2], "num_batches_tracked": 3, "eps": 1e-5,
        "momentum": 0.1, "gamma": [1.0, 2.0], "beta": [0.0, 0.5], "pixel_scale": "unit", "channels": 2}


def test_good_stats_file(tmp_path):
    got = statsio.read_stats(str(_stats(tmp_path, GOOD)))
    assert got == {"channels": 2, "running_mean": [0.5, 0.25], "running_var": [0.1, 0.2], "num_batches_tracked": 3,
                   "pixel_scale": "unit", "eps": 1e-5, "gamma": [1.0, 2.0], "beta": [0.0, 0.5]}
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode())
    assert statsio.read_stats(str(bom))["running_mean"] == [0.5, 0.25]


@pytest.mark.parametrize("change, words", [
    ({"running_mean": [True, 0.5]}, "running_mean[0] is true/false"),
    ({"running_var": ["0.1", 0.2]}, 'running_var[0] is a string "0.1", not a number'),
    ({"running_mean": [0.5]}, "running_mean has 1 values but running_var has 2"),
    ({"running_var": [0.1, -0.2]}, "negative variance"),
    ({"running_mean": []}, "running_mean must be a non-empty list"),
    ({"running_mean": 0.5}, "running_mean must be a non-empty list"),
    ({"running_mean": [[0.5], [0.25]]}, "stats file is nested 3 levels deep"),
    ({"running_mean": [None, 0.25]}, "running_mean[0] is null, not a number"),
    ({"num_batches_tracked": -1}, "num_batches_tracked must be a whole number ≥ 0, got -1"),
    ({"num_batches_tracked": 2.5}, "num_batches_tracked must be a whole number ≥ 0, got 2.5"),
    ({"num_batches_tracked": True}, "num_batches_tracked must be a whole number ≥ 0, got true"),
    ({"eps": 0}, "eps must be a number > 0"),
    ({"eps": "1e-5"}, "eps must be a number > 0"),
    ({"gamma": [1, 2, 3]}, "gamma has 3 values"),
    ({"beta": [False, 0]}, "beta[0] is true/false"),
    ({"channels": 3}, "channels is 3 but running_mean has 2"),
    ({"pixel_scale": "half"}, 'pixel_scale must be "unit" or "raw"'),
    ({"momentum": 2}, "momentum must be a number between 0 and 1"),
])
def test_stats_schema_errors(tmp_path, change, words):
    doc = dict(GOOD, **change)
    with pytest.raises(InputError) as err:
        statsio.read_stats(str(_stats(tmp_path, doc)))
    assert words in str(err.value) and str(err.value).startswith(str(tmp_path / "s.json"))


@pytest.mark.parametrize("text, words", [
    ('{"running_mean": [NaN, 1], "running_var": [1, 1]}', "NaN is not a number a stats file may hold"),
    ('{"running_mean": [Infinity, 1], "running_var": [1, 1]}', "Infinity is not a number"),
    ('{"running_mean": [1e999, 1], "running_var": [1, 1]}', "running_mean[0] is not a finite number"),
    ('{"running_mean": [1], "running_mean": [2], "running_var": [1]}', "key 'running_mean' appears twice"),
    ("[1, 2]", "a stats file holds a JSON object, got a list"),
    ('{"running_mean": [1], "running_var": [1], "extra": {"a": [1]}}', "nested 3 levels deep"),
    ("[" * 100_000 + "]" * 100_000, "nested 100000 levels deep"),
    ('{"running_mean": [1, "[[[[", "]]]"], "running_var": [1]}', "running_mean[1] is a string"),
    ("{", "not a readable JSON stats file"),
    ("   ", "stats file is empty"),
])
def test_stats_text_attacks(tmp_path, text, words):
    with pytest.raises(InputError) as err:
        statsio.read_stats(str(_stats(tmp_path, text)))
    assert words in str(err.value)


def test_stats_through_the_console_script(tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("1,2\n3,5\n")
    saved = tmp_path / "bn.json"
    proc = run("bnorm-stats", data, "--save-stats", saved)
    assert proc.returncode == 0, proc.stderr
    proc = run("bnorm-stats", data, "--eval", "--stats", saved, "--json")
    assert proc.returncode == 0, proc.stderr
    nested = _stats(tmp_path, "[" * 200_000 + "]" * 200_000, "deep.json")
    one_error(run("bnorm-stats", data, "--eval", "--stats", nested), 3, "deep.json", "nested 200000 levels deep")
    nan = _stats(tmp_path, '{"running_mean": [NaN], "running_var": [1]}', "nan.json")
    one_error(run("bnorm-stats", data, "--eval", "--stats", nan), 3, "nan.json: NaN is not a number")
    strings = _stats(tmp_path, '{"running_mean": ["1"], "running_var": [1]}', "str.json")
    one_error(run("bnorm-stats", data, "--eval", "--stats", strings), 3, 'running_mean[0] is a string "1"')
    bools = _stats(tmp_path, '{"running_mean": [1], "running_var": [1], "num_batches_tracked": true}', "b.json")
    one_error(run("bnorm-stats", data, "--eval", "--stats", bools), 3, "num_batches_tracked must be a whole number")
    assert one_error(run("bnorm-stats", data, "--eval", "--stats", "/dev/zero"), 6) == (
        "convcli: error: /dev/zero: stats file is more than 1,048,576 bytes, over the limit; refusing to read on")
    one_error(run("bnorm-stats", data, "--eval", "--stats", "/dev/null"), 3, "/dev/null: stats file is empty")
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate((1 << 20) + 1)
    one_error(run("bnorm-stats", data, "--eval", "--stats", big), 6, "big.json: stats file is 1,048,577 bytes")


# ----------------------------------------------------------------------- 2. byte-order marks

def test_spreadsheet_csv_with_bom(tmp_path, cli):
    p = tmp_path / "sheet.csv"
    p.write_bytes(b"\xef\xbb\xbf1,2,3\r\n4,5,6\r\n7,8,9\r\n")
    np.testing.assert_array_equal(imageio.load_input(str(p)).data, np.arange(1, 10).reshape(3, 3))
    k = tmp_path / "k.txt"
    k.write_bytes(b"\xef\xbb\xbf0 0 0\r\n0 1 0\r\n0 0 1\r\n")
    out = tmp_path / "o.csv"
    code, _out, err = cli("convolve", p, "-k", k, "-o", out)
    assert code == 0 and err == ""
    assert out.read_text() == "14\n"                     # the centre 5 plus the bottom-right 9
    proc = run("convolve", p, "-k", k, "-o", "-", "--format", "csv")
    assert proc.returncode == 0 and proc.stdout == b"14\n" and proc.stderr == b""
    utf16 = tmp_path / "unicode.txt"                      # a spreadsheet's "Unicode text": UTF-16, tabs
    utf16.write_bytes("1\t2\r\n3\t4\r\n".encode("utf-16"))
    np.testing.assert_array_equal(imageio.load_input(str(utf16)).data, [[1, 2], [3, 4]])


# ------------------------------------------------------------- 3. feature maps are not alpha

def _weight(out_channels: int, in_channels: int = 3) -> np.ndarray:
    w = np.zeros((out_channels, in_channels, 1, 1), np.float32)
    for o in range(out_channels):
        w[o, o % in_channels, 0, 0] = 1.0 / (o + 1)
    return w


@pytest.mark.parametrize("maps, ext", [(4, "png"), (2, "png"), (4, "tif"), (4, "webp"), (2, "tif")])
def test_feature_maps_are_refused_as_images(tmp_path, maps, ext):
    np.save(tmp_path / "w.npy", _weight(maps))
    out = tmp_path / f"fm.{ext}"
    proc = run("convolve", SAMPLES / "rgb.jpg", "-k", tmp_path / "w.npy", "-o", out)
    layout = "RGBA" if maps == 4 else "gray + alpha"
    assert one_error(proc, 2) == (
        f"convcli: error: {SAMPLES / 'rgb.jpg'}: the result has {maps} channels (feature maps, not {layout}): an "
        f"image would show the last one as transparency; write .npy to keep all {maps}, or make one channel "
        f"(--gray, or a weight with 1 or 3 output channels)")
    assert not out.exists()
    npy = tmp_path / "fm.npy"
    proc = run("convolve", SAMPLES / "rgb.jpg", "-k", tmp_path / "w.npy", "-o", npy)
    assert proc.returncode == 0
    got = np.load(npy)
    rgb = np.asarray(Image.open(SAMPLES / "rgb.jpg"), np.float32)
    assert got.shape == rgb.shape[:2] + (maps,)
    np.testing.assert_allclose(got[..., maps - 1], rgb[..., (maps - 1) % 3] / maps, rtol=1e-6)


def test_feature_maps_in_process_and_in_a_chain(tmp_path, cli):
    np.save(tmp_path / "w.npy", _weight(4))
    out = tmp_path / "c.png"
    code, _o, err = cli("chain", f"convolve -k {tmp_path / 'w.npy'}", "activate --fn relu", SAMPLES / "rgb.jpg",
                        "-o", out)
    assert code == 2 and "the result has 4 channels (feature maps, not RGBA)" in err and not out.exists()
    four = np.zeros((3, 3, 4), np.float32)
    with pytest.raises(ParameterError, match="feature maps"):
        imageio.encode_result(four, "x.png")
    with pytest.raises(ParameterError, match="feature maps"):
        imageio.encode_pixels(np.zeros((3, 3, 2), np.uint8), "PNG", color_mode="RGB")
    np.save(tmp_path / "m4.npy", np.ones((3, 3, 4), np.float32))          # a 4-channel matrix, too
    code, _o, err = cli("convolve", tmp_path / "m4.npy", "-k", "identity", "-p", "same", "-o", tmp_path / "m.png")
    assert code == 2 and "feature maps" in err and not (tmp_path / "m.png").exists()


def test_alpha_filter_keeps_a_real_alpha(tmp_path):
    rgba = np.zeros((6, 6, 4), np.uint8)
    rgba[..., :3] = 100
    rgba[..., 3] = np.arange(36, dtype=np.uint8).reshape(6, 6) * 7
    src = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(src)
    out = tmp_path / "f.png"
    proc = run("convolve", src, "--alpha", "filter", "-k", "box", "-o", out)
    assert proc.returncode == 0 and proc.stderr == b""
    got = Image.open(out)
    assert got.mode == "RGBA"
    expected = convcli.convolve(rgba[..., 3].astype(np.float32), "box")
    np.testing.assert_array_equal(np.asarray(got)[..., 3], np.clip(np.rint(expected), 0, 255))
    la = tmp_path / "la.png"
    Image.fromarray(rgba[..., 2:], "LA").save(la)
    proc = run("convolve", la, "--alpha", "filter", "-k", "identity", "-o", tmp_path / "la_out.png")
    assert proc.returncode == 0
    assert Image.open(tmp_path / "la_out.png").mode == "LA"
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "la_out.png")), rgba[1:-1, 1:-1, 2:])


# ------------------------------------------------------------------------- 4. silent loss

def test_float_tiff_stays_float(tmp_path, cli):
    values = (np.arange(80, dtype=np.float32).reshape(8, 10) - 20.5) / 7.0     # negative, fractional
    src = tmp_path / "f.tif"
    Image.fromarray(values, "F").save(src)
    out = tmp_path / "o.tif"
    code, _o, err = cli("convolve", src, "-k", "box", "-p", "same", "-o", out)
    assert code == 0 and err == ""
    im = Image.open(out)
    assert im.mode == "F"
    got = np.asarray(im)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, convcli.convolve(values, "box", padding="same"), rtol=1e-6, atol=1e-6)
    proc = run("pool", src, "--size", "2", "-o", tmp_path / "p.tif")
    assert proc.returncode == 0 and proc.stderr == b""
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "p.tif")),
                                  values.reshape(4, 2, 5, 2).max(axis=(1, 3)))


def test_float_image_to_8_bit_warns_once(tmp_path, cli):
    src = tmp_path / "f.tif"
    Image.fromarray(np.full((5, 5), 100.4, np.float32), "F").save(src)
    for ext in ("png", "jpg"):
        code, _o, err = cli("convolve", src, "-k", "identity", "-o", tmp_path / f"o.{ext}")
        assert code == 0
        fmt = "PNG" if ext == "png" else "JPEG"
        assert lines(err) == [f"convcli: warning: a float image's values are written as 8-bit {fmt} (rounded, "
                              f"0..255 by --range); .tif (float32) or .npy keeps them"]
    assert np.asarray(Image.open(tmp_path / "o.png")).tolist() == [[100] * 3] * 3


def _ref_png16(pixels: np.ndarray, filters: list[int]) -> bytes:
    """A 16-bit PNG written the slow way, byte by byte as the specification's filters say."""
    h, w, c = pixels.shape
    rows = [pixels[y].astype(">u2").tobytes() for y in range(h)]
    bpp = 2 * c
    out = bytearray()
    for y, row in enumerate(rows):
        kind = filters[y % len(filters)]
        prev = rows[y - 1] if y else bytes(len(row))
        out.append(kind)
        for x, v in enumerate(row):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            cc = prev[x - bpp] if x >= bpp else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - cc
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else cc
            out.append((v - pred) % 256)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ctype = {2: 4, 3: 2, 4: 6}[c]
    ihdr = struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0)
    return png16.SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b"")


@pytest.mark.parametrize("channels", [2, 3, 4])
def test_sixteen_bit_colour_png_is_read_at_16_bits(tmp_path, rng, channels):
    pixels = rng.integers(0, 65536, (7, 9, channels), dtype=np.uint16)
    data = _ref_png16(pixels, [0, 1, 2, 3, 4, 4, 3])
    src = tmp_path / "c16.png"
    src.write_bytes(data)
    decoded, exif = png16.decode(data, "c16.png")
    np.testing.assert_array_equal(decoded, pixels)
    assert exif is None
    # Pillow's own unfiltering of the same file keeps the high bytes: an independent check
    pil = np.asarray(Image.open(src))
    if channels == 2:                      # Pillow makes gray + alpha RGBA: gray three times, then alpha
        pil = pil[..., 2:]
    np.testing.assert_array_equal(pil, (pixels >> 8).astype(np.uint8))
    loaded = imageio.load_input(str(src))
    assert loaded.maxval == 65535 and loaded.raw.dtype == np.float32
    np.testing.assert_array_equal(loaded.data, pixels[..., :-1].squeeze() if channels in (2, 4) else pixels)
    if channels in (2, 4):
        np.testing.assert_array_equal(loaded.alpha, pixels[..., -1])
    # written back: a 16-bit PNG with the same values (identity kernel, alpha carried)
    out = tmp_path / "back.png"
    proc = run("convolve", src, "-k", "identity", "-p", "same", "-o", out)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    back, _ = png16.decode(out.read_bytes(), "back.png")
    np.testing.assert_array_equal(back, pixels)


def test_sixteen_bit_png_exif_orientation(tmp_path, rng):
    pixels = rng.integers(0, 65536, (4, 6, 3), dtype=np.uint16)
    exif = Image.Exif()
    exif[0x0112] = 6
    plain = _ref_png16(pixels, [1])
    body = exif.tobytes()
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body + struct.pack(">I", zlib.crc32(b"eXIf" + body) & 0xFFFFFFFF)
    at = len(png16.SIGNATURE) + 25                                   # after IHDR
    src = tmp_path / "rot.png"
    src.write_bytes(plain[:at] + chunk + plain[at:])
    loaded = imageio.load_input(str(src))
    upright8 = np.asarray(ImageOps.exif_transpose(Image.open(src)))   # Pillow's 8-bit reading, turned
    assert loaded.data.shape == (6, 4, 3)
    np.testing.assert_array_equal((loaded.data.astype(np.uint16) >> 8), upright8)


def test_damaged_sixteen_bit_png_is_one_error(tmp_path, rng):
    data = bytearray(_ref_png16(rng.integers(0, 65536, (5, 5, 3), dtype=np.uint16), [2]))
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF
    p = tmp_path / "bad.png"
    p.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"bad.png: corrupt or truncated image \(bad CRC in chunk b'IDAT'\)"):
        imageio.load_input(str(p))
    p.write_bytes(bytes(data[:idat + 20]))
    with pytest.raises(InputError, match="bad.png: corrupt or truncated image"):
        imageio.load_input(str(p))


def test_sixteen_bit_to_8_bit_formats_warns_once(tmp_path, rng, cli):
    src = tmp_path / "c16.png"
    src.write_bytes(png16.encode(rng.integers(0, 65536, (6, 6, 3), dtype=np.uint16)))
    for ext, fmt in (("jpg", "JPEG"), ("tif", "TIFF"), ("webp", "WEBP"), ("bmp", "BMP")):
        code, _o, err = cli("convolve", src, "-k", "box", "-o", tmp_path / f"o.{ext}")
        assert code == 0
        assert lines(err) == [f"convcli: warning: a 16-bit colour result is written as 8-bit {fmt} (scaled to "
                              f"0..255); .png or .npy keeps 16 bits"]
        assert Image.open(tmp_path / f"o.{ext}").mode == "RGB"
    code, _o, err = cli("convolve", SAMPLES / "gray16.png", "-k", "box", "-o", tmp_path / "g.jpg")
    assert code == 0 and lines(err) == ["convcli: warning: a 16-bit result is written as 8-bit JPEG (scaled to "
                                        "0..255); .png, .tif or .npy keeps 16 bits"]
    code, _o, err = cli("convolve", SAMPLES / "gray16.png", "-k", "box", "-o", tmp_path / "g.tif")
    assert code == 0 and err == "" and Image.open(tmp_path / "g.tif").mode.startswith("I;16")


def test_alpha_dropped_by_jpeg_and_bmp_warns_once(tmp_path, cli):
    for ext, fmt in (("jpg", "JPEG"), ("bmp", "BMP")):
        out = tmp_path / f"a.{ext}"
        code, _o, err = cli("convolve", SAMPLES / "alpha.png", "-k", "box", "-o", out)
        assert code == 0
        assert lines(err) == [f"convcli: warning: {fmt} has no alpha channel: the transparency is dropped "
                              f"(.png, .tif or .webp keep it)"]
        assert Image.open(out).mode == "RGB"
    code, _o, err = cli("convolve", SAMPLES / "alpha.png", "-k", "box", "-o", tmp_path / "a.png")
    assert code == 0 and err == ""
    code, _o, err = cli("convolve", SAMPLES / "alpha.png", "--alpha", "drop", "-k", "box", "-o", tmp_path / "d.jpg")
    assert code == 0 and err == ""


def test_multi_frame_and_cmyk_warn_once(tmp_path, cli):
    frames = [Image.fromarray(np.full((4, 4), v, np.uint8), "L") for v in (10, 200, 90)]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    out = tmp_path / "o.npy"
    code, _o, err = cli("convolve", gif, "-k", "identity", "-o", out)
    assert code == 0 and lines(err) == [f"convcli: warning: {gif}: GIF has 3 frames; only the first is used"]
    assert np.load(out).tolist() == [[10.0] * 2] * 2
    tif = tmp_path / "pages.tif"
    frames[1].save(tif, save_all=True, append_images=frames[2:])
    code, _o, err = cli("convolve", tif, "-k", "identity", "-o", out)
    assert code == 0 and lines(err) == [f"convcli: warning: {tif}: TIFF has 2 frames; only the first is used"]
    assert np.load(out).tolist() == [[200.0] * 2] * 2
    cmyk = tmp_path / "c.jpg"
    Image.new("CMYK", (4, 4), (0, 0, 0, 0)).save(cmyk)
    proc = run("convolve", cmyk, "-k", "identity", "-o", out)
    assert proc.returncode == 0 and lines(proc.stderr) == [
        f"convcli: warning: {cmyk}: CMYK colours converted to RGB (without a colour profile: the colours may shift)"]
    code, _o, err = cli("convolve", SAMPLES / "rgb.jpg", "-k", "box", "-o", tmp_path / "plain.png")
    assert code == 0 and err == ""


def test_warnings_survive_a_parallel_batch(tmp_path):
    """Loader threads silence Pillow's remarks one at a time: every input's own warning still prints."""
    names = []
    for i in range(6):
        p = tmp_path / f"c{i}.jpg"
        Image.new("CMYK", (200, 200), (10 * i, 0, 0, 0)).save(p)
        names.append(p)
    (tmp_path / "out").mkdir()
    proc = run("convolve", *names, "-k", "box", "--out-dir", tmp_path / "out", "-j", "4", "-q")
    assert proc.returncode == 0
    assert sorted(lines(proc.stderr)) == sorted(
        f"convcli: warning: {p}: CMYK colours converted to RGB (without a colour profile: the colours may shift)"
        for p in names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imageio.load_input(str(names[0]))
    assert [w.category for w in caught] == [ConvcliWarning]


# ---------------------------------------------------------------- 5. pipes carry more than images

def test_npy_through_a_pipe(tmp_path):
    first = subprocess.Popen([str(CONVCLI), "convolve", str(SAMPLES / "gray.png"), "-k", "sobel-x", "-o", "-",
                              "--format", "npy"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = tmp_path / "y.npy"
    second = run("activate", "-", "--fn", "relu", "-o", out, stdin=first.stdout)
    first.stdout.close()
    first.wait()
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    conv = convcli.convolve(np.asarray(Image.open(SAMPLES / "gray.png"), np.float32), "sobel-x")
    np.testing.assert_allclose(np.load(out), np.maximum(conv, 0), rtol=1e-6, atol=1e-3)


def test_csv_and_txt_through_a_pipe(tmp_path, cli, monkeypatch):
    data = (SAMPLES / "slide_pool_4x4.csv").read_bytes()
    proc = run("pool", "-", "--mode", "max", "-o", "-", "--format", "csv", input_bytes=data)
    grid = np.loadtxt(SAMPLES / "slide_pool_4x4.csv", delimiter=",")
    expected = grid.reshape(2, 2, 2, 2).max(axis=(1, 3))
    assert proc.returncode == 0 and proc.stderr == b""
    np.testing.assert_array_equal(np.loadtxt(io.BytesIO(proc.stdout), delimiter=","), expected)
    proc = run("pool", "-", "--mode", "max", input_bytes=data)               # no -o: the table
    assert proc.returncode == 0 and "result 2×2" in proc.stdout.decode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbf1 2\n3 4\n")))
    code, out, err = cli("activate", "-", "--fn", "relu", "-o", tmp_path / "r.csv")
    assert code == 0 and (tmp_path / "r.csv").read_text() == "1,2\n3,4\n"


def test_stdin_kinds_are_sniffed():
    assert imageio.sniff(b"\x93NUMPY\x01\x00") == "npy"
    assert imageio.sniff((SAMPLES / "gray.png").read_bytes()[:64]) == "image"
    assert imageio.sniff((SAMPLES / "rgb.jpg").read_bytes()[:64]) == "image"
    assert imageio.sniff(b"1,2,3\n4,5,6\n") == "text"
    assert imageio.sniff(b"\xef\xbb\xbf1;2") == "text"
    assert imageio.sniff(b"\x00" * 64) is None
    assert imageio.sniff(b"\xff\xfe\x00\x01\xc3") == "text"            # UTF-16 with its BOM
    loaded = imageio.load_input("-", data=(SAMPLES / "slide_5x5.csv").read_bytes())
    assert loaded.kind == "matrix" and loaded.data.shape == (5, 5)
    ppm = io.BytesIO()
    Image.fromarray(np.full((3, 4), 77, np.uint8), "L").save(ppm, "PPM")   # no magic of ours: Pillow knows it
    got = imageio.load_input("-", data=ppm.getvalue())
    assert got.kind == "image" and got.data.tolist() == [[77.0] * 4] * 3



def test_a_kernel_file_read_by_the_run_is_never_its_output(tmp_path, cli):
    k = tmp_path / "k.csv"
    k.write_text("0,0,0\n0,1,0\n0,0,0\n")
    before = k.read_bytes()
    code, _o, err = cli("convolve", SAMPLES / "slide_5x5.csv", "-k", k, "-o", k)
    assert code == 5 and lines(err) == [f"convcli: error: {k}: output would overwrite the input {k}; choose another name"]
    assert k.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["k.csv"]
