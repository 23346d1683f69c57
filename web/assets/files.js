// Files in a room: a message's file (an image shown inline, anything else
// a download), and sending one by pasting, dropping or choosing it.
//
// A file's bytes come from the daemon's API with this window's session
// (an <img src> could not carry it): fetched, then shown from a blob: URL,
// which the page's Content-Security-Policy allows for images only. The
// daemon sniffs the type from the bytes; only PNG, JPEG, GIF and WebP are
// ever shown as images, never SVG.

import { APIError, authed, roomPath, sessionEnded } from './api.js';
import { $, clone, setText } from './dom.js';

const MAX_FILE_BYTES = 8 << 20;        // rooms.MaxFileBytes
const UPLOAD_TIMEOUT_MS = 120000;      // rooms' maxFileSendWait
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export function sizeText(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / (1024 * 1024)).toFixed(1) + ' MiB';
}

const filePath = (room, id) => roomPath(room) + '/files/' + encodeURIComponent(id);

// fetchFile returns message id's file as a Blob, or throws an APIError.
async function fetchFile(room, id, download) {
  let resp;
  try {
    resp = await fetch(filePath(room, id) + (download ? '?download=1' : ''), authed({ method: 'GET' }));
  } catch (e) {
    throw new APIError(0, 'offline', 'SunOye is not answering. Is it still running?');
  }
  if (resp.status === 401) {
    sessionEnded();
    throw new APIError(401, 'session', 'This window is no longer signed in to SunOye.');
  }
  if (!resp.ok) {
    let data = null;
    try { data = await resp.json(); } catch (e) { /* a refusal */ }
    throw new APIError(resp.status, (data && data.code) || 'internal', (data && data.error) || resp.statusText);
  }
  return resp.blob();
}

// imageURLs are the blob: URLs of the images shown, by room and message
// id: a view rebuilt (a resync) shows them again without fetching them
// again. The daemon keeps at most 32 MiB of files per room.
const imageURLs = new Map();

function imageURL(room, id) {
  const key = room + '/' + id;
  let url = imageURLs.get(key);
  if (!url) {
    url = fetchFile(room, id, false).then(blob => URL.createObjectURL(blob));
    url.catch(() => imageURLs.delete(key));
    imageURLs.set(key, url);
  }
  return url;
}

function unavailable(e) {
  return e.code === 'no_file' ? 'no longer kept (files stay in memory only, within a budget)' : e.message;
}

// fileNode returns what shows message m's file in room: the image itself,
// or a link that downloads it; name and size either way.
export function fileNode(room, m) {
  const node = clone('tpl-file');
  const f = m.file;
  const link = $(node, '.file-link');
  setText(link, f.name);
  link.title = 'Download ' + f.name;
  setText($(node, '.file-meta'), sizeText(f.size) + (IMAGE_TYPES.has(f.type) ? '' : ' · ' + f.type));
  const note = $(node, '.file-note');
  link.addEventListener('click', async e => {
    e.preventDefault();
    try {
      const blob = await fetchFile(room, m.id, true);
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = f.name;
      a.rel = 'noopener';
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    } catch (err) {
      setText(note, 'Cannot download: ' + unavailable(err));
      note.hidden = false;
    }
  });
  if (IMAGE_TYPES.has(f.type)) {
    const img = $(node, '.file-image');
    img.alt = f.name;
    imageURL(room, m.id).then(url => {
      img.src = url;
      img.hidden = false;
    }, err => {
      setText(note, 'Image ' + unavailable(err));
      note.hidden = false;
    });
  }
  return node;
}

// uploader lets the user send files to room from view node: pasted,
// dropped, or chosen with the Attach button. onSent gets the message;
// showError shows a failure ('' clears it).
export function uploader(node, room, onSent, showError) {
  const attach = $(node, '.attach');
  const input = $(node, '.file-input');
  let sending = 0;

  async function send(file) {
    if (file.size > MAX_FILE_BYTES) {
      showError('Not sent: ' + (file.name || 'the file') + ' is ' + sizeText(file.size) + ', at most 8 MiB can be sent.');
      return;
    }
    if (file.size === 0) {
      showError('Not sent: the file is empty.');
      return;
    }
    const name = file.name || ('pasted.' + ((file.type || '').split('/')[1] || 'bin'));
    sending++;
    if (attach) {
      attach.disabled = true;
      setText(attach, 'Sending…');
    }
    showError('');
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), UPLOAD_TIMEOUT_MS);
    try {
      const init = authed({
        method: 'POST', body: file, signal: abort.signal,
        headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json' },
      });
      const resp = await fetch(roomPath(room) + '/files?name=' + encodeURIComponent(name), init);
      let data = null;
      try { data = await resp.json(); } catch (e) { /* a refusal */ }
      if (resp.status === 401) { sessionEnded(); return; }
      if (!resp.ok) {
        showError('Not sent: ' + ((data && data.error) || resp.statusText));
        return;
      }
      onSent(data);
    } catch (e) {
      showError(e.name === 'AbortError'
        ? 'The broker has not confirmed the file in time: it was not sent whole.'
        : 'Not sent: SunOye is not answering.');
    } finally {
      clearTimeout(timer);
      if (--sending === 0 && attach) {
        attach.disabled = false;
        setText(attach, 'Attach…');
      }
    }
  }

  // One file after the other: the daemon sends a room's files in turn.
  async function sendAll(files) {
    for (const f of files) await send(f);
  }

  node.addEventListener('paste', e => {
    const files = [...((e.clipboardData && e.clipboardData.files) || [])];
    if (files.length === 0) return;    // text: the textarea's own paste
    e.preventDefault();
    sendAll(files);
  });
  node.addEventListener('dragover', e => {
    if (e.dataTransfer && [...e.dataTransfer.types].includes('Files')) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      node.classList.add('dropping');
    }
  });
  node.addEventListener('dragleave', e => {
    if (e.target === node) node.classList.remove('dropping');
  });
  node.addEventListener('drop', e => {
    node.classList.remove('dropping');
    const files = [...((e.dataTransfer && e.dataTransfer.files) || [])];
    if (files.length === 0) return;
    e.preventDefault();
    sendAll(files);
  });
  if (attach && input) {
    attach.addEventListener('click', () => input.click());
    input.addEventListener('change', () => {
      const files = [...input.files];
      input.value = '';
      sendAll(files);
    });
  }
  return { send };
}
