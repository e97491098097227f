"""Regenerate the README's pictures (docs/img/*.svg, html_trace.png) from the real commands.

    python docs/make_pictures.py

html_trace.png is a real --trace-format html page photographed by headless Chromium (selenium and
/usr/bin/chromedriver, as in tests/test_html_trace.py), with the mouse over one output cell; it is
left as it is when those are missing.

Each picture is a real convcli run, recorded by Rich (Console(record=True).export_svg) at a fixed
width, so the files change only when the output does. Traces are recorded in true colour, --show
pictures in 256 colours (what a 256-colour terminal shows) to keep the files small.
"""
from __future__ import annotations

import contextlib
import io
import os
import shlex
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
WIDTH = 100

PICTURES = {
    "trace_stride2.svg": "convolve sample_images/slide_5x5.csv -k vertical-edge --stride 2 --trace --max-steps 2",
    "show_sobel.svg": "convolve sample_images/gray.png -k sobel-x --padding same --show -o {tmp}/out.png",
    "trace_tconv.svg": "tconv --matrix 1,2;3,4 -k 1,1,1;1,1,1;1,1,1 --stride 2 --trace --max-steps 2",
    "shape.svg": "shape 3x224x224 conv:k=7,s=2,p=3,out=64 pool:k=3,s=2,p=1 tconv:k=4,s=2,p=1",
}


def record(args: list[str], colors: str = "truecolor", width: int = WIDTH, title: str = "") -> str:
    """Run convcli in-process with its consoles recording (true colour or 256); return the SVG."""
    from rich.console import Console

    import convcli.render.console as console_mod
    from convcli.cli import run

    recorder = Console(record=True, width=width, file=io.StringIO(), force_terminal=True,
                       color_system=colors, highlight=False, soft_wrap=False, emoji=False)
    original = console_mod.make_console

    def recording_console(*, stderr: bool = False, color=None, width=None):
        return recorder

    patched = [m for m in list(sys.modules.values())
               if m is not None and getattr(m, "__name__", "").startswith("convcli")
               and getattr(m, "make_console", None) is original]
    for m in patched:
        m.make_console = recording_console
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            code = run(args)
    finally:
        for m in patched:
            m.make_console = original
    if code != 0:
        raise SystemExit(f"convcli {shlex.join(args)} failed with exit code {code}")
    return recorder.export_svg(title=title or "convcli " + shlex.join(args))


SCREENSHOT = ("html_trace.png", "convolve sample_images/slide_5x5.csv -k vertical-edge --padding 1 --stride 2",
              "1,0", 5)


def screenshot(target: Path, command: str, hover: str, step: int) -> int | None:
    """Write ``command``'s HTML trace, open it in headless Chromium at ``step``, hover output cell
    ``hover`` and save a small palette PNG. Returns its size, or None when no browser can be had."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By
    except ImportError:
        return None
    if not os.path.exists("/usr/bin/chromedriver"):
        return None
    from PIL import Image

    from convcli.cli import run
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "trace.html"
        with contextlib.redirect_stdout(io.StringIO()):
            if run(command.split() + ["--trace-out", str(page)]) != 0:
                raise SystemExit(f"convcli {command} failed")
        opts = webdriver.ChromeOptions()
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--hide-scrollbars", "--window-size=860,620", f"--user-data-dir={tmp}/profile"):
            opts.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        try:
            driver.get(page.as_uri())
            for _ in range(step - 1):
                driver.find_element(By.ID, "next").click()
            cell = driver.find_element(By.CSS_SELECTOR, f'[data-out="{hover}"]')
            ActionChains(driver).move_to_element(cell).perform()
            raw = Path(tmp) / "raw.png"
            driver.save_screenshot(str(raw))
            bottom = driver.execute_script("return document.getElementById('formula')"
                                           ".getBoundingClientRect().bottom * devicePixelRatio")
        finally:
            driver.quit()
        shot = Image.open(raw).convert("RGB")
        shot = shot.crop((0, 0, shot.width, min(shot.height, int(bottom) + 14)))   # down to the formula
        shot.quantize(colors=64).save(target, optimize=True)
    return target.stat().st_size


def main() -> None:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import convcli.cli  # noqa: F401  (imports every subcommand, so their make_console can be patched)
    OUT.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, command in PICTURES.items():
        with tempfile.TemporaryDirectory() as tmp:
            # pictures in 256 colours: a true-colour SVG defines one style per pixel (~200 KB each)
            picture = "--show" in command
            svg = record(command.replace("{tmp}", tmp).split(), colors="256" if picture else "truecolor",
                         width=56 if picture else WIDTH,
                         title="convcli " + command.replace(" -o {tmp}/out.png", ""))
        (OUT / name).write_text(svg, encoding="utf-8")
        total += len(svg.encode())
        print(f"{name}: {len(svg.encode()) / 1024:.0f} KB  ← convcli {command.replace(' -o {tmp}/out.png', '')}")
    name, command, hover, step = SCREENSHOT
    size = screenshot(OUT / name, command, hover, step)
    if size is None:
        print(f"{name}: left as it is (needs selenium and /usr/bin/chromedriver)")
    else:
        total += size
        print(f"{name}: {size / 1024:.0f} KB  ← convcli {command} --trace-format html, output[{hover}] hovered")
    print(f"total {total / 1024:.0f} KB")


if __name__ == "__main__":
    main()
