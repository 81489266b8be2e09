// Shared set-up of the browser tests: one local stack (the real functions' handlers
// over moto, serving the built guest page), Debian's Chromium driven by
// playwright-core, a fake camera that films a real QR code, and checks every page
// state must pass (axe, CSP, no token in URLs / Referer / console).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pageDir = join(root, 'infra', 'guest-page');
const require = createRequire(join(pageDir, 'package.json'));
export const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const screenshotDir = join(root, 'target', 'guest-page-screens');
mkdirSync(screenshotDir, { recursive: true });

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts `local-stack` (built by the test command) on a free port; resolves when it is up. */
export async function startStack() {
  const port = await freePort();
  const binary = join(root, 'target', 'debug', 'local-stack');
  const child = spawn(binary, [], {
    cwd: root,
    env: { ...process.env, OTA_PORT: String(port), OTA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local stack did not start:\n${output}`)), 60000);
    const onData = (chunk) => {
      output += chunk;
      if (output.includes('local stack is up')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`local stack exited (${code}):\n${output}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const owner = await (await fetch(`${base}/_local/token/user-owner`)).text();
  const stack = new Stack(base, owner, child);
  stack.emulator = (output.match(/AWS emulator\s+(http:\/\/[0-9.:]+)/) || [])[1];
  const settings = { entry_gate: 'gate-main', exit_gate: 'gate-exit', max_users: 100, invite_duration_minutes: 720 };
  for (const intercom of ['ic-demo', 'ic-demo-north']) await stack.settings(settings, intercom);
  return stack;
}

class Stack {
  constructor(base, owner, child) {
    this.base = base;
    this.owner = owner;
    this.child = child;
  }

  stop() {
    this.child.kill('SIGINT');
  }

  async api(method, path, body) {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.owner}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  async settings(body, intercom = 'ic-demo') {
    const { status, body: answer } = await this.api('PUT', `/intercoms/${intercom}/settings`, body);
    if (status !== 200) throw new Error(`settings: ${status} ${JSON.stringify(answer)}`);
  }

  /** A code for a guest, as the owner's app creates it: `{ id, code, link, token }`. */
  async invite(name, intercom = 'ic-demo', choices = {}) {
    const mobile = `082${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    const { status, body } = await this.api('POST', `/intercoms/${intercom}/codes`, { name, mobile, ...choices });
    if (status !== 201) throw new Error(`create: ${status} ${JSON.stringify(body)}`);
    return { ...body, token: body.link.split('#')[1] };
  }

  /** The SMS the stack has sent to `mobile` (E.164), oldest first. */
  async sms(mobile) {
    const response = await fetch(`${this.base}/_local/sms?to=${encodeURIComponent(mobile)}`);
    if (!response.ok) throw new Error(`sms: ${response.status}`);
    return response.json();
  }

  async revoke(id, intercom = 'ic-demo') {
    return (await this.api('DELETE', `/intercoms/${intercom}/codes/${id}`)).status;
  }

  /** How often the simulated gate `thing` has opened. */
  async openings(thing) {
    const gates = await (await fetch(`${this.base}/_local/gates`)).json();
    return gates[thing].openings.length;
  }

  /** Makes the simulated gate `thing` behave as `mode` (online, offline, mute, slow). */
  async setGate(thing, mode, seconds) {
    const query = `mode=${mode}${seconds === undefined ? '' : `&seconds=${seconds}`}`;
    const response = await fetch(`${this.base}/_local/gates/${thing}?${query}`, { method: 'POST' });
    if (!response.ok) throw new Error(`gate ${thing}: ${response.status}`);
  }

  /** Every simulated gate: `{ thing: { mode, openings } }`. */
  async gates() {
    return (await fetch(`${this.base}/_local/gates`)).json();
  }

  /** The id of the door command in a gate's `ota` shadow, or null. */
  async shadowCommandId(thing) {
    const response = await fetch(`${this.base}/_local/shadows/${thing}`);
    if (response.status === 404) return null;
    return (await response.json()).state?.desired?.command?.id ?? null;
  }

  /** Moves the stack's clock on; its time after (`advanceClock(0)`: its time now). */
  async advanceClock(minutes) {
    const response = await fetch(`${this.base}/_local/clock?advance_minutes=${minutes}`, { method: 'POST' });
    if (!response.ok) throw new Error(`clock: ${response.status}`);
    return new Date((await response.json()).now);
  }

  /** What the guest functions answer a redemption sent straight, as the page sends it. */
  async redeem(which, body) {
    const text = JSON.stringify(body);
    const hash = createHash('sha256').update(text).digest('hex');
    const response = await fetch(`${this.base}/guest/${which}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-amz-content-sha256': hash },
      body: text,
    });
    return { status: response.status, body: await response.json() };
  }

  /** The QR code at the intercom's gates (or one carrying `number`). */
  async qrSvg(intercom, number) {
    const response = await fetch(`${this.base}/_local/qr/${intercom}${number ? `?number=${number}` : ''}`);
    if (!response.ok) throw new Error(`qr ${intercom}: ${response.status}`);
    return response.text();
  }

  /** The gate number printed under the intercom's QR code, read off it as a guest would. */
  async gateNumber(intercom = 'ic-demo') {
    const printed = (await this.qrSvg(intercom)).match(/>(\d{4} \d{4})<\/text>/);
    if (!printed) throw new Error(`no gate number under ${intercom}'s QR code`);
    return printed[1];
  }

  /** A new gate number for the intercom, as `ota-admin gate-number` gives it. */
  async rotateGateNumber(intercom = 'ic-demo') {
    const response = await fetch(`${this.base}/_local/gate-number/${intercom}`, { method: 'POST' });
    if (!response.ok) throw new Error(`gate number ${intercom}: ${response.status}`);
    return (await response.json()).printed;
  }
}

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium whose camera films `y4m` (no camera flags when `y4m` is null). */
export async function launch(y4m) {
  const args = [...CHROMIUM_ARGS];
  if (y4m) args.push('--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`);
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args });
}

/**
 * Writes a one-frame Y4M (640×480, 4:2:0) showing the QR the local stack renders
 * for `intercom` (with `number`, if given: another intercom's, an old sticker);
 * Chromium's fake camera plays it in a loop.
 */
export async function qrVideo(browser, stack, intercom, file, number) {
  const svg = await stack.qrSvg(intercom, number);
  const page = await browser.newPage();
  const luma = await page.evaluate(async (svgText) => {
    const [width, height] = [640, 480];
    const image = new Image();
    image.src = `data:image/svg+xml;base64,${btoa(svgText)}`;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff';
    context.fillRect(0, 0, width, height);
    const side = 400;
    context.drawImage(image, (width - side) / 2, (height - side * (image.height / image.width)) / 2, side, side * (image.height / image.width));
    const rgba = context.getImageData(0, 0, width, height).data;
    const y = new Uint8Array(width * height);
    for (let i = 0; i < y.length; i++) {
      y[i] = Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
    }
    let binary = '';
    for (let i = 0; i < y.length; i += 0x8000) binary += String.fromCharCode(...y.subarray(i, i + 0x8000));
    return btoa(binary);
  }, svg);
  await page.close();
  const y = Buffer.from(luma, 'base64');
  const chroma = Buffer.alloc((640 / 2) * (480 / 2), 128);
  writeFileSync(file, Buffer.concat([Buffer.from('YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\nFRAME\n'), y, chroma, chroma]));
  return file;
}

/**
 * A phone-sized page that records what must never happen: CSP violations, the
 * token in a request URL, a Referer or the console.
 */
export async function phone(browser, { width = 414, height = 860, camera = true, locale = 'en-ZA' } = {}) {
  const context = await browser.newContext({
    viewport: { width, height },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
    locale,
    permissions: camera ? ['camera'] : [],
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  const record = { requests: [], console: [], responses: [] };
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  page.on('request', (request) => record.requests.push({ url: request.url(), headers: request.headers() }));
  page.on('response', (response) => record.responses.push(response));
  page.on('console', (message) => record.console.push(message.text()));
  page.on('pageerror', (error) => record.console.push(`pageerror: ${error.message}`));
  return { context, page, record };
}

/** What every state of the page must satisfy; `name` labels the screenshot. */
export async function checkState(page, name, assert) {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
  if (/^lang-(zu|xh|st|tn)-/.test(name)) {
    // A browser with no dates in the language must not fall back to English day and
    // month names: the page writes the date in numbers then, as the SMS does (28/12).
    const text = await page.evaluate(() => document.body.innerText);
    const english = text.match(/\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/);
    assert.equal(english, null, `an English date word in state ${name}: ${english?.[0]}`);
  }
  if (/^lang-(zu|xh)-/.test(name)) {
    // A class prefix stays with the word it is hyphenated to (ku-intercom, ye-QR,
    // eziyisi-8): the page binds them with U+2011, so no line ends on "ku-".
    const text = await page.evaluate(() => document.body.innerText);
    const loose = text.match(/(^|[\s(])[a-z]{1,8}-[\p{L}\d]/u);
    assert.equal(loose, null, `a breakable prefix hyphen in state ${name}: ${loose?.[0]}`);
  }
  // Evaluated through the DevTools protocol, which the page's CSP does not govern
  // (an eval() inside the page would be refused, rightly).
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(violations, [], `axe violations in state ${name}`);
  const csp = await page.evaluate(() => window.__cspViolations);
  assert.deepEqual(csp, [], `CSP violations in state ${name}`);
}

/** The token appears in no request URL, no Referer, no console line. */
export function assertTokenNeverLeaked(assert, record, token) {
  for (const request of record.requests) {
    assert.ok(!request.url.includes(token), `token in a request URL: ${request.url}`);
    assert.ok(!(request.headers.referer || '').includes(token), `token in a Referer: ${request.url}`);
  }
  for (const line of record.console) assert.ok(!line.includes(token), `token in the console: ${line}`);
}
