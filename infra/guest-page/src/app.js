// The guest's page: link token from the URL fragment → status → scan the
// intercom's QR (or type the gate number under it) → type the code → the gate's command is sent
// → the page asks the status until the gate has said it opened ("Gate open") or the
// command ended without opening (the code was not used: try again).
//
// The token never leaves the device except in the body of a POST to /guest/* on
// this origin: it is read from the fragment (which browsers never send), kept in
// localStorage for the exit visit, and removed from the address bar at once. A phone
// keeps one link per intercom (two invites at two estates both work) and forgets a
// link once its invite has ended (what the phone keeps, and how an address or a QR
// code is read: keep.js). The QR code carries the gate number in its fragment too
// (`/s/<intercom>#<number>`): the proof that the guest is at the gate.
(function () {
  'use strict';

  // What ends a link for good: the page forgets it.
  const ENDED = ['locked', 'expired', 'revoked', 'already_used', 'invalid_link'];
  const REQUEST_TIMEOUT_MS = 10000;
  // Lost answers are retried with the same attempt id, so retrying is always safe;
  // after this long the guest is told, and the page keeps trying.
  const QUIET_RETRY_MS = 20000;
  // While the gate has the command: how often to ask whether it answered, and after
  // how long to say it is taking a while.
  const GATE_POLL_MS = 500;
  const GATE_SLOW_MS = 4000;

  const $ = (id) => document.getElementById(id);
  // Until the status answers (the invite's language), the guest's choice or the browser's.
  let lang = GuestWords.chosen() || GuestWords.browsers();
  let dateLocale = GuestWords.dateLocale(lang);
  let token = null;
  let status = null;
  // The passage the guest chose over `status.next` (the exit, when the status offers
  // it beside the entry: `also`), until the next status.
  let chosen = null;
  let scanned = null;
  let clockSkewMs = 0;
  let countdownTimer = 0;
  let camera = null;

  function useLanguage(code, chosen) {
    if (!GuestWords.known(code)) return;
    if (chosen) GuestWords.choose(code);
    if (code === lang) return;
    lang = code;
    dateLocale = GuestWords.dateLocale(code);
    translateStatic();
    if (status && status.first_name) rerender();
  }

  /** The page as it stands, said again in the new language. */
  function rerender() {
    renderStatus(status);
    const step = document.body.dataset.step;
    const refusal = document.body.dataset.refusal;
    if (step === 'step-refused' && refusal === 'not_yet') return notYet(status);
    if (step === 'step-refused' && refusal) return refuse(refusal, false);
    if (step === 'step-scan') return showScanStep();
    if (step === 'step-code') return showCodeStep();
  }

  function languageSwitch() {
    const nav = $('languages');
    for (const code of Object.keys(GuestWords.NAMES)) {
      if (!GuestWords.known(code)) continue;
      const name = GuestWords.NAMES[code];
      const button = document.createElement('button');
      button.type = 'button';
      button.lang = code;
      button.textContent = name;
      button.dataset.lang = code;
      button.addEventListener('click', () => useLanguage(code, true));
      nav.appendChild(button);
    }
  }

  const t = (key, values) => GuestWords.text(lang, key, values);
  const gateName = (label) => GuestWords.gateName(lang, label);

  function translateStatic() {
    document.documentElement.lang = lang;
    document.title = t('page_title');
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const button of document.querySelectorAll('#languages button')) {
      button.setAttribute('aria-pressed', String(button.dataset.lang === lang));
    }
  }

  // ---- what the phone keeps (keep.js) ---------------------------------------

  function rememberScan(scan) {
    scanned = scan;
    GuestKeeps.saveScan(scan);
  }

  function forgetScan() {
    scanned = null;
    GuestKeeps.forgetScan();
  }

  // ---- views -------------------------------------------------------------------------

  const VIEWS = ['view-loading', 'view-no-link', 'view-guest'];
  const STEPS = ['step-scan', 'step-code', 'step-progress', 'step-opened', 'step-refused'];

  function showView(id) {
    for (const v of VIEWS) $(v).hidden = v !== id;
    const heading = $(id).querySelector('h1');
    if (heading && id !== 'view-guest') heading.focus();
  }

  function showStep(id, focus) {
    showView('view-guest');
    for (const s of STEPS) $(s).hidden = s !== id;
    document.body.dataset.step = id;
    if (id !== 'step-refused') delete document.body.dataset.refusal;
    // Past the first step the greeting is one line, so what the page says next is in
    // view even with the phone's keyboard up. A code for later keeps its countdown.
    const first = id === 'step-scan' || document.body.dataset.refusal === 'not_yet';
    document.body.classList.toggle('compact', !first);
    if (focus) focus.focus();
  }

  /** The step's one message (never a second box for the same thing). On the scan
   * step a message shrinks the greeting too. */
  function problem(el, text) {
    el.textContent = text || '';
    el.hidden = !text;
    if (!text) return;
    if (el.id === 'scan-problem') document.body.classList.add('compact');
    // After the step's focus has moved (a focused field scrolls itself into view): the
    // message at the top, its field right under it, both above a phone's keyboard.
    queueMicrotask(() => el.scrollIntoView({ block: 'start' }));
  }

  // ---- API -----------------------------------------------------------------------------

  /** The hex SHA-256 of a body: CloudFront signs it for the guest functions' URLs,
   * which refuse a POST without it. */
  async function bodyHash(text) {
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function post(path, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const text = JSON.stringify(body);
      const response = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-amz-content-sha256': await bodyHash(text) },
        body: text,
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
        signal: controller.signal,
      });
      let json = null;
      try { json = await response.json(); } catch (_) { /* a proxy's HTML error page */ }
      return { status: response.status, body: json };
    } finally {
      clearTimeout(timer);
    }
  }

  const errorCode = (answer) => (answer.body && answer.body.error && answer.body.error.code) || null;

  /** Whether asking again may help: the answer was lost, or the service or a proxy
   * said so (never a decision about the code). */
  function worthRetrying(answer) {
    if (!answer) return true;
    const code = errorCode(answer);
    const decided = ['gate_unavailable', 'gate_offline', 'slow_down'].includes(code);
    return code === 'busy' || code === 'internal' || (!decided && (answer.status >= 500 || answer.status === 429));
  }

  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---- status and countdown -----------------------------------------------------------------

  /** The link's status; with `scan`, also whether the service takes its gate number
   * (`gate_check`), so a wrong number is said before the code. Polls while a gate
   * opens send none (each check is one more read). */
  async function loadStatus(scan = null) {
    for (let attempt = 0; ; attempt++) {
      let answer = null;
      try { answer = await post('/guest/status', statusBody(scan)); } catch (_) { answer = null; }
      if (answer && answer.status === 200 && answer.body) return answer.body;
      // An answer that is no service's (a proxy's error page) reads as an invalid link,
      // but is not trusted to end the link: the page does not forget it for that.
      if (answer && !worthRetrying(answer)) return { refusal: (answer.body && answer.body.error) || { code: 'invalid_link', unconfirmed: true } };
      if (attempt >= 2) $('view-loading').querySelector('h1').textContent = t('offline');
      await sleep(Math.min(1000 * 2 ** attempt, 8000));
    }
  }

  function statusBody(scan) {
    const body = { token };
    if (scan && scan.number) body.gate_number = scan.number;
    if (scan && scan.intercom) body.intercom_id = scan.intercom;
    return body;
  }

  /** What the service said of the gate number sent with the status: a refusal to show
   * on the scan step, or null (taken, or not asked). */
  function gateRefusal(next) {
    const label = next.intercom && next.intercom.label;
    if (next.gate_check === 'scan_at_gate') return t('scan_at_gate', { label });
    if (next.gate_check === 'wrong_intercom') return t('wrong_intercom', { label });
    return null;
  }

  /** A gate number just scanned or typed: checked with the service before the code
   * step. Without an answer (no signal) the code step goes ahead: the redemption
   * checks the number anyway. */
  async function atGate(scan) {
    $('manual-form').querySelector('button').disabled = true;
    let answer = null;
    try { answer = await post('/guest/status', statusBody(scan)); } catch (_) { answer = null; }
    $('manual-form').querySelector('button').disabled = false;
    const next = answer && answer.status === 200 && answer.body;
    const refusal = next && gateRefusal(next);
    if (refusal) return showScanStep(refusal);
    rememberScan(scan);
    if (next && next.first_name) renderStatus(next);
    return showCodeStep();
  }

  function renderStatus(next) {
    status = next;
    $('refused-title').hidden = false;
    if (next.language && !GuestWords.chosen() && next.language !== lang) useLanguage(next.language, false);
    clockSkewMs = next.server_time ? Date.parse(next.server_time) - Date.now() : 0;
    $('greeting').textContent = t('greeting', { name: next.first_name || '' });
    const host = next.host && next.host.name;
    $('invited-by').textContent = host ? t('invited_by', { host }) : '';
    $('invited-by').hidden = !host;
    const label = (next.intercom && next.intercom.label) || '';
    $('intercom-label').textContent = label;
    $('site').hidden = !label;
    const place = next.place;
    $('place').hidden = !place;
    if (place) {
      $('address').textContent = place.address;
      $('directions').href = place.map_url;
    }
    const exit = next.next === 'exit';
    $('purpose').textContent = next.next ? t(exit ? 'purpose_exit' : 'purpose_entry', { gate: gateName(next.gate_label) }) : '';
    // The way out is another gate: said even when the greeting is folded to one line.
    $('purpose').classList.toggle('way-out', exit);
    $('time-left-label').textContent = next.next ? t(exit ? 'time_left_exit' : 'time_left_entry') : '';
    const until = exit ? next.exit_open_until : next.valid_until;
    $('valid-until').textContent = next.next ? t('valid_until', { time: localTime(until), zone: zoneName() }) : '';
    $('time-left').parentElement.hidden = !next.next;
    $('valid-until').hidden = !next.next;
    // Told before a code is typed: the gate the guest is about to use is offline.
    chosen = next.also && chosen === next.also ? chosen : null;
    showAlso();
    const gateNow = next.next && next.gates && next.gates[next.next];
    problem($('gate-notice'), gateNow && gateNow.status === 'offline' ? t('gate_offline_notice', { gate: gateName(next.gate_label) }) : '');
    startCountdown(next.next ? until : null);
  }

  function zoneName() {
    const zone = (status && status.intercom && status.intercom.time_zone) || 'Africa/Johannesburg';
    const city = zone.split('/').pop() || zone;
    return city.replace(/_/g, ' ');
  }

  function localTime(iso) {
    const zone = (status && status.intercom && status.intercom.time_zone) || 'Africa/Johannesburg';
    const named = dateLocale.split('-')[0] === lang.split('-')[0];
    const format = (timeZone) => {
      if (named) {
        return new Intl.DateTimeFormat(dateLocale, {
          timeZone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
        }).format(new Date(iso));
      }
      // No dates in the guest's language here: numbers, as the SMS writes them (28/12 09:00).
      const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
        timeZone, day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
      }).formatToParts(new Date(iso)).map((part) => [part.type, part.value]));
      return `${parts.day}/${parts.month} ${parts.hour}:${parts.minute}`;
    };
    try { return format(zone); } catch (_) { return format('UTC'); }
  }

  function startCountdown(until) {
    clearInterval(countdownTimer);
    if (!until) return;
    const end = Date.parse(until);
    const tick = () => {
      const left = Math.max(0, Math.floor((end - (Date.now() + clockSkewMs)) / 1000));
      const h = Math.floor(left / 3600);
      const m = Math.floor((left % 3600) / 60);
      const s = left % 60;
      $('time-left').textContent = h > 0 ? t('hours_minutes', { h, m }) : t('minutes_seconds', { m, s });
      if (left === 0) {
        clearInterval(countdownTimer);
        refresh();
      }
    };
    tick();
    countdownTimer = setInterval(tick, 1000);
  }

  /** The exit offered beside the entry (an entry that came back without the gate's
   * report: the guest may be inside), as a second button on the code step. */
  function showAlso() {
    const button = $('use-exit');
    const offered = status && status.also === 'exit' && chosen !== 'exit';
    button.hidden = !offered;
    if (offered) button.textContent = t('also_exit', { gate: gateName(status.exit_gate_label) });
  }

  function chooseExit() {
    chosen = 'exit';
    showAlso();
    $('purpose').textContent = t('purpose_exit_instead', { gate: gateName(status.exit_gate_label) });
    $('purpose').classList.add('way-out');
    if (!scanned) return showScanStep();
    return showCodeStep();
  }

  /** Asks what the link allows now and shows it: the next step, or why there is none.
   * A gate that has a command (a reload, or a return, while it opens) is waited for. */
  async function refresh() {
    const next = await loadStatus(scanned);
    if (next.refusal && !next.first_name) return refuse(next.refusal.code, !next.refusal.unconfirmed);
    renderStatus(next);
    if (next.refusal && next.refusal.code === 'not_yet') return notYet(next);
    if (next.next && next.refusal && next.refusal.code === 'opening') return awaitGate(next.next, gateName(next.gate_label));
    if (!next.next) return refuse(next.refusal && next.refusal.code);
    const wrongGate = gateRefusal(next);
    if (wrongGate) return showScanStep(wrongGate);
    if (scanned) return showCodeStep();
    showScanStep();
  }

  // ---- scanning -------------------------------------------------------------------------------

  function showScanStep(message) {
    stopCamera();
    forgetScan();
    showStep('step-scan', $('step-scan').querySelector('h2'));
    problem($('scan-problem'), message);
  }

  async function startCamera() {
    problem($('scan-problem'), '');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return cameraFailed('camera_unavailable');
    }
    $('camera').hidden = false;
    $('scan-start').hidden = true;
    $('camera-status').textContent = t('camera_starting');
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false });
    } catch (error) {
      const denied = error && (error.name === 'NotAllowedError' || error.name === 'SecurityError');
      return cameraFailed(denied ? 'camera_denied' : 'camera_unavailable');
    }
    const scan = { stream, stopped: false };
    camera = scan;
    const video = $('camera-video');
    video.srcObject = stream;
    try { await video.play(); } catch (_) { /* autoplay of a muted inline video is allowed */ }
    let decode;
    try {
      decode = await GuestScanner.decoder();
    } catch (_) {
      return cameraFailed('decoder_failed');
    }
    $('camera-status').textContent = t('camera_looking');
    while (!scan.stopped) {
      let text = null;
      try { text = video.readyState >= 2 ? await decode(video) : null; } catch (_) { text = null; }
      if (scan.stopped) return;
      if (text) {
        const scan = GuestKeeps.scanFromQr(text);
        if (scan) {
          stopCamera();
          return atGate(scan);
        }
        $('camera-status').textContent = t('camera_not_fluss');
      }
      await sleep(150);
    }
  }

  function cameraFailed(key) {
    stopCamera();
    problem($('scan-problem'), t(key));
    $('manual-number').focus();
  }

  function stopCamera() {
    if (camera) {
      camera.stopped = true;
      for (const track of camera.stream.getTracks()) track.stop();
      camera = null;
    }
    $('camera-video').srcObject = null;
    $('camera').hidden = true;
    $('scan-start').hidden = false;
  }

  // ---- the code ----------------------------------------------------------------------------------

  /** The code step, with `message` above the field; `reachHost` when the message tells
   * the guest to call the person who invited them (the contact the owner chose, if any). */
  function showCodeStep(message, reachHost) {
    $('scanned-intercom').textContent = (status && status.intercom && status.intercom.label) || '';
    fillContact($('code-host-contact'), reachHost && status && status.host);
    const input = $('code');
    input.value = '';
    input.disabled = false;
    $('code-submit').disabled = false;
    problem($('code-problem'), message);
    showStep('step-code', input);
  }

  let submitting = false;

  async function submitCode() {
    const code = $('code').value.replace(/\D/g, '');
    if (code.length !== 4) return problem($('code-problem'), t('code_incomplete'));
    if (submitting) return;
    submitting = true;
    try {
      await redeem(code);
    } finally {
      submitting = false;
    }
  }

  // Each press is a new attempt; only the page's own retries of a lost answer
  // repeat its id (the service then answers as that attempt, with its command).
  async function redeem(code) {
    const redemption = chosen || status.next;
    const gate = gateName(redemption === status.next ? status.gate_label : status.exit_gate_label);
    const attemptId = randomId();
    const started = Date.now();
    showStep('step-progress');
    $('retry-now').hidden = true;
    $('progress-text').textContent = t('opening', { gate });
    let wakeUp = null;
    $('retry-now').onclick = () => wakeUp && wakeUp();
    for (let attempt = 0; ; attempt++) {
      let answer = null;
      try {
        const body = { token, gate_number: scanned.number, code, attempt_id: attemptId };
        if (scanned.intercom) body.intercom_id = scanned.intercom;
        answer = await post('/guest/' + redemption, body);
      } catch (_) {
        answer = null; // no answer: lost on the way, or no signal
      }
      if (!worthRetrying(answer)) return answered(answer, redemption, gate);
      const quiet = Date.now() - started < QUIET_RETRY_MS;
      $('progress-text').textContent = quiet ? t('retrying', { gate }) : t('offline');
      $('retry-now').hidden = quiet;
      await new Promise((resolve) => {
        wakeUp = resolve;
        setTimeout(resolve, Math.min(1000 * 2 ** attempt, 8000));
      });
    }
  }

  function opened(redemption, next) {
    forgetScan();
    showStep('step-opened');
    $('opened-title').textContent = t('opened_title');
    $('opened-body').textContent = t(redemption === 'entry' ? 'opened_entry' : 'opened_exit');
    $('opened-title').focus();
    // What the link allows next (exit, or nothing), for when the guest comes back.
    if (next && next.first_name) renderStatus(next);
    else loadStatus().then((later) => { if (later.first_name) renderStatus(later); });
  }

  /** The command is with the gate: asks the status until the gate has answered. Only
   * the gate's report makes it "Gate open"; a command that ends without one leaves
   * the code unused, and the guest is told to try again. */
  async function awaitGate(redemption, gate) {
    const started = Date.now();
    showStep('step-progress');
    $('retry-now').hidden = true;
    $('progress-text').textContent = t('opening', { gate });
    for (;;) {
      const next = await loadStatus();
      if (next.refusal && !next.first_name) return refuse(next.refusal.code, !next.refusal.unconfirmed);
      const passage = next[redemption] && next[redemption].state;
      if (passage === 'used') return opened(redemption, next);
      if (passage !== 'opening') {
        renderStatus(next);
        if (!next.next) return refuse(next.refusal && next.refusal.code);
        if (next.refusal && next.refusal.code === 'opening') return awaitGate(next.next, gateName(next.gate_label));
        const message = t('gate_not_opened', { gate });
        return scanned ? showCodeStep(message) : showScanStep(message);
      }
      if (Date.now() - started > GATE_SLOW_MS) $('progress-text').textContent = t('opening_slow', { gate });
      await sleep(GATE_POLL_MS);
    }
  }

  function answered(answer, redemption, gate) {
    const body = answer.body || {};
    if (answer.status === 200 && body.result === 'opened') return opened(redemption);
    if (answer.status === 202 && body.result === 'opening') return awaitGate(redemption, gate);
    const error = body.error || {};
    switch (error.code) {
      case 'opening':
        return awaitGate(redemption, gate);
      case 'not_yet':
        return refresh();
      case 'wrong_code':
        status.attempts_left = error.attempts_left;
        if (error.retry_after_seconds) return showCodeStep(t('slow_down', { seconds: error.retry_after_seconds }));
        return showCodeStep(t('wrong_code', { left: error.attempts_left }));
      case 'slow_down':
        return showCodeStep(t('slow_down', { seconds: error.retry_after_seconds }));
      case 'wrong_intercom':
        return showScanStep(t('wrong_intercom', { label: status.intercom.label }));
      case 'scan_at_gate':
        return showScanStep(t('scan_at_gate', { label: status.intercom.label }));
      case 'gate_offline':
        return showCodeStep(t('gate_offline', { gate }), true);
      case 'gate_unavailable':
        return showCodeStep(t('gate_unavailable', { gate }));
      case 'invalid_field':
        if (error.field === 'intercom_id' || error.field === 'gate_number') return showScanStep(t('manual_invalid'));
        return showCodeStep(t('code_incomplete'));
      case 'locked':
      case 'expired':
      case 'revoked':
      case 'already_used':
      case 'not_entered':
      case 'invalid_link':
      case 'gate_failing':
        return refuse(error.code);
      default:
        return showCodeStep(t('server_error'));
    }
  }

  /** A code made for later: from when it works, counting down to it; at the start the
   * page asks the status again and goes on to the scan step by itself. */
  function notYet(next) {
    stopCamera();
    $('purpose').textContent = '';
    $('time-left-label').textContent = t('time_left_start');
    $('time-left').parentElement.hidden = false;
    $('valid-until').hidden = true;
    $('refused-title').textContent = t('not_yet_title', { time: localTime(next.starts_at), zone: zoneName() });
    $('refused-body').textContent = t('not_yet_body');
    showHost();
    document.body.dataset.refusal = 'not_yet';
    showStep('step-refused', $('refused-title'));
    startCountdown(next.starts_at);
  }

  /** The end of the road for this link, or of this try: `confirmed` when the service
   * said so, which alone makes the page forget an ended link. */
  function refuse(code, confirmed = true) {
    const known = ['locked', 'expired', 'revoked', 'already_used', 'invalid_link', 'not_entered', 'gate_failing'];
    const key = known.includes(code) ? code : 'invalid_link';
    stopCamera();
    forgetScan();
    // An ended invite's link is no use any more; another intercom's links stay.
    if (confirmed && ENDED.includes(key)) GuestKeeps.forgetLink(token);
    clearInterval(countdownTimer);
    $('time-left').parentElement.hidden = true;
    $('valid-until').hidden = true;
    $('purpose').textContent = '';
    $('refused-title').textContent = t('refused_title_' + key);
    $('refused-body').textContent = t('refused_' + key);
    // A link that is no invite's has nobody to greet: the card's heading says what
    // happened instead (no empty greeting, no bare "At").
    const greets = Boolean(status && status.first_name);
    if (!greets) $('greeting').textContent = t('refused_title_' + key);
    $('refused-title').hidden = !greets;
    showHost();
    showStep('step-refused', greets ? $('refused-title') : $('greeting'));
    document.body.dataset.refusal = key;
  }

  /** On every refusal: who invited the guest, and the way to reach them the owner
   * chose (none unless chosen). */
  function showHost() {
    const host = status && status.host;
    $('refused-host').hidden = !host;
    $('refused-host').textContent = host ? t('host_line', { host: host.name }) : '';
    fillContact($('host-contact'), host);
  }

  /** `link` becomes the way to reach `host` the owner chose, or is hidden. */
  function fillContact(link, host) {
    const contact = host && host.contact;
    link.hidden = !contact;
    if (contact) {
      link.href = contact.url;
      link.textContent = t(contact.via === 'whatsapp' ? 'contact_whatsapp' : 'contact_call', { host: host.name });
      if (contact.via === 'whatsapp') link.rel = 'noopener noreferrer';
    }
  }

  // ---- start -----------------------------------------------------------------------------------------

  function wire() {
    // Another link (or QR) opened in this tab while the page is open: start again with it.
    window.addEventListener('hashchange', () => { if (location.hash) location.reload(); });
    $('scan-start').addEventListener('click', startCamera);
    $('scan-stop').addEventListener('click', () => stopCamera());
    $('rescan').addEventListener('click', () => showScanStep());
    $('use-exit').addEventListener('click', chooseExit);
    $('manual-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const scan = GuestKeeps.scanFromQr($('manual-number').value);
      if (!scan || !scan.number) {
        problem($('scan-problem'), t('manual_invalid'));
        $('manual-number').setAttribute('aria-invalid', 'true');
        return;
      }
      $('manual-number').removeAttribute('aria-invalid');
      stopCamera();
      atGate(scan);
    });
    $('code-form').addEventListener('submit', (event) => {
      event.preventDefault();
      submitCode();
    });
    $('code').addEventListener('input', () => {
      const input = $('code');
      const digits = input.value.replace(/\D/g, '').slice(0, 4);
      if (digits !== input.value) input.value = digits;
      if (digits.length === 4) submitCode();
    });
  }

  async function start() {
    languageSwitch();
    translateStatic();
    wire();
    const fromPath = GuestKeeps.intercomFromPath();
    const number = GuestKeeps.takeFragment();
    token = GuestKeeps.chooseLink(fromPath);
    if (!token) return showView('view-no-link');
    // Arrived through the intercom's QR with the phone's own camera: that was the scan.
    if (fromPath && number) rememberScan({ intercom: fromPath, number });
    else scanned = GuestKeeps.recentScan();
    return refresh();
  }

  start();
})();
