// What the phone keeps between visits, and what an address or a QR code says: the
// link of each intercom (localStorage, so the exit visit finds it; one per intercom,
// so two invites at two estates both work), the last scan (sessionStorage: a reload at
// the gate need not scan again), and the link or gate number in the URL fragment.
// Where a private mode refuses storage, memory stands in for this visit.
const GuestKeeps = (function () {
  'use strict';

  // { <intercom id>: { token, opened } }; before it, one token under TOKEN_KEY.
  const LINKS_KEY = 'fluss-ota.links';
  const TOKEN_KEY = 'fluss-ota.token';
  const SCANNED_KEY = 'fluss-ota.scanned';
  const GATE_NUMBER = /^[0-9]{8}$/;
  // A scan proves the guest stood at the intercom; a reload soon after may reuse it.
  const SCANNED_FOR_MS = 10 * 60 * 1000;
  const INTERCOM_ID = /^[A-Za-z0-9_-]{1,40}$/;

  const memory = {};
  function store(kind) {
    try {
      const s = window[kind];
      const probe = '__fluss_probe__';
      s.setItem(probe, probe);
      s.removeItem(probe);
      return s;
    } catch (_) {
      return {
        getItem: (k) => (k in memory ? memory[k] : null),
        setItem: (k, v) => { memory[k] = String(v); },
        removeItem: (k) => { delete memory[k]; },
      };
    }
  }
  const local = store('localStorage');
  const session = store('sessionStorage');

  const intercomOfToken = (value) => {
    const parts = String(value || '').split('.');
    return parts.length === 3 && INTERCOM_ID.test(parts[0]) ? parts[0] : null;
  };

  function loadLinks() {
    let links = {};
    try { links = JSON.parse(local.getItem(LINKS_KEY) || '{}') || {}; } catch (_) { links = {}; }
    const old = local.getItem(TOKEN_KEY);
    if (old && intercomOfToken(old) && !links[intercomOfToken(old)]) links[intercomOfToken(old)] = { token: old, opened: 0 };
    local.removeItem(TOKEN_KEY);
    return links;
  }

  function saveLinks(links) {
    local.setItem(LINKS_KEY, JSON.stringify(links));
  }

  function keepLink(value) {
    const links = loadLinks();
    links[intercomOfToken(value)] = { token: value, opened: Date.now() };
    saveLinks(links);
  }

  function forgetLink(value) {
    const links = loadLinks();
    for (const intercom of Object.keys(links)) if (links[intercom].token === value) delete links[intercom];
    saveLinks(links);
  }

  /** The link for the intercom the guest stands at, else the one opened last. */
  function chooseLink(intercom) {
    const links = loadLinks();
    if (intercom && links[intercom]) return links[intercom].token;
    const latest = Object.values(links).sort((a, b) => b.opened - a.opened)[0];
    return latest ? latest.token : null;
  }

  /** A link's token from the fragment is kept (for its intercom only) and removed
   * from the address bar; a QR code's gate number is returned. */
  function takeFragment() {
    const fragment = location.hash.replace(/^#/, '');
    if (!fragment) return null;
    // The token or the number must not linger in the address bar, history or a screenshot.
    history.replaceState(null, '', location.pathname + location.search);
    if (intercomOfToken(fragment)) {
      keepLink(fragment);
      return null;
    }
    return GATE_NUMBER.test(fragment) ? fragment : null;
  }

  function intercomFromPath() {
    const match = location.pathname.match(/^\/s\/([^/]+)\/?$/);
    if (!match) return null;
    let id;
    try { id = decodeURIComponent(match[1]); } catch (_) { return null; }
    return INTERCOM_ID.test(id) ? id : null;
  }

  /** What a QR code says: `<page origin>/s/<intercom>#<gate number>` (any origin:
   * printed QR codes outlive domains), or the gate number as typed. */
  function scanFromQr(text) {
    const value = String(text || '').trim();
    const digits = value.replace(/[\s-]/g, '');
    if (GATE_NUMBER.test(digits)) return { intercom: null, number: digits };
    try {
      const url = new URL(value);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
      const match = url.pathname.match(/^\/s\/([^/]+)\/?$/);
      if (!match) return null;
      const id = decodeURIComponent(match[1]);
      const number = url.hash.replace(/^#/, '');
      return INTERCOM_ID.test(id) ? { intercom: id, number: GATE_NUMBER.test(number) ? number : null } : null;
    } catch (_) {
      return null;
    }
  }

  function saveScan(scan) {
    session.setItem(SCANNED_KEY, JSON.stringify({ intercom: scan.intercom, number: scan.number, at: Date.now() }));
  }

  function recentScan() {
    try {
      const saved = JSON.parse(session.getItem(SCANNED_KEY) || 'null');
      const fresh = saved && Date.now() - saved.at < SCANNED_FOR_MS && GATE_NUMBER.test(saved.number);
      if (fresh) return { intercom: INTERCOM_ID.test(saved.intercom) ? saved.intercom : null, number: saved.number };
    } catch (_) { /* a damaged entry is as good as none */ }
    return null;
  }

  function forgetScan() {
    session.removeItem(SCANNED_KEY);
  }

  return { forgetLink, chooseLink, takeFragment, intercomFromPath, scanFromQr, saveScan, recentScan, forgetScan };
})();
