// SunOye chat UI: vanilla JS in native ES modules, no build step. This is
// the entry module: the router and the start. The others:
//
//   dom.js     DOM helpers and formatting
//   api.js     the daemon's API and this window's session
//   events.js  the event stream and this window's focus
//   home.js    the joined rooms
//   room.js    a room, full or quick reply
//   files.js   a message's file; sending files
//   forms.js   create, join, settings
//
// Rule of every module: whatever comes from the network (messages, names,
// errors, room numbers) reaches the page through textContent, never
// innerHTML; the page's markup lives in index.html's templates.

import { hasSession, sessionEnded, startSession } from './api.js';
import { connect, reportFocus, showing } from './events.js';
import { createView, joinView, settingsView } from './forms.js';
import { homeView } from './home.js';
import { roomView } from './room.js';

// ---- router ---------------------------------------------------------------

const routes = [
  [/^#\/room\/(\d{9})$/, m => roomView(m[1], false)],
  [/^#\/quick\/(\d{9})$/, m => roomView(m[1], true)],
  [/^#\/leave\/(\d{9})$/, m => roomView(m[1], false, true)],
  [/^#\/create$/, () => createView()],
  [/^#\/join(?:\/(\d{9}))?$/, m => joinView(m[1] || '')],
  [/^#\/settings$/, () => settingsView()],
  [/^(?:#\/?)?$/, () => homeView()],
];

let current = null;              // the view on screen

function route() {
  if (current && current.destroy) current.destroy();
  current = null;
  showing(null);
  const hash = location.hash;
  let view = null;
  for (const [re, make] of routes) {
    const m = re.exec(hash);
    if (m) { view = make(m); break; }
  }
  if (!view) view = homeView();
  current = view;
  showing(view);
  const main = document.getElementById('view');
  main.replaceChildren(view.node);
  if (view.autofocus) view.autofocus.focus();
  reportFocus(false);
}

// ---- start ----------------------------------------------------------------

// start shows the view in the address, after exchanging a launch token
// if the address holds one: when the page loads, and when a launch URL is
// opened in a tab that shows the page already (only the fragment changes).
async function start() {
  if (location.hash.startsWith('#launch=')) {
    await startSession();
  } else if (!hasSession() && document.getElementById('conn').hidden) {
    sessionEnded();
  }
  route();
  connect();
}

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#launch=')) start();
  else route();
});
start();
