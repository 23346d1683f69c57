// The home view: the joined rooms.

import { api } from './api.js';
import { $, clone, plural, setText, show } from './dom.js';

export function homeView() {
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
        else if (r.notify === 'mentions') meta += ' · mentions only';
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
