// The evacuation work list (issue 14, item 5): the people of each warning's area, one card each, worked on a phone.
// Big buttons give a status (contacted / safe / moved / unreachable) as the signed-in user, with the note typed on the
// card; the hub keeps who and when. Phones are masked; a commander may reveal one (audited by the hub). A status given
// while the link is down is kept on the phone (localStorage) with the time it was given, and sent when it is back.
// Loaded after common.js ($, api, signIn, t, fmtTime, live).
"use strict";

const E = { data: null, me: null, busy: false, notes: {}, keep: "hub_evacuation_queue" };
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
// Issue 18: data (names, villages, times, actors, notes) in its own element marked translate="no", each catalogue word
// in its own element, so every text node the page shows is one catalogue text or data.
const data = (s) => `<span translate="no">${esc(s)}</span>`;
const says = (key, params) => `<span>${esc(t(key, params))}</span>`;
// A catalogue template whose {params} are given as HTML (elements of their own): its literal text is escaped.
function tHtml(key, html) {
  return t(key).split(/(\{\w+\})/).map((part) => {
    const name = part.match(/^\{(\w+)\}$/);
    return name && name[1] in html ? html[name[1]] : esc(part);
  }).join("");
}
const STATUSES = ["contacted", "safe", "moved", "unreachable"];
const DONE = new Set(["safe", "moved"]);
const AREA = new URLSearchParams(location.search).get("area");  // from the map's evacuation table: one area

async function start(me) {
  E.me = me;
  $("who").textContent = me.display_name || me.username || "";
  $("open-only").addEventListener("change", render);
  $("people").addEventListener("click", onClick);
  $("people").addEventListener("input", (ev) => { if (ev.target.dataset.note) E.notes[ev.target.dataset.note] = ev.target.value; });
  window.addEventListener("online", async () => { await flush(); await load(); });
  await flush();
  await load();
  let pending = null;  // a burst of frames makes one reload
  live((text) => {
    const frame = JSON.parse(text);
    if (frame.type !== "evacuation" && frame.type !== "cap") return;
    clearTimeout(pending);
    pending = setTimeout(load, 500);
  });
  setInterval(async () => { await flush(); await load(); }, 30000);
}

const queued = () => JSON.parse(localStorage.getItem(E.keep) || "[]");
function showQueued() {
  const n = queued().length;
  $("queued").hidden = n === 0;
  $("queued").textContent = t("evac.queued", { n });
}

// Statuses given offline, oldest first; a refused one (409: someone else moved the task meanwhile) is dropped and said.
async function flush() {
  let rest = queued();
  while (rest.length) {
    const q = rest[0];
    try {
      await api("POST", `/api/evacuation/tasks/${encodeURIComponent(q.task)}/status`, { status: q.status, note: q.note });
    } catch (err) {
      if (err instanceof TypeError) break;  // still offline
      shout(err.message);
    }
    rest = rest.slice(1);
    localStorage.setItem(E.keep, JSON.stringify(rest));
  }
  showQueued();
}

async function load() {
  if (E.busy) return;
  const path = AREA ? `/api/evacuation?area=${encodeURIComponent(AREA)}` : "/api/evacuation";
  try {
    const data = await api("GET", path);
    const same = JSON.stringify(data) === JSON.stringify(E.data);
    E.data = data;
    if (!same) render();  // an unchanged list is not redrawn: a tap landing during a redraw would be lost
  } catch (err) { if (!(err instanceof TypeError)) shout(err.message); }
}

function shout(text, ok = false) { $("result").className = ok ? "ok" : "error"; $("result").textContent = text; }

function render() {
  const areas = E.data ? E.data.areas : [];
  $("none").hidden = areas.length > 0;
  $("areas").innerHTML = areas.map((a) => {
    const pct = a.total ? Math.round((100 * a.done) / a.total) : 0;
    const counts = ["open", ...STATUSES].map((s) => `<span class="count">${says(`evac.status.${s}`)} ${Number(a.counts[s])}</span>`).join(" · ");
    return `<div class="area ${esc(a.colour)}" data-area="${esc(a.area)}"><h2>${data(a.name)} · ` +
      `<span>${esc(word("evac.level.", a.colour))}</span> · <span class="done">${esc(t("evac.progress", { done: a.done, total: a.total }))}</span></h2>` +
      `<progress max="100" value="${pct}"></progress><div class="counts">${counts}</div></div>`;
  }).join("");
  const openOnly = $("open-only").checked;
  const rows = areas.flatMap((a) => a.people.map((p) => ({ ...p, area: a.name })));
  $("people").innerHTML = rows.filter((p) => !(openOnly && DONE.has(p.status))).map(card).join("");
}

function card(p) {
  const needs = p.needs.map((n) => `<span class="badge">${esc(t(`evac.need.${n}`))}</span>`).join("");
  const last = p.history[p.history.length - 1];
  const where = p.position
    ? `<a href="geo:${p.position.lat},${p.position.lon}" data-geo>${esc(t("evac.position", { time: fmtTime(p.position.ts, false) }))}</a>` +
      ` <span class="hint" translate="no">${p.position.lat.toFixed(5)}, ${p.position.lon.toFixed(5)}</span>`
    : `<span class="hint">${esc(t("evac.no_position"))}</span>`;
  const canReveal = ["commander", "admin"].includes(E.me.role) && p.phone;
  const phone = p.phone ? `${says("evac.phone")} <span data-phone translate="no">${esc(p.phone)}</span>` +
    (canReveal ? ` <button type="button" class="reveal" data-reveal="${esc(p.task_id)}">${esc(t("evac.reveal"))}</button>` : "") : "";
  const buttons = STATUSES.map((s) => `<button type="button" data-task="${esc(p.task_id)}" data-status="${s}"` +
    `${p.allowed.includes(s) ? "" : " disabled"}>${esc(t(`evac.do.${s}`))}</button>`).join("");
  const history = p.history.slice().reverse().map((c) => `<li>${data(fmtTime(c.ts, false))} ${data(c.by)} · ` +
    `${says(`evac.status.${c.status}`)}${c.note ? ` · ${data(c.note)}` : ""}</li>`).join("");
  return `<li class="person${DONE.has(p.status) ? " done" : ""}" data-person="${esc(p.task_id)}">` +
    `<h3><span translate="no">${esc(p.name)}</span> <span class="status ${esc(p.status)}" data-state>${esc(t(`evac.status.${p.status}`))}</span>` +
    ` <small class="hint">${data(p.village)} · ${says(`evac.kind.${p.kind}`)}</small></h3>` +
    `<div class="badges">${needs}</div>` +
    `<p class="line">${says("evac.address")} ${data(p.address)}</p><p class="line">${phone}</p><p class="line">${where}</p>` +
    (last ? `<p class="line hint" data-last>${tHtml("evac.last", { by: data(last.by), time: data(fmtTime(last.ts, false)), status: says(`evac.status.${last.status}`) })}</p>` : "") +
    `<input class="note" maxlength="500" data-note="${esc(p.task_id)}" placeholder="${esc(t("evac.note"))}" value="${esc(E.notes[p.task_id] || "")}">` +
    `<div class="buttons">${buttons}</div>` + (history ? `<ol class="history">${history}</ol>` : "") + "</li>";
}

async function onClick(ev) {
  const b = ev.target.closest("button");
  if (!b) return;
  if (b.dataset.reveal) { reveal(b); return; }
  const task = b.dataset.task;
  E.busy = true;
  for (const x of document.querySelectorAll(`[data-task="${CSS.escape(task)}"]`)) x.disabled = true;
  try {
    const done = await api("POST", `/api/evacuation/tasks/${encodeURIComponent(task)}/status`,
      { status: b.dataset.status, note: E.notes[task] || "" });
    delete E.notes[task];
    shout(t("evac.saved", { status: t(`evac.status.${done.status}`) }), true);
  } catch (err) {
    if (err instanceof TypeError) {  // no link: kept on the phone with the time it was given, sent when back
      const at = t("evac.given_at", { time: fmtTime(Date.now() / 1000, false) });
      const note = [E.notes[task] || "", at].filter(Boolean).join(" ");
      localStorage.setItem(E.keep, JSON.stringify([...queued(), { task, status: b.dataset.status, note: note.slice(0, 500) }]));
      delete E.notes[task];
      showQueued();
    } else shout(err.message);
  }
  E.busy = false;
  await load();
}

async function reveal(b) {
  try {
    const got = await api("POST", `/api/evacuation/tasks/${encodeURIComponent(b.dataset.reveal)}/reveal`);
    const span = b.parentElement.querySelector("[data-phone]");
    span.innerHTML = `<a href="${esc(got.tel)}">${esc(got.phone)}</a>`;
    b.remove();
  } catch (err) { shout(err.message); }
}

signIn(start);
