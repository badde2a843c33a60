// Console additions of issue 15, loaded before console.js (which calls them): the supervisor's escalation alert
// (distinct and louder than a new incident's beep, and it stays until dismissed), the SMS gateway's state in the
// warnings strip, and the texts sent about the selected incident (numbers masked, status, delivery report).
"use strict";
const smsState = { gateway: null };

function escalationTone(ctx) {  // two-tone siren, louder and longer than the new-incident beep
  if (!ctx) return;
  for (let i = 0; i < 6; i++) {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = "square"; osc.frequency.value = i % 2 ? 620 : 980; gain.gain.value = 0.6;
    osc.connect(gain).connect(ctx.destination);
    const at = ctx.currentTime + i * 0.45; osc.start(at); osc.stop(at + 0.4);
  }
}

// An "escalated" frame for this user's role (a console step of the policy): a banner at the top, the siren.
function escalationAlert(inc, me, audio) {
  const step = inc.escalation || {};
  if (!me || step.channel !== "console" || (step.notify_role !== me.role && me.role !== "admin")) return false;
  const box = $("escalations");
  if (!box) return false;
  const banner = el("p", { class: "escalation-alert", "data-id": inc.id, "data-role": step.notify_role, role: "alert" },
    el("span", {}, t("console.escalation_alert", { role: word("role.", step.notify_role), text: step.text || "" })), " ",
    el("button", { onclick: () => { banner.remove(); select(inc.id); } }, `#${inc.id}`), " ",
    el("button", { class: "dismiss", onclick: () => banner.remove() }, t("console.escalation_dismiss")));
  box.querySelectorAll(`[data-id="${inc.id}"]`).forEach((n) => n.remove());
  box.prepend(banner);
  escalationTone(audio);
  document.body.classList.add("escalation"); setTimeout(() => document.body.classList.remove("escalation"), 6000);
  return true;
}

function showGateway(up, pending, configured = true) {
  const box = $("warnings");
  if (!box) return;
  box.querySelectorAll(".sms-gateway").forEach((n) => n.remove());
  if (configured && !up) box.append(el("p", { class: "warning sms-gateway" }, t("sms.gateway_down", { n: pending })));
}

async function smsStart() {
  const sms = await api("GET", "/api/sms", undefined).catch(() => null);
  if (sms) showGateway(sms.gateway_up, sms.pending, sms.configured);
}

// A live "sms" or "sms_gateway" frame; answers true when the selected incident's texts changed.
function onSmsFrame(frame, selected) {
  if (frame.type === "sms_gateway") { showGateway(frame.data.up, frame.data.pending); return false; }
  return frame.data.incident_id !== null && frame.data.incident_id === selected;
}

async function messagesCard(inc) {
  const card = el("div", { class: "card", id: "messages" }, el("h3", {}, t("console.messages")));
  const rows = await api("GET", `/api/incidents/${inc.id}/messages`).catch(() => []);
  if (!rows.length) { card.append(el("p", { class: "hint" }, t("sms.none"))); return card; }
  card.append(el("table", { class: "audit" }, rows.map((m) => el("tr", { "data-message": m.id, "data-status": m.status },
    el("td", {}, fmtTime(m.created_at, false)), el("td", {}, word("sms.channel.", m.channel)),
    el("td", { translate: "no" }, `${m.recipient_name ? `${m.recipient_name} ` : ""}${m.recipient}`),
    el("td", { class: "status" }, word("sms.status.", m.status)),
    el("td", {}, m.dlr_at ? fmtTime(m.dlr_at, false) : ""), el("td", { translate: "no" }, m.text)))));
  return card;
}
