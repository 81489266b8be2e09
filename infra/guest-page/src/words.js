// The guest's words: which language the page speaks, and its texts in it, from the
// catalogues the build bundles as MESSAGES (shared/i18n/<language>.json, the same the
// service's SMS and share message come from). The guest's own choice (the switch,
// kept on the phone) wins over the invite's language, which wins over the browser's.
const GuestWords = (function () {
  'use strict';

  // Each language's name in itself, for the switch.
  const NAMES = { en: 'English', af: 'Afrikaans', zu: 'isiZulu', xh: 'isiXhosa', st: 'Sesotho', tn: 'Setswana' };
  const CHOICE_KEY = 'fluss-ota.language';
  // The gates' default names, said in the guest's language; names an installer gave
  // are shown as given.
  const DEFAULT_GATES = { 'main gate': 'gate_main', 'exit gate': 'gate_exit' };

  const known = (code) => Boolean(code) && Object.prototype.hasOwnProperty.call(MESSAGES, code);

  /** The guest's own choice, if they made one on this phone. */
  function chosen() {
    try {
      const saved = localStorage.getItem(CHOICE_KEY);
      return known(saved) ? saved : null;
    } catch (_) {
      return null;
    }
  }

  function choose(code) {
    try { localStorage.setItem(CHOICE_KEY, code); } catch (_) { /* private mode: this visit only */ }
  }

  /** The browser's first language the page has, else English. */
  function browsers() {
    const preferred = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
    for (const tag of preferred) {
      const base = String(tag).toLowerCase().split('-')[0];
      if (known(base)) return base;
    }
    return 'en';
  }

  /** Dates in the guest's own flavour of the language (en-ZA: "Thu 26 Nov"); for a
   * language the browser has no dates in, South African English ones. */
  function dateLocale(code) {
    const own = (navigator.languages || []).find((tag) => String(tag).toLowerCase().split('-')[0] === code);
    if (own) return own;
    try {
      return Intl.DateTimeFormat.supportedLocalesOf([`${code}-ZA`]).length ? `${code}-ZA` : 'en-ZA';
    } catch (_) {
      return 'en-ZA';
    }
  }

  /** The text of `key` in `code` (English where that catalogue lacks it), `{name}`s filled. */
  function text(code, key, values) {
    const found = (MESSAGES[code] && MESSAGES[code][key]) || MESSAGES.en[key] || key;
    return found.replace(/\{(\w+)\}/g, (_, name) => (values && name in values ? String(values[name]) : ''));
  }

  function gateName(code, label) {
    const key = DEFAULT_GATES[String(label || '').trim().toLowerCase()];
    return key ? text(code, key) : label;
  }

  return { NAMES, known, chosen, choose, browsers, dateLocale, text, gateName };
})();
