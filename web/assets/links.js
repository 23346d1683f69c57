// Links and mentions in message text, made as DOM nodes (never markup),
// and the guard that opens links in the default browser, never in this
// window.
//
// A link is an http:// or https:// URL as typed in a message: nothing
// else (javascript:, data:, file:, …) ever becomes one. Its address is
// the URL as the browser parses it (a look-alike host in punycode), shown
// in full on hover; a URL with a user name or password
// ("https://bank.example@evil.example") stays text. The daemon checks the
// same rules again before it opens anything (web.LinkURL).

import { api } from './api.js';

// A URL runs from http(s):// to the first space, quote, angle bracket,
// control, or invisible character (zero-width and bidi controls, which
// could make the text read as another address than the link's).
const URL_RE = /(^|[^\p{L}\p{N}_])(https?:\/\/[^\s<>"\u0000-\u001f\u007f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]+)/giu;
// Punctuation that ends a sentence rather than a URL.
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', '\'', '*']);
const CLOSERS = { ')': '(', ']': '[', '}': '{' };

// linkTarget returns the address a link to text would open, or null if
// text may not be a link.
export function linkTarget(text) {
  let u;
  try { u = new URL(text); } catch (e) { return null; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (!u.hostname || u.username !== '' || u.password !== '') return null;
  return u.href;
}

// trimURL drops the punctuation a URL candidate ends with that belongs to
// the sentence: "see https://x.example/a." or "(https://x.example/a)";
// a closing bracket stays when the URL opened it (wiki links).
function trimURL(s) {
  for (;;) {
    const last = s.slice(-1);
    if (TRAILING.has(last)) { s = s.slice(0, -1); continue; }
    const open = CLOSERS[last];
    if (open && s.split(open).length < s.split(last).length) { s = s.slice(0, -1); continue; }
    return s;
  }
}

// splitLinks splits text into [{text}] and [{text, href}] parts.
export function splitLinks(text) {
  const parts = [];
  let at = 0;
  for (const m of text.matchAll(URL_RE)) {
    const start = m.index + m[1].length;
    const url = trimURL(m[2]);
    const href = linkTarget(url);
    if (!href) continue;
    if (start > at) parts.push({ text: text.slice(at, start) });
    parts.push({ text: url, href });
    at = start + url.length;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}

const WORD = /[\p{L}\p{N}_]/u;

// splitMentions splits text into [{text}] and [{text, mention, me}]
// parts: "@name" for each of names (display names, case-insensitive; they
// may hold spaces, the longest wins) and "@room". An "@" after a letter or
// digit (an e-mail address) mentions nobody, nor does a name followed by
// one ("@Ashanti" is not "@Asha"). me is set when the mention names
// myName or the room: the rooms.Mentions rules.
export function splitMentions(text, names, myName) {
  const cands = [...new Set([...names, 'room'].filter(n => n))].sort((a, b) => b.length - a.length);
  const me = (myName || '').toLowerCase();
  const parts = [];
  let at = 0;
  for (let i = text.indexOf('@'); i >= 0; i = text.indexOf('@', Math.max(i + 1, at))) {
    if (i > 0 && WORD.test(text[i - 1])) continue;
    const name = cands.find(n => text.substr(i + 1, n.length).toLowerCase() === n.toLowerCase() &&
      !WORD.test(text.charAt(i + 1 + n.length)));
    if (!name) continue;
    if (i > at) parts.push({ text: text.slice(at, i) });
    const end = i + 1 + name.length;
    const said = name.toLowerCase();
    parts.push({ text: text.slice(i, end), mention: true, me: said === 'room' || said === me });
    at = end;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}

// renderText fills node with text: links as <a>, mentions as <span>, the
// rest as text nodes. Nothing of text is ever parsed as HTML.
export function renderText(node, text, names, myName) {
  const out = [];
  for (const p of splitLinks(text)) {
    if (p.href) {
      const a = document.createElement('a');
      a.className = 'link';
      a.href = p.href;
      a.title = p.href;
      a.textContent = p.text;
      // Should a click ever get past the guard, it opens elsewhere,
      // never in this window, and tells the site nothing of it.
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.draggable = false;
      out.push(a);
      continue;
    }
    for (const q of splitMentions(p.text, names, myName)) {
      if (!q.mention) {
        out.push(document.createTextNode(q.text));
        continue;
      }
      const s = document.createElement('span');
      s.className = q.me ? 'mention me' : 'mention';
      s.textContent = q.text;
      out.push(s);
    }
  }
  node.replaceChildren(...out);
}

let onError = () => {};

// onLinkError sets what is told when a link could not be opened.
export function onLinkError(f) { onError = f; }

// openLink asks the daemon to open href in the default browser. Where
// the daemon cannot start one (a headless daemon, whose window is a tab of
// a browser elsewhere: `sunoye open --url`), this page's browser opens it
// in a new tab; a web view opens no new window, and the daemon's answer
// is shown instead.
export async function openLink(href) {
  try {
    await api('POST', '/v1/open-url', { url: href });
  } catch (e) {
    if (e.code === 'unavailable') window.open(href, '_blank', 'noopener,noreferrer');
    onError('Could not open the link: ' + e.message);
  }
}

// guard keeps this window on its page: a click (left, middle, keyboard
// Enter) on a link to anywhere else does not navigate; a message's link
// opens in the default browser instead.
function guard(e) {
  const a = e.target instanceof Element && e.target.closest('a[href]');
  if (!a) return;
  let u;
  try { u = new URL(a.href, location.href); } catch (err) { e.preventDefault(); return; }
  if (u.origin === location.origin) return; // the page's own views
  e.preventDefault();
  e.stopPropagation();
  if (e.type === 'click' || e.button === 1) {
    const href = linkTarget(a.href);
    if (a.classList.contains('link') && href) openLink(href);
  }
}

document.addEventListener('click', guard, true);
document.addEventListener('auxclick', guard, true);

// A link dropped on the window would replace the page with it: the page
// takes such drops and does nothing with them. Text dropped into a text
// box stays text; files are left to whoever handles them.
function dropGuard(e) {
  const dt = e.dataTransfer;
  if (!dt || [...dt.types].includes('Files')) return;
  if (e.target instanceof Element && e.target.closest('textarea, input')) return;
  e.preventDefault();
}
window.addEventListener('dragover', dropGuard, true);
window.addEventListener('drop', dropGuard, true);
