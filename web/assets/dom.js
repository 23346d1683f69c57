// DOM helpers and formatting.
//
// Rule of every module of the chat UI: whatever comes from the network
// (messages, names, errors, room numbers) reaches the page through
// textContent, never innerHTML; the page's markup lives in index.html's
// templates.

const MEMBER_TAG = 6;            // characters of the member id shown after every name

// clone returns a copy of the content of template id.
export function clone(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

export function $(root, sel) { return root.querySelector(sel); }

export function setText(node, text) { node.textContent = text; }

// show sets node's text and shows it, or hides it when there is no text.
export function show(node, text) {
  if (text === undefined || text === null || text === '') {
    node.hidden = true;
    node.textContent = '';
  } else {
    node.textContent = text;
    node.hidden = false;
  }
}

// setConn shows (or, with '', hides) the line about the connection to
// the daemon at the top of the page.
export function setConn(text) { show(document.getElementById('conn'), text); }

const utf8 = new TextEncoder();
export const byteLength = s => utf8.encode(s).length;

export function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }

export function formatTime(ts) {
  const d = new Date(ts);
  if (isNaN(d)) return '';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    return false;
  }
}

export function inviteText(inv) {
  // The daemon's wording (rooms.Invite.String), the same as the tray's.
  if (inv.text) return inv.text;
  return 'SunOye room ' + inv.room + ', password: ' + inv.password;
}

// memberTag fills a name's tag with the start of the member id. Anyone
// can take any display name; the member id, which the sender's signature
// proves, cannot be borrowed, and the tag is its own element, styled
// apart, so that no name can pass for one.
export function memberTag(tag, id) {
  if (!id) {
    tag.hidden = true;
    return;
  }
  setText(tag, id.slice(0, MEMBER_TAG));
  tag.title = 'member ' + id;
}
