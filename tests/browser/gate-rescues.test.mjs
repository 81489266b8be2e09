// The ways out the backend offers, reached through the page alone: a reload (or a
// return) while the gate is opening waits for the gate's word instead of ending in
// "come in first"; a guest whose entry gate opened without saying so is offered
// the exit and gets out. Every state is checked (axe, CSP) and screenshotted at
// 360 px.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { checkState, launch, root, startStack } from './harness.mjs';
import { gateOpen, openLink, typeCode, typeGateNumber } from './guest.mjs';

let stack;
let browser;
let gateNumber;

before(async () => {
  stack = await startStack();
  gateNumber = await stack.gateNumber();
  browser = await launch(null);
});

after(async () => {
  if (browser) await browser.close();
  if (stack) stack.stop();
});

describe('the rescues a guest can reach', { concurrency: false }, () => {
  test('a reload while the gate is opening keeps waiting, then says Gate open', async () => {
    const invite = await stack.invite('Reload Dlamini');
    await stack.setGate('demo-gate-main', 'slow', 4);
    const { context, page } = await openLink(browser, invite, { camera: false, width: 360 });
    await typeGateNumber(page, gateNumber);
    // Reloaded once the gate has the command (the service answered 202 opening).
    const sent = page.waitForResponse((response) => response.url().endsWith('/guest/entry'));
    await typeCode(page, invite.code);
    assert.equal((await sent).status(), 202);
    await page.reload();
    await page.getByRole('status').filter({ hasText: 'Opening Main gate' }).waitFor();
    await checkState(page, '360-reloaded-while-opening', assert);
    await gateOpen(page);
    await checkState(page, '360-open-after-reload', assert);
    assert.equal(await stack.openings('demo-gate-main'), 1);
    await stack.setGate('demo-gate-main', 'online');
    await context.close();
  });

  test('a mute entry gate: the guest inside is offered the exit and gets out through the page', async () => {
    const invite = await stack.invite('Mute Khumalo');
    await stack.setGate('demo-gate-main', 'mute');
    const before = await stack.openings('demo-gate-exit');
    const { context, page } = await openLink(browser, invite, { camera: false, width: 360 });
    await typeGateNumber(page, gateNumber);
    await typeCode(page, invite.code);
    await page.getByRole('status').filter({ hasText: 'Opening Main gate' }).waitFor();
    // The gate opened and said nothing; its command's confirm time passes.
    await stack.advanceClock(1);
    await page.getByRole('alert').filter({ hasText: 'Main gate did not say it opened' }).waitFor();
    const exit = page.getByRole('button', { name: 'Already inside? Open Exit gate to leave' });
    await exit.waitFor();
    await checkState(page, '360-entry-unanswered-exit-offered', assert);
    await stack.setGate('demo-gate-main', 'online');
    await exit.click();
    await typeCode(page, invite.code);
    await page.getByRole('status').filter({ hasText: 'Opening Exit gate' }).waitFor();
    await gateOpen(page);
    await page.getByText('Goodbye! Your code is now used up.').waitFor();
    await checkState(page, '360-out-after-mute-entry', assert);
    assert.equal(await stack.openings('demo-gate-exit'), before + 1, 'one exit');
    // Coming back on the same link: the code is used up, the entry is not offered again.
    await page.reload();
    await page.getByRole('heading', { name: 'This code is used up' }).waitFor();
    await context.close();
  });

  test('a gate registered with ota-admin, or added at /_local/gates, is simulated at once', async () => {
    execFileSync(join(root, 'target', 'debug', 'ota-admin'),
      ['intercom', 'ic-lobby', '--label', 'Lobby', '--gate', 'lobby-door=Lobby door=fluss-gate-lobby'], {
        env: { ...process.env, OTA_TABLE_NAME: 'ota-local', AWS_ENDPOINT_URL: stack.emulator, AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' },
      });
    const added = await fetch(`${stack.base}/_local/gates?thing=fluss-gate-garage`, { method: 'POST' });
    assert.equal(added.status, 201);
    for (let tries = 0; !(await stack.gates())['fluss-gate-lobby'] && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const gates = await stack.gates();
    assert.deepEqual(gates['fluss-gate-lobby']?.mode, { mode: 'online' }, 'the registered gate plays');
    assert.deepEqual(gates['fluss-gate-garage']?.mode, { mode: 'online' });
  });
});
