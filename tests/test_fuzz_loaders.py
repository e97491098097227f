"""Loader fuzzing: damaged copies of the sample images must load correctly or fail cleanly.

Mutations (seeded, reproducible): bit flips, byte overwrites, truncations, byte insertions and
deletions, and damage inside one PNG chunk with its CRC recomputed (so the damage gets past the
CRC check into the decoder). Each result is either an image (float32, finite, sane shape) or an
InputError / LimitError — never another exception, never a hang. CONVCLI_FUZZ_MUTATIONS sets how
many per sample file (default 60: 5 samples + 3 small files = 480 mutations).
"""
from __future__ import annotations

import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import SAMPLES
from convcli.errors import InputError, LimitError
from convcli.imageio import load_input

PER_FILE = int(os.environ.get("CONVCLI_FUZZ_MUTATIONS", "60"))
CASE_TIMEOUT = 20.0     # seconds; a decoder stuck in a loop fails the test instead of hanging CI


def _small_samples() -> dict[str, bytes]:
    """Small files in more formats (big samples make each mutation slow without finding more)."""
    import io

    from PIL import Image

    gray = Image.open(SAMPLES / "gray.png").convert("L").resize((32, 24))
    rgb = Image.open(SAMPLES / "rgb.jpg").convert("RGB").resize((32, 24))
    out = {}
    for name, im, fmt, kw in [("small.png", gray, "PNG", {}), ("small.jpg", rgb, "JPEG", {"quality": 85}),
                              ("small.tif", rgb, "TIFF", {}), ("small.bmp", rgb, "BMP", {}),
                              ("small.gif", gray, "GIF", {}), ("small.webp", rgb, "WEBP", {}),
                              ("small16.png", Image.fromarray((np.asarray(gray).astype(np.uint16) * 257)), "PNG", {})]:
        buf = io.BytesIO()
        im.save(buf, format=fmt, **kw)
        out[name] = buf.getvalue()
    return out


def _sources() -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in sorted(SAMPLES.iterdir()) if p.suffix in (".png", ".jpg")}
    big = {k: v for k, v in files.items() if len(v) > 200_000}
    files = {k: v for k, v in files.items() if k not in big}
    files.update(_small_samples())
    return files


def _png_chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset of the chunk's data, its length) for every chunk of a PNG."""
    spans, pos = [], 8
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        spans.append((pos + 8, length))
        pos += 12 + length
    return spans


def mutate(data: bytes, rng: np.random.Generator, ext: str) -> tuple[bytes, str]:
    b = bytearray(data)
    kind = rng.choice(["flip", "flips", "overwrite", "truncate", "insert", "delete", "chunk", "header"])
    n = len(b)
    if kind == "flip":
        i = int(rng.integers(n))
        b[i] ^= 1 << int(rng.integers(8))
    elif kind == "flips":
        for i in rng.integers(0, n, size=int(rng.integers(2, 40))):
            b[int(i)] ^= 1 << int(rng.integers(8))
    elif kind == "overwrite":
        i = int(rng.integers(n))
        run = rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        b[i:i + len(run)] = run
    elif kind == "truncate":
        del b[int(rng.integers(1, n)):]
    elif kind == "insert":
        i = int(rng.integers(n))
        b[i:i] = rng.integers(0, 256, size=int(rng.integers(1, 300)), dtype=np.uint8).tobytes()
    elif kind == "delete":
        i = int(rng.integers(n))
        del b[i:i + int(rng.integers(1, 300))]
    elif kind == "header":        # the first 64 bytes hold sizes, modes, offsets: the interesting ones
        for _ in range(int(rng.integers(1, 6))):
            b[int(rng.integers(min(64, n)))] = int(rng.integers(256))
    elif kind == "chunk" and ext == ".png":
        chunks = _png_chunks(data)
        start, length = chunks[int(rng.integers(len(chunks)))]
        if length:
            for _ in range(int(rng.integers(1, 8))):
                b[start + int(rng.integers(length))] = int(rng.integers(256))
            kind_bytes = bytes(b[start - 4:start])
            crc = zlib.crc32(kind_bytes + bytes(b[start:start + length])) & 0xFFFFFFFF
            b[start + length:start + length + 4] = struct.pack(">I", crc)
    else:                          # chunk damage on a non-PNG: damage the middle instead
        i = n // 2
        b[i:i + 16] = bytes(16)
    return bytes(b), str(kind)


def _load_with_timeout(path: str):
    box: dict = {}

    def work():
        try:
            box["value"] = load_input(path)
        except BaseException as exc:       # noqa: BLE001 - judged below
            box["error"] = exc

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(CASE_TIMEOUT)
    if t.is_alive():
        pytest.fail(f"loading {path} did not finish in {CASE_TIMEOUT:.0f} s (a hang)")
    return box


SOURCES = _sources()


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_mutated_files_load_or_fail_cleanly(source, tmp_path):
    data = SOURCES[source]
    ext = os.path.splitext(source)[1]
    rng = np.random.default_rng(zlib.crc32(source.encode()))
    outcomes: dict[str, int] = {}
    for i in range(PER_FILE):
        mutated, kind = mutate(data, rng, ext)
        path = tmp_path / f"m{i}{ext}"
        path.write_bytes(mutated)
        box = _load_with_timeout(str(path))
        if "error" in box:
            exc = box["error"]
            assert isinstance(exc, (InputError, LimitError)), \
                f"mutation {i} ({kind}) of {source} raised {type(exc).__name__}: {exc}"
            msg = str(exc)
            assert "\n" not in msg and msg.startswith(str(path)), msg
            outcomes["refused"] = outcomes.get("refused", 0) + 1
        else:
            loaded = box["value"]
            d = loaded.data
            assert d.dtype == np.float32 and d.ndim in (2, 3) and min(d.shape[:2]) >= 1
            assert d.ndim == 2 or d.shape[2] in (1, 2, 3, 4)
            assert np.all(np.isfinite(d)), f"mutation {i} ({kind}) of {source} loaded non-finite values"
            assert d.min() >= 0 and d.max() <= loaded.maxval
            if loaded.alpha is not None:
                assert loaded.alpha.shape == d.shape[:2]
            outcomes["loaded"] = outcomes.get("loaded", 0) + 1
        path.unlink()
    assert sum(outcomes.values()) == PER_FILE


@pytest.mark.parametrize("source", ["gray.png", "small.jpg", "small.tif", "small.gif"])
def test_mutated_files_through_the_cli(cli, source, tmp_path):
    """In-process through the real entry: exit 0 with an output, or exit 3/6 with one line and none."""
    data = SOURCES[source]
    ext = os.path.splitext(source)[1]
    rng = np.random.default_rng(99)
    out = tmp_path / "out"
    out.mkdir()
    refused = 0
    for i in range(8):
        mutated, kind = mutate(data, rng, ext)
        path = tmp_path / f"m{i}{ext}"
        path.write_bytes(mutated)
        code, _o, err = cli("convolve", path, "-k", "box", "-o", out / f"r{i}.npy")
        lines = [ln for ln in err.splitlines() if ln.strip()]
        if code == 0:
            assert (out / f"r{i}.npy").exists()
            continue
        refused += 1
        assert code in (3, 6), (kind, code, err)
        assert len(lines) == 1 and lines[0].startswith(f"convcli: error: {path}"), lines
        assert "Traceback" not in err
        assert not (out / f"r{i}.npy").exists()
        assert path.read_bytes() == mutated
    assert not list(out.glob(".convcli-*"))


def test_chunk_damage_with_valid_crc_reaches_the_decoder(tmp_path):
    """The fuzzer's chunk mutation really produces CRC-valid damage (else it only tests the CRC)."""
    data = SOURCES["small.png"]
    ihdr_start, ihdr_len = _png_chunks(data)[0]
    b = bytearray(data)
    b[ihdr_start + 8] = 7                        # bit depth 7: invalid, but the CRC is fixed below
    b[ihdr_start + ihdr_len:ihdr_start + ihdr_len + 4] = struct.pack(
        ">I", zlib.crc32(bytes(b[ihdr_start - 4:ihdr_start + ihdr_len])) & 0xFFFFFFFF)
    p = tmp_path / "depth7.png"
    p.write_bytes(bytes(b))
    with pytest.raises(InputError, match="depth7.png"):
        load_input(str(p))


@pytest.mark.parametrize("source", ["small.tif", "small.png", "small.jpg"])
def test_no_python_warnings_escape_the_loader(source, tmp_path):
    """Pillow warns about damaged files ("Tag data larger than file"); on the command line those
    warnings were printed on stderr next to the one error line. Found by this fuzzer; fixed in
    imageio.load_image."""
    import warnings

    data = SOURCES[source]
    ext = os.path.splitext(source)[1]
    rng = np.random.default_rng(zlib.crc32(source.encode()))
    for i in range(40):
        mutated, _kind = mutate(data, rng, ext)
        path = tmp_path / f"w{i}{ext}"
        path.write_bytes(mutated)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                load_input(str(path))
            except (InputError, LimitError):
                pass
        assert not caught, [str(w.message) for w in caught]


def test_damaged_tiff_prints_one_line_from_a_real_process(tmp_path):
    import subprocess
    import sys

    data = bytearray(SOURCES["small.tif"])
    data[4:8] = struct.pack("<I", len(data) - 20)       # IFD offset near the end: tags run past the file
    p = tmp_path / "bad.tif"
    p.write_bytes(bytes(data))
    run = subprocess.run([sys.executable, "-m", "convcli", "convolve", str(p), "-k", "box", "-o", str(tmp_path / "o.npy")],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert run.returncode == 3 and len(lines) == 1 and lines[0].startswith("convcli: error:"), run.stderr
