// SunOye chat UI: vanilla JS, no build step.
//
// Rule of this file: whatever comes from the network (messages, names,
// errors, room numbers) reaches the page through textContent, never
// innerHTML; the page's markup lives in index.html's templates.
'use strict';

const MAX_BYTES = 4096;          // rooms.MaxTextBytes
const COUNTER_FROM = 3584;       // show the byte counter from here on
const QUICK_MESSAGES = 5;        // messages the quick reply shows
const STICK_PX = 48;             // "at the bottom" tolerance for autoscroll
const SEND_TIMEOUT_MS = 15000;   // a send the broker has not confirmed by then is reported

const RETRY_MS = 2000;            // reconnect the event stream after this
const OFFLINE_RETRY_MS = 5000;   // … or this, when the daemon did not answer
const SESSION_KEY = 'sunoye-session';
const MEMBER_TAG = 6;            // characters of the member id shown after every name

// A random id for this page: the daemon ties this window's focus to it.
const clientId = randomId();

// The session token. It is not a cookie: browsers send cookies to every
// port of 127.0.0.1, that is to any local program they visit, whereas
// sessionStorage and the headers a page sets stay with this origin. It
// survives a reload of this window, and nothing else.
let session = sessionStorage.getItem(SESSION_KEY);

let current = null;              // the view on screen
let streaming = false;           // connect's loop runs (or waits to retry)
let streamOpen = false;          // … and has the stream open
let reported = { room: null, on: false }; // focus last reported to the daemon

function randomId() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
}

// ---- API ------------------------------------------------------------------

class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// authed returns fetch options that carry the session and never cookies.
function authed(init) {
  init.headers = Object.assign({ Authorization: 'Bearer ' + session }, init.headers);
  init.credentials = 'omit';
  init.cache = 'no-store';
  return init;
}

async function api(method, path, body, timeoutMs) {
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

const roomPath = id => '/v1/rooms/' + encodeURIComponent(id);

// ---- DOM helpers ----------------------------------------------------------

function clone(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

function $(root, sel) { return root.querySelector(sel); }

function setText(node, text) { node.textContent = text; }

function show(node, text) {
  if (text === undefined || text === null || text === '') {
    node.hidden = true;
    node.textContent = '';
  } else {
    node.textContent = text;
    node.hidden = false;
  }
}

const utf8 = new TextEncoder();
const byteLength = s => utf8.encode(s).length;

function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }

function formatTime(ts) {
  const d = new Date(ts);
  if (isNaN(d)) return '';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    return false;
  }
}

function inviteText(inv) {
  // The daemon's wording (rooms.Invite.String), the same as the tray's.
  if (inv.text) return inv.text;
  return 'SunOye room ' + inv.room + ', password: ' + inv.password;
}

// ---- the event stream and focus -------------------------------------------

// connect reads the event stream until it ends, then connects again.
// It is a fetch, not an EventSource, because an EventSource cannot send
// the session header; the stream is server-sent events all the same.
async function connect() {
  if (streaming || !session) return;
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
  streamOpen = true;
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
  streamOpen = false;
  retry('Reconnecting to SunOye…', RETRY_MS);
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

function setConn(text) { show(document.getElementById('conn'), text); }

function sessionEnded() {
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
  setConn('This window is no longer signed in to SunOye (was it restarted, or the window open too long?). Open it again from the tray or with `sunoye open`.');
}

// startSession exchanges the one-time launch token in the address
// ("#launch=TOKEN", as the daemon opens windows) for a session, and shows
// the view the link was for. The token leaves the address before anything
// else happens; it is spent whatever the answer.
async function startSession() {
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

// memberTag fills a name's tag with the start of the member id. Anyone
// can take any display name; the member id, which the sender's signature
// proves, cannot be borrowed, and the tag is its own element, styled
// apart, so that no name can pass for one.
function memberTag(tag, id) {
  if (!id) {
    tag.hidden = true;
    return;
  }
  setText(tag, id.slice(0, MEMBER_TAG));
  tag.title = 'member ' + id;
}

// reportFocus tells the daemon whether this window shows a room and has
// the focus: no notifications for it then, and its messages count as read.
function reportFocus(force) {
  const room = (current && current.room) || null;
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

// ---- router ---------------------------------------------------------------

const routes = [
  [/^#\/room\/(\d{9})$/, m => roomView(m[1], false)],
  [/^#\/quick\/(\d{9})$/, m => roomView(m[1], true)],
  [/^#\/create$/, () => createView()],
  [/^#\/join(?:\/(\d{9}))?$/, m => joinView(m[1] || '')],
  [/^#\/settings$/, () => settingsView()],
  [/^(?:#\/?)?$/, () => homeView()],
];

function route() {
  if (current && current.destroy) current.destroy();
  current = null;
  const hash = location.hash;
  let view = null;
  for (const [re, make] of routes) {
    const m = re.exec(hash);
    if (m) { view = make(m); break; }
  }
  if (!view) view = homeView();
  current = view;
  const main = document.getElementById('view');
  main.replaceChildren(view.node);
  if (view.autofocus) view.autofocus.focus();
  reportFocus(false);
}

// ---- home: the joined rooms -----------------------------------------------

function homeView() {
  const node = clone('tpl-home');
  const list = $(node, '.room-list');
  const empty = $(node, '.empty');
  document.title = 'SunOye';
  let loading = false;
  let again = false;
  async function load() {
    // One request at a time; events during it ask for one more.
    if (loading) { again = true; return; }
    loading = true;
    again = false;
    try {
      const rooms = await api('GET', '/v1/rooms');
      list.replaceChildren(...rooms.map(r => {
        const li = clone('tpl-room-item');
        const a = $(li, '.room-link');
        a.href = '#/room/' + r.room;
        setText($(li, '.room-number'), 'Room ' + r.room);
        let meta = plural(r.members, 'member', 'members');
        if (r.unread) meta += ' · ' + r.unread + ' unread';
        if (r.muted) meta += ' · muted';
        if (!r.connected) meta += ' · offline';
        setText($(li, '.room-meta'), meta);
        return li;
      }));
      empty.hidden = rooms.length > 0;
    } catch (e) {
      show(empty, e.message);
    } finally {
      loading = false;
      if (again) load();
    }
  }
  load();
  return { node, room: null, onEvent: load, resync: load };
}

// ---- a room, full or quick reply ------------------------------------------

function roomView(id, quick) {
  const node = clone(quick ? 'tpl-quick' : 'tpl-room');
  const list = $(node, '.messages');
  const textarea = $(node, '.text');
  const sendBtn = $(node, '.send');
  const errorEl = $(node, '.error');
  const counter = $(node, '.counter');
  const offline = $(node, '.offline');
  const seen = new Set();
  let stick = true;          // follow new messages unless the user scrolled up
  let gone = false;          // left or closed: the view was replaced
  let room = null;           // last RoomJSON

  setText($(node, '.room-title'), 'Room ' + id);
  document.title = 'Room ' + id + ' – SunOye';

  // -- messages
  const jump = $(node, '.jump'); // "New messages" while scrolled up (full view only)
  list.addEventListener('scroll', () => {
    stick = list.scrollHeight - list.scrollTop - list.clientHeight < STICK_PX;
    if (stick && jump) jump.hidden = true;
  });
  if (jump) jump.addEventListener('click', () => scrollToEnd());

  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
    stick = true;
    if (jump) jump.hidden = true;
  }

  function messageNode(m) {
    const li = clone('tpl-message');
    li.dataset.id = m.id;
    if (m.own) li.classList.add('own');
    const from = $(li, '.from');
    setText($(from, '.name'), m.own ? m.from + ' (you)' : m.from);
    memberTag($(from, '.member-tag'), m.sender);
    if (m.sender) from.title = 'member ' + m.sender;
    const ts = $(li, '.ts');
    setText(ts, formatTime(m.ts));
    ts.dateTime = m.ts;
    ts.title = new Date(m.ts).toLocaleString();
    setText($(li, '.body'), m.text);
    return li;
  }

  // Messages shown live since the last history read began: that read
  // may have been answered before they came.
  let arrived = [];

  function addMessage(m, forceScroll) {
    if (!m || seen.has(m.id)) return;
    seen.add(m.id);
    arrived.push(m);
    const follow = stick || forceScroll;
    list.append(messageNode(m));
    if (quick) {
      while (list.children.length > QUICK_MESSAGES) list.firstElementChild.remove();
    }
    if (follow) scrollToEnd();
    else if (jump) jump.hidden = false;
  }

  function renderHistory(msgs) {
    // What came live during the read is newer than the history: keep it,
    // or it would vanish until the next resync.
    const read = new Set(msgs.map(m => m.id));
    msgs = msgs.concat(arrived.filter(m => !read.has(m.id)));
    // Only rebuild when something is missing: a resync after every stream
    // open must not make the list jump.
    const shown = quick ? msgs.slice(-QUICK_MESSAGES) : msgs;
    if (shown.every(m => seen.has(m.id)) && list.children.length === shown.length) return;
    const top = list.scrollTop;
    seen.clear();
    list.replaceChildren(...shown.map(m => { seen.add(m.id); return messageNode(m); }));
    for (const m of msgs) seen.add(m.id);
    if (stick) scrollToEnd();
    else list.scrollTop = top;
  }

  // -- room details
  function renderRoom(r) {
    room = r;
    setText($(node, '.member-count'), '· ' + plural(r.members, 'member', 'members'));
    offline.hidden = r.connected;
    const members = $(node, '.members');
    if (members) {
      members.replaceChildren(...(r.member_list || []).map(m => {
        const li = clone('tpl-member');
        setText($(li, '.name'), m.self ? m.name + ' (you)' : m.name);
        memberTag($(li, '.member-tag'), m.id);
        if (m.id) li.title = 'member ' + m.id;
        if (m.self) li.classList.add('self');
        return li;
      }));
    }
    const mute = $(node, '.mute');
    if (mute) {
      mute.setAttribute('aria-pressed', String(r.muted));
      setText(mute, r.muted ? 'Muted' : 'Mute');
      mute.title = r.muted ? 'Notifications are off for this room' : 'Turn notifications off for this room';
    }
    if (!quick && r.can_invite) showInvite();
  }

  let refreshing = null;
  let again = false;
  async function refresh() {
    // Coalesce bursts of events into one request at a time.
    if (refreshing) { again = true; return refreshing; }
    refreshing = (async () => {
      do {
        again = false;
        arrived = [];
        try {
          const [r, msgs] = await Promise.all([api('GET', roomPath(id)), api('GET', roomPath(id) + '/messages')]);
          if (gone) return;
          renderRoom(r);
          renderHistory(msgs);
        } catch (e) {
          if (e.code === 'not_joined') { leaveView('notjoined'); return; }
          if (e.code !== 'session') showError(e.message);
        }
      } while (again && !gone);
    })();
    try { await refreshing; } finally { refreshing = null; }
  }

  async function refreshRoom() {
    try {
      const r = await api('GET', roomPath(id));
      if (!gone) renderRoom(r);
    } catch (e) {
      if (e.code === 'not_joined') leaveView('notjoined');
    }
  }

  // -- the invite banner (full view only)
  let inviteShown = false;
  async function showInvite() {
    const banner = $(node, '.invite');
    if (!banner || inviteShown || sessionStorage.getItem('invite-dismissed-' + id)) return;
    inviteShown = true;
    let inv;
    try {
      inv = await api('GET', roomPath(id) + '/invite');
    } catch (e) {
      return; // the password is not known to this run: nothing to show
    }
    setText($(banner, '.invite-text'), 'Room ' + inv.room + ' · password ' + inv.password);
    const copy = $(banner, '.copy');
    copy.addEventListener('click', async () => {
      const ok = await copyText(inviteText(inv));
      setText(copy, ok ? 'Copied' : 'Select and copy it');
      setTimeout(() => setText(copy, 'Copy'), 2000);
    });
    $(banner, '.dismiss').addEventListener('click', () => {
      banner.hidden = true;
      sessionStorage.setItem('invite-dismissed-' + id, '1');
    });
    banner.hidden = false;
  }

  // -- composer
  function showError(text) { show(errorEl, text); }

  function updateCounter() {
    const n = byteLength(textarea.value);
    const over = n > MAX_BYTES;
    show(counter, n >= COUNTER_FROM ? (over ? n + ' / ' + MAX_BYTES + ' bytes: too long to send' : n + ' / ' + MAX_BYTES + ' bytes') : '');
    counter.classList.toggle('over', over);
    sendBtn.disabled = over;
  }

  function sendError(e) {
    switch (e.code) {
      case 'bad_request':
        return /too long/.test(e.message)
          ? 'This message is too long: at most ' + MAX_BYTES + ' bytes.'
          : 'Not sent: ' + e.message;
      case 'not_joined': return 'Not sent: you are no longer in this room.';
      case 'unavailable': return 'Not sent: not connected to the broker. Try again in a moment.';
      case 'timeout': return 'The broker has not confirmed this message: the connection seems down. '
        + 'It may still go out when the connection returns, so check before sending it again.';
      default: return 'Not sent: ' + e.message;
    }
  }

  let sending = false;
  async function send() {
    const text = textarea.value;
    if (sending || text.trim() === '') return;
    if (byteLength(text) > MAX_BYTES) {
      showError('This message is too long: at most ' + MAX_BYTES + ' bytes.');
      return;
    }
    sending = true;
    textarea.disabled = true;
    sendBtn.disabled = true;
    showError('');
    try {
      const m = await api('POST', roomPath(id) + '/messages', { text }, SEND_TIMEOUT_MS);
      addMessage(m, true);
      textarea.value = '';
    } catch (e) {
      showError(sendError(e));
    } finally {
      sending = false;
      textarea.disabled = false;
      updateCounter();
      textarea.focus();
    }
  }

  textarea.addEventListener('keydown', e => {
    // Enter sends; Shift+Enter (and an IME composing text) keep the
    // textarea's own behaviour: a new line.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      send();
    }
  });
  textarea.addEventListener('input', () => { updateCounter(); if (!errorEl.hidden) showError(''); });
  $(node, '.composer').addEventListener('submit', e => { e.preventDefault(); send(); });

  // -- mute and leave (full view only)
  const mute = $(node, '.mute');
  if (mute) {
    mute.addEventListener('click', async () => {
      mute.disabled = true;
      try {
        renderRoom(await api('POST', roomPath(id) + '/mute', { on: !(room && room.muted) }));
      } catch (e) {
        showError(e.message);
      } finally {
        mute.disabled = false;
      }
    });
  }
  const leave = $(node, '.leave');
  if (leave) {
    const confirmBox = $(node, '.confirm-leave');
    setText($(confirmBox, '.leave-question'),
      'Leave room ' + id + '? You need its password to come back, and the room closes if you are its last member.');
    leave.addEventListener('click', () => {
      confirmBox.hidden = false;
      $(confirmBox, '.cancel').focus();
    });
    $(confirmBox, '.cancel').addEventListener('click', () => { confirmBox.hidden = true; leave.focus(); });
    $(confirmBox, '.confirm').addEventListener('click', async () => {
      try {
        await api('DELETE', roomPath(id));
        leaveView('left');
      } catch (e) {
        if (e.code === 'not_joined') leaveView('left');
        else showError(e.message);
      }
    });
  }
  const open = $(node, '.open-room');
  if (open) open.href = '#/room/' + id;

  // -- replacing the view when the room is gone
  function leaveView(why) {
    if (gone) return;
    gone = true;
    const page = clone('tpl-gone');
    const texts = {
      left: ['You left room ' + id, 'Closing this window does not leave a room; leaving does. To come back, join again with the password.'],
      closed: ['Room ' + id + ' has closed', 'It was closed while you were in it. Create a new room to go on chatting.'],
      notjoined: ['You are not in room ' + id, 'Join it with its number and password.'],
    };
    setText($(page, '.gone-title'), texts[why][0]);
    setText($(page, '.gone-text'), texts[why][1]);
    $(page, '.rejoin').href = '#/join/' + id;
    document.title = 'SunOye';
    node.replaceWith(page);
    view.node = page;
    view.room = null;
    reportFocus(false);
  }

  const view = {
    node,
    room: id,
    autofocus: textarea,
    resync: refresh,
    onEvent(e) {
      if (gone || e.room !== id) return;
      switch (e.kind) {
        case 'message': addMessage(e.message, false); break;
        case 'members': case 'connection': case 'read': refreshRoom(); break;
        case 'left': leaveView('left'); break;
        case 'closed': leaveView('closed'); break;
        case 'joined': refresh(); break;
      }
    },
    destroy() { gone = true; },
  };
  updateCounter();
  refresh();
  return view;
}

// ---- create ---------------------------------------------------------------

function createView() {
  const node = clone('tpl-create');
  const form = $(node, '.create-form');
  const password = $(node, '#create-password');
  const errorEl = $(form, '.error');
  const submit = $(form, 'button[type=submit]');
  // Shown once the daemon finds the password easy to guess: the user may
  // insist on that password, not on whatever they type next.
  const weakOK = $(form, '.weak-ok');
  const weak = $(form, '#create-weak');
  document.title = 'Create a room – SunOye';
  password.addEventListener('input', () => {
    weak.checked = false;
    weakOK.hidden = true;
  });

  form.addEventListener('submit', async e => {
    e.preventDefault();
    const p = password.value;
    if (p !== '' && [...p].length < 8) {
      show(errorEl, 'A password needs at least 8 characters. Leave it empty to get a generated one.');
      password.focus();
      return;
    }
    submit.disabled = true;
    show(errorEl, '');
    try {
      const body = p === '' ? {} : { password: p };
      if (p !== '' && weak.checked) body.weak_password = true;
      const inv = await api('POST', '/v1/rooms', body);
      const done = $(node, '.created');
      setText($(done, '.created-room'), inv.room);
      setText($(done, '.created-password'), inv.password);
      $(done, '.open-room').href = '#/room/' + inv.room;
      $(done, '.copy').addEventListener('click', async () => {
        const ok = await copyText(inviteText(inv));
        setText($(done, '.copied'), ok ? 'Copied to the clipboard.' : 'Could not reach the clipboard: select the number and password and copy them.');
      });
      form.hidden = true;
      done.hidden = false;
      $(done, '.open-room').focus();
    } catch (err) {
      if (err.code === 'weak_password') {
        // The daemon's reason: "… estimated 20 of 50 bits: a common password; add words, …".
        show(errorEl, err.message.charAt(0).toUpperCase() + err.message.slice(1) + '. Or tick the box below to use it all the same.');
        weakOK.hidden = false;
        password.focus();
        return;
      }
      show(errorEl, err.code === 'unavailable'
        ? 'Cannot reach the broker or the room registry right now. Try again in a moment.'
        : err.message);
    } finally {
      submit.disabled = false;
    }
  });
  return { node, room: null, autofocus: password };
}

// ---- join -----------------------------------------------------------------

function joinView(prefill) {
  const node = clone('tpl-join');
  const form = $(node, '.join-form');
  const number = $(node, '#join-room');
  const password = $(node, '#join-password');
  const errorEl = $(form, '.error');
  const submit = $(form, 'button[type=submit]');
  number.value = prefill;
  document.title = 'Join a room – SunOye';

  function joinError(e, room) {
    switch (e.code) {
      case 'wrong_password': return 'That is not the password of room ' + room + '. Check it with whoever invited you.';
      case 'no_such_room': return 'There is no room ' + room + '. Check the number.';
      case 'room_inactive': return 'Room ' + room + ' has closed: its last member left. Create a new room instead.';
      case 'too_many_attempts': return 'Too many wrong passwords for room ' + room + ' in a row: wait a little, then try again.';
      case 'bad_request': return 'A room number has 9 digits, like 482 913 057.';
      case 'unavailable': return 'Cannot reach the broker or the room registry right now. Try again in a moment.';
      default: return e.message;
    }
  }

  form.addEventListener('submit', async e => {
    e.preventDefault();
    const room = number.value.replace(/[\s-]/g, '');
    if (!/^[1-9]\d{8}$/.test(room)) {
      show(errorEl, 'A room number has 9 digits, like 482 913 057.');
      number.focus();
      return;
    }
    if (password.value === '') {
      show(errorEl, 'Type the room\'s password.');
      password.focus();
      return;
    }
    submit.disabled = true;
    show(errorEl, 'Joining… (checking the password takes a moment)');
    try {
      const r = await api('POST', roomPath(room) + '/join', { password: password.value });
      location.hash = '#/room/' + r.room;
    } catch (err) {
      show(errorEl, joinError(err, room));
      (err.code === 'wrong_password' ? password : number).focus();
    } finally {
      submit.disabled = false;
    }
  });
  return { node, room: null, autofocus: prefill ? password : number };
}

// ---- settings -------------------------------------------------------------

function settingsView() {
  const node = clone('tpl-settings');
  const form = $(node, '.settings-form');
  const name = $(node, '#set-name');
  const broker = $(node, '#set-broker');
  const db = $(node, '#set-db');
  const errorEl = $(form, '.error');
  const saved = $(form, '.saved');
  const submit = $(form, 'button[type=submit]');
  let loaded = { name: '', broker: '', db: '' };
  document.title = 'Settings – SunOye';

  function fill(s) {
    loaded = s;
    name.value = s.name;
    broker.value = s.broker;
    db.value = s.db;
  }
  api('GET', '/v1/settings').then(fill, e => show(errorEl, e.message));

  form.addEventListener('submit', async e => {
    e.preventDefault();
    show(errorEl, '');
    show(saved, '');
    // Broker and database go only when edited: what was shown is
    // redacted, and sending it back would save the mask.
    const req = { name: name.value.trim() };
    if (broker.value !== loaded.broker) req.broker = broker.value.trim();
    if (db.value !== loaded.db) req.db = db.value.trim();
    if (req.name === '') {
      show(errorEl, 'The display name cannot be empty.');
      name.focus();
      return;
    }
    submit.disabled = true;
    try {
      const ans = await api('POST', '/v1/settings', req);
      fill(ans);
      show(saved, ans.restart_needed
        ? 'Saved. The new broker or database applies when SunOye starts again: quit it from the tray and start it.'
        : 'Saved.');
    } catch (err) {
      show(errorEl, err.message);
    } finally {
      submit.disabled = false;
    }
  });
  return { node, room: null, autofocus: name };
}

// ---- start ----------------------------------------------------------------

// start shows the view in the address, after exchanging a launch token
// if the address holds one: when the page loads, and when a launch URL is
// opened in a tab that shows the page already (only the fragment changes).
async function start() {
  if (location.hash.startsWith('#launch=')) {
    await startSession();
  } else if (!session && document.getElementById('conn').hidden) {
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
