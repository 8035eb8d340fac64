/* minichart.js: a tiny SVG chart library for the monitor (line, bars, scatter). No dependencies.
 *
 *   MiniChart.line(el, [{x, y}], {color, fill, yFormat, xFormat, zero})
 *   MiniChart.bars(el, [{label, value}], {color, yFormat})
 *   MiniChart.scatter(el, [{x, y, label, highlight}], {xLabel, yLabel, xFormat, yFormat})
 *
 * Each call redraws `el` at its current width (call again on resize). Points get a <title>, so
 * hovering shows the value without any extra code.
 */
(function (global) {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const PAD = { l: 46, r: 10, t: 10, b: 22 };

  function node(tag, attrs, parent) {
    const n = document.createElementNS(NS, tag);
    for (const k in attrs) n.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(n);
    return n;
  }

  function text(parent, x, y, str, cls, anchor) {
    const t = node("text", { x: x, y: y, class: cls || "mc-axis", "text-anchor": anchor || "start" }, parent);
    t.textContent = str;
    return t;
  }

  function extent(values, includeZero) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (includeZero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (lo === hi) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
    const pad = (hi - lo) * 0.06;
    return [lo - (lo === 0 ? 0 : pad), hi + pad];
  }

  function frame(el, pad) {
    const w = Math.max(el.clientWidth || 300, 120);
    const h = Math.max(el.clientHeight || 160, 60);
    el.textContent = "";
    const svg = node("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, class: "mc", role: "img" }, el);
    const p = pad || PAD;
    return { svg: svg, w: w, h: h, x0: p.l, x1: w - p.r, y0: h - p.b, y1: p.t };
  }

  function scale(d0, d1, r0, r1) {
    const k = (r1 - r0) / ((d1 - d0) || 1);
    return (v) => r0 + (v - d0) * k;
  }

  function yAxis(f, sy, lo, hi, fmt) {
    const ticks = [lo, (lo + hi) / 2, hi];
    for (const v of ticks) {
      const y = sy(v);
      node("line", { x1: f.x0, x2: f.x1, y1: y, y2: y, class: "mc-grid" }, f.svg);
      text(f.svg, f.x0 - 6, y + 3, fmt(v), "mc-axis", "end");
    }
    if (lo < 0 && hi > 0) {
      const y = sy(0);
      node("line", { x1: f.x0, x2: f.x1, y1: y, y2: y, class: "mc-zero" }, f.svg);
    }
  }

  function empty(el, msg) {
    el.textContent = "";
    const d = document.createElement("div");
    d.className = "mc-empty";
    d.textContent = msg || "no data yet";
    el.appendChild(d);
  }

  const num = (v) => (Math.abs(v) >= 1000 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

  function line(el, points, opts) {
    opts = opts || {};
    const pts = (points || []).filter((p) => p && isFinite(p.x) && isFinite(p.y));
    if (pts.length === 0) return empty(el, opts.empty);
    const f = frame(el);
    const yFmt = opts.yFormat || num;
    const [ylo, yhi] = extent(pts.map((p) => p.y), opts.zero !== false);
    const xs = pts.map((p) => p.x);
    const xlo = Math.min(...xs), xhi = Math.max(...xs);
    const sx = xlo === xhi ? () => (f.x0 + f.x1) / 2 : scale(xlo, xhi, f.x0, f.x1);
    const sy = scale(ylo, yhi, f.y0, f.y1);
    yAxis(f, sy, ylo, yhi, yFmt);
    const d = pts.map((p, i) => `${i ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join("");
    const color = opts.color || "var(--accent)";
    if (opts.fill !== false && pts.length > 1) {
      const base = sy(Math.max(ylo, Math.min(0, yhi)));
      node("path", {
        d: `${d}L${sx(xhi).toFixed(1)},${base}L${sx(xlo).toFixed(1)},${base}Z`,
        class: "mc-area", style: `fill:${color}`,
      }, f.svg);
    }
    node("path", { d: d, class: "mc-line", style: `stroke:${color}` }, f.svg);
    const last = pts[pts.length - 1];
    const dot = node("circle", { cx: sx(last.x), cy: sy(last.y), r: 3.5, class: "mc-dot", style: `fill:${color}` }, f.svg);
    node("title", {}, dot).textContent = yFmt(last.y);
    if (opts.xFormat) {
      text(f.svg, f.x0, f.h - 6, opts.xFormat(xlo), "mc-axis", "start");
      text(f.svg, f.x1, f.h - 6, opts.xFormat(xhi), "mc-axis", "end");
    }
  }

  function bars(el, items, opts) {
    opts = opts || {};
    items = items || [];
    if (items.length === 0) return empty(el, opts.empty);
    const f = frame(el, { l: 28, r: 4, t: 6, b: 16 });
    const max = Math.max(1, ...items.map((i) => i.value));
    const sy = scale(0, max, f.y0, f.y1);
    yAxis(f, sy, 0, max, (v) => v.toFixed(0));
    const step = (f.x1 - f.x0) / items.length;
    const bw = Math.max(1, step * 0.72);
    items.forEach((it, i) => {
      const y = sy(it.value);
      const r = node("rect", {
        x: (f.x0 + i * step + (step - bw) / 2).toFixed(1), y: y.toFixed(1),
        width: bw.toFixed(1), height: Math.max(0, f.y0 - y).toFixed(1),
        class: it.value ? "mc-bar" : "mc-bar zero", style: opts.color ? `fill:${opts.color}` : "",
      }, f.svg);
      node("title", {}, r).textContent = `${it.label}: ${it.value}`;
    });
    if (items.length > 1) {
      text(f.svg, f.x0, f.h - 3, items[0].label, "mc-axis", "start");
      text(f.svg, f.x1, f.h - 3, items[items.length - 1].label, "mc-axis", "end");
    }
  }

  function scatter(el, points, opts) {
    opts = opts || {};
    const pts = (points || []).filter((p) => p && isFinite(p.x) && isFinite(p.y));
    if (pts.length === 0) return empty(el, opts.empty);
    const f = frame(el, { l: 50, r: 14, t: 12, b: 38 });
    const xFmt = opts.xFormat || num, yFmt = opts.yFormat || num;
    const [xlo, xhi] = extent(pts.map((p) => p.x), false);
    const [ylo, yhi] = extent(pts.map((p) => p.y), false);
    const sx = scale(xlo, xhi, f.x0, f.x1), sy = scale(ylo, yhi, f.y0, f.y1);
    yAxis(f, sy, ylo, yhi, yFmt);
    for (const v of [xlo, (xlo + xhi) / 2, xhi]) {
      text(f.svg, sx(v), f.y0 + 16, xFmt(v), "mc-axis", "middle");
    }
    if (opts.xLabel) text(f.svg, (f.x0 + f.x1) / 2, f.h - 3, opts.xLabel, "mc-label", "middle");
    if (opts.yLabel) {
      const t = text(f.svg, 12, (f.y0 + f.y1) / 2, opts.yLabel, "mc-label", "middle");
      t.setAttribute("transform", `rotate(-90 12 ${(f.y0 + f.y1) / 2})`);
    }
    const front = pts.filter((p) => p.frontier).sort((a, b) => a.x - b.x);
    if (front.length > 1) {
      const d = front.map((p, i) => `${i ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join("");
      node("path", { d: d, class: "mc-front" }, f.svg);
    }
    const ordered = pts.filter((p) => !p.highlight).concat(pts.filter((p) => p.highlight));
    for (const p of ordered) {
      const c = node("circle", {
        cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), r: p.highlight ? 7 : 4,
        class: p.highlight ? "mc-pt chosen" : p.frontier ? "mc-pt front" : "mc-pt",
      }, f.svg);
      if (p.highlight) c.setAttribute("data-chosen", "1");
      node("title", {}, c).textContent = p.label || `${xFmt(p.x)}, ${yFmt(p.y)}`;
    }
  }

  global.MiniChart = { line: line, bars: bars, scatter: scatter };
})(window);
