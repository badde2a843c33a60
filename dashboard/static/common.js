// Shared by every page; load it first (<script src="/assets/common.js">), then the page's own script.
// A plain script, so these names are the page's globals: $, csrf, api, showLogin, signIn, liveUrl, live, and for
// the language (issue 18): i18nReady, t, applyI18n, fmtTime, kindName.
// The sign-in helpers expect the form of console.html / map.html: #login (#login-user, #login-pass, #login-error),
// #main shown once signed in, and #logout where the page has one.
"use strict";

const $ = (id) => document.getElementById(id);

// Issue 18: every string a page shows comes from the catalogue of the reader's language (/api/i18n: the signed-in
// user's saved choice, else the hub's HUB_UI__LANGUAGE; before sign-in, the choice made on this browser). Elements
// carry a data-i18n attribute naming the key of their text (data-i18n-placeholder, data-i18n-title for those
// attributes); scripts call t(key, {params}).
// Data (names, addresses, ids) is marked translate="no".
const I18N = { language: "zh-CN", messages: {}, languages: ["zh-CN", "en"] };
const LANG_KEY = "hub_lang";

function t(key, params) {
  const text = Object.prototype.hasOwnProperty.call(I18N.messages, key) ? I18N.messages[key] : key;
  return params ? text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m)) : text;
}

// A detection kind in the reader's language ("fall" -> 跌倒); the kind, spaced, where the catalogue has none.
const kindName = (kind) => (I18N.messages[`kind.${kind}`] || String(kind).replaceAll("_", " "));
// A word from the catalogue under `prefix` ("state.", "severity."...), or the value itself.
const word = (prefix, value) => (I18N.messages[prefix + value] ?? String(value ?? "").replaceAll("_", " "));

// Epoch seconds as China Standard Time, 24-hour, YYYY-MM-DD HH:mm:ss (China keeps UTC+8 all year).
function fmtTime(ts, seconds = true) {
  if (ts === null || ts === undefined || ts === "") return "";
  const d = new Date(Number(ts) * 1000 + 8 * 3600 * 1000);
  const p = (n) => String(n).padStart(2, "0");
  const day = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
  return `${day} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}${seconds ? `:${p(d.getUTCSeconds())}` : ""}`;
}

function applyI18n(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  document.documentElement.lang = I18N.language;
}

function languageSwitch() {  // a <select id="lang"> in the page's header, on every page
  const header = document.querySelector("header");
  if (!header || $("lang")) return;
  const select = document.createElement("select");
  select.id = "lang"; select.title = t("lang.label"); select.setAttribute("aria-label", t("lang.label"));
  for (const code of I18N.languages) {
    const option = document.createElement("option");
    option.value = code; option.textContent = t(`lang.${code}`); option.selected = code === I18N.language;
    select.append(option);
  }
  select.addEventListener("change", async () => {
    localStorage.setItem(LANG_KEY, select.value);
    await sendJson("PUT", "/api/me/language", { language: select.value }).catch(() => null);  // 401 before sign-in
    location.reload();
  });
  header.append(select);
}

async function loadI18n() {
  const res = await fetch("/api/i18n", { credentials: "same-origin" });
  let data = await res.json();
  const chosen = localStorage.getItem(LANG_KEY);
  if (!data.signed_in && chosen && chosen !== data.language && data.languages.includes(chosen)) {
    data = await (await fetch(`/api/i18n/${chosen}`)).json();
  }
  Object.assign(I18N, { language: data.language, messages: data.messages, languages: data.languages });
  applyI18n();
  languageSwitch();
  document.documentElement.dataset.i18n = "ready";
  return I18N;
}

const i18nReady = loadI18n();

// The session cookie is HttpOnly; its CSRF token comes in the readable hub_csrf cookie and goes back as the
// X-CSRF-Token header, which every POST/PUT/PATCH/DELETE needs (issue 8).
const csrf = () => (document.cookie.match(/(?:^|;\s*)hub_csrf=([^;]*)/) || [])[1] || "";

async function sendJson(method, path, body) {
  const headers = Object.assign({ "X-CSRF-Token": csrf() }, body ? { "Content-Type": "application/json" } : {});
  return fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
}

async function answerOf(res) {
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {  // the server's message in the reader's language (dashboard/error_texts.py), else its detail
    const detail = typeof data.detail === "string" ? data.detail : res.statusText;
    throw new Error(data.message || I18N.messages[`error.${detail}`] || I18N.messages[`error.status.${res.status}`]
      || detail);  // a status's general text for answers made before routing (e.g. 413 from the body limit)
  }
  return data;
}

// A call to the hub's API: the JSON answer, or an Error with the server's detail; a 401 also shows the sign-in form.
async function api(method, path, body) {
  const res = await sendJson(method, path, body);
  if (res.status === 401) { showLogin(); throw new Error(t("error.signed_out")); }
  return answerOf(res);
}

function showSignedIn(signedIn) {
  for (const [id, shown] of [["main", signedIn], ["login", !signedIn], ["logout", signedIn]]) {
    const node = $(id);
    if (node) node.hidden = !shown;
  }
}

function showLogin() { showSignedIn(false); }

// `started(me)` runs once signed in: at once with an open session, else after the form is sent (a wrong password
// shows the server's answer under the form). The page's #main is shown before `started` runs.
function signIn(started) {
  const begin = async (me) => { showSignedIn(true); await started(me); };
  $("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = { username: $("login-user").value, password: $("login-pass").value };
    try {
      const me = await answerOf(await sendJson("POST", "/api/login", form));
      const saved = await (await fetch("/api/i18n", { credentials: "same-origin" })).json();
      if (saved.language !== I18N.language) { location.reload(); return; }  // the account's own language
      await begin(me);
    } catch (e) { $("login-error").textContent = e.message; }
  });
  const logout = $("logout");
  if (logout) logout.addEventListener("click", () => api("POST", "/api/logout").catch(() => {}).finally(showLogin));
  i18nReady.then(() => api("GET", "/api/me")).then(begin).catch(showLogin);
}

const liveUrl = () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;

// The live feed (needs a session): `onText(frame text)` for each frame, `onOpen()` on each (re)connection; the
// #conn badge says live or offline, and a closed socket reconnects after 2 s.
function live(onText, onOpen) {
  const ws = new WebSocket(liveUrl());
  const badge = (key, cls) => { $("conn").textContent = t(key); $("conn").className = `conn ${cls}`; };
  ws.onopen = () => { badge("conn.live", "on"); if (onOpen) onOpen(); };
  ws.onclose = () => { badge("conn.offline", "off"); setTimeout(() => live(onText, onOpen), 2000); };
  ws.onmessage = (ev) => onText(ev.data);
}
