// The daemon's API and this window's session with it.

import { setConn } from './dom.js';

const SESSION_KEY = 'sunoye-session';

// The session token. It is not a cookie: browsers send cookies to every
// port of 127.0.0.1, that is to any local program they visit, whereas
// sessionStorage and the headers a page sets stay with this origin. It
// survives a reload of this window, and nothing else.
let session = sessionStorage.getItem(SESSION_KEY);

export function hasSession() { return !!session; }

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// authed returns fetch options that carry the session and never cookies.
export function authed(init) {
  init.headers = Object.assign({ Authorization: 'Bearer ' + session }, init.headers);
  init.credentials = 'omit';
  init.cache = 'no-store';
  return init;
}

export async function api(method, path, body, timeoutMs) {
  if (!session) {
    throw new APIError(401, 'session', 'This window is not signed in to SunOye: open it from the tray.');
  }
  const init = authed({ method, headers: { Accept: 'application/json' } });
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let timer = null;
  if (timeoutMs) {
    const abort = new AbortController();
    init.signal = abort.signal;
    timer = setTimeout(() => abort.abort(), timeoutMs);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw new APIError(0, 'timeout', 'SunOye did not answer in time.');
    throw new APIError(0, 'offline', 'SunOye is not answering. Is it still running?');
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (resp.status === 401) {
    sessionEnded();
    throw new APIError(401, 'session', 'This window is no longer signed in to SunOye: open it again from the tray.');
  }
  if (resp.status === 204) return null;
  let data = null;
  try { data = await resp.json(); } catch (e) { /* not JSON: a refusal */ }
  if (!resp.ok) {
    throw new APIError(resp.status, (data && data.code) || 'internal', (data && data.error) || resp.statusText);
  }
  return data;
}

export const roomPath = id => '/v1/rooms/' + encodeURIComponent(id);

export function sessionEnded() {
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
  setConn('This window is no longer signed in to SunOye (was it restarted, or the window open too long?). Open it again from the tray or with `sunoye open`.');
}

// startSession exchanges the one-time launch token in the address
// ("#launch=TOKEN", as the daemon opens windows) for a session, and shows
// the view the link was for. The token leaves the address before anything
// else happens; it is spent whatever the answer.
export async function startSession() {
  const m = /^#launch=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (!m) return;
  history.replaceState(null, '', location.pathname);
  let resp;
  try {
    resp = await fetch('/v1/session', {
      method: 'POST', credentials: 'omit', cache: 'no-store',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ launch: m[1] }),
    });
  } catch (e) {
    setConn('SunOye is not answering. Is it still running?');
    return;
  }
  if (!resp.ok) {
    session = null;
    sessionStorage.removeItem(SESSION_KEY);
    setConn('This link was used already or has expired. Open the window again from the tray or with `sunoye open`.');
    return;
  }
  const s = await resp.json();
  session = s.session;
  sessionStorage.setItem(SESSION_KEY, session);
  history.replaceState(null, '', '#/' + s.view);
}
