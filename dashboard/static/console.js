// Operator console: queue by severity then waiting time, incident view, actions; live over /ws, no reload.
// Loaded after common.js ($, api, signIn, live).
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
  $("who").textContent = `${me.display_name} (${me.role})`;
  live(onFrame, () => loadQueue()); loadQueue(true); showWarnings();
}

async function showWarnings() {  // issue 16: e.g. the hub was started against a broker open to anonymous clients
  const stats = await api("GET", "/api/stats").catch(() => ({}));
  const box = $("warnings");
  if (box) box.replaceChildren(...(stats.warnings || []).map((w) => el("p", { class: "warning" }, `Security: ${w}`)));
}

function waited(incident) {
  const s = Math.max(0, Date.now() / 1000 - incident.opened_at);
  return s < 60 ? `${Math.round(s)} s` : s < 3600 ? `${Math.floor(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

function orderText(order) {  // green key (issue 5): what was asked for and the proposed slot
  const when = order.scheduled_at ? new Date(order.scheduled_at * 1000).toLocaleString([], {
    weekday: "short", hour: "2-digit", minute: "2-digit" }) : "no provider offers it";
  return `Service order: ${order.service || "unspecified"} · slot ${when}`;
}

function renderQueue() {
  const list = $("queue");
  list.replaceChildren(...state.queue.map((inc) => el("li", {
    class: `${inc.severity}${inc.id === state.selected ? " selected" : ""}`, "data-id": inc.id,
    "data-state": inc.state, onclick: () => select(inc.id) },
    el("div", { class: "title" }, el("span", { class: `sev ${inc.severity}` }, inc.severity), " ", inc.title),
    el("div", { class: "meta" }, `#${inc.id} · ${inc.state} · waiting ${waited(inc)}`,
      inc.escalation_level ? ` · escalated ×${inc.escalation_level}` : ""),
    inc.service_order ? el("div", { class: "meta order" }, orderText(inc.service_order)) : null)));
  $("queue-count").textContent = `(${state.queue.length})`;
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
  if (frame.type !== "incident") return;
  const inc = frame.data.incident;
  if (frame.data.event === "opened" && !state.known.has(inc.id)) {  // show it at once, then refresh the queue
    state.known.add(inc.id); state.queue.push(inc);
    state.queue.sort((a, b) => (RANK[b.severity] - RANK[a.severity]) || (a.opened_at - b.opened_at));
    renderQueue();
    if (inc.severity === "critical") alarm(inc.id);
  }
  loadQueue();
  if (frame.data.incident.id === state.selected) select(state.selected);
}

function chart(target, title, xs, series) {
  const opts = { title, width: Math.max(300, target.clientWidth - 10), height: 180,
    scales: { x: { time: title !== "Accelerometer (g)" } },
    axes: [{ stroke: "#a9b2bd" }, { stroke: "#a9b2bd" }],
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: ["#4da3ff", "#ffb020", "#3ddc84"][i], width: 2 }))] };
  state.charts.push(new uPlot(opts, [xs, ...series.map((s) => s.values)], target));
}

function profileCard(inc) {
  const r = inc.resident || {}, h = inc.home || {};
  const rows = [["Name", r.name], ["ID number", r.national_id], ["Phone", r.phone], ["Born", r.birth_year],
    ["Lives alone", r.lives_alone ? "yes" : "no"], ["Address", h.address], ["Conditions", r.conditions],
    ["Contacts", r.contacts]];
  return el("div", { class: "card", id: "profile" }, el("h3", {}, "Resident"),
    el("dl", {}, rows.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])));
}

function actionsCard(inc) {
  const comment = el("input", { type: "text", id: "ack-comment", placeholder: "comment" });
  const note = el("input", { type: "text", id: "callback-note", placeholder: "what was said" });
  const reached = el("input", { type: "checkbox", id: "callback-reached", checked: "" });
  const outcome = el("select", { id: "resolve-outcome" }, OUTCOMES.map((o) => el("option", { value: o }, o.replaceAll("_", " "))));
  const resolveNote = el("input", { type: "text", id: "resolve-comment", placeholder: "comment" });
  const act = (path, body) => api("POST", `/api/incidents/${inc.id}/${path}`, body).then(() => select(inc.id))
    .catch((e) => { $("action-error").textContent = e.message; });
  const active = !["resolved", "closed"].includes(inc.state);
  return el("div", { class: "card actions" }, el("h3", {}, "Actions"),
    inc.state === "open" ? el("div", { class: "row" }, comment,
      el("button", { class: "primary", id: "ack", onclick: () => act("acknowledge", { comment: comment.value }) }, "Acknowledge")) : null,
    el("div", { class: "row" }, el("label", {}, reached, " reached"), note,
      el("button", { id: "callback", onclick: () => act("callback", { reached: reached.checked, note: note.value }) }, "Record call-back")),
    active ? el("div", { class: "row" }, outcome, resolveNote,
      el("button", { class: "primary", id: "resolve", onclick: () => act("resolve", { outcome: outcome.value, comment: resolveNote.value }) }, "Resolve"),
      el("button", { class: "danger", id: "false-alarm", onclick: () => act("resolve", { outcome: "false_alarm", comment: resolveNote.value }) }, "False alarm")) : null,
    el("p", { class: "error", id: "action-error" }));
}

async function candidatesCard(inc) {
  const card = el("div", { class: "card", id: "candidates" }, el("h3", {}, "Dispatch"));
  if (!["open", "acknowledged"].includes(inc.state) || inc.lat === null) {
    card.append(el("p", { class: "hint" }, inc.responder_id ? `Responder: ${inc.responder_id}` : "—"));
    return card;
  }
  const rows = await api("GET", `/api/incidents/${inc.id}/candidates`).catch(() => []);
  card.append(el("table", {}, el("tr", {}, ["#", "Responder", "ETA", "km", "Load", ""].map((h) => el("th", {}, h))),
    rows.slice(0, 6).map((c) => el("tr", { "data-responder": c.responder_id },
      el("td", {}, String(c.rank)), el("td", {}, `${c.name} (${c.kind})`), el("td", {}, `${c.eta_min} min`),
      el("td", {}, String(c.distance_km)), el("td", {}, `${c.load}/${c.capacity}${c.available ? "" : " closed"}`),
      el("td", {}, el("button", { class: "primary dispatch", onclick: () => api("POST", `/api/incidents/${inc.id}/dispatch`,
        { responder_id: c.responder_id }).then(() => select(inc.id)).catch((e) => { $("action-error").textContent = e.message; }) }, "Dispatch"))))));
  return card;
}

function drawCharts(inc) {
  state.charts.forEach((c) => c.destroy()); state.charts = [];
  const vitals = inc.vitals || [];
  const keys = ["heart_rate", "spo2", "skin_temp"].filter((k) => vitals.some((v) => v[k] !== undefined));
  if (vitals.length && keys.length) {
    chart($("vitals"), "Vitals (last hour)", vitals.map((v) => v.ts),
      keys.map((k) => ({ label: k, values: vitals.map((v) => v[k] ?? null) })));
  } else $("vitals").textContent = "No recent vitals.";
  const clip = (inc.clips || [])[0];
  if (clip && clip.t.length) {
    chart($("clip"), "Accelerometer (g)", clip.t, ["x", "y", "z"].map((a, i) => ({ label: a, values: clip.xyz.map((r) => r[i]) })));
  } else $("clip").textContent = inc.kind === "fall" ? "Clip not stored yet." : "No accelerometer clip for this incident.";
}

function drawMap(inc) {
  if (state.map) { state.map.remove(); state.map = null; }
  if (inc.lat === null || typeof L === "undefined") { $("map").textContent = "No position."; return; }
  // No tile server (works offline): the pin on a plain background with a scale bar.
  state.map = L.map("map", { attributionControl: false }).setView([inc.lat, inc.lon], 14);
  L.control.scale().addTo(state.map);
  L.circleMarker([inc.lat, inc.lon], { radius: 12, color: "#ff4d4f", fillOpacity: 0.9 }).addTo(state.map)
    .bindTooltip((inc.home && inc.home.address) || "home", { permanent: true });
}

function auditCard(inc) {
  return el("div", { class: "card" }, el("h3", {}, "Audit log"), el("table", { class: "audit", id: "audit" },
    (inc.audit || []).map((a) => el("tr", { "data-action": a.action }, el("td", {}, new Date(a.ts * 1000).toLocaleTimeString()),
      el("td", {}, a.actor), el("td", {}, a.action), el("td", {}, JSON.stringify(a.detail))))));
}

async function select(id) {
  state.selected = id; renderQueue();
  const inc = await api("GET", `/api/incidents/${id}`);
  if (state.selected !== id) return;
  const head = el("h2", {}, el("span", { class: `sev ${inc.severity}` }, inc.severity), ` #${inc.id} ${inc.title}`);
  const status = el("p", { id: "incident-state", "data-state": inc.state },
    `State: ${inc.state}${inc.acked_by ? ` · acknowledged by ${inc.acked_by}` : ""}${inc.outcome ? ` · outcome ${inc.outcome}` : ""}`);
  $("detail").replaceChildren(head, status, el("div", { class: "grid" }, profileCard(inc), actionsCard(inc),
    el("div", { class: "card" }, el("h3", {}, "Vitals"), el("div", { id: "vitals" })),
    el("div", { class: "card" }, el("h3", {}, "Fall clip"), el("div", { id: "clip" })),
    el("div", { class: "card" }, el("h3", {}, "Map"), el("div", { id: "map" })),
    await candidatesCard(inc)), auditCard(inc));
  drawCharts(inc); drawMap(inc);
}

$("login").addEventListener("submit", unlockAudio);
signIn(start);
setInterval(renderQueue, 5000);
