// Benchmark (not a test): a guest's tap to a confirmed "Gate open", in Chromium on a
// slow mobile link (every request delayed by 400 ms, about a 3G round trip), with
// the simulated gate answering at once. The tap is the 4th digit typed; the end is
// the "Gate open" heading, shown only after the gate has reported opening (the page
// learns it from its status polls). `make bench-gate`; results go to
// infra/bench/GATE-LATENCY.md by hand.
import { launch, phone, startStack } from './harness.mjs';

const ROUND_TRIP_MS = 400;
const TAPS = Number(process.env.TAPS || 20);

const stack = await startStack();
const browser = await launch(null);
const times = [];
try {
  for (let i = 0; i < TAPS; i++) {
    const invite = await stack.invite(`Latency Guest ${i}`);
    const { context, page } = await phone(browser, { camera: false });
    await page.goto(invite.link);
    await page.getByRole('heading', { level: 1, name: /^Hi / }).waitFor();
    await page.getByRole('textbox', { name: /type the gate number/ }).fill(await stack.gateNumber());
    await page.getByRole('button', { name: 'Continue' }).click();
    const field = page.getByRole('textbox', { name: 'Code from your SMS' });
    await field.waitFor();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: ROUND_TRIP_MS,
      downloadThroughput: (1.6 * 1024 * 1024) / 8,
      uploadThroughput: (750 * 1024) / 8,
    });
    await field.pressSequentially(invite.code.slice(0, 3));
    // Timed in the page, from the 4th key press to the moment "Gate open" is shown:
    // Playwright's own waiting polls too coarsely for this.
    await page.evaluate(() => {
      window.__tapAt = null;
      window.__openAt = null;
      document.addEventListener('keydown', () => { window.__tapAt ??= performance.now(); }, { capture: true });
      const opened = document.getElementById('step-opened');
      new MutationObserver(() => { if (!opened.hidden) window.__openAt ??= performance.now(); })
        .observe(opened, { attributes: true, attributeFilter: ['hidden'] });
    });
    await field.press(invite.code[3]);
    await page.getByRole('heading', { name: 'Gate open' }).waitFor();
    times.push(Math.round(await page.evaluate(() => window.__openAt - window.__tapAt)));
    await context.close();
  }
} finally {
  await browser.close();
  stack.stop();
}
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
console.log(`tap to "Gate open", ${TAPS} taps, ${ROUND_TRIP_MS} ms per request: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, min ${times[0]} ms, max ${times[times.length - 1]} ms`);
