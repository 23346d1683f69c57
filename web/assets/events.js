// The event stream, and this window's focus as the daemon knows it.

import { api, authed, hasSession, roomPath, sessionEnded } from './api.js';
import { setConn } from './dom.js';

const RETRY_MS = 2000;            // reconnect the event stream after this
const OFFLINE_RETRY_MS = 5000;   // … or this, when the daemon did not answer

// A random id for this page: the daemon ties this window's focus to it.
const clientId = randomId();

let current = null;              // the view on screen
let streaming = false;           // connect's loop runs (or waits to retry)
let streamOpen = false;          // … and has the stream open
let reported = { room: null, on: false }; // focus last reported to the daemon

function randomId() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
}

// showing tells this module which view is on screen (null while none
// is): events go to it, and its room is the one this window shows.
export function showing(view) {
  current = view;
}

// connect reads the event stream until it ends, then connects again.
// It is a fetch, not an EventSource, because an EventSource cannot send
// the session header; the stream is server-sent events all the same.
export async function connect() {
  if (streaming || !hasSession()) return;
  streaming = true;
  const retry = (text, ms) => {
    setConn(text);
    setTimeout(() => { streaming = false; connect(); }, ms);
  };
  let resp;
  try {
    resp = await fetch('/v1/events?client=' + clientId, authed({ headers: { Accept: 'text/event-stream' } }));
  } catch (e) {
    retry('Lost the connection to SunOye. Retrying…', OFFLINE_RETRY_MS);
    return;
  }
  if (resp.status === 401) {
    streaming = false;
    sessionEnded(); // for good: no retry brings the session back
    return;
  }
  if (!resp.ok || !resp.body) {
    retry('Lost the connection to SunOye. Retrying…', OFFLINE_RETRY_MS);
    return;
  }
  setStreamOpen(true);
  setConn('');
  // The daemon gave our focus back if the old stream died: say it
  // again, and re-read what we show, since events may have been missed.
  reportFocus(true);
  if (current && current.resync) current.resync();
  const reader = resp.body.getReader();
  const text = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += text.decode(value, { stream: true });
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        onStreamEvent(buf.slice(0, end));
        buf = buf.slice(end + 2);
      }
    }
  } catch (e) {
    // The connection broke: as the end of the stream.
  }
  setStreamOpen(false);
  retry('Reconnecting to SunOye…', RETRY_MS);
}

// setStreamOpen records whether the stream is open, for this module and
// as data-stream="open" on the root element (for tests and styles).
function setStreamOpen(on) {
  streamOpen = on;
  if (on) document.documentElement.dataset.stream = 'open';
  else delete document.documentElement.dataset.stream;
}

// onStreamEvent handles one server-sent event: its data lines hold one
// EventJSON; comments (heartbeats) and the retry hint are skipped.
function onStreamEvent(block) {
  const data = block.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).replace(/^ /, '')).join('\n');
  if (data === '') return;
  let e;
  try { e = JSON.parse(data); } catch (err) { return; }
  if (!current) return;
  if (e.kind === 'resync') {
    if (current.resync) current.resync();
  } else if (current.onEvent) {
    current.onEvent(e);
  }
}

// reportFocus tells the daemon whether this window shows a room and has
// the focus: no notifications for it then, and its messages count as read.
export function reportFocus(force) {
  // A view that is not ready (view.ready false) holds its focus back.
  const room = (current && current.ready !== false && current.room) || null;
  const on = !!room && document.visibilityState === 'visible' && document.hasFocus();
  if (!force && reported.room === room && reported.on === on) return;
  if (reported.on && reported.room && (reported.room !== room || !on)) {
    postFocus(reported.room, false);
  }
  if (on && streamOpen) postFocus(room, true);
  reported = { room, on: on && streamOpen };
}

function postFocus(room, on) {
  api('POST', roomPath(room) + '/focus', { client: clientId, on }).catch(() => {
    // Not fatal: the next stream open reports focus again.
  });
}

for (const ev of ['focus', 'blur']) window.addEventListener(ev, () => reportFocus(false));
document.addEventListener('visibilitychange', () => reportFocus(false));
