// A room's view, full or quick reply: its parts, then roomView, which
// puts them together.

import { api, roomPath } from './api.js';
import { $, byteLength, clone, copyText, formatTime, inviteText, memberTag, plural, setText, show } from './dom.js';
import { reportFocus } from './events.js';
import { fileNode, uploader } from './files.js';

const MAX_BYTES = 4096;          // rooms.MaxTextBytes
const COUNTER_FROM = 3584;       // show the byte counter from here on
const QUICK_MESSAGES = 5;        // messages the quick reply shows
const STICK_PX = 48;             // "at the bottom" tolerance for autoscroll
const SEND_TIMEOUT_MS = 15000;   // a send the broker has not confirmed by then is reported

// ---- messages ---------------------------------------------------------------

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
  if (m.file) {
    $(li, '.body').hidden = !m.text;
    li.append(fileNode(m.room, m));
  }
  return li;
}

// messageList keeps node's message list: live messages appended once
// each, the history merged in, the view following new messages unless the
// user scrolled up ("New messages ↓" then, in the full view).
function messageList(node, quick) {
  const list = $(node, '.messages');
  const jump = $(node, '.jump');
  const seen = new Set();
  let stick = true;          // follow new messages unless the user scrolled up
  // Messages shown live since the last history read began: that read
  // may have been answered before they came.
  let arrived = [];

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

  function add(m, forceScroll) {
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

  // readStarts is called as a history read begins.
  function readStarts() { arrived = []; }

  return { add, renderHistory, readStarts };
}

// ---- room details -----------------------------------------------------------

// renderDetails shows r (a RoomJSON): member count and list, connection,
// mute.
function renderDetails(node, r) {
  setText($(node, '.member-count'), '· ' + plural(r.members, 'member', 'members'));
  $(node, '.offline').hidden = r.connected;
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
}

// inviteBanner returns what shows the room's invite in the full view,
// once, unless dismissed in this window; without a banner it does nothing.
function inviteBanner(node, id) {
  const banner = $(node, '.invite');
  let shown = false;
  return async function showInvite() {
    if (!banner || shown || sessionStorage.getItem('invite-dismissed-' + id)) return;
    shown = true;
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
  };
}

// ---- the composer -----------------------------------------------------------

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

// composer wires node's text box: Enter sends to room id, the byte
// counter near the limit, errors below. onSent gets the sent message.
function composer(node, id, onSent) {
  const textarea = $(node, '.text');
  const sendBtn = $(node, '.send');
  const errorEl = $(node, '.error');
  const counter = $(node, '.counter');

  function showError(text) { show(errorEl, text); }

  function updateCounter() {
    const n = byteLength(textarea.value);
    const over = n > MAX_BYTES;
    show(counter, n >= COUNTER_FROM ? (over ? n + ' / ' + MAX_BYTES + ' bytes: too long to send' : n + ' / ' + MAX_BYTES + ' bytes') : '');
    counter.classList.toggle('over', over);
    sendBtn.disabled = over;
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
      onSent(m);
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
  updateCounter();
  return { textarea, showError };
}

// ---- mute and leave (full view only) ----------------------------------------

// muteButton toggles the room's mute; render gets the room as it is then.
function muteButton(node, id, muted, render, showError) {
  const mute = $(node, '.mute');
  if (!mute) return;
  mute.addEventListener('click', async () => {
    mute.disabled = true;
    try {
      render(await api('POST', roomPath(id) + '/mute', { on: !muted() }));
    } catch (e) {
      showError(e.message);
    } finally {
      mute.disabled = false;
    }
  });
}

// leaveButton asks before leaving room id; onLeft runs once it is left.
// It returns ask, which asks at once (the leave view), and setLast, which
// says in the question whether leaving closes the room; without a Leave
// button (the quick reply) both do nothing.
function leaveButton(node, id, onLeft, showError) {
  const leave = $(node, '.leave');
  if (!leave) return { ask() {}, setLast() {} };
  const confirmBox = $(node, '.confirm-leave');
  const question = $(confirmBox, '.leave-question');
  const cancel = $(confirmBox, '.cancel');
  function setLast(last) {
    setText(question, last
      ? 'Leave room ' + id + '? You are its last member: leaving closes the room.'
      : 'Leave room ' + id + '? You need its password to come back, and the room closes if you are its last member.');
  }
  function ask() {
    confirmBox.hidden = false;
    cancel.focus();
  }
  setLast(false);
  leave.addEventListener('click', ask);
  cancel.addEventListener('click', () => { confirmBox.hidden = true; leave.focus(); });
  $(confirmBox, '.confirm').addEventListener('click', async () => {
    try {
      await api('DELETE', roomPath(id));
      onLeft();
    } catch (e) {
      if (e.code === 'not_joined') onLeft();
      else showError(e.message);
    }
  });
  return { ask, setLast, cancel };
}

// ---- when the room is gone --------------------------------------------------

const goneTexts = {
  left: id => ['You left room ' + id, 'Closing this window does not leave a room; leaving does. To come back, join again with the password.'],
  closed: id => ['Room ' + id + ' has closed', 'It was closed while you were in it. Create a new room to go on chatting.'],
  notjoined: id => ['You are not in room ' + id, 'Join it with its number and password.'],
};

// gonePage says why room id is no longer shown ('left', 'closed' or
// 'notjoined') and where to go from there.
function gonePage(id, why) {
  const page = clone('tpl-gone');
  const [title, text] = goneTexts[why](id);
  setText($(page, '.gone-title'), title);
  setText($(page, '.gone-text'), text);
  $(page, '.rejoin').href = '#/join/' + id;
  return page;
}

// ---- the view ---------------------------------------------------------------

// roomView shows room id: the full view, or the quick reply (quick); the
// full view asks at once whether to leave with askLeave (the leave view).
export function roomView(id, quick, askLeave) {
  const node = clone(quick ? 'tpl-quick' : 'tpl-room');
  let gone = false;          // left or closed: the view was replaced
  let room = null;           // last RoomJSON

  setText($(node, '.room-title'), 'Room ' + id);
  document.title = 'Room ' + id + ' – SunOye';

  const messages = messageList(node, quick);
  const { textarea, showError } = composer(node, id, m => messages.add(m, true));
  uploader(node, id, m => messages.add(m, true), showError);
  const showInvite = inviteBanner(node, id);

  function renderRoom(r) {
    room = r;
    renderDetails(node, r);
    leave.setLast(r.last_member);
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
        messages.readStarts();
        try {
          const [r, msgs] = await Promise.all([api('GET', roomPath(id)), api('GET', roomPath(id) + '/messages')]);
          if (gone) return;
          renderRoom(r);
          messages.renderHistory(msgs);
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

  muteButton(node, id, () => !!(room && room.muted), renderRoom, showError);
  const leave = leaveButton(node, id, () => leaveView('left'), showError);
  const open = $(node, '.open-room');
  if (open) open.href = '#/room/' + id;

  // leaveView replaces the view when the room is gone.
  function leaveView(why) {
    if (gone) return;
    gone = true;
    const page = gonePage(id, why);
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
        case 'message': messages.add(e.message, false); break;
        case 'members': case 'connection': case 'read': refreshRoom(); break;
        case 'left': leaveView('left'); break;
        case 'closed': leaveView('closed'); break;
        case 'joined': refresh(); break;
      }
    },
    destroy() { gone = true; },
  };
  if (askLeave && !quick) {
    // The tray asks so only for a room that leaving would close; the
    // room's details confirm it or correct the question. Stay has the
    // focus, as it has when Leave room… is clicked.
    leave.setLast(true);
    leave.ask();
    view.autofocus = leave.cancel;
  }
  refresh();
  return view;
}
