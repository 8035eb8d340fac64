/* Monitor dashboard: polls /api/data and renders every panel. No build step, no dependencies
 * besides minichart.js. `?refresh=<ms>` changes the polling interval (default 2000 ms). */
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const REFRESH_MS = Math.max(200, parseInt(params.get("refresh") || "2000", 10) || 2000);
  const TOKEN_KEY = "pm-control-token";
  let last = null;
  let inFlight = false;
  let nowEpoch = Date.now() / 1000;

  // ---- formatting ------------------------------------------------------------------------
  const nf = (d) => new Intl.NumberFormat("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const isNum = (v) => typeof v === "number" && isFinite(v);

  function ago(seconds) {
    if (!isNum(seconds)) return "—";
    const s = Math.max(0, seconds);
    if (s < 1) return "just now";
    if (s < 90) return `${Math.round(s)}s ago`;
    if (s < 5400) return `${Math.round(s / 60)}m ago`;
    if (s < 172800) return `${Math.round(s / 3600)}h ago`;
    return `${Math.round(s / 86400)}d ago`;
  }
  const epochOf = (iso) => { const t = Date.parse(iso); return isNaN(t) ? null : t / 1000; };
  const hhmm = (iso) => (typeof iso === "string" && iso.length >= 16 ? iso.slice(11, 16) : "");

  const FORMATS = {
    money: (v) => (isNum(v) ? usd.format(v) : "—"),
    pnl: (v) => (isNum(v) ? (v > 0 ? "+" : "") + usd.format(v) : "—"),
    pct: (v) => (isNum(v) ? `${(v * 100).toFixed(1)}%` : "—"),
    int: (v) => (isNum(v) ? nf(0).format(v) : "—"),
    num: (v) => (isNum(v) ? nf(2).format(v) : "—"),
    price: (v) => (isNum(v) ? v.toFixed(3) : "—"),
    rate: (v) => (isNum(v) ? `${v.toFixed(1)}/s` : "—"),
    upper: (v) => (v ? String(v).toUpperCase() : "—"),
    running: (v) => (v === true ? "running" : v === false ? "stopped" : "—"),
    epoch: (v) => (isNum(v) && v > 0 ? ago(nowEpoch - v) : "never"),
    ago: (v) => (isNum(v) && v > 0 ? ago(nowEpoch - v)
      : typeof v === "string" && epochOf(v) !== null ? ago(nowEpoch - epochOf(v)) : "—"),
    text: (v) => (v === null || v === undefined || v === "" ? "" : String(v)),
  };
  const TAG_CLASS = {
    ws_live: "ok", ok: "ok", running: "ok",
    ws_initialising: "info", ws_stale: "warn", degraded: "bad", rest_only: "bad",
    disabled: "warn", stopped: "warn",
  };

  function get(obj, path) {
    let cur = obj;
    for (const part of path.split(".")) {
      if (cur === null || cur === undefined) return undefined;
      cur = cur[part];
    }
    return cur;
  }

  function el(tag, cls, textContent) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (textContent !== undefined) n.textContent = textContent;
    return n;
  }

  function signClass(node, v) {
    node.classList.toggle("pos", isNum(v) && v > 0);
    node.classList.toggle("neg", isNum(v) && v < 0);
  }

  // ---- generic fields --------------------------------------------------------------------
  function renderFields(data) {
    for (const node of document.querySelectorAll("[data-k]")) {
      const v = get(data, node.dataset.k);
      const fmt = FORMATS[node.dataset.f || "text"] || FORMATS.text;
      const shown = v === undefined || v === null ? (node.dataset.f ? fmt(null) : "") : fmt(v);
      if (node.textContent !== shown) node.textContent = shown;
      if (node.dataset.f === "pnl") signClass(node, v);
      if (node.dataset.tag) node.dataset.state = TAG_CLASS[shown] || "muted";
    }
  }

  // ---- banners ---------------------------------------------------------------------------
  function renderBanners(list) {
    const box = document.getElementById("banners");
    box.textContent = "";
    for (const b of list) {
      const div = el("div", `banner ${b.level}`);
      div.dataset.banner = b.id;
      const head = el("div", "banner-head");
      head.appendChild(el("strong", "", b.title));
      head.appendChild(el("span", "", b.message));
      div.appendChild(head);
      if (b.hints && b.hints.length) {
        const ul = el("ul", "hints");
        for (const h of b.hints) ul.appendChild(el("li", "", h));
        div.appendChild(ul);
      }
      box.appendChild(div);
    }
  }

  // ---- tables and bars -------------------------------------------------------------------
  function fillTable(id, rows, empty) {
    const body = document.querySelector(`#${id} tbody`);
    body.textContent = "";
    if (!rows.length) {
      const tr = el("tr", "empty-row");
      const td = el("td", "", empty);
      td.colSpan = document.querySelectorAll(`#${id} thead th`).length;
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    for (const cells of rows) {
      const tr = el("tr");
      for (const c of cells) {
        const td = el("td", c.cls || "", c.text);
        if (c.sign !== undefined) signClass(td, c.sign);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  function fillBars(id, items, empty) {
    const ul = document.getElementById(id);
    ul.textContent = "";
    if (!items.length) { ul.appendChild(el("li", "empty", empty)); return; }
    for (const it of items) {
      const li = el("li");
      li.dataset.key = it.key;
      const head = el("div", "bar-head");
      head.appendChild(el("span", "bar-name", it.key));
      head.appendChild(el("span", "bar-val", it.label));
      const track = el("div", "track");
      const fill = el("div", `fill ${it.level || ""}`);
      fill.style.width = `${Math.max(0, Math.min(1, it.ratio)) * 100}%`;
      track.appendChild(fill);
      li.appendChild(head);
      li.appendChild(track);
      ul.appendChild(li);
    }
  }

  const level = (u) => (u >= 0.9 ? "bad" : u >= 0.7 ? "warn" : "");
  const cell = (text, cls, sign) => ({ text: text, cls: cls, sign: sign });

  // ---- panels ----------------------------------------------------------------------------
  function renderRealized(r) {
    const pts = r.equity_curve.map((p, i) => ({ x: epochOf(p.t) ?? i, y: p.realized_pnl }));
    MiniChart.line(document.getElementById("chart-equity"), pts, {
      yFormat: (v) => usd.format(v).replace(".00", ""),
      xFormat: (x) => (x > 1e9 ? new Date(x * 1000).toISOString().slice(11, 16) : String(x)),
      color: pts.length && pts[pts.length - 1].y < 0 ? "var(--neg)" : "var(--pos)",
      empty: "no realized exits yet",
    });
  }

  function renderLedger(l) {
    fillTable("positions", l.positions.map((p) => [
      cell(p.market_id || "—", "mono"), cell((p.action || "").toUpperCase()),
      cell(FORMATS.num(p.shares), "r"), cell(FORMATS.price(p.average_price), "r"),
      cell(FORMATS.price(p.mark), "r"),
      cell(FORMATS.pnl(p.unrealized_pnl), "r", p.unrealized_pnl),
    ]), l.available ? "no open positions" : "open_positions.json not written yet");
  }

  function renderLifecycle(lc) {
    for (const w of ["5", "15", "60"]) {
      const t = lc.ext_trends[w];
      MiniChart.bars(document.getElementById(`chart-ext-${w}`),
        t.points.map((p) => ({ label: hhmm(p.t), value: p.count })), { color: "var(--accent2)" });
    }
    MiniChart.bars(document.getElementById("chart-orders"),
      lc.orders_per_minute.map((p) => ({ label: hhmm(p.t), value: p.count })));
    const io = document.getElementById("io-list");
    io.textContent = "";
    const entries = Object.entries(lc.io_errors);
    for (const [k, v] of entries) {
      const li = el("li", v > 0 ? "bad" : "");
      li.dataset.io = k;
      li.appendChild(el("span", "", k));
      li.appendChild(el("b", "", String(v)));
      io.appendChild(li);
    }
    if (!entries.length) io.appendChild(el("li", "muted", "no io_errors reported"));
    document.getElementById("io-card").classList.toggle("bad", lc.io_errors_total > 0);
    fillTable("recent-orders", lc.recent_orders.slice(0, 12).map((o) => [
      cell(hhmm(o.timestamp) + (o.timestamp ? o.timestamp.slice(16, 19) : ""), "mono"),
      cell(o.event, `ev ev-${o.event}`), cell(o.market_id, "mono"),
      cell(`${(o.action || "").toUpperCase()}${o.side ? " · " + o.side : ""}`),
      cell(FORMATS.num(o.size), "r"), cell(FORMATS.price(o.price), "r"),
      cell(o.reason || "", "muted"),
    ]), "no order events yet");
  }

  function renderRisk(r) {
    const max = Math.max(1, ...r.top_rejections.map((x) => x.count));
    fillBars("risk-reasons", r.top_rejections.map((x) => ({
      key: x.reason, label: FORMATS.int(x.count), ratio: x.count / max, level: "bad",
    })), "no rejections");
  }

  function renderRateLimits(rl) {
    fillBars("rl-scopes", rl.scopes.map((s) => ({
      key: s.scope,
      label: `${FORMATS.int(s.current_window)} / ${FORMATS.int(s.max_orders)} per ${FORMATS.int(s.interval_seconds)}s`,
      ratio: s.usage || 0, level: level(s.usage || 0),
    })), "no rate-limit scopes reported");
    fillTable("rl-hotspots", rl.hotspots.map((h) => [
      cell(h.strategy || "—"), cell(h.market_id || "—", "mono"),
      cell(`${(h.action || "").toUpperCase()}${h.side ? " · " + h.side : ""}`),
      cell(`${FORMATS.int(h.current_window)} / ${FORMATS.int(h.max_orders)}`, "r"),
      cell(FORMATS.pct(h.usage), `r ${level(h.usage || 0)}`),
    ]), "no hotspots");
  }

  function renderFrontier(fr) {
    const emptyNode = document.getElementById("frontier-empty");
    const chart = document.getElementById("chart-frontier");
    const chosenBox = document.getElementById("frontier-chosen");
    emptyNode.textContent = fr.available ? "" : fr.message;
    emptyNode.hidden = fr.available;
    chart.hidden = !fr.available;
    chosenBox.textContent = "";
    if (!fr.available) return;
    const metric = fr.metric || {};
    MiniChart.scatter(chart, fr.points.map((p, i) => ({
      x: p.risk, y: p["return"], frontier: p.frontier, highlight: i === fr.chosen,
      label: `return ${FORMATS.pct(p["return"])}, risk ${FORMATS.pct(p.risk)}` +
        (isNum(p.sharpe) ? `, sharpe ${p.sharpe.toFixed(2)}` : "") + `\n${JSON.stringify(p.params)}`,
    })), {
      xLabel: `risk${metric.risk ? " (" + metric.risk + ")" : ""}`,
      yLabel: `return${metric.return ? " (" + metric.return + ")" : ""}`,
      xFormat: FORMATS.pct, yFormat: FORMATS.pct,
    });
    const c = fr.chosen_point;
    if (!c) return;
    chosenBox.appendChild(el("div", "chosen-title", "Chosen"));
    const stats = el("div", "chosen-stats");
    stats.appendChild(el("span", "", `return ${FORMATS.pct(c["return"])}`));
    stats.appendChild(el("span", "", `risk ${FORMATS.pct(c.risk)}`));
    if (isNum(c.sharpe)) stats.appendChild(el("span", "", `sharpe ${c.sharpe.toFixed(2)}`));
    chosenBox.appendChild(stats);
    const dl = el("dl", "params");
    for (const [k, v] of Object.entries(c.params)) {
      dl.appendChild(el("dt", "", k));
      dl.appendChild(el("dd", "mono", typeof v === "object" ? JSON.stringify(v) : String(v)));
    }
    chosenBox.appendChild(dl);
  }

  function renderControls(c) {
    const note = document.getElementById("controls-note");
    note.textContent = c.enabled ? "" :
      "Controls are disabled: the server has no control token (set monitor.control_token or POLY_CONTROL_TOKEN).";
    note.hidden = c.enabled;
    const applied = c.applied || {};
    const parts = [];
    if (applied.kill_switch || c.requested.kill_switch) parts.push("KILL SWITCH");
    else if (applied.paused || c.requested.paused) parts.push("paused");
    else parts.push("trading");
    if (c.pending) parts.push(`rev ${c.requested.revision} pending`);
    document.getElementById("controls-state").textContent = parts.join(" · ");
  }

  function render(data) {
    nowEpoch = data.now_epoch;
    renderFields(data);
    renderBanners(data.banners);
    renderRealized(data.realized);
    renderLedger(data.ledger);
    renderLifecycle(data.lifecycle);
    renderRisk(data.risk);
    renderRateLimits(data.rate_limits);
    renderFrontier(data.frontier);
    renderControls(data.controls);
    document.body.dataset.version = String(data.version);
    document.body.dataset.loaded = "1";
  }

  // ---- polling ---------------------------------------------------------------------------
  function setConn(ok, msg) {
    const c = document.getElementById("conn");
    c.classList.toggle("ok", ok);
    c.classList.toggle("bad", !ok);
    document.getElementById("conn-text").textContent = msg;
  }

  async function poll() {
    if (inFlight) return;
    inFlight = true;
    try {
      const res = await fetch("/api/data", { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      last = await res.json();
      render(last);
      setConn(true, last.catching_up ? "catching up" : "live");
    } catch (err) {
      setConn(false, `disconnected (${err.message})`);
    } finally {
      inFlight = false;
    }
  }

  // ---- controls --------------------------------------------------------------------------
  function setupControls() {
    const input = document.getElementById("control-token");
    input.value = sessionStorage.getItem(TOKEN_KEY) || "";
    input.addEventListener("change", () => sessionStorage.setItem(TOKEN_KEY, input.value));
    const result = document.getElementById("control-result");
    for (const btn of document.querySelectorAll("button[data-action]")) {
      btn.addEventListener("click", async () => {
        if (btn.dataset.confirm && btn.dataset.armed !== "1") {
          btn.dataset.armed = "1";
          btn.dataset.label = btn.textContent;
          btn.textContent = `Confirm ${btn.textContent.toLowerCase()}?`;
          setTimeout(() => { btn.dataset.armed = ""; btn.textContent = btn.dataset.label; }, 5000);
          return;
        }
        if (btn.dataset.armed === "1") { btn.dataset.armed = ""; btn.textContent = btn.dataset.label; }
        const headers = { "Content-Type": "application/json" };
        if (input.value) headers["X-Control-Token"] = input.value;
        result.className = "result";
        try {
          const res = await fetch(`/api/controls/${btn.dataset.action}`, { method: "POST", headers: headers });
          const body = await res.json().catch(() => ({}));
          if (res.ok) {
            result.classList.add("ok");
            result.textContent = `${body.action} requested (revision ${body.state.revision}); the trader applies it on its next tick.`;
            poll();
          } else {
            result.classList.add("bad");
            result.textContent = `Refused (${res.status}): ${body.detail || res.statusText}`;
          }
        } catch (err) {
          result.classList.add("bad");
          result.textContent = `Request failed: ${err.message}`;
        }
      });
    }
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => last && render(last), 150);
  });

  document.addEventListener("DOMContentLoaded", () => {
    setupControls();
    poll();
    setInterval(poll, REFRESH_MS);
  });
})();
