// Admin page (issue 15): escalation policies (per severity, and per alert kind), and the texts the hub sent.
// Loaded after common.js ($, api, signIn, live, t, word, fmtTime, kindName). Supervisors read, admins edit.
"use strict";
const PHASES = ["open", "acknowledged"];
const CHANNELS = ["console", "sms_oncall", "sms_family", "offer"];
const ROLES = ["operator", "supervisor", "commander"];
const SEVERITIES = ["critical", "warning", "info"];
const page = { admin: false, policies: [] };

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat(Infinity)) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}

const options = (values, chosen, label) => values.map((v) => el("option", { value: v, selected: v === chosen }, label(v)));

function targetInput(step) {  // a role for console steps, a number for on-call texts, nothing otherwise
  if (step.channel === "console") {
    return el("select", { class: "target" }, options(ROLES, step.target || "supervisor", (r) => word("role.", r)));
  }
  if (step.channel === "sms_oncall") {
    return el("input", { class: "target", type: "tel", value: step.target || "", pattern: "\\+?[0-9]{5,20}",
      placeholder: t("escalation.target.phone"), required: true });
  }
  return el("span", { class: "target" }, "—");
}

function stepRow(step, rows) {
  const phase = el("select", { class: "phase" }, options(PHASES, step.phase, (p) => t(`escalation.phase.${p}`)));
  const after = el("input", { class: "after", type: "number", min: "0", step: "0.5", value: String(step.after_s / 60) });
  const channel = el("select", { class: "channel" }, options(CHANNELS, step.channel, (c) => t(`escalation.channel.${c}`)));
  const target = el("td", {}, targetInput(step));
  channel.addEventListener("change", () => target.replaceChildren(targetInput({ channel: channel.value })));
  const row = el("tr", { class: "step" }, el("td", {}, phase), el("td", {}, after), el("td", {}, channel), target,
    el("td", {}, page.admin ? el("button", { type: "button", onclick: () => row.remove() }, t("escalation.remove_step")) : null));
  return row;
}

function readSteps(table) {
  return [...table.querySelectorAll("tr.step")].map((row) => {
    const target = row.querySelector(".target");
    return { phase: row.querySelector(".phase").value, after_s: Number(row.querySelector(".after").value) * 60,
      channel: row.querySelector(".channel").value, target: target.value === undefined ? "" : target.value };
  });
}

function policyCard(policy) {
  const name = policy.kind ? kindName(policy.kind) : t("escalation.kind_all");
  const table = el("table", { class: "steps" }, el("tr", {}, ["escalation.phase", "escalation.after", "escalation.channel",
    "escalation.target", ""].map((k) => el("th", {}, k ? t(k) : ""))));
  policy.steps.forEach((s) => table.append(stepRow(s, table)));
  const repeat = el("input", { class: "repeat", type: "number", min: "0.5", step: "0.5", value: String(policy.repeat_s / 60) });
  const status = el("span", { class: "hint" }, policy.default ? t("escalation.default")
    : t("escalation.changed_by", { who: policy.updated_by, when: fmtTime(policy.updated_at, false) }));
  const path = `/api/escalation/policies/${policy.severity}?kind=${encodeURIComponent(policy.kind)}`;
  const save = async () => {
    $("error").textContent = "";
    try {
      await api("PUT", path, { repeat_s: Number(repeat.value) * 60, steps: readSteps(table) });
      await load(); status.textContent = t("escalation.saved");
    } catch (e) { $("error").textContent = e.message; }
  };
  const reset = async () => {
    $("error").textContent = "";
    try { await api("DELETE", path); await load(); } catch (e) { $("error").textContent = e.message; }
  };
  const admin = page.admin ? el("div", { class: "row" },
    el("button", { type: "button", class: "add", onclick: () => table.append(stepRow({ phase: "open", after_s: 60, channel: "console", target: "supervisor" }, table)) }, t("escalation.add_step")),
    el("button", { type: "button", class: "primary save", onclick: save }, t("escalation.save")),
    policy.default ? null : el("button", { type: "button", class: "reset", onclick: reset }, t("escalation.reset"))) : null;
  const card = el("div", { class: "card policy", "data-severity": policy.severity, "data-kind": policy.kind },
    el("h3", {}, el("span", { class: `sev ${policy.severity}` }, word("severity.", policy.severity)), " ", name, " ", status),
    table, el("label", {}, t("escalation.repeat"), " ", repeat), admin);
  if (!page.admin) card.querySelectorAll("input, select").forEach((n) => { n.disabled = true; });
  return card;
}

async function load() {
  page.policies = await api("GET", "/api/escalation/policies");
  $("policies").replaceChildren(...page.policies.map(policyCard));
}

function addKind(ev) {
  ev.preventDefault();
  const severity = $("add-severity").value, kind = $("add-kind-name").value;
  if (page.policies.some((p) => p.severity === severity && p.kind === kind)) return;
  const base = page.policies.find((p) => p.severity === severity && !p.kind);
  const fresh = { ...base, kind, default: true };
  page.policies.push(fresh);
  $("policies").append(policyCard(fresh));
}

function smsRow(m) {
  return el("tr", { "data-message": m.id, "data-status": m.status }, el("td", {}, fmtTime(m.created_at, false)),
    el("td", {}, word("sms.channel.", m.channel)),
    el("td", { translate: "no" }, `${m.recipient_name ? `${m.recipient_name} ` : ""}${m.recipient}`),
    el("td", { class: "status" }, word("sms.status.", m.status)), el("td", {}, m.dlr_at ? fmtTime(m.dlr_at, false) : ""),
    el("td", { translate: "no" }, m.incident_id ? `#${m.incident_id}` : ""), el("td", { translate: "no" }, m.text));
}

async function loadSms() {
  const state = await api("GET", "/api/sms").catch(() => null);
  if (!state) return;
  $("gateway").className = state.gateway_up ? "hint" : "error";
  $("gateway").textContent = state.configured === false ? t("sms.gateway_none")
    : state.gateway_up ? `${t("sms.gateway_up")} · ${t("sms.pending", { n: state.pending })}` : t("sms.gateway_down", { n: state.pending });
  const heads = ["sms.time", "sms.channel", "sms.recipient", "sms.status", "sms.report", "", "sms.text"];
  $("messages").replaceChildren(el("tr", {}, heads.map((k) => el("th", {}, k ? t(k) : ""))),
    ...(state.messages.length ? state.messages.map(smsRow) : [el("tr", {}, el("td", { colspan: "7", class: "hint" }, t("sms.none")))]));
}

async function start(me) {
  $("who").textContent = `${me.display_name || me.username} (${word("role.", me.role)})`;
  page.admin = me.role === "admin";
  $("read-only").hidden = page.admin;
  $("add-kind").hidden = !page.admin;
  $("add-severity").replaceChildren(...options(SEVERITIES, "critical", (s) => word("severity.", s)));
  const kinds = Object.keys(I18N.messages).filter((k) => /^kind\.[a-z_]+$/.test(k)).map((k) => k.slice(5)).sort();
  $("add-kind-name").replaceChildren(...options(kinds, "fall", kindName));
  await load().catch((e) => { $("error").textContent = e.message; });
  await loadSms();
  live((text) => { const f = JSON.parse(text); if (f.type === "sms" || f.type === "sms_gateway") loadSms(); });
}

$("add-kind").addEventListener("submit", addKind);
signIn(start);
