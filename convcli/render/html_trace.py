"""The interactive HTML trace (``--trace-format html``): one self-contained page that opens offline.

The grids are written here as plain HTML tables; a small hand-written script (``_SCRIPT``) only
switches classes and text. Public contract (README, "Interactive HTML trace"):

* every input cell has ``data-in="r,c"`` (input coordinates: padding cells are negative or past the
  size; the tconv zeros view uses coordinates of the zero-inserted grid, input[i, j] at (i·sy, j·sx));
* every output cell has ``data-out="r,c"`` (output coordinates);
* highlighted input cells carry the class ``hl`` (the max/min-pool winner also ``win``);
* ``#formula`` holds the current products-and-sum text; ``#prev``, ``#next``, ``#play`` and the
  slider ``#step`` replay the steps;
* ``<script type="application/json" id="trace-data">`` holds the trace's JSON, the same document as
  ``--trace-format json``.

No network: no external scripts, styles, fonts or images, and a Content-Security-Policy that forbids
them. Its size follows the trace (``--max-steps``, ``--region``), not the image.
"""
from __future__ import annotations

import html
import json
import math

import numpy as np

from ..traces.model import Trace, fmt
from .trace import output_window

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.2em;color:#222;background:#fff}
h1{font-size:1.15em;margin:0 0 .3em}
ul.notes{margin:.2em 0 .8em;color:#555;font-size:.92em}
#controls{display:flex;gap:.5em;align-items:center;margin:.6em 0;flex-wrap:wrap}
#controls button{font:inherit;padding:.2em .7em}
#step{width:16em}
.grids{display:flex;gap:1em;align-items:flex-start;flex-wrap:wrap}
.op{font-size:1.6em;font-weight:bold;align-self:center}
figure{margin:0}
figcaption{font-weight:bold;font-size:.9em;margin-bottom:.2em}
table.grid{border-collapse:collapse;font:12px/1.2 ui-monospace,Menlo,Consolas,monospace}
table.grid th{color:#888;font-weight:normal;padding:1px 4px;text-align:right}
table.grid td{border:1px solid #ccc;padding:2px 5px;text-align:right;min-width:2.2em}
td.pad{color:#999;background:#f3f3f3;font-style:italic}
td.hl{background:#ffe066;border-color:#c9a100}
td.win{background:#ff8a80;font-weight:bold}
td[data-out]{cursor:pointer}
td[data-out]:focus{outline:2px solid #1a73e8}
td.cur{background:#9be39b}
td.pending{color:#bbb}
#formula{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace;background:#f6f8fa;padding:.5em .7em;
 border-left:3px solid #1a73e8;white-space:pre-wrap;word-break:break-word;min-height:1.4em}
#where{color:#555}
tr.cur td{background:#9be39b}
section.sec.cur{background:#effaef;outline:1px solid #9be39b}
.hist{display:flex;gap:1.2em;flex-wrap:wrap}
.hist svg{background:#fafafa;border:1px solid #ddd}
section.sec{margin:.6em 0}
"""

# Reads the page model (#page-data) and moves classes and text; nothing else.
_SCRIPT = r"""
(function () {
  var page = JSON.parse(document.getElementById('page-data').textContent);
  var steps = page.steps, n = steps.length, at = 0, timer = null, hovering = null;
  var slider = document.getElementById('step'), formula = document.getElementById('formula');
  var where = document.getElementById('where'), play = document.getElementById('play');
  function all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  function el(attr, key) { return document.querySelector('[' + attr + '="' + key + '"]'); }
  var outs = all('[data-out]');
  function mark(view) {
    all('.hl, .win, .cur').forEach(function (e) { e.classList.remove('hl', 'win', 'cur'); });
    (view.hl || []).forEach(function (k) { var e = el('data-in', k); if (e) e.classList.add('hl'); });
    (view.win || []).forEach(function (k) { var e = el('data-in', k); if (e) e.classList.add('win'); });
    (view.out || []).forEach(function (k) { var e = el('data-out', k); if (e) e.classList.add('cur'); });
    (view.items || []).forEach(function (k) { var e = document.getElementById(k); if (e) e.classList.add('cur'); });
    formula.textContent = view.formula || '';
  }
  function values() {             // the output as it stands after step `at`
    var shown = {};
    for (var i = 0; i <= at; i++) { var v = steps[i].vals || {}; for (var k in v) shown[k] = v[k]; }
    outs.forEach(function (e) {
      var k = e.getAttribute('data-out');
      if (k in shown) { e.textContent = shown[k]; e.classList.remove('pending'); }
      else { e.textContent = '\u00b7'; e.classList.add('pending'); }
    });
  }
  function show() {
    slider.value = String(at + 1);
    where.textContent = steps[at].label;
    values();
    if (hovering === null) mark(steps[at]);
  }
  function go(i) { at = Math.max(0, Math.min(n - 1, i)); show(); }
  function stop() { if (timer) { clearInterval(timer); timer = null; } play.textContent = '\u25b6 play'; }
  document.getElementById('prev').addEventListener('click', function () { stop(); go(at - 1); });
  document.getElementById('next').addEventListener('click', function () { stop(); go(at + 1); });
  slider.addEventListener('input', function () { stop(); go(parseInt(slider.value, 10) - 1); });
  play.addEventListener('click', function () {
    if (timer) { stop(); return; }
    if (at >= n - 1) go(0);
    play.textContent = '\u275a\u275a pause';
    timer = setInterval(function () { if (at >= n - 1) stop(); else go(at + 1); }, page.delay);
  });
  function enter(e) {
    var k = e.currentTarget.getAttribute('data-out'), g = page.cells[k];
    hovering = k;
    mark(g ? {hl: g.hl, win: g.win, out: [k], formula: g.formula}
           : {out: [k], formula: 'output[' + k + ']: not among the traced steps (--max-steps, --region)'});
  }
  function leave() { hovering = null; mark(steps[at]); }
  outs.forEach(function (e) {
    e.addEventListener('mouseenter', enter); e.addEventListener('focus', enter);
    e.addEventListener('mouseleave', leave); e.addEventListener('blur', leave);
  });
  document.addEventListener('keydown', function (e) {
    if (e.target === slider) return;
    if (e.key === 'ArrowRight') { stop(); go(at + 1); } else if (e.key === 'ArrowLeft') { stop(); go(at - 1); }
  });
  if (n) show();
})();
"""


def script_json(doc) -> str:
    """JSON safe inside ``<script>``: no ``<``, ``>`` or ``&`` (so no ``</script>`` or ``<!--``),
    no line separators, no NaN (not JSON)."""
    text = json.dumps(_finite(doc), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _key(r: int, c: int) -> str:
    return f"{int(r)},{int(c)}"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _table(values: np.ndarray, row_labels, col_labels, cell_attrs) -> str:
    h, w = values.shape
    out = ['<table class="grid">']
    if col_labels is not None:
        out.append("<tr><th></th>" + "".join(f"<th>{_e(c)}</th>" for c in col_labels) + "</tr>")
    for r in range(h):
        row = [f"<th>{_e(row_labels[r])}</th>" if row_labels is not None else ""]
        for c in range(w):
            attrs, text = cell_attrs(r, c)
            row.append(f"<td{attrs}>{_e(text)}</td>")
        out.append("<tr>" + "".join(row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _controls(n: int) -> str:
    return ('<div id="controls"><button id="prev" type="button">◀ previous</button>'
            '<button id="play" type="button">▶ play</button><button id="next" type="button">next ▶</button>'
            f'<input id="step" type="range" min="1" max="{max(n, 1)}" value="1" aria-label="step">'
            '<span id="where"></span></div>')


def _page(title: str, body: str, trace_doc, page_doc) -> str:
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'; img-src data:">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>convcli · {_e(title)}</title><style>{_STYLE}</style></head><body>\n",
        body,
        f'\n<script type="application/json" id="trace-data">{script_json(trace_doc)}</script>',
        f'\n<script type="application/json" id="page-data">{script_json(page_doc)}</script>',
        f"\n<script>{_SCRIPT}</script>\n</body></html>\n",
    ])


# ------------------------------------------------------------------------------ grid traces

def _grid_page(trace: Trace, doc: dict, delay_ms: int) -> str:
    view = trace.input
    rows, cols = doc["input"]["rows"], doc["input"]["cols"]
    pad = view.pad_mask

    def in_cell(r, c):
        cls = ' class="pad"' if pad is not None and pad[r, c] else ""
        return f' data-in="{_key(rows[r], cols[c])}"{cls}', fmt(view.values[r, c])

    r0, r1, c0, c1 = output_window(trace)
    out_vals = np.asarray(trace.output_values)[r0:r1, c0:c1] if trace.output_values is not None else \
        np.zeros((r1 - r0, c1 - c0))

    def out_cell(r, c):
        return f' data-out="{_key(r + r0, c + c0)}" tabindex="0"', fmt(out_vals[r, c])

    final = {_key(r + r0, c + c0): float(out_vals[r, c]) for r in range(r1 - r0) for c in range(c1 - c0)}
    parts = [f"<figure><figcaption>{_e(view.title)}</figcaption>"
             + _table(view.values, view.row_labels, view.col_labels, in_cell) + "</figure>"]
    if trace.kernel is not None:
        k = trace.kernel.values
        parts += [f'<div class="op">{_e(trace.operator)}</div>',
                  f"<figure><figcaption>{_e(trace.kernel.title)}</figcaption>"
                  + _table(k, None, None, lambda r, c: ("", fmt(k[r, c]))) + "</figure>"]
    parts += ['<div class="op">=</div>',
              f"<figure><figcaption>{_e(trace.output_title)}</figcaption>"
              + _table(out_vals, [str(r) for r in range(r0, r1)], [str(c) for c in range(c0, c1)], out_cell)
              + "</figure>"]
    notes = "".join(f"<li>{_e(n)}</li>" for n in trace.notes)
    formulas = "".join(f"<li><code>{_e(f)}</code></li>" for f in trace.formulas)
    body = (f"<h1>{_e(trace.title)}</h1><ul class=\"notes\">{notes}</ul>{_controls(len(trace.steps))}"
            f'<div class="grids">{"".join(parts)}</div>'
            '<p>Hover over (or tab to) an output cell to see the input cells it is made from.</p>'
            '<div id="formula" aria-live="polite"></div>'
            + (f"<h2>Output size</h2><ul>{formulas}</ul>" if formulas else ""))
    return _page(trace.title, body, doc, _grid_model(trace, doc, final, delay_ms))


def _grid_model(trace: Trace, doc: dict, final: dict, delay_ms: int) -> dict:
    """What each step and each output cell highlights, and the text it shows."""
    scatter = any(s.out_products is not None for s in trace.steps)
    steps, cells = [], {}
    for i, (s, d) in enumerate(zip(trace.steps, doc["steps"])):
        hl = [_key(*w["input"]) for w in d["window"]]
        win = [_key(*m) for m in d["marked_input"]]
        outs = [_key(*c) for c in d["output_cells"]]
        running = d.get("running")
        vals = {k: fmt(running[j] if running is not None else s.value) for j, k in enumerate(outs)}
        where = ", ".join(f"output[{k}]" for k in outs[:4]) + (", …" if len(outs) > 4 else "")
        label = f"Step {i + 1} of {trace.total_steps} · {where}" + (f" · {s.move}" if s.move else "")
        steps.append({"hl": hl, "win": win, "out": outs, "vals": vals, "formula": s.expression, "label": label})
        if scatter:       # every stamp that reaches a cell adds into it
            for k, term, added in zip(outs, s.out_terms or [], s.out_products or []):
                g = cells.setdefault(k, {"hl": [], "win": [], "terms": [], "sum": 0.0})
                g["hl"] += [h for h in hl if h not in g["hl"]]
                g["terms"].append(term)
                g["sum"] += added
        else:
            for k in outs:
                cells.setdefault(k, {"hl": hl, "win": win, "formula": f"output[{k}]: {s.expression}"})
    if scatter:
        for k, g in cells.items():
            text = f"output[{k}] = " + " + ".join(g.pop("terms"))
            total = g.pop("sum")
            value = final.get(k)
            if value is not None and not math.isclose(value, total, rel_tol=1e-5, abs_tol=1e-6):
                text += f" + {fmt(value - total)} (bias, and stamps of inputs outside the traced part)"
            g["formula"] = text + f" = {fmt(value if value is not None else total)}"
    return {"steps": steps, "cells": cells, "delay": delay_ms}


# ------------------------------------------------------------------------------ table traces

def _histogram_svg(h: dict, title: str, *, width: int = 320, height: int = 150) -> str:
    """Bars of ``h["counts"]`` over lo..hi, the mean as a solid line and mean ± std dashed."""
    counts = h["counts"]
    lo, hi = float(h["lo"]), float(h["hi"])
    top = max(max(counts), 1)
    left, bottom, plot_w, plot_h = 8, 22, width - 16, height - 62
    bw = plot_w / len(counts)
    tiny = 1e-9 * max(abs(lo), abs(hi), 1e-300)

    def x_of(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w if hi > lo else left

    def num(v: float) -> str:
        return fmt(0.0 if abs(v) < tiny else v)

    mean, std = h.get("mean"), h.get("std")
    legend = f"μ = {num(mean)} (solid), σ = {num(std or 0)} (dashed: μ ± σ)" if mean is not None else "no values"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{_e(title)}"><text x="{left}" y="14" font-size="12">{_e(title)}</text>'
           f'<text x="{left}" y="30" font-size="11" fill="#b71c1c">{_e(legend)}</text>']
    for i, c in enumerate(counts):
        bh = c / top * plot_h
        out.append(f'<rect x="{left + i * bw:.1f}" y="{height - bottom - bh:.1f}" width="{max(bw - 1, 1):.1f}" '
                   f'height="{bh:.1f}" fill="#7aa6d8"><title>{c}</title></rect>')
    if mean is not None:
        y0, y1 = height - bottom - plot_h - 4, height - bottom
        out.append(f'<line x1="{x_of(mean):.1f}" x2="{x_of(mean):.1f}" y1="{y0}" y2="{y1}" '
                   'stroke="#d32f2f" stroke-width="2"/>')
        if std:
            for s in (-1, 1):
                xs = x_of(mean + s * std)
                out.append(f'<line x1="{xs:.1f}" x2="{xs:.1f}" y1="{y0}" y2="{y1}" stroke="#d32f2f" '
                           'stroke-dasharray="4 3"/>')
    out.append(f'<text x="{left}" y="{height - 6}" font-size="11">{_e(num(lo))}</text>'
               f'<text x="{width - left}" y="{height - 6}" font-size="11" text-anchor="end">{_e(num(hi))}</text>')
    out.append("</svg>")
    return "".join(out)


def _items_page(trace, doc: dict, delay_ms: int) -> str:
    """Traces that are lists rather than a sliding window: bnorm-stats' sections, activate's rows."""
    title = getattr(trace, "title", "trace")
    notes = "".join(f"<li>{_e(n)}</li>" for n in getattr(trace, "notes", []))
    steps, blocks = [], []
    if hasattr(trace, "sections"):          # bnorm-stats
        for i, sec in enumerate(trace.sections):
            hist = ""
            if sec.histogram:
                hist = ('<div class="hist">' + _histogram_svg(sec.histogram["input"], "inputs z")
                        + _histogram_svg(sec.histogram["normalized"], "normalized ẑ = (z − μ) / √(σ² + ε)")
                        + "</div>")
            lines = "".join(f"<li>{_e(line)}</li>" for line in sec.lines)
            blocks.append(f'<section class="sec" id="item-{i}"><h2>{_e(sec.title)}</h2>{hist}'
                          f'<ul class="items">{lines}</ul></section>')
            steps.append({"items": [f"item-{i}"], "formula": "\n".join(sec.lines[:3]),
                          "label": f"Step {i + 1} of {len(trace.sections)} · {sec.title}"})
    else:                                   # activate
        f1, f2 = trace.formulas
        rows = []
        for i, r in enumerate(trace.rows):
            pos = ",".join(str(p) for p in r.position)
            rows.append(f'<tr id="item-{i}"><td>[{_e(pos)}]</td><td>{_e(fmt(r.x))}</td><td>{_e(fmt(r.y))}</td>'
                        f'<td>{_e(fmt(r.d))}</td><td>{_e(r.status)}</td></tr>')
            steps.append({"items": [f"item-{i}"],
                          "formula": f"x = {fmt(r.x)} → g(x) = {fmt(r.y)}, g'(x) = {fmt(r.d)}"
                                     + (f"  ({r.status})" if r.status else ""),
                          "label": f"Step {i + 1} of {len(trace.rows)} · cell [{pos}]"})
        blocks.append(f"<p><code>{_e(f1)}</code><br><code>{_e(f2)}</code></p>"
                      '<table class="grid items"><tr><th>cell</th><th>x</th><th>g(x)</th><th>g\'(x)</th>'
                      f'<th></th></tr>{"".join(rows)}</table>')
    body = (f"<h1>{_e(title)}</h1><ul class=\"notes\">{notes}</ul>{_controls(len(steps))}"
            '<div id="formula" aria-live="polite"></div>' + "".join(blocks))
    return _page(title, body, doc, {"steps": steps, "cells": {}, "delay": delay_ms})


def trace_html(trace, doc: dict, *, delay: float = 0.6) -> str:
    """The page for ``trace``; ``doc`` is its JSON document (``present.trace_json``)."""
    delay_ms = max(50, int(round(delay * 1000)))
    if isinstance(trace, Trace):
        return _grid_page(trace, doc, delay_ms)
    return _items_page(trace, doc, delay_ms)
