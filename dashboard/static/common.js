// Shared by every page; load it first (<script src="/assets/common.js">), then the page's own script.
// A plain script, so these names are the page's globals: $, csrf, api, showLogin, signIn, liveUrl, live.
// The sign-in helpers expect the form of console.html / map.html: #login (#login-user, #login-pass, #login-error),
// #main shown once signed in, and #logout where the page has one.
"use strict";

const $ = (id) => document.getElementById(id);

// The session cookie is HttpOnly; its CSRF token comes in the readable hub_csrf cookie and goes back as the
// X-CSRF-Token header, which every POST/PUT/PATCH/DELETE needs (issue 8).
const csrf = () => (document.cookie.match(/(?:^|;\s*)hub_csrf=([^;]*)/) || [])[1] || "";

async function sendJson(method, path, body) {
  const headers = Object.assign({ "X-CSRF-Token": csrf() }, body ? { "Content-Type": "application/json" } : {});
  return fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
}

async function answerOf(res) {
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.detail || res.statusText);
  return data;
}

// A call to the hub's API: the JSON answer, or an Error with the server's detail; a 401 also shows the sign-in form.
async function api(method, path, body) {
  const res = await sendJson(method, path, body);
  if (res.status === 401) { showLogin(); throw new Error("signed out"); }
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
      await begin(await answerOf(await sendJson("POST", "/api/login", form)));
    } catch (e) { $("login-error").textContent = e.message; }
  });
  const logout = $("logout");
  if (logout) logout.addEventListener("click", () => api("POST", "/api/logout").catch(() => {}).finally(showLogin));
  api("GET", "/api/me").then(begin).catch(showLogin);
}

const liveUrl = () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;

// The live feed (needs a session): `onText(frame text)` for each frame, `onOpen()` on each (re)connection; the
// #conn badge says live or offline, and a closed socket reconnects after 2 s.
function live(onText, onOpen) {
  const ws = new WebSocket(liveUrl());
  const badge = (text, cls) => { $("conn").textContent = text; $("conn").className = `conn ${cls}`; };
  ws.onopen = () => { badge("live", "on"); if (onOpen) onOpen(); };
  ws.onclose = () => { badge("offline", "off"); setTimeout(() => live(onText, onOpen), 2000); };
  ws.onmessage = (ev) => onText(ev.data);
}
