"""The interactive HTML trace (--trace-format html) in a real headless Chromium.

Each page is written by the CLI, opened from a file:// URL, and driven like a user would: hovering
output cells (ActionChains), focusing them from the keyboard, and the previous/next/play/slider
controls. The highlighted ``data-in`` cells are checked against the trace's own JSON (embedded in the
page, and equal to --trace-format json) and against windows worked out by hand.

Skipped, with the reason, only where selenium, chromium or chromedriver cannot be had
(`apt-get install chromium chromium-driver`, `pip install -e '.[test]'`).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

import convcli

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1200,900"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMEDRIVER):
        pytest.skip(f"{CHROMEDRIVER} is missing (apt-get install chromium-driver)")
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="convcli-chromium-")
    opts = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS + [f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    opts.binary_location = binary
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except WebDriverException as exc:      # installed but cannot start here
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"headless chromium does not start: {str(exc).splitlines()[0]}")
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


class Page:
    def __init__(self, driver, path: Path):
        self.d = driver
        self.path = path
        driver.get(path.resolve().as_uri())
        self.doc = driver.execute_script("return JSON.parse(document.getElementById('trace-data').textContent)")

    def hover(self, key: str):
        cell = self.d.find_element(By.CSS_SELECTOR, f'[data-out="{key}"]')
        ActionChains(self.d).move_to_element(cell).perform()
        return self.state()

    def state(self):
        hl = {tuple(int(v) for v in e.get_attribute("data-in").split(","))
              for e in self.d.find_elements(By.CSS_SELECTOR, "[data-in].hl")}
        win = {tuple(int(v) for v in e.get_attribute("data-in").split(","))
               for e in self.d.find_elements(By.CSS_SELECTOR, "[data-in].win")}
        return hl, win, self.d.find_element(By.ID, "formula").text

    def away(self):
        ActionChains(self.d).move_to_element(self.d.find_element(By.TAG_NAME, "h1")).perform()

    def step(self) -> int:
        return int(self.d.find_element(By.ID, "step").get_attribute("value"))

    def click(self, ident: str):
        self.d.find_element(By.ID, ident).click()

    def out_text(self, key: str) -> str:
        return self.d.find_element(By.CSS_SELECTOR, f'[data-out="{key}"]').text


@pytest.fixture
def page(browser, cli, tmp_path):
    def make(*args) -> Page:
        target = tmp_path / f"trace{len(list(tmp_path.iterdir()))}.html"
        code, out, err = cli(*args, "--trace-out", target)
        assert code == 0, err
        made = Page(browser, target)
        code, out, err = cli(*args, "--trace-format", "json")
        assert code == 0, err
        assert made.doc == json.loads(out[: out.rindex("}") + 1])    # the page embeds the JSON export
        return made
    return make


def _matrix(a) -> str:
    return ";".join(",".join(f"{v:g}" for v in row) for row in np.asarray(a))


def _window(doc, key: str):
    """The input coordinates the trace's JSON says output cell ``key`` is made from (gather ops)."""
    cell = [int(v) for v in key.split(",")]
    (step,) = [s for s in doc["steps"] if cell in s["output_cells"]]
    return {tuple(w["input"]) for w in step["window"]}, {tuple(m) for m in step["marked_input"]}, step


def test_slide_example_vertical_edge(page, samples):
    p = page("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge")
    assert p.doc["output_shape"] == [3, 3]
    for col, want in ((0, "150"), (1, "150"), (2, "0")):
        hl, win, formula = p.hover(f"0,{col}")
        assert hl == {(r, col + j) for r in range(3) for j in range(3)}      # the 3×3 window, by hand
        assert hl == _window(p.doc, f"0,{col}")[0] and not win
        assert formula.endswith(f"= {want}") and formula.startswith(f"output[0,{col}]")
        assert formula.count("×") == 9
    p.away()
    p.d.find_element(By.ID, "step").send_keys(Keys.END)       # the slider, from the keyboard
    assert p.step() == 9
    assert [p.out_text(f"0,{c}") for c in range(3)] == ["150", "150", "0"]


def test_convolve_with_padding_and_stride(page, rng):
    x = rng.integers(-9, 10, size=(6, 7))
    k = rng.integers(-3, 4, size=(3, 3))
    p = page("convolve", "--matrix", _matrix(x), "-k", _matrix(k), "--padding", "1", "--stride", "2",
             "--max-steps", "100")
    want = convcli.convolve(x.astype(np.float32), k.astype(np.float32), padding=1, stride=2)
    assert p.doc["output_shape"] == list(want.shape) == [3, 4]
    # padding cells are input cells too, at coordinates -1 and 6 / 7
    pads = {e.get_attribute("data-in") for e in p.d.find_elements(By.CSS_SELECTOR, "[data-in].pad")}
    assert {"-1,-1", "-1,0", "6,7", "0,-1"} <= pads and "0,0" not in pads
    for oy, ox in ((0, 0), (1, 2), (2, 3), (0, 3)):
        hl, _, formula = p.hover(f"{oy},{ox}")
        assert hl == {(oy * 2 - 1 + i, ox * 2 - 1 + j) for i in range(3) for j in range(3)}
        assert hl == _window(p.doc, f"{oy},{ox}")[0]
        value = float(formula.rsplit("=", 1)[1])
        assert value == pytest.approx(float(want[oy, ox]))


def test_pool_with_padding_marks_the_winner(page, rng):
    x = rng.permutation(25).reshape(5, 5)      # distinct values: one winner per window
    p = page("pool", "--matrix", _matrix(x), "--size", "3", "--stride", "2", "--padding", "1")
    want = convcli.pool(x.astype(np.float32), size=3, stride=2, padding=1)
    assert p.doc["output_shape"] == list(want.shape) == [3, 3]
    for oy, ox in ((0, 0), (1, 1), (2, 1), (2, 2)):
        hl, win, formula = p.hover(f"{oy},{ox}")
        assert hl == {(oy * 2 - 1 + i, ox * 2 - 1 + j) for i in range(3) for j in range(3)}
        assert (hl, win) == _window(p.doc, f"{oy},{ox}")[:2]
        (wy, wx), = win
        assert x[wy, wx] == want[oy, ox] == max(x[r, c] for r, c in hl if 0 <= r < 5 and 0 <= c < 5)
        assert formula.startswith(f"output[{oy},{ox}]: max(") and f") = {int(want[oy, ox])}" in formula


def test_upsample_bilinear_shows_the_weighted_sources(page, samples):
    p = page("upsample", samples / "slide_upsample_2x2.csv", "--scale", "2", "--mode", "bilinear")
    hl, _, formula = p.hover("0,0")         # source (−0.25, −0.25) is clamped to input[0, 0]
    assert hl == {(0, 0)} and formula.endswith("= 20")
    hl, _, formula = p.hover("1,1")         # source (0.25, 0.25): all four, weights 9/16 3/16 3/16 1/16
    assert hl == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert "20×0.5625" in formula and "43×0.0625" in formula
    assert float(formula.rsplit("=", 1)[1]) == pytest.approx(20 * 9 / 16 + 45 * 3 / 16 + 10 * 3 / 16 + 43 / 16)
    for key in ("0,3", "2,1", "3,3"):
        assert p.hover(key)[0] == _window(p.doc, key)[0]


def test_tconv_stride_2_gathers_every_stamp_that_reaches_a_cell(page):
    p = page("tconv", "--matrix", "1,2;3,4", "-k", "1,1,1;1,1,1;1,1,1", "--stride", "2")
    assert p.doc["output_shape"] == [5, 5]

    def reaching(key):       # from the JSON: every step whose stamp writes this output cell
        cell = [int(v) for v in key.split(",")]
        return {tuple(s["window"][0]["input"]) for s in p.doc["steps"] if cell in s["output_cells"]}
    cases = {"2,2": ({(0, 0), (0, 1), (1, 0), (1, 1)}, 10), "0,0": ({(0, 0)}, 1), "1,3": ({(0, 1)}, 2),
             "2,0": ({(0, 0), (1, 0)}, 4), "4,4": ({(1, 1)}, 4)}
    for key, (want, value) in cases.items():
        hl, _, formula = p.hover(key)
        assert hl == want == reaching(key)
        assert formula.endswith(f"= {value}") and formula.count("×") == len(want)
    # stepping shows the stamps adding up: after step 2, output[0,2] holds 1 + 2
    p.away()
    p.click("next")
    assert p.step() == 2 and p.out_text("0,2") == "3" and p.out_text("2,2") == "3"
    assert p.state()[0] == {(0, 1)}
    p.click("next")
    p.click("next")
    assert p.out_text("2,2") == "10"


def test_tconv_zeros_view_uses_zero_inserted_coordinates(page):
    p = page("tconv", "--matrix", "1,2;3,4", "-k", "1,2,0;0,1,0;1,0,3", "--stride", "2", "--trace-view", "zeros")
    hl, _, formula = p.hover("2,2")
    assert hl == _window(p.doc, "2,2")[0] == {(r, c) for r in range(0, 3) for c in range(0, 3)}
    want = convcli.tconv(np.array([[1, 2], [3, 4]], np.float32),
                         np.array([[1, 2, 0], [0, 1, 0], [1, 0, 3]], np.float32), stride=2)
    assert float(formula.rsplit("=", 1)[1]) == pytest.approx(float(want[2, 2]))


def test_controls_replay_the_steps(page, samples):
    p = page("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", "--stride", "2", "--delay", "0.05")
    steps = p.doc["steps"]

    def shown():
        return p.state()[0], p.d.find_element(By.ID, "where").text

    def window(i):
        return {tuple(w["input"]) for w in steps[i]["window"]}
    assert p.step() == 1 and shown() == (window(0), shown()[1]) and "Step 1 of 4" in shown()[1]
    assert p.state()[2] == steps[0]["expression"]
    assert p.out_text("0,1") == "·"               # not computed yet
    p.click("next")
    assert p.step() == 2 and shown()[0] == window(1) and p.out_text("0,1") == "0"
    p.click("prev")
    p.click("prev")                                # stays on the first step
    assert p.step() == 1 and shown()[0] == window(0)
    p.d.execute_script("var s = document.getElementById('step'); s.value = '3';"
                       "s.dispatchEvent(new Event('input'));")
    assert p.step() == 3 and shown()[0] == window(2) and p.state()[2] == steps[2]["expression"]
    p.click("play")
    WebDriverWait(p.d, 10).until(lambda d: p.step() == 4)
    WebDriverWait(p.d, 10).until(lambda d: "play" in d.find_element(By.ID, "play").text)   # stops at the end
    assert shown()[0] == window(3)
    assert [p.out_text(k) for k in ("0,0", "0,1", "1,0", "1,1")] == ["150", "0", "150", "0"]
    p.click("play")                                # from the end: starts again at step 1
    WebDriverWait(p.d, 10).until(lambda d: p.step() == 4)
    # keyboard: focusing an output cell highlights like hovering; leaving it shows the step again
    cell = p.d.find_element(By.CSS_SELECTOR, '[data-out="1,0"]')
    p.d.execute_script("arguments[0].focus()", cell)
    assert p.state()[0] == _window(p.doc, "1,0")[0] and "150" in p.state()[2]
    p.d.execute_script("arguments[0].blur()", cell)
    assert p.state()[0] == window(3)
    # real keys: Tab from the slider reaches the first output cell; ← and → step
    p.d.find_element(By.ID, "step").send_keys(Keys.TAB)
    assert p.d.switch_to.active_element.get_attribute("data-out") == "0,0"
    assert p.state()[0] == _window(p.doc, "0,0")[0] and p.state()[2].startswith("output[0,0]:")
    ActionChains(p.d).send_keys(Keys.ARROW_LEFT).perform()
    assert p.step() == 3
    ActionChains(p.d).send_keys(Keys.ARROW_RIGHT).perform()
    assert p.step() == 4


def test_bnorm_stats_histograms_and_steps(page, samples):
    p = page("bnorm-stats", samples / "slide_pool_4x4.csv", samples / "slide_5x5.csv", "--batch-size", "1")
    sections = p.doc["sections"]
    assert len(sections) == 2
    svgs = p.d.find_elements(By.CSS_SELECTOR, ".hist svg")
    assert len(svgs) == 4                           # inputs and normalized, per section
    for sec, n, values in zip(sections, (16, 25), (np.loadtxt(samples / "slide_pool_4x4.csv", delimiter=","),
                                                   np.loadtxt(samples / "slide_5x5.csv", delimiter=","))):
        h = sec["histogram"]
        assert sum(h["input"]["counts"]) == sum(h["normalized"]["counts"]) == n
        assert h["input"]["mean"] == pytest.approx(values.mean()) and h["input"]["std"] == pytest.approx(values.std())
        assert (h["input"]["lo"], h["input"]["hi"]) == (values.min(), values.max())
        assert h["normalized"]["mean"] == pytest.approx(0, abs=1e-6)
        assert h["normalized"]["std"] == pytest.approx(1, abs=1e-3)
    bars = svgs[0].find_elements(By.TAG_NAME, "rect")
    assert len(bars) == 24 and "μ = 2.875" in svgs[0].text
    cur = lambda: [e.get_attribute("id") for e in p.d.find_elements(By.CSS_SELECTOR, "section.cur")]  # noqa: E731
    assert cur() == ["item-0"] and p.state()[2].startswith("μ")
    p.click("next")
    assert cur() == ["item-1"] and p.step() == 2


def test_activate_page_steps_through_rows(page):
    p = page("activate", "--matrix", "-1,0,2", "--fn", "relu")
    assert [r["y"] for r in p.doc["rows"]] == [0, 0, 2]
    p.click("next")
    p.click("next")
    assert p.state()[2].startswith("x = 2 → g(x) = 2")


def test_region_of_a_large_image(page, samples):
    p = page("convolve", samples / "gray.png", "-k", "sobel-x", "--padding", "1", "--region", "100,200,4,5")
    assert p.doc["output_shape"] == [512, 512] and p.doc["total_steps"] == 20
    assert p.path.stat().st_size < 60_000
    for key in ("100,200", "103,204", "101,202"):
        oy, ox = (int(v) for v in key.split(","))
        hl, _, formula = p.hover(key)
        assert hl == {(oy - 1 + i, ox - 1 + j) for i in range(3) for j in range(3)} == _window(p.doc, key)[0]
        assert float(formula.rsplit("=", 1)[1]) == pytest.approx(_window(p.doc, key)[2]["sum"], abs=1e-2)
    assert len(p.d.find_elements(By.CSS_SELECTOR, "[data-out]")) == 20


def test_the_page_makes_no_network_request(page, samples, browser):
    browser.get_log("performance")                  # drop what earlier pages logged
    p = page("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", "--padding", "1")
    p.hover("1,1")
    p.click("play")
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    urls = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    assert urls and all(u == p.path.resolve().as_uri() for u in urls), urls
    text = p.path.read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=\"(?!data:)", text)
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in text
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_script_json_cannot_break_out(browser, tmp_path):
    from convcli.ops.conv import conv_settings, run_plan
    from convcli.render.present import export_trace, trace_json
    from convcli.traces.conv import conv_trace
    x = np.array([[50, 50, 0, 0, 0]] * 5, np.float32)
    plan = conv_settings("vertical-edge", stride=(2, 2)).plan(x.shape)
    trace = conv_trace(x, plan, run_plan(x, plan))
    evil = "</script><script>window.pwned = 1</script><!-- & \u2028"
    trace.title = evil
    trace.notes.append(evil)
    target = tmp_path / "evil.html"
    target.write_text(export_trace(trace, "html"), encoding="utf-8")
    p = Page(browser, target)
    assert browser.execute_script("return window.pwned === undefined")
    assert p.doc["title"] == evil and p.doc == json.loads(json.dumps(trace_json(trace)))
    assert browser.find_element(By.TAG_NAME, "h1").text == evil.strip()
    assert p.hover("1,1")[2].endswith("= 0")
