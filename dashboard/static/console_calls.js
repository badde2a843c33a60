// The hotline's phone side of the console: numbers to call (revealed on purpose, audited), the operator's line,
// screen pops of incoming calls, and requests taken by phone (an incident or a service order).
// Loaded after console.js (el, select, state) and common.js ($, api, t, word, kindName, fmtTime).
"use strict";
const PHONE_KINDS = ["phone_request", "sos", "service_request"];
const SERVICES = ["meals", "cleaning", "nursing", "medical_escort", "emergency_visit"];
const calls = { me: null, revealed: new Map(), pop: null };
const ACTIVE = ["open", "acknowledged", "dispatched", "on_scene"];
const CARING_SHOWN = 6;

function personLabel(p) {  // "王秀英" (the resident) or "儿子 王军"
  return p.who === "resident" ? [el("span", { translate: "no" }, p.name), " ", el("span", { class: "hint" }, t("calls.self"))]
    : [el("span", { translate: "no" }, p.relation), " ", el("span", { translate: "no" }, p.name || "")];
}

// Numbers to call: masked like every list until the operator reveals them for this active incident.
function peopleCard(inc) {
  const open = ACTIVE.includes(inc.state);
  const shown = open ? calls.revealed.get(inc.id) : null;
  const rows = shown || inc.people || [];
  const card = el("div", { class: "card", id: "people" }, el("h3", {}, t("calls.numbers")));
  if (!rows.length) { card.append(el("p", { class: "hint" }, t("calls.no_numbers"))); return card; }
  card.append(el("table", {}, rows.map((p) => el("tr", { "data-who": p.who, "data-priority": p.priority },
    el("td", {}, personLabel(p)),
    el("td", {}, p.tel ? el("a", { href: p.tel, class: "tel", translate: "no" }, p.phone)
      : el("span", { translate: "no" }, p.phone)),
    el("td", { class: "hint" }, p.may_sms ? t("calls.sms_ok") : "")))));
  if (open && !shown) {
    card.append(el("div", { class: "row" }, el("button", { class: "primary", id: "reveal", onclick: () => reveal(inc.id) },
      t("calls.reveal")), el("span", { class: "hint" }, t("calls.reveal_audited"))));
  }
  card.append(el("p", { class: "error", id: "reveal-error" }));
  return card;
}

async function reveal(id) {
  try {
    const answer = await api("POST", `/api/incidents/${id}/contacts/reveal`, {});
    calls.revealed.set(id, answer.people);
    select(id);  // re-drawn with tel: links, and the audit card shows the reveal
  } catch (e) { $("reveal-error").textContent = e.message; }
}

// The operator's line (分机): screen pops for calls to it come to this console.
async function startCalls(me) {
  calls.me = me;
  const box = $("my-line");
  $("line-box").hidden = false; $("new-record").hidden = false;
  const mine = await api("GET", "/api/calls/line").catch(() => ({ line: "" }));
  box.value = mine.line || "";
  box.addEventListener("change", () => api("PUT", "/api/calls/line", { line: box.value.trim() })
    .catch((e) => { box.setCustomValidity(e.message); box.reportValidity(); }));
  loadCaring(); setInterval(loadCaring, 60_000);
  $("new-record").addEventListener("click", () => showPop({ call_id: "", line: box.value, caller: "", known: false,
    resident: null, manual: true }));
}

function onCall(pop) {
  if (pop.operator && calls.me && pop.operator !== calls.me.username) return;  // another operator's line
  showPop(pop);
  if (typeof beep === "function") beep();
}

function residentFacts(r) {
  const rows = [["console.name", r.name], ["console.pinyin", r.name_pinyin], ["console.phone", r.phone],
    ["console.born", r.birth_year], ["console.address", r.address], ["console.conditions", r.conditions]];
  return el("dl", {}, rows.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => [el("dt", {}, t(k)), el("dd", { translate: "no" }, String(v))]),
    el("dt", {}, t("console.lives_alone")), el("dd", {}, t(r.lives_alone ? "yes" : "no")));
}

function showPop(pop) {
  calls.pop = pop;
  const box = $("call-pop");
  const who = pop.caller_relation === "self" ? t("calls.caller_self")
    : pop.caller_relation ? t("calls.caller_contact", { relation: pop.caller_relation, name: pop.caller_name || "" }) : "";
  const head = pop.manual ? el("h2", {}, t("calls.new_record"))
    : el("h2", {}, t("calls.incoming"), " ", el("span", { translate: "no" }, pop.caller), " · ",
      t("calls.on_line", { line: pop.line }), who ? [" · ", el("span", { id: "call-who" }, who)] : null);
  const r = pop.resident;
  const body = r ? el("div", { class: "card", id: "call-card", "data-resident": r.resident_id },
    el("h3", {}, t("console.resident"), " ", el("span", { translate: "no" }, r.resident_id)), residentFacts(r),
    (r.incidents || []).length ? el("ul", {}, r.incidents.map((i) => el("li", {},
      el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); closePop(); select(i.id); } },
        `#${i.id} `, kindName(i.kind), " · ", word("state.", i.state))))) : null)
    : el("div", { class: "card", id: "call-card", "data-resident": "" },
      el("h3", {}, pop.manual ? t("calls.pick_resident") : t("calls.unknown")), findResident());
  box.replaceChildren(head, el("div", { class: "grid" }, body, requestForm()),
    el("div", { class: "row" }, el("button", { id: "call-close", onclick: closePop }, t("calls.close"))));
  box.hidden = false;
}

function closePop() { $("call-pop").hidden = true; calls.pop = null; }

// Unknown number: a blank record; the operator finds the resident by name, pinyin or phone tail.
function findResident() {
  const q = el("input", { type: "search", id: "call-search", maxlength: "64", placeholder: t("console.search.placeholder") });
  const list = el("ul", { id: "call-found" });
  const go = async (ev) => {
    ev.preventDefault();
    const found = await api("GET", `/api/residents/search?q=${encodeURIComponent(q.value.trim())}`).catch(() => []);
    list.replaceChildren(...(found.length ? found : []).map((r) => el("li", {}, el("a", { href: "#", "data-resident": r.resident_id,
      onclick: (e) => { e.preventDefault(); showPop({ ...calls.pop, resident: { ...r, incidents: [] } }); } },
    el("span", { translate: "no" }, `${r.name} · ${r.resident_id} · ${r.phone}`)))),
    found.length ? "" : el("li", { class: "hint" }, t("console.search.none")));
  };
  return el("form", { class: "row", onsubmit: go }, q, el("button", { type: "submit" }, t("console.search.button")), list);
}

// A request taken by phone: an incident (sos, help needed) or a service order, for the resident on the card.
function requestForm() {
  const kind = el("select", { id: "request-kind" }, PHONE_KINDS.map((k) => el("option", { value: k }, kindName(k))));
  const service = el("select", { id: "request-service", hidden: "" }, SERVICES.map((s) => el("option", { value: s }, word("service.", s))));
  const note = el("input", { type: "text", id: "request-note", maxlength: "500", placeholder: t("calls.note") });
  const error = el("p", { class: "error", id: "request-error" });
  kind.addEventListener("change", () => { service.hidden = kind.value !== "service_request"; });
  const submit = async () => {
    const r = calls.pop && calls.pop.resident;
    if (!r) { error.textContent = t("calls.pick_resident"); return; }
    const body = { resident_id: r.resident_id, kind: kind.value, note: note.value, call_id: calls.pop.call_id || "" };
    if (kind.value === "service_request") body.service = service.value;
    try {
      const inc = await api("POST", "/api/incidents", body);
      closePop(); await loadQueue(); select(inc.id);
    } catch (e) { error.textContent = e.message; }
  };
  return el("div", { class: "card actions", id: "request" }, el("h3", {}, t("calls.request")),
    el("div", { class: "row" }, kind, service), el("div", { class: "row" }, note),
    el("div", { class: "row" }, el("button", { class: "primary", id: "request-open", onclick: submit }, t("calls.open"))), error);
}

// Caring calls (关爱回访): the weekly call to each resident living alone; the number shown on purpose (audited).
async function loadCaring() {
  const tasks = await api("GET", "/api/caring-calls").catch(() => []);
  $("caring-count").textContent = t("console.count", { n: tasks.length });
  // Satisfaction call-backs first (a service just done), then the oldest caring calls; a handful at a time.
  const shown = [...tasks.filter((x) => x.kind === "satisfaction"), ...tasks.filter((x) => x.kind !== "satisfaction")].slice(0, CARING_SHOWN);
  $("caring").replaceChildren(...shown.map((task) => {
    const dial = el("span", { class: "dial" });
    const followup = task.kind === "satisfaction";  // 满意度回访 after a completed service order
    const rating = followup ? el("select", { class: "rating" }, [5, 4, 3, 2, 1].map((n) =>
      el("option", { value: String(n) }, t("caring.stars", { n })))) : null;
    const done = (outcome) => api("POST", `/api/caring-calls/${task.id}`,
      { outcome, satisfaction: followup && outcome === "well" ? Number(rating.value) : null }).then(() => { loadCaring(); loadQueue(); })
      .catch((e) => { dial.textContent = e.message; });
    const reveal = () => api("POST", `/api/caring-calls/${task.id}/reveal`, {})
      .then((r) => dial.replaceChildren(el("a", { href: r.tel, class: "tel", translate: "no" }, r.phone)))
      .catch((e) => { dial.textContent = e.message; });
    return el("li", { class: "caring", "data-task": task.id, "data-resident": task.resident_id, "data-kind": task.kind },
      followup ? el("div", { class: "meta" }, t("caring.satisfaction", { id: task.about_incident })) : null,
      el("div", { class: "title", translate: "no" }, `${task.name} · ${task.resident_id}`),
      el("div", { class: "meta", translate: "no" }, task.address || ""),
      task.attempts ? el("div", { class: "meta" }, t("caring.attempts", { n: task.attempts })) : null,
      el("div", { class: "row" }, el("button", { class: "call", onclick: reveal }, t("caring.call")), dial),
      el("div", { class: "row" }, rating,
        el("button", { class: "primary", "data-outcome": "well", onclick: () => done("well") }, t(followup ? "caring.rated" : "caring.well")),
        el("button", { class: "danger", "data-outcome": "needs_help", onclick: () => done("needs_help") }, t("caring.needs_help")),
        el("button", { "data-outcome": "no_answer", onclick: () => done("no_answer") }, t("caring.no_answer"))));
  }));
}
