// The forms: create a room, join one, settings.

import { api, roomPath } from './api.js';
import { $, clone, copyText, inviteText, setText, show } from './dom.js';

// ---- create ---------------------------------------------------------------

export function createView() {
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

export function joinView(prefill) {
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

export function settingsView() {
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

