// Operator console: queue by severity then waiting time, incident view, actions; live over /ws, no reload.
// Loaded after common.js ($, api, signIn, live, t, fmtTime). Every string from the catalogue (issue 18); data such as
// names, addresses and ids is marked translate="no".
"use strict";
const RANK = { critical: 2, warning: 1, info: 0 };
const OUTCOMES = ["helped", "false_alarm", "taken_to_hospital", "no_help_needed", "referred", "service_done"];
const state = { queue: [], selected: null, known: new Set(), audio: null, charts: [], map: null };

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const kid of kids.flat(Infinity)) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}

function beep() {  // audible cue for a new critical incident (WebAudio, no asset to fetch)
  const ctx = state.audio;
  if (!ctx) return;
  for (let i = 0; i < 3; i++) {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 880; gain.gain.value = 0.3;
    osc.connect(gain).connect(ctx.destination);
    const t = ctx.currentTime + i * 0.35; osc.start(t); osc.stop(t + 0.2);
  }
}

function unlockAudio() {  // on the sign-in click: a page may start audio only from a user's gesture
  try { state.audio = state.audio || new AudioContext(); } catch (e) { state.audio = null; }
}

function start(me) {
  if (me.role === "bureau") { location.replace("/insights"); return; }  // the bureau reads statistics only
  $("nav-insights").hidden = !["supervisor", "admin"].includes(me.role);
  state.me = me;
  $("who").replaceChildren(el("span", { translate: "no" }, me.display_name), " ",
    el("span", {}, word("role.", me.role)));
  live(onFrame, () => loadQueue()); loadQueue(true); showWarnings().then(smsStart); startCalls(me);
}

async function showWarnings() {  // issue 16: e.g. the hub was started against a broker open to anonymous clients
  const stats = await api("GET", "/api/stats").catch(() => ({}));
  const box = $("warnings");
  if (box) box.replaceChildren(...(stats.warnings || []).map((w) => el("p", { class: "warning" }, t(`warning.${w}`))));
}

function waited(incident) {
  const s = Math.max(0, Date.now() / 1000 - incident.opened_at);
  return s < 60 ? t("unit.s", { n: Math.round(s) }) : s < 3600 ? t("unit.min", { n: Math.floor(s / 60) })
    : t("unit.h", { n: (s / 3600).toFixed(1) });
}

function orderText(order) {  // green key (issue 5): what was asked for and the proposed slot
  const when = order.scheduled_at ? fmtTime(order.scheduled_at, false) : t("console.order.none");
  return t("console.order", { service: word("service.", order.service || "unspecified"), when });
}

// An incident's title in the reader's language: the kind's name, and the subject (data) as the hub stored it
// ("跌倒：王秀英" -> 王秀英).
function titleParts(inc) {
  const m = String(inc.title || "").match(/^.*?(?:：|: )(.*)$/);
  return [el("span", { class: "kind" }, kindName(inc.kind)), " ", el("span", { translate: "no" }, m ? m[1] : inc.title)];
}

function renderQueue() {
  const list = $("queue");
  list.replaceChildren(...state.queue.map((inc) => el("li", {
    class: `${inc.severity}${inc.id === state.selected ? " selected" : ""}`, "data-id": inc.id,
    "data-state": inc.state, onclick: () => select(inc.id) },
    el("div", { class: "title" }, el("span", { class: `sev ${inc.severity}` }, word("severity.", inc.severity)), " ",
      titleParts(inc)),
    el("div", { class: "meta" }, t("console.meta", { id: inc.id, state: word("state.", inc.state), waited: waited(inc) }),
      inc.escalation_level ? t("console.escalated", { n: inc.escalation_level }) : ""),
    inc.service_order ? el("div", { class: "meta order" }, orderText(inc.service_order)) : null)));
  $("queue-count").textContent = t("console.count", { n: state.queue.length });
}

let queueLoads = 0;

async function loadQueue(first = false) {
  const mine = ++queueLoads;
  const rows = await api("GET", "/api/incidents");
  if (mine !== queueLoads) return;  // a newer load is under way: this answer predates frames already shown
  rows.sort((a, b) => (RANK[b.severity] - RANK[a.severity]) || (a.opened_at - b.opened_at));
  const fresh = rows.filter((r) => !state.known.has(r.id));
  rows.forEach((r) => state.known.add(r.id));
  state.queue = rows; renderQueue();
  if (!first) for (const r of fresh) if (r.severity === "critical") alarm(r.id);
}

function alarm(id) {
  beep();
  document.body.classList.add("alarm"); setTimeout(() => document.body.classList.remove("alarm"), 3000);
  const item = document.querySelector(`#queue li[data-id="${id}"]`);
  if (item) item.classList.add("flash");
}

function onFrame(text) {
  const frame = JSON.parse(text);
  if (frame.type === "call") { onCall(frame.data); return; }  // screen pop (console_calls.js)
  if (frame.type === "sms" || frame.type === "sms_gateway") {  // issue 15 (console_sms.js)
    if (onSmsFrame(frame, state.selected)) select(state.selected);
    return;
  }
  if (frame.type !== "incident") return;
  const inc = frame.data.incident;
  if (frame.data.event === "escalated") escalationAlert(inc, state.me, state.audio);  // issue 15: the role's alert
  if (frame.data.event === "opened" && !state.known.has(inc.id)) {  // show it at once, then refresh the queue
    state.known.add(inc.id); state.queue.push(inc);
    state.queue.sort((a, b) => (RANK[b.severity] - RANK[a.severity]) || (a.opened_at - b.opened_at));
    renderQueue();
    if (inc.severity === "critical") alarm(inc.id);
  }
  loadQueue();
  if (frame.data.incident.id === state.selected) select(state.selected);
}

// Time axes and the legend's time in China Standard Time, 24-hour (uPlot's own formats are 12-hour with am/pm).
const timeTicks = (u, splits) => {
  const span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0;
  return splits.map((v) => (span > 86400 ? fmtTime(v, false).slice(5) : fmtTime(v, false).slice(11)));
};

function chart(target, title, xs, series, time = true) {
  const x = time ? { label: t("chart.time"), value: (u, v) => (v === null ? "" : fmtTime(v)) } : { label: t("chart.t_s") };
  const opts = { title, width: Math.max(300, target.clientWidth - 10), height: 180,
    scales: { x: { time } }, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Asia/Shanghai"),
    axes: [time ? { stroke: "#a9b2bd", values: timeTicks } : { stroke: "#a9b2bd" }, { stroke: "#a9b2bd" }],
    series: [x, ...series.map((s, i) => ({ label: s.label, stroke: ["#4da3ff", "#ffb020", "#3ddc84"][i], width: 2 }))] };
  state.charts.push(new uPlot(opts, [xs, ...series.map((s) => s.values)], target));
}

function profileCard(inc) {
  const r = inc.resident || {}, h = inc.home || {};
  const rows = [["console.name", r.name], ["console.pinyin", r.name_pinyin], ["console.national_id", r.national_id],
    ["console.phone", r.phone], ["console.born", r.birth_year], ["console.address", h.address],
    ["console.conditions", r.conditions], ["console.contacts", r.contacts]];
  const lives = r.lives_alone === undefined ? [] : [el("dt", {}, t("console.lives_alone")),
    el("dd", {}, t(r.lives_alone ? "yes" : "no"))];
  return el("div", { class: "card", id: "profile" }, el("h3", {}, t("console.resident")),
    el("dl", {}, rows.filter(([, v]) => v !== undefined && v !== null && v !== "")
      .map(([k, v]) => [el("dt", {}, t(k)), el("dd", { translate: "no" }, String(v))]), lives));
}

function actionsCard(inc) {
  const comment = el("input", { type: "text", id: "ack-comment", placeholder: t("console.comment") });
  const note = el("input", { type: "text", id: "callback-note", placeholder: t("console.what_was_said") });
  const reached = el("input", { type: "checkbox", id: "callback-reached", checked: "" });
  const outcome = el("select", { id: "resolve-outcome" }, OUTCOMES.map((o) => el("option", { value: o }, word("outcome.", o))));
  const resolveNote = el("input", { type: "text", id: "resolve-comment", placeholder: t("console.comment") });
  const act = (path, body) => api("POST", `/api/incidents/${inc.id}/${path}`, body).then(() => select(inc.id))
    .catch((e) => { $("action-error").textContent = e.message; });
  const active = !["resolved", "closed"].includes(inc.state);
  return el("div", { class: "card actions" }, el("h3", {}, t("console.actions")),
    inc.state === "open" ? el("div", { class: "row" }, comment,
      el("button", { class: "primary", id: "ack", onclick: () => act("acknowledge", { comment: comment.value }) }, t("console.acknowledge"))) : null,
    el("div", { class: "row" }, el("label", {}, reached, el("span", {}, t("console.reached"))), note,
      el("button", { id: "callback", onclick: () => act("callback", { reached: reached.checked, note: note.value }) }, t("console.callback"))),
    active ? el("div", { class: "row" }, outcome, resolveNote,
      el("button", { class: "primary", id: "resolve", onclick: () => act("resolve", { outcome: outcome.value, comment: resolveNote.value }) }, t("console.resolve")),
      el("button", { class: "danger", id: "false-alarm", onclick: () => act("resolve", { outcome: "false_alarm", comment: resolveNote.value }) }, t("console.false_alarm"))) : null,
    el("p", { class: "error", id: "action-error" }));
}

async function candidatesCard(inc) {
  const card = el("div", { class: "card", id: "candidates" }, el("h3", {}, t("console.dispatch")));
  if (!["open", "acknowledged"].includes(inc.state) || inc.lat === null) {
    card.append(el("p", { class: "hint" }, inc.responder_id ? t("console.responder_is", { id: inc.responder_id }) : "—"));
    return card;
  }
  const rows = await api("GET", `/api/incidents/${inc.id}/candidates`).catch(() => []);
  const heads = ["#", t("console.responder"), t("console.eta"), t("unit.km"), t("console.load"), ""];
  card.append(el("table", {}, el("tr", {}, heads.map((h) => el("th", {}, h))),
    rows.slice(0, 6).map((c) => el("tr", { "data-responder": c.responder_id },
      el("td", {}, String(c.rank)),
      el("td", {}, el("span", { translate: "no" }, c.name), " ", el("span", {}, `(${word("responder.", c.kind)})`)),
      el("td", {}, t("unit.min", { n: c.eta_min })),
      el("td", {}, String(c.distance_km)), el("td", {}, `${c.load}/${c.capacity}`, c.available ? "" : el("span", {}, t("console.closed"))),
      el("td", {}, el("button", { class: "primary dispatch", onclick: () => api("POST", `/api/incidents/${inc.id}/dispatch`,
        { responder_id: c.responder_id }).then(() => select(inc.id)).catch((e) => { $("action-error").textContent = e.message; }) }, t("console.dispatch")))))));
  return card;
}

function drawCharts(inc) {
  state.charts.forEach((c) => c.destroy()); state.charts = [];
  const vitals = inc.vitals || [];
  const keys = ["heart_rate", "spo2", "skin_temp"].filter((k) => vitals.some((v) => v[k] !== undefined));
  if (vitals.length && keys.length) {
    chart($("vitals"), t("console.vitals_chart"), vitals.map((v) => v.ts),
      keys.map((k) => ({ label: word("metric.", k), values: vitals.map((v) => v[k] ?? null) })));
  } else $("vitals").textContent = t("console.no_vitals");
  const clip = (inc.clips || [])[0];
  if (clip && clip.t.length) {
    chart($("clip"), t("console.acc_chart"), clip.t, ["x", "y", "z"].map((a, i) => ({ label: a, values: clip.xyz.map((r) => r[i]) })), false);
  } else $("clip").textContent = inc.kind === "fall" ? t("console.clip_pending") : t("console.no_clip");
}

function drawMap(inc) {
  if (state.map) { state.map.remove(); state.map = null; }
  if (inc.lat === null || typeof L === "undefined") { $("map").textContent = t("console.no_position"); return; }
  // No tile server (works offline): the pin on a plain background with a scale bar.
  state.map = L.map("map", { attributionControl: false }).setView([inc.lat, inc.lon], 14);
  L.control.scale().addTo(state.map);
  L.circleMarker([inc.lat, inc.lon], { radius: 12, color: "#ff4d4f", fillOpacity: 0.9 }).addTo(state.map)
    .bindTooltip(esc((inc.home && inc.home.address) || t("console.home")), { permanent: true, className: "notranslate" });
}

function auditCard(inc) {
  return el("div", { class: "card" }, el("h3", {}, t("console.audit")), el("table", { class: "audit", id: "audit" },
    (inc.audit || []).map((a) => el("tr", { "data-action": a.action }, el("td", {}, fmtTime(a.ts)),
      el("td", {}, a.actor === "system" ? t("audit.system") : el("span", { translate: "no" }, a.actor)),
      el("td", {}, word("audit.", a.action)), el("td", { translate: "no" }, JSON.stringify(a.detail))))));
}

async function select(id) {
  state.selected = id; renderQueue();
  const inc = await api("GET", `/api/incidents/${id}`);
  if (state.selected !== id) return;
  const head = el("h2", {}, el("span", { class: `sev ${inc.severity}` }, word("severity.", inc.severity)), ` #${inc.id} `,
    titleParts(inc));
  const status = el("p", { id: "incident-state", "data-state": inc.state },
    el("span", {}, t("console.state", { state: word("state.", inc.state) })),
    inc.acked_by ? [el("span", {}, t("console.acked_by", { who: "" })), el("span", { translate: "no" }, inc.acked_by)] : null,
    inc.outcome ? el("span", {}, t("console.outcome", { outcome: word("outcome.", inc.outcome) })) : null);
  $("detail").replaceChildren(head, status, el("div", { class: "grid" }, profileCard(inc), peopleCard(inc), actionsCard(inc),
    el("div", { class: "card" }, el("h3", {}, t("console.vitals")), el("div", { id: "vitals" })),
    el("div", { class: "card" }, el("h3", {}, t("console.clip")), el("div", { id: "clip" })),
    el("div", { class: "card" }, el("h3", {}, t("console.map")), el("div", { id: "map" })),
    await candidatesCard(inc), await messagesCard(inc)), auditCard(inc));
  drawCharts(inc); drawMap(inc);
}

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Issue 18: find a resident by Chinese name, full pinyin, initials ("wxy") or the last 4+ digits of a phone.
async function search(ev) {
  ev.preventDefault();
  const q = $("search-q").value.trim();
  const list = $("search-results");
  if (!q) { list.hidden = true; return; }
  const found = await api("GET", `/api/residents/search?q=${encodeURIComponent(q)}`).catch((e) => e);
  list.hidden = false;
  if (found instanceof Error) { list.replaceChildren(el("li", { class: "error" }, found.message)); return; }
  list.replaceChildren(el("li", { class: "hint" }, found.length ? t("console.search.count", { n: found.length }) : t("console.search.none")),
    ...found.map((r) => el("li", { class: "resident", "data-resident": r.resident_id },
      el("div", { class: "title", translate: "no" }, `${r.name} · ${r.name_pinyin || ""}`),
      el("div", { class: "meta", translate: "no" }, `${r.resident_id} · ${r.phone} · ${r.village || ""} ${r.address || ""}`))));
}

$("search").addEventListener("submit", search);
$("login").addEventListener("submit", unlockAudio);
signIn(start);
setInterval(renderQueue, 5000);
