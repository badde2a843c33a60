// The bureau's statistics page: filters (period, township), then for each figure a chart (uPlot), its table and a
// CSV download of that table. The figures come from GET /api/insights (dispatch/insights/).
"use strict";

const STAGES = ["ack", "dispatch", "on_scene", "resolved"];
const COLOURS = ["#4da3ff", "#ffb020", "#3ddc84", "#ff4d4f", "#b37feb"];
const DAY_MS = 86400 * 1000;
const view = { report: null, charts: [], me: null };

const localDay = (ms) => new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 10);  // China Standard Time

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

// Seconds as the reader says them: 45 秒, 12 分钟, 2.5 小时
function duration(s) {
  if (s === null || s === undefined) return "";
  if (s < 120) return t("unit.s", { n: Math.round(s) });
  if (s < 7200) return t("unit.min", { n: Math.round(s / 60) });
  return t("unit.h", { n: (s / 3600).toFixed(1) });
}
const percent = (x) => (x === null || x === undefined ? "" : `${(100 * x).toFixed(1)}%`);
const decimal = (x) => (x === null || x === undefined ? "" : Number(x).toFixed(2));
const placeName = (row) => row.label || row.key;

// How a row's dimension value reads: a week, a township's name, a severity, a detector...
function dimValue(row) {
  const words = { severity: "severity.", detector: "insights.detector.", device_kind: "insights.device.",
    worn_at: "insights.worn." };
  if (row.dim === "all") return t("insights.all");
  if (row.dim === "township") return placeName(row);
  if (row.dim === "kind") return kindName(row.key);
  if (row.dim === "worn_at" && !row.key) return t("insights.worn.none");
  return words[row.dim] ? word(words[row.dim], row.key) : row.key;
}

function csvOf(columns, rows) {
  const cell = (v) => { const s = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll("\"", "\"\"")}"` : s; };
  const lines = [columns.map((c) => cell(t(c.label))), ...rows.map((r) => columns.map((c) => cell(c.raw(r))))];
  return "\ufeff" + lines.map((l) => l.join(",")).join("\r\n") + "\r\n";  // BOM: Excel reads it as UTF-8
}

// A table of `rows` and its CSV download (raw numbers: seconds, shares 0..1) under `box`.
function table(box, name, columns, rows) {
  const head = el("tr", {}, columns.map((c) => el("th", {}, t(c.label))));
  const attrs = (c, r) => Object.assign(c.num ? { class: "num" } : {}, c.data && c.data(r) ? { translate: "no" } : {});
  const body = rows.map((r) => el("tr", {}, columns.map((c) => el("td", attrs(c, r), c.show(r)))));
  const link = el("a", { class: "csv", download: `${name}_${$("from").value}_${$("to").value}.csv` },
    t("insights.csv"));
  link.href = URL.createObjectURL(new Blob([csvOf(columns, rows)], { type: "text/csv;charset=utf-8" }));
  const empty = rows.length ? null : el("p", { class: "hint" }, t("insights.empty"));
  box.replaceChildren(...[el("table", {}, el("thead", {}, head), el("tbody", {}, body)), empty, link].filter(Boolean));
}

const col = (label, raw, show = raw, num = false) => ({ label, raw, show: (r) => String(show(r) ?? ""), num });
const isData = (r) => r.dim === "week" || r.dim === "township";  // a week's number or a place's name: data
const dataCol = (label, raw) => Object.assign(col(label, raw), { data: isData });

// Bars side by side when a bar chart has several series: series k of n takes the k-th slice of 0.8 around each x
function barPaths(k, n, xs) {
  if (n < 2) return uPlot.paths.bars({ size: [0.6, 60] });
  const width = 0.8 / n;
  return uPlot.paths.bars({ disp: { x0: { unit: 1, values: () => xs.map((x) => x - 0.4 + k * width) },
    size: { unit: 1, values: () => [width] } } });
}

function chart(box, title, labels, series, opts = {}) {
  const xs = labels.map((_, i) => i);
  const bars = opts.bars ? series.map((_, k) => barPaths(k, series.length, xs)) : null;
  const u = new uPlot({
    title, width: Math.max(320, box.clientWidth - 10), height: 220,
    scales: { x: { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] }, y: opts.y || {} },
    axes: [{ stroke: "#a9b2bd", incrs: [1], values: (_, splits) => splits.map((i) => labels[i] ?? "") },
      { stroke: "#a9b2bd", values: (_, splits) => splits.map(opts.tick || String) }],
    series: [{ label: opts.x || "", value: (_, i) => labels[i] ?? "" }, ...series.map((s, i) => ({ label: s.label,
      stroke: COLOURS[i % COLOURS.length], fill: bars ? COLOURS[i % COLOURS.length] + "99" : undefined,
      width: 2, paths: bars ? bars[i] : undefined, points: { show: !bars },
      value: (_, v) => (v === null ? "" : (opts.tick || String)(v)) }))],
  }, [xs, ...series.map((s) => s.values)], box);
  box.replaceChildren(u.root);
  view.charts.push(u);
}

function showResponse(rows) {
  const weeks = [...new Set(rows.filter((r) => r.dim === "week").map((r) => r.key))].sort();
  const median = (week, stage) => {
    const row = rows.find((r) => r.dim === "week" && r.key === week && r.stage === stage);
    return row ? row.median_s / 60 : null;
  };
  chart($("response-chart"), t("insights.response.chart"), weeks,
    STAGES.map((s) => ({ label: t(`insights.stage.${s}`), values: weeks.map((w) => median(w, s)) })),
    { x: t("insights.dim.week"), y: { distr: 3 }, tick: (v) => (v === null ? "" : Number(v.toPrecision(2)).toString()) });
  table($("response-table"), "response", [
    col("insights.col.by", (r) => t(`insights.dim.${r.dim}`)),
    dataCol("insights.col.value", dimValue),
    col("insights.col.stage", (r) => t(`insights.stage.${r.stage}`)),
    col("insights.col.n", (r) => r.n, (r) => r.n, true),
    col("insights.col.median_s", (r) => r.median_s, (r) => duration(r.median_s), true),
    col("insights.col.p90_s", (r) => r.p90_s, (r) => duration(r.p90_s), true),
    col("insights.col.target_s", (r) => r.target_s, (r) => duration(r.target_s), true),
    col("insights.col.within", (r) => r.within_share, (r) => percent(r.within_share), true),
  ], rows);
}

function showFalseAlarms(rows) {
  const detectors = rows.filter((r) => r.dim === "detector");
  chart($("false-chart"), t("insights.false_alarms.chart"), detectors.map(dimValue),
    [{ label: t("insights.col.share"), values: detectors.map((r) => 100 * r.share) }],
    { x: t("insights.dim.detector"), bars: true, y: { range: [0, 100] }, tick: (v) => `${Math.round(v)}%` });
  table($("false-table"), "false_alarms", [
    col("insights.col.by", (r) => t(`insights.dim.${r.dim}`)),
    dataCol("insights.col.value", dimValue),
    col("insights.col.closed", (r) => r.closed, (r) => r.closed, true),
    col("insights.col.false_alarms", (r) => r.false_alarms, (r) => r.false_alarms, true),
    col("insights.col.share", (r) => r.share, (r) => percent(r.share), true),
  ], rows);
}

function showAlertRate(rows) {
  const towns = rows.filter((r) => r.dim === "township");
  chart($("rate-chart"), t("insights.alert_rate"), towns.map(placeName),
    [{ label: t("insights.col.per_resident_month"), values: towns.map((r) => r.per_resident_month) }],
    { x: t("insights.dim.township"), bars: true, y: { range: (_, lo, hi) => [0, Math.max(1, hi)] }, tick: decimal });
  table($("rate-table"), "alert_rate", [
    dataCol("insights.col.township", (r) => (r.dim === "all" ? t("insights.all") : placeName(r))),
    col("insights.col.alerts", (r) => r.alerts, (r) => r.alerts, true),
    col("insights.col.residents", (r) => r.residents, (r) => r.residents, true),
    col("insights.col.per_resident_month", (r) => r.per_resident_month, (r) => decimal(r.per_resident_month), true),
  ], rows);
}

// Weekday x hour: a picture (cells shaded by volume) that is also the table; the CSV has one row per cell
function showHeatmap(cells) {
  const most = Math.max(1, ...cells.map((c) => c.alerts));
  const hours = [...Array(24).keys()];
  const head = el("tr", {}, el("th", {}, ""), hours.map((h) => el("th", {}, String(h))));
  const rows = [1, 2, 3, 4, 5, 6, 7].map((d) => el("tr", {}, el("th", {}, t(`insights.weekday.${d}`)),
    hours.map((h) => {
      const n = (cells.find((c) => c.weekday === d && c.hour === h) || { alerts: 0 }).alerts;
      return el("td", { class: "cell", style: `background: rgba(255, 77, 79, ${(n / most).toFixed(2)})`,
        title: `${t(`insights.weekday.${d}`)} ${h}:00 — ${n}` }, n ? String(n) : "");
    })));
  const columns = [col("insights.col.weekday", (c) => t(`insights.weekday.${c.weekday}`)),
    col("insights.col.hour", (c) => c.hour), col("insights.col.alerts", (c) => c.alerts)];
  const box = $("heatmap-table");
  table(box, "heatmap", columns, cells);
  box.replaceChildren(el("table", { class: "heat" }, el("thead", {}, head), el("tbody", {}, rows)),
    box.querySelector("a.csv"));
}

function fillTownships(places) {
  const select = $("township");
  const chosen = select.value;
  const options = places.map((p) => { const o = el("option", { value: p.code, translate: "no" }, p.name || p.code);
    o.selected = p.code === chosen; return o; });
  select.replaceChildren(select.options[0], ...options);
}

async function show() {
  $("error").textContent = "";
  $("status").textContent = t("insights.loading");
  const q = new URLSearchParams({ from: $("from").value, to: $("to").value });
  if ($("township").value) q.append("township", $("township").value);
  try {
    const report = await api("GET", `/api/insights?${q}`);
    view.report = report;
    view.charts.forEach((u) => u.destroy()); view.charts = [];
    if (!$("township").value) { fillTownships(report.places); showScope(report.places); }
    showResponse(report.response); showFalseAlarms(report.false_alarms);
    showAlertRate(report.alert_rate); showHeatmap(report.heatmap);
    showInsights2(report);  // services, subsidy, fleet, disasters (insights2.js)
    $("status").textContent = t("insights.period", { from: report.first, to: report.last });
  } catch (e) {
    $("status").textContent = ""; $("error").textContent = e.message;
  }
}

// The month's report (月报) as a file: fetched (so a refusal shows its message here), then saved by the browser
async function downloadMonthly(format) {
  const q = new URLSearchParams({ month: $("month").value, format });
  if ($("township").value) q.append("township", $("township").value);
  $("error").textContent = "";
  $("monthly-status").textContent = t("scopes.monthly.making");
  try {
    const answer = await fetch(`/api/insights/monthly?${q}`, { credentials: "same-origin" });
    if (!answer.ok) {
      const body = await answer.json().catch(() => ({}));
      throw new Error(body.message || body.detail || String(answer.status));
    }
    const name = decodeURIComponent((answer.headers.get("Content-Disposition") || "").split("''")[1] || `monthly.${format}`);
    const link = el("a", { download: name });
    link.href = URL.createObjectURL(await answer.blob());
    document.body.append(link); link.click(); link.remove();
    $("monthly-status").textContent = t("scopes.monthly.done", { name });
  } catch (e) {
    $("monthly-status").textContent = ""; $("error").textContent = e.message;
  }
}

// An account limited to some townships (scope by place) is told so; its report's places are exactly those
function showScope(places) {
  const limited = (view.me?.townships || []).length > 0;
  $("scope").hidden = !limited;
  if (limited) $("scope").textContent = t("scopes.limited", { townships: places.map((p) => p.name || p.code).join("、") });
}

function start(me) {
  view.me = me;
  if (!$("month").value) {  // last month: a month's report is made once it has ended
    const firstOfThisMonth = Date.parse(`${localDay(Date.now()).slice(0, 8)}01T00:00:00Z`);
    $("month").value = localDay(firstOfThisMonth - DAY_MS).slice(0, 7);
  }
  $("monthly").onsubmit = (ev) => { ev.preventDefault(); downloadMonthly(ev.submitter?.dataset.format || "pdf"); };
  $("who").replaceChildren(el("span", { translate: "no" }, me.display_name), " ",
    el("span", {}, word("role.", me.role)));
  $("nav-console").hidden = me.role === "bureau";  // the call-centre console is not the bureau's
  if (!$("from").value) {
    $("to").value = localDay(Date.now());
    $("from").value = localDay(Date.now() - 29 * DAY_MS);
  }
  $("filters").onsubmit = (ev) => { ev.preventDefault(); show(); };
  return show();
}

signIn(start);
