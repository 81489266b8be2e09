// The guest's journey in real headless Chromium against the local stack: from the
// SMS link to an open gate and out again, every refusal, a lost answer, a reload,
// the intercom's QR opened by the phone's own camera app. Every state is checked
// with axe, for CSP violations, and screenshotted at phone width.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { assertTokenNeverLeaked, checkState, launch, phone, qrVideo, root, startStack } from './harness.mjs';
import { gateOpen, openLink, scanWithCamera, typeCode, typeGateNumber } from './guest.mjs';

let stack;
let camera; // Chromium filming the demo intercom's QR
let otherCamera; // Chromium filming another intercom's QR
let noCamera; // Chromium without a camera
let gateNumber; // printed under the demo intercom's QR code
/** A printed gate number as the QR code's address carries it. */
const digits = (printed) => printed.replace(/\s/g, '');

before(async () => {
  stack = await startStack();
  gateNumber = await stack.gateNumber();
  const plain = await launch(null);
  const demoQr = await qrVideo(plain, stack, 'ic-demo', join(tmpdir(), `qr-ic-demo-${process.pid}.y4m`));
  const otherQr = await qrVideo(plain, stack, 'ic-demo-north', join(tmpdir(), `qr-ic-north-${process.pid}.y4m`));
  noCamera = plain;
  camera = await launch(demoQr);
  otherCamera = await launch(otherQr);
});

after(async () => {
  await Promise.all([camera, otherCamera, noCamera].filter(Boolean).map((b) => b.close()));
  if (stack) stack.stop();
});

describe('the guest page', { concurrency: false }, () => {
  test('entry by camera, exit by camera on the same link: one command each, no token anywhere', async () => {
    const invite = await stack.invite('Ana Dlamini');
    const [entryBefore, exitBefore] = [await stack.openings('demo-gate-main'), await stack.openings('demo-gate-exit')];
    const { context, page, record } = await openLink(camera, invite, { width: 414 });

    assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
    await assert.doesNotReject(page.getByText('Demo Estate, Main Gate').waitFor());
    await assert.doesNotReject(page.getByText(/opens Main gate once to come in/).waitFor());
    assert.match(await page.getByRole('timer').textContent(), /^11 h 5\d min$/);
    assert.match(await page.locator('#valid-until').textContent(), /\(Johannesburg time\)/);
    assert.ok(!record.requests.some((r) => r.url.includes('/assets/jsqr')), 'the decoder is not loaded before the scan');
    await checkState(page, '414-welcome-scan', assert);

    await scanWithCamera(page);
    assert.equal(await page.locator('#scanned-intercom').textContent(), 'Demo Estate, Main Gate');
    assert.equal(await page.getByRole('textbox', { name: 'Code from your SMS' }).getAttribute('autocomplete'), 'one-time-code');
    assert.equal(await page.getByRole('textbox', { name: 'Code from your SMS' }).getAttribute('inputmode'), 'numeric');
    await checkState(page, '414-code', assert);

    const entry = page.waitForRequest('**/guest/entry');
    await typeCode(page, invite.code);
    const sent = JSON.parse((await entry).postData());
    assert.deepEqual([sent.intercom_id, sent.gate_number], ['ic-demo', digits(gateNumber)], 'the scan carried the gate number');
    await gateOpen(page);
    await checkState(page, '414-entry-open', assert);
    assert.equal(await stack.openings('demo-gate-main'), entryBefore + 1, 'the entry gate opened once');

    // Later: the same link (kept on the phone) leads out through the exit gate.
    await page.goto(new URL('/', invite.link).href);
    await page.getByText(/You are inside\. Your code opens Exit gate once to leave/).waitFor();
    await checkState(page, '414-exit-scan', assert);
    await scanWithCamera(page);
    await typeCode(page, invite.code);
    await gateOpen(page);
    await page.getByText('Goodbye! Your code is now used up.').waitFor();
    assert.equal(await stack.openings('demo-gate-exit'), exitBefore + 1, 'the exit gate opened once');

    await page.reload();
    await page.getByRole('heading', { name: 'This code is used up' }).waitFor();
    await checkState(page, '414-used', assert);
    assertTokenNeverLeaked(assert, record, invite.token);
    await context.close();
  });

  test('typed gate number at 320 px when the camera is not used', async () => {
    const invite = await stack.invite('Sipho Nkosi');
    const { context, page, record } = await openLink(noCamera, invite, { width: 320, camera: false });
    await checkState(page, '320-welcome-scan', assert);
    await typeGateNumber(page, gateNumber);
    await checkState(page, '320-code', assert);
    await typeCode(page, invite.code);
    await gateOpen(page);
    await checkState(page, '320-entry-open', assert);
    const hasHorizontalScroll = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(hasHorizontalScroll, false, 'fits 320 px');
    assertTokenNeverLeaked(assert, record, invite.token);
    await context.close();
  });

  test('keyboard only: from the link to an open gate without a pointer', async () => {
    const invite = await stack.invite('Keyboard Guest');
    const { context, page } = await openLink(noCamera, invite, { camera: false });
    const focused = () => page.evaluate(() => document.activeElement && document.activeElement.id);
    for (let presses = 0; presses < 12 && (await focused()) !== 'manual-number'; presses++) {
      await page.keyboard.press('Tab');
    }
    assert.equal(await focused(), 'manual-number', 'the gate number is reachable with Tab');
    await page.keyboard.type(gateNumber);
    await page.keyboard.press('Enter');
    await page.getByRole('textbox', { name: 'Code from your SMS' }).waitFor();
    assert.equal(await focused(), 'code', 'focus moves to the code');
    await page.keyboard.type(invite.code);
    await gateOpen(page);
    assert.equal(await focused(), 'opened-title', 'focus moves to the result, which a screen reader reads');
    await context.close();
  });

  test('camera refused: a clear fallback to typing the gate number', async () => {
    const invite = await stack.invite('Lerato Mokoena');
    const { context, page } = await openLink(camera, invite, { camera: false });
    await page.getByRole('button', { name: 'Open camera and scan' }).click();
    await page.getByRole('alert').filter({ hasText: 'The camera is blocked for this page' }).waitFor();
    await checkState(page, '414-camera-denied', assert);
    await typeGateNumber(page, gateNumber);
    await typeCode(page, invite.code);
    await gateOpen(page);
    await context.close();
  });

  test('wrong codes say how many attempts are left, and the fifth locks the code', async () => {
    const invite = await stack.invite('Pieter van Wyk');
    const wrong = invite.code === '5555' ? '5556' : '5555';
    const { context, page } = await openLink(noCamera, invite, { camera: false });
    await typeGateNumber(page, gateNumber);
    await typeCode(page, wrong);
    await page.getByRole('alert').filter({ hasText: 'That code is not right' }).waitFor();
    assert.match(await page.getByRole('alert').filter({ hasText: 'not right' }).textContent(), /Attempts left: 4\./);
    await checkState(page, '414-wrong-code', assert);
    for (let left = 3; left >= 1; left--) {
      await typeCode(page, wrong);
      await page.getByText(`Attempts left: ${left}.`).waitFor();
    }
    await typeCode(page, wrong);
    await page.getByRole('heading', { name: 'Too many wrong codes' }).waitFor();
    await checkState(page, '414-locked', assert);
    await context.close();
  });

  test('a code revoked while the guest is at the gate stops working', async () => {
    const invite = await stack.invite('Thabo Molefe');
    const { context, page } = await openLink(noCamera, invite, { camera: false });
    await typeGateNumber(page, gateNumber);
    assert.equal(await stack.revoke(invite.id), 204);
    const before = await stack.openings('demo-gate-main');
    await typeCode(page, invite.code);
    await page.getByRole('heading', { name: 'This access was cancelled' }).waitFor();
    await checkState(page, '414-revoked', assert);
    assert.equal(await stack.openings('demo-gate-main'), before, 'nothing opened');
    await context.close();
  });

  test('a guest inside whose code is revoked is told to ask their host to get out, not in', async () => {
    const invite = await stack.invite('Lerato Mokoena');
    const { context, page } = await openLink(noCamera, invite, { camera: false });
    await typeGateNumber(page, gateNumber);
    await typeCode(page, invite.code);
    await gateOpen(page);
    assert.equal(await stack.revoke(invite.id), 204);
    await page.goto(new URL('/', invite.link).href);
    await page.getByRole('heading', { name: 'This access was cancelled' }).waitFor();
    assert.match(await page.locator('#refused-body').textContent(), /get out/, 'a guest inside needs a way out');
    await checkState(page, '414-revoked-inside', assert);
    await context.close();
  });

  test("another intercom's QR is named as such, before the code, and nothing opens", async () => {
    const invite = await stack.invite('Naledi Khumalo');
    const before = await stack.openings('demo-gate-main');
    const { context, page } = await openLink(otherCamera, invite);
    await page.getByRole('button', { name: 'Open camera and scan' }).click();
    await page.getByRole('alert').filter({ hasText: 'This QR code belongs to another intercom' }).waitFor();
    assert.equal(await page.locator('#step-code').isHidden(), true, 'no code is asked for');
    await checkState(page, '414-wrong-intercom', assert);
    assert.equal(await stack.openings('demo-gate-main'), before);
    await context.close();
  });

  test('a lost answer is retried with the same attempt and the gate opens once', async () => {
    const invite = await stack.invite('Kagiso Sithole');
    let firstCommand = null;
    const { context, page } = await openLink(noCamera, invite, { camera: false });
    const attempts = [];
    let letThrough;
    const held = new Promise((resolve) => { letThrough = resolve; });
    await page.route('**/guest/entry', async (route) => {
      attempts.push(JSON.parse(route.request().postData()).attempt_id);
      if (attempts.length === 1) {
        await route.fetch(); // reaches the service, which opens the gate…
        firstCommand = await stack.shadowCommandId('demo-gate-main');
        return route.abort('connectionreset'); // …and the answer is lost on the way back
      }
      await held; // the retry waits until the "no signal" state has been checked
      return route.continue();
    });
    await typeGateNumber(page, gateNumber);
    await typeCode(page, invite.code);
    await page.getByRole('status').filter({ hasText: 'No signal. Still trying to open Main gate' }).waitFor();
    while (attempts.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    await checkState(page, '414-retrying', assert);
    letThrough();
    await gateOpen(page);
    assert.equal(attempts.length, 2, 'asked twice');
    assert.equal(attempts[0], attempts[1], 'with the same attempt id');
    // The retry re-sends the same command, which a gate acts on once.
    assert.ok(firstCommand, 'the first request opened the gate');
    assert.equal(await stack.shadowCommandId('demo-gate-main'), firstCommand, 'one command id');
    await context.close();
  });

  test('a mute gate: "Opening" until its command ends, then the code was not used and works again', async () => {
    const invite = await stack.invite('Musa Ngcobo');
    await stack.setGate('demo-gate-main', 'mute');
    const { context, page } = await openLink(noCamera, invite, { camera: false });
    await typeGateNumber(page, gateNumber);
    await typeCode(page, invite.code);
    await page.getByRole('status').filter({ hasText: 'Opening Main gate' }).waitFor();
    await checkState(page, '414-opening', assert);
    // The command's confirm time passes with no report (the stack's clock moves on).
    await stack.advanceClock(1);
    await page.getByRole('alert').filter({ hasText: 'Main gate did not say it opened, so your code was not used' }).waitFor();
    await checkState(page, '414-gate-not-opened', assert);
    await stack.setGate('demo-gate-main', 'online');
    await typeCode(page, invite.code);
    await gateOpen(page);
    await context.close();
  });

  test('a slow gate: the page waits for its word, then says Gate open', async () => {
    const invite = await stack.invite('Lerato Dube');
    await stack.setGate('demo-gate-main', 'slow', 6);
    const { context, page } = await openLink(noCamera, invite, { camera: false });
    await typeGateNumber(page, gateNumber);
    await typeCode(page, invite.code);
    await page.getByRole('status').filter({ hasText: 'Opening Main gate' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Still waiting for Main gate to answer' }).waitFor();
    await gateOpen(page);
    await stack.setGate('demo-gate-main', 'online');
    await context.close();
  });

  test('an offline gate: said before the code is typed, and the code is kept', async () => {
    const invite = await stack.invite('Pieter Botha');
    await stack.setGate('demo-gate-main', 'offline');
    await stack.advanceClock(1); // a disconnect counts once it has lasted 30 s
    const before = await stack.openings('demo-gate-main');
    const { context, page } = await openLink(noCamera, invite, { camera: false });
    await page.getByRole('status').filter({ hasText: 'Main gate is offline right now. Your code will work once it is back' }).waitFor();
    await typeGateNumber(page, gateNumber);
    await typeCode(page, invite.code);
    await page.getByRole('alert').filter({ hasText: 'Main gate is offline right now, and your code was not used' }).waitFor();
    await checkState(page, '414-gate-offline', assert);
    await stack.setGate('demo-gate-main', 'online');
    await typeCode(page, invite.code);
    await gateOpen(page);
    assert.equal(await stack.openings('demo-gate-main'), before + 1);
    await context.close();
  });

  test('a reload between scan and code resumes at the code', async () => {
    const invite = await stack.invite('Zanele Mthembu');
    const { context, page } = await openLink(camera, invite);
    await scanWithCamera(page);
    await page.reload();
    await page.getByRole('textbox', { name: 'Code from your SMS' }).waitFor();
    assert.equal(await page.locator('#scanned-intercom').textContent(), 'Demo Estate, Main Gate');
    await typeCode(page, invite.code);
    await gateOpen(page);
    await context.close();
  });

  test("the intercom's QR opened by the phone's camera app continues with the kept link", async () => {
    const invite = await stack.invite('Bongani Zulu');
    const { context, page, record } = await openLink(noCamera, invite, { camera: false });
    await page.goto(`${stack.base}/s/ic-demo#${digits(gateNumber)}`);
    await page.getByRole('textbox', { name: 'Code from your SMS' }).waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the gate number left the address bar');
    await typeCode(page, invite.code);
    await gateOpen(page);
    assertTokenNeverLeaked(assert, record, invite.token);
    await context.close();

    const stranger = await phone(noCamera, { camera: false });
    await stranger.page.goto(`${stack.base}/s/ic-demo#${digits(gateNumber)}`);
    await stranger.page.getByRole('heading', { name: 'Open the link from your SMS first' }).waitFor();
    await checkState(stranger.page, '414-no-link', assert);
    await stranger.context.close();
  });

  test('an expired code says so', async () => {
    const invite = await stack.invite('Lindiwe Ndlovu');
    await stack.advanceClock(12 * 60 + 1);
    const { context, page } = await phone(noCamera, { camera: false });
    await page.goto(invite.link);
    await page.getByRole('heading', { name: 'This code has expired' }).waitFor();
    await checkState(page, '414-expired', assert);
    await context.close();
  });

  test('a code for tomorrow: the page counts down to its start, a code typed today counts nothing, tomorrow the gate opens', async () => {
    const now = await stack.advanceClock(0);
    const startsAt = new Date(now.getTime() + 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    const invite = await stack.invite('Lerato Molefe', 'ic-demo', { starts_at: startsAt });
    const { context, page } = await openLink(noCamera, invite, { width: 360, camera: false });
    const start = new Intl.DateTimeFormat('en-ZA', {
      timeZone: 'Africa/Johannesburg', weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).format(new Date(startsAt));
    await page.getByRole('heading', { name: `Your code works from ${start} (Johannesburg time)` }).waitFor();
    assert.match(await page.getByRole('timer').textContent(), /^2[34] h \d+ min$/);
    assert.equal(await page.locator('#step-scan').isHidden(), true, 'nothing to scan yet');
    await checkState(page, '360-not-yet', assert);

    // Typed today anyway (a page open since yesterday, a second phone): refused, nothing counted.
    const body = { token: invite.token, intercom_id: 'ic-demo', gate_number: digits(gateNumber), code: invite.code };
    const early = await stack.redeem('entry', body);
    assert.equal(early.status, 409);
    assert.equal(early.body.error.code, 'not_yet');
    const openingsBefore = await stack.openings('demo-gate-main');

    // Tomorrow, opened again, the page goes on to the scan, and the gate opens.
    await stack.advanceClock(24 * 60);
    await page.reload();
    await page.getByRole('button', { name: 'Open camera and scan' }).waitFor();
    await typeGateNumber(page, gateNumber);
    await typeCode(page, invite.code);
    await gateOpen(page);
    assert.equal(await stack.openings('demo-gate-main'), openingsBefore + 1);
    await context.close();
  });

  test('two links on one phone, at two estates: neither replaces the other, and an ended one is forgotten', async () => {
    const demo = await stack.invite('Two Links Demo');
    const north = await stack.invite('Two Links North', 'ic-demo-north');
    const northNumber = await stack.gateNumber('ic-demo-north');
    const { context, page } = await openLink(noCamera, demo, { camera: false });
    await page.goto(north.link);
    await page.getByText('North Estate').waitFor();
    // At the demo estate's gate (its QR opened by the camera app): the demo link, not the later one.
    await page.goto(`${stack.base}/s/ic-demo#${digits(gateNumber)}`);
    await page.locator('#scanned-intercom').filter({ hasText: 'Demo Estate, Main Gate' }).waitFor();
    await typeCode(page, demo.code);
    await gateOpen(page);
    await page.goto(`${stack.base}/s/ic-demo-north#${digits(northNumber)}`);
    await page.locator('#scanned-intercom').filter({ hasText: 'North Estate' }).waitFor();
    await typeCode(page, north.code);
    await gateOpen(page);
    const kept = () => page.evaluate(() => Object.keys(JSON.parse(localStorage.getItem('fluss-ota.links') || '{}')).sort());
    assert.deepEqual(await kept(), ['ic-demo', 'ic-demo-north']);
    // The north code is revoked: opening its gate's QR says so, and its link is forgotten.
    assert.equal(await stack.revoke(north.id, 'ic-demo-north'), 204);
    await page.goto(`${stack.base}/s/ic-demo-north#${digits(northNumber)}`);
    await page.getByRole('heading', { name: 'This access was cancelled' }).waitFor();
    assert.deepEqual(await kept(), ['ic-demo'], 'the ended link is forgotten, the live one kept');
    await checkState(page, '414-two-links', assert);
    await context.close();
  });

  test('a rotated gate number: the old sticker works during its grace, then is refused with the reason', async () => {
    const oldNumber = gateNumber;
    gateNumber = await stack.rotateGateNumber();
    const during = await stack.invite('Grace Guest');
    const first = await openLink(noCamera, during, { camera: false });
    await typeGateNumber(first.page, oldNumber);
    await typeCode(first.page, during.code);
    await gateOpen(first.page);
    await first.context.close();
    await stack.advanceClock(14 * 24 * 60 + 1);
    const after = await stack.invite('After Grace');
    const { context, page } = await openLink(noCamera, after, { camera: false });
    // Said at once, before the code step.
    await page.getByRole('textbox', { name: /type the gate number/ }).fill(oldNumber);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').filter({ hasText: 'That is not the gate number of Demo Estate, Main Gate' }).waitFor();
    await checkState(page, '414-old-gate-number', assert);
    await typeGateNumber(page, gateNumber);
    await typeCode(page, after.code);
    await gateOpen(page);
    await context.close();
  });

  test('every catalogue has every text, with the same placeholders', async () => {
    const dir = join(root, 'shared/i18n');
    const read = (code) => JSON.parse(readFileSync(join(dir, `${code}.json`), 'utf8'));
    const en = read('en');
    const placeholders = (s) => (s.match(/\{\w+\}/g) || []).sort();
    for (const code of ['af', 'zu', 'xh', 'st', 'tn']) {
      const other = read(code);
      assert.deepEqual(Object.keys(other).sort(), Object.keys(en).sort(), code);
      for (const [key, text] of Object.entries(other)) {
        assert.deepEqual(placeholders(text), placeholders(en[key]), `${code}: placeholders of ${key}`);
      }
    }
  });

  test("the invite's language over the browser's, and the guest's own choice over both", async () => {
    const afrikaans = await stack.invite('Annelie Botha', 'ic-demo', { guest_language: 'af' });
    const { context, page } = await phone(noCamera, { camera: false, locale: 'en-ZA' });
    await page.goto(afrikaans.link);
    await page.getByRole('heading', { name: 'Hallo Annelie' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'af');
    await page.getByText('Skandeer die QR-kode op die interkom').waitFor();
    // "(Johannesburg-tyd)" keeps together: a non-breaking hyphen.
    assert.match(await page.locator('#valid-until').textContent(), /\(Johannesburg\u2011tyd\)/);
    await checkState(page, '414-afrikaans', assert);
    await context.close();

    const english = await stack.invite('Annelie Engels');
    const other = await phone(noCamera, { camera: false, locale: 'af-ZA' });
    await other.page.goto(english.link);
    await other.page.getByRole('heading', { name: 'Hi Annelie' }).waitFor();
    await other.page.getByRole('button', { name: 'Afrikaans' }).click();
    await other.page.getByRole('heading', { name: 'Hallo Annelie' }).waitFor();
    await other.context.close();
  });
});

describe('what the page is served with', { concurrency: false }, () => {
  test('the security headers of headers.json on the page, its assets and the guest API', async () => {
    const { headers } = JSON.parse(readFileSync(join(root, 'infra/guest-page/headers.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(root, 'infra/guest-page/dist/manifest.json'), 'utf8'));
    const csp = headers['Content-Security-Policy'];
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(headers['Referrer-Policy'], 'no-referrer');
    assert.match(headers['Permissions-Policy'], /camera=\(self\)/);
    assert.equal(headers['X-Content-Type-Options'], 'nosniff');
    assert.match(headers['Strict-Transport-Security'], /max-age=\d{8}/);
    for (const path of ['/', '/s/ic-demo', manifest.js, manifest.css, manifest.decoder]) {
      const response = await fetch(`${stack.base}${path}`);
      assert.equal(response.status, 200, path);
      for (const [name, value] of Object.entries(headers)) assert.equal(response.headers.get(name), value, `${name} on ${path}`);
    }
    assert.match((await fetch(`${stack.base}${manifest.js}`)).headers.get('cache-control'), /immutable/);
    assert.equal((await fetch(`${stack.base}/`)).headers.get('cache-control'), 'no-cache');
    const body = '{"token":"x"}';
    const hash = createHash('sha256').update(body).digest('hex');
    const status = await fetch(`${stack.base}/guest/status`, { method: 'POST', body, headers: { 'x-amz-content-sha256': hash } });
    assert.equal(status.headers.get('cache-control'), 'no-store');
    assert.equal(status.headers.get('content-security-policy'), csp);
    assert.equal(status.headers.get('access-control-allow-origin'), null, 'same origin: no CORS');
  });

  test('the first screen weighs at most 60 KB gzipped and the decoder loads only at the scan', async () => {
    const invite = await stack.invite('Weight Guest');
    const { context, page, record } = await phone(noCamera, { camera: false });
    await page.goto(invite.link);
    await page.getByRole('heading', { name: 'Hi Weight' }).waitFor();
    const weight = await transferred(record.responses);
    assert.ok(weight.gzip <= 60 * 1024, `first screen ${weight.gzip} bytes gzipped`);
    assert.ok(!record.requests.some((r) => r.url.includes('/assets/jsqr')));
    assert.ok(record.requests.every((r) => r.url.startsWith(stack.base) || r.url.startsWith('data:')), 'no third-party request');
    await context.close();
  });

  test('the checks above catch what they look for', async () => {
    const { context, page } = await phone(noCamera, { camera: false });
    await page.goto(`${stack.base}/s/ic-demo`);
    await page.getByRole('heading', { name: 'Open the link from your SMS first' }).waitFor();
    // An inline script is a CSP violation; an input without a label is an axe violation.
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.body.append(script);
    });
    await assert.rejects(checkState(page, 'self-check-csp', assert), /CSP violations/);
    assert.equal(await page.evaluate(() => window.inlineRan), undefined, 'the inline script did not run');
    const fresh = await phone(noCamera, { camera: false });
    await fresh.page.goto(`${stack.base}/s/ic-demo`);
    await fresh.page.getByRole('heading', { name: 'Open the link from your SMS first' }).waitFor();
    await fresh.page.evaluate(() => document.querySelector('#view-no-link').append(document.createElement('input')));
    await assert.rejects(checkState(fresh.page, 'self-check-axe', assert), /axe violations/);
    await Promise.all([context.close(), fresh.context.close()]);
  });
});

/** Bytes of every response so far, raw and gzipped as CloudFront would send them. */
async function transferred(responses) {
  const { gzipSync } = await import('node:zlib');
  let raw = 0;
  let gzip = 0;
  for (const response of responses) {
    if (response.url().startsWith('data:')) continue;
    const body = await response.body().catch(() => Buffer.alloc(0));
    raw += body.length;
    gzip += gzipSync(body).length;
  }
  return { raw, gzip };
}
