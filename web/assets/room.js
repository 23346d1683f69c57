// A room's view, full or quick reply: its parts, then roomView, which
// puts them together.

import { api, roomPath } from './api.js';
import { $, byteLength, clone, copyText, formatTime, inviteText, memberTag, plural, setText, show } from './dom.js';
import { reportFocus } from './events.js';
import { fileNode, uploader } from './files.js';
import { onLinkError, renderText } from './links.js';

const MAX_BYTES = 4096;          // rooms.MaxTextBytes
const COUNTER_FROM = 3584;       // show the byte counter from here on
const QUICK_MESSAGES = 5;        // messages the quick reply shows
const STICK_PX = 48;             // "at the bottom" tolerance for autoscroll
const SEND_TIMEOUT_MS = 15000;   // a send the broker has not confirmed by then is reported
const TYPING_EVERY_MS = 3000;    // rooms.TypingEvery: at most one typing signal so often
const TYPING_SHOWN_MS = 6000;    // "… is typing" lasts this long after a member's last signal

// people are the names that mentions are made of: the room's members'
// (kept up to date by renderDetails) and message senders', and mine.
function newPeople() {
  return { names: new Set(), me: '' };
}

// ---- messages ---------------------------------------------------------------

function messageNode(m, people) {
  const li = clone('tpl-message');
  li.dataset.id = m.id;
  if (m.own) li.classList.add('own');
  if (m.mention) li.classList.add('mention-me');
  if (m.from) people.names.add(m.from);
  const from = $(li, '.from');
  setText($(from, '.name'), m.own ? m.from + ' (you)' : m.from);
  memberTag($(from, '.member-tag'), m.sender);
  if (m.sender) from.title = 'member ' + m.sender;
  const ts = $(li, '.ts');
  setText(ts, formatTime(m.ts));
  ts.dateTime = m.ts;
  ts.title = new Date(m.ts).toLocaleString();
  renderText($(li, '.body'), m.text, people.names, people.me);
  if (m.file) {
    $(li, '.body').hidden = !m.text;
    li.append(fileNode(m.room, m));
  }
  return li;
}

// messageList keeps node's message list: live messages appended once
// each, the history merged in, the view following new messages unless the
// user scrolled up ("New messages ↓" then, in the full view).
//
// Both views draw the unread line before the first message not read (the
// quick reply, at the top of its few messages when that one is older). Read is what the daemon counts so (rooms.Service): a message that
// arrived while a window showed the room with the focus. When the view
// opens, the line goes before the room's unread messages, and the list
// scrolls to it; later, the first message that arrives while the window
// does not have the focus moves it there. It stays until then, to show
// where the user left off.
function messageList(node, quick, people) {
  const list = $(node, '.messages');
  const jump = $(node, '.jump');
  const seen = new Set();
  let stick = true;          // follow new messages unless the user scrolled up
  // Messages shown live since the last history read began: that read
  // may have been answered before they came.
  let arrived = [];
  let lineBefore = null;     // id of the first unread message, the line above it
  let lineMoved = false;     // … placed since the window last had the focus
  const line = document.createElement('li');
  if (line) {
    line.className = 'unread-line';
    line.textContent = 'Unread messages';
    window.addEventListener('focus', () => { lineMoved = false; });
  }

  function placeLine() {
    let at = lineBefore && [...list.children].find(li => li.dataset.id === lineBefore);
    if (!at && quick && lineBefore) {
      // Older than the few messages the quick reply shows: they are all
      // unread.
      at = list.querySelector('.msg');
    }
    if (at) list.insertBefore(line, at);
    else line.remove();
  }

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
    list.append(messageNode(m, people));
    if (line && !m.own && !lineMoved && !document.hasFocus()) {
      lineBefore = m.id;
      lineMoved = true;
      placeLine();
    }
    if (quick) {
      const shown = list.querySelectorAll('.msg');
      for (let i = 0; i < shown.length - QUICK_MESSAGES; i++) shown[i].remove();
      placeLine();
    }
    if (follow) scrollToEnd();
    else if (jump) jump.hidden = false;
  }

  // renderHistory shows msgs; unread, on the view's first read, is how
  // many of them the daemon counts unread: the line goes above those and
  // the list scrolls to it.
  function renderHistory(msgs, unread) {
    // What came live during the read is newer than the history: keep it,
    // or it would vanish until the next resync.
    const read = new Set(msgs.map(m => m.id));
    msgs = msgs.concat(arrived.filter(m => !read.has(m.id)));
    let jumpToLine = false;
    if (line && unread > 0) {
      // The unread are the latest messages of others (all that are kept,
      // if more arrived than the history keeps).
      let first = null;
      for (let i = msgs.length - 1, n = 0; i >= 0 && n < unread; i--) {
        if (msgs[i].own) continue;
        first = msgs[i].id;
        n++;
      }
      if (first) { lineBefore = first; jumpToLine = true; }
    }
    // Only rebuild when something is missing: a resync after every stream
    // open must not make the list jump.
    const shown = quick ? msgs.slice(-QUICK_MESSAGES) : msgs;
    const messagesShown = list.children.length - (line && line.isConnected ? 1 : 0);
    if (!jumpToLine && shown.every(m => seen.has(m.id)) && messagesShown === shown.length) return;
    const top = list.scrollTop;
    seen.clear();
    list.replaceChildren(...shown.map(m => { seen.add(m.id); return messageNode(m, people); }));
    for (const m of msgs) seen.add(m.id);
    placeLine();
    if (jumpToLine && line.isConnected) {
      list.scrollTop = line.offsetTop; // .messages is positioned: offsets are the list's
      stick = list.scrollHeight - list.scrollTop - list.clientHeight < STICK_PX;
      if (!stick && jump) jump.hidden = false;
    } else if (stick) scrollToEnd();
    else list.scrollTop = top;
  }

  // readStarts is called as a history read begins.
  function readStarts() { arrived = []; }

  return { add, renderHistory, readStarts };
}

// ---- room details -----------------------------------------------------------

// renderDetails shows r (a RoomJSON): member count and list, connection,
// notification level; people learns the members' names.
function renderDetails(node, r, people) {
  for (const m of r.member_list || []) {
    people.names.add(m.name);
    if (m.self) people.me = m.name;
  }
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
  const level = $(node, '.notify');
  if (level && document.activeElement !== level) level.value = r.notify || (r.muted ? 'none' : 'all');
}

// typingLine shows who is typing in node's room: each member's signal
// lasts TYPING_SHOWN_MS, or until their message comes.
function typingLine(node) {
  const el = $(node, '.typing');
  const typers = new Map();  // member id → { name, timer }
  function render() {
    const names = [...typers.values()].map(t => t.name).sort();
    let text = '';
    if (names.length === 1) text = names[0] + ' is typing…';
    else if (names.length === 2) text = names[0] + ' and ' + names[1] + ' are typing…';
    else if (names.length > 2) text = names[0] + ', ' + names[1] + ' and ' + plural(names.length - 2, 'other', 'others') + ' are typing…';
    if (el.textContent !== text) setText(el, text);
  }
  function stopped(id) {
    const t = typers.get(id);
    if (!t) return;
    clearTimeout(t.timer);
    typers.delete(id);
    render();
  }
  return {
    typing(member) {
      if (!member || !member.id) return;
      const t = typers.get(member.id);
      if (t) clearTimeout(t.timer);
      typers.set(member.id, { name: member.name, timer: setTimeout(() => stopped(member.id), TYPING_SHOWN_MS) });
      render();
    },
    stopped,
  };
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
      typingSent = 0;
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
  // Typing tells the room, at most once every TYPING_EVERY_MS (the daemon
  // limits it too).
  let typingSent = 0;
  function typing() {
    const now = Date.now();
    if (textarea.value.trim() === '' || now - typingSent < TYPING_EVERY_MS) return;
    typingSent = now;
    api('POST', roomPath(id) + '/typing').catch(() => { /* a hint, nothing to report */ });
  }
  textarea.addEventListener('input', () => { updateCounter(); typing(); if (!errorEl.hidden) showError(''); });
  $(node, '.composer').addEventListener('submit', e => { e.preventDefault(); send(); });
  updateCounter();
  return { textarea, showError };
}

// ---- notification level and leave (full view only) -------------------------

// notifySelect sets the room's notification level (all, mentions, none);
// render gets the room as it is then.
function notifySelect(node, id, render, showError) {
  const level = $(node, '.notify');
  if (!level) return;
  level.addEventListener('change', async () => {
    level.disabled = true;
    try {
      render(await api('POST', roomPath(id) + '/notify', { level: level.value }));
    } catch (e) {
      showError(e.message);
    } finally {
      level.disabled = false;
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

  const people = newPeople();
  const messages = messageList(node, quick, people);
  const { textarea, showError } = composer(node, id, m => messages.add(m, true));
  uploader(node, id, m => messages.add(m, true), showError);
  const showInvite = inviteBanner(node, id);
  const typers = typingLine(node);
  onLinkError(showError);

  function renderRoom(r) {
    room = r;
    renderDetails(node, r, people);
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
          messages.renderHistory(msgs, view.ready ? 0 : r.unread);
          if (!view.ready) {
            // Only now may the window's focus mark the room read: the
            // unread line needed the count from before.
            view.ready = true;
            reportFocus(false);
          }
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

  notifySelect(node, id, renderRoom, showError);
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
    ready: false,              // the first read is shown (see refresh)
    autofocus: textarea,
    resync: refresh,
    onEvent(e) {
      if (gone || e.room !== id) return;
      switch (e.kind) {
        case 'message':
          if (e.message) typers.stopped(e.message.sender);
          messages.add(e.message, false);
          break;
        case 'typing': typers.typing(e.member); break;
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
