// A guest at the gate with the keyboard up, in their own language: every message in
// view and said once, a wrong gate number refused before the code, the host named
// on every refusal with the contact the owner chose, the way to the gate, and every
// state in every language screenshotted at 360 × 740 (target/guest-page-screens/).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkState, launch, phone, startStack } from './harness.mjs';
import { typeGateNumber } from './guest.mjs';

let stack;
let browser;
let gateNumber;
const LANGUAGES = ['en', 'af', 'zu', 'xh', 'st', 'tn'];

before(async () => {
  stack = await startStack();
  gateNumber = await stack.gateNumber();
  browser = await launch(null);
});

after(async () => {
  if (browser) await browser.close();
  if (stack) stack.stop();
});

/** Whether the element is wholly inside the viewport: what a guest sees without scrolling. */
async function inView(page, selector) {
  return page.locator(selector).evaluate((el) => {
    const box = el.getBoundingClientRect();
    return !el.hidden && box.height > 0 && box.top >= -1 && box.bottom <= window.innerHeight + 1;
  });
}

/** The messages showing: one box for one thing. */
const shownProblems = (page) => page.locator('.problem:visible').count();

async function open(invite, options = {}) {
  const guest = await phone(browser, { width: 360, height: 740, camera: false, ...options });
  await guest.page.goto(invite.link);
  await guest.page.locator('#greeting').filter({ hasText: /\S/ }).waitFor();
  return guest;
}

/** Typed digit by digit, as on a keypad (the 4th sends it), in any language. */
const typeCode = (page, code) => page.locator('#code').pressSequentially(code);

const typeNumber = async (page, number) => {
  await page.locator('#manual-number').fill(number);
  await page.locator('#manual-form button[type=submit]').click();
};

const wrongNumber = () => {
  const digits = gateNumber.replace(/\s/g, '');
  return `${digits.slice(0, 7)}${(Number(digits[7]) + 1) % 10}`;
};

describe('the guest at the gate', { concurrency: false }, () => {
  test('with the keyboard up (360 × 400), every message after an action is in view, in one box', async () => {
    const invite = await stack.invite('Keyboard Up');
    const { context, page, record } = await open(invite, { height: 400 });
    await typeNumber(page, '1234');
    await page.locator('#scan-problem').filter({ hasText: 'Type the 8 digits' }).waitFor();
    assert.ok(await inView(page, '#scan-problem'), 'a too-short number is said in view');
    assert.equal(await shownProblems(page), 1);

    // A wrong number is refused at once, before the code step, and nothing is redeemed.
    await typeNumber(page, wrongNumber());
    await page.locator('#scan-problem').filter({ hasText: 'That is not the gate number of Demo Estate' }).waitFor();
    assert.ok(await inView(page, '#scan-problem'));
    assert.equal(await page.locator('#step-code').isHidden(), true, 'still at the scan step');
    assert.ok(!record.requests.some((r) => r.url.includes('/guest/entry')), 'no redemption was tried');
    await checkState(page, '360x400-wrong-gate-number', assert);

    await typeGateNumber(page, gateNumber);
    assert.ok(await page.evaluate(() => document.body.classList.contains('compact')), 'the greeting is one line');
    await typeCode(page, invite.code === '0000' ? '1111' : '0000');
    await page.locator('#code-problem').filter({ hasText: 'That code is not right' }).waitFor();
    assert.ok(await inView(page, '#code-problem'), 'a wrong code is said in view');
    assert.ok(await inView(page, '#code'), 'with the field to type again');
    assert.equal(await shownProblems(page), 1);
    await checkState(page, '360x400-wrong-code', assert);

    await stack.setGate('demo-gate-main', 'offline');
    await stack.advanceClock(1); // a disconnect counts once it has lasted 30 s
    await typeCode(page, invite.code);
    await page.locator('#code-problem').filter({ hasText: 'offline right now' }).waitFor();
    assert.ok(await inView(page, '#code-problem'), 'the gate being offline is said in view');
    assert.equal(await shownProblems(page), 1, 'one box, not two, for the offline gate');
    await checkState(page, '360x400-gate-offline', assert);
    await stack.setGate('demo-gate-main', 'online');
    await context.close();
  });

  test('the host is named on every refusal, with the contact the owner chose, and nowhere when none', async () => {
    const thandi = { host_name: 'Thandi Mokoena', host_contact: { via: 'call', number: '082 555 0100' } };
    const revoked = await stack.invite('Sipho Revoked', 'ic-demo', thandi);
    assert.equal(await stack.revoke(revoked.id), 204);
    let guest = await open(revoked);
    await guest.page.getByRole('heading', { name: 'This access was cancelled' }).waitFor();
    await guest.page.getByText('Your host: Thandi Mokoena').waitFor();
    assert.equal(await guest.page.getByRole('link', { name: 'Call Thandi Mokoena' }).getAttribute('href'), 'tel:+27825550100');
    await checkState(guest.page, '360-revoked-host-call', assert);
    await guest.context.close();

    const chat = { host_name: 'Thandi Mokoena', host_contact: { via: 'whatsapp', number: '082 555 0100' } };
    const locked = await stack.invite('Sipho Locked', 'ic-demo', chat);
    for (let i = 0; i < 5; i++) {
      const wrong = String((Number(locked.code) + 1 + i) % 10000).padStart(4, '0');
      await stack.redeem('entry', { token: locked.token, intercom_id: 'ic-demo', gate_number: gateNumber.replace(/\s/g, ''), code: wrong });
    }
    guest = await open(locked);
    await guest.page.getByRole('heading', { name: 'Too many wrong codes' }).waitFor();
    await guest.page.getByText('Thandi Mokoena invited you').waitFor({ state: 'attached' });
    const whatsapp = guest.page.getByRole('link', { name: 'WhatsApp Thandi Mokoena' });
    assert.equal(await whatsapp.getAttribute('href'), 'https://wa.me/27825550100');
    await checkState(guest.page, '360-locked-host-whatsapp', assert);
    await guest.context.close();

    const later = await stack.invite('Sipho Later', 'ic-demo', {
      host_name: 'Thandi Mokoena',
      starts_at: new Date((await stack.advanceClock(0)).getTime() + 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    guest = await open(later);
    await guest.page.getByRole('heading', { name: /^Your code works from/ }).waitFor();
    await guest.page.getByText('Your host: Thandi Mokoena').waitFor();
    assert.equal(await guest.page.locator('#host-contact').isHidden(), true, 'no contact the owner did not choose');
    await guest.context.close();

    const nobody = await stack.invite('Nobody Named');
    assert.equal(await stack.revoke(nobody.id), 204);
    guest = await open(nobody);
    await guest.page.getByRole('heading', { name: 'This access was cancelled' }).waitFor();
    assert.equal(await guest.page.locator('#refused-host').isHidden(), true);
    assert.equal(await guest.page.locator('#host-contact').isHidden(), true);
    assert.equal(await guest.page.locator('#invited-by').isHidden(), true);
    await guest.context.close();
  });

  test('a guest invited in isiZulu gets the SMS, the share message and the page in isiZulu, and can switch to English', async () => {
    const invite = await stack.invite('Nomvula Zulu', 'ic-demo', { guest_language: 'zu', host_name: 'Thandi' });
    assert.equal(invite.guest_language, 'zu');
    assert.match(invite.share.message, /^Sawubona Nomvula Zulu, nakhu ukungena kwakho/);
    let sent = [];
    for (let i = 0; i < 50 && sent.length === 0; i++) {
      sent = await stack.sms(invite.guest.mobile);
      if (sent.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.match(sent[0].message, /^Nomvula: Ikhodi ye-Fluss \d{4} \(12h\)\nEsangweni vula .* uskene i-QR, ufake ikhodi\.$/);
    const { context, page } = await open(invite);
    await page.getByRole('heading', { name: 'Sawubona Nomvula' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zu');
    await page.getByText('Umenywe ngu\u2011Thandi').waitFor();
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Hi Nomvula' }).waitFor();
    await page.getByText('Thandi invited you').waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Hi Nomvula' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'English' }).getAttribute('aria-pressed'), 'true', 'the choice is kept');
    await context.close();
  });

  test('the address and a maps link appear where provisioned, and not elsewhere', async () => {
    const demo = await stack.invite('Map Guest');
    let guest = await open(demo);
    await guest.page.getByText('12 Jacaranda Road, Parkhurst, Johannesburg').waitFor();
    const directions = guest.page.getByRole('link', { name: 'Directions to the gate' });
    assert.equal(await directions.getAttribute('href'), 'https://www.google.com/maps/search/?api=1&query=-26.138600,28.017200');
    assert.match(demo.share.message, /Address: 12 Jacaranda Road, Parkhurst, Johannesburg\nDirections: https:\/\/www\.google\.com\/maps/);
    await checkState(guest.page, '360-address', assert);
    await guest.context.close();
    const north = await stack.invite('North Guest', 'ic-demo-north');
    guest = await open(north);
    await guest.page.getByText('North Estate').waitFor();
    assert.equal(await guest.page.locator('#place').isHidden(), true);
    assert.ok(!north.share.message.includes('Address'));
    await guest.context.close();
  });

  test('every state in every language, at 360 × 740', async () => {
    const host = { host_name: 'Thandi Mokoena', host_contact: { via: 'call', number: '082 555 0100' } };
    for (const language of LANGUAGES) {
      // Shared by the owner: forty codes in an hour would use up the SMS allowance.
      const choices = { guest_language: language, delivery: 'owner_shares', ...host };
      const shot = (page, state) => checkState(page, `lang-${language}-${state}`, assert);

      const journey = await stack.invite('Ana Dlamini', 'ic-demo', choices);
      const { context, page } = await open(journey);
      await shot(page, 'welcome');
      await typeNumber(page, '1234');
      await page.locator('#scan-problem:visible').waitFor();
      await shot(page, 'number-too-short');
      await typeNumber(page, wrongNumber());
      await page.locator('#scan-problem:visible').waitFor();
      await shot(page, 'wrong-gate-number');
      await typeNumber(page, gateNumber);
      await page.locator('#code').waitFor();
      await shot(page, 'code');
      await typeCode(page, journey.code === '0000' ? '1111' : '0000');
      await page.locator('#code-problem:visible').waitFor();
      await shot(page, 'wrong-code');
      await typeCode(page, journey.code);
      await page.locator('#step-opened:visible').waitFor();
      await shot(page, 'gate-open');
      // Back on the same link to leave, then the link once it has done both.
      await page.reload();
      await page.locator('#code:visible, #manual-number:visible').first().waitFor();
      if (!(await page.locator('#code').isVisible())) await typeNumber(page, gateNumber);
      await page.locator('#code:visible').waitFor();
      // Past the first step the greeting is one line, but which gate the code opens, and
      // that it is the way out, stays said.
      const purpose = page.locator('#purpose');
      assert.ok(await purpose.isVisible(), `${language}: the way out is said on the code step`);
      assert.match(await purpose.textContent(), /\S/);
      await shot(page, 'leaving');
      await typeCode(page, journey.code);
      await page.locator('#step-opened:visible').waitFor();
      await shot(page, 'goodbye');
      await page.reload();
      await page.locator('#step-refused:visible').waitFor();
      await shot(page, 'used');
      await context.close();

      // The entry gate offline (said before the code, and again after a press), then slow.
      const troubled = await stack.invite('Ana Dlamini', 'ic-demo', choices);
      await stack.setGate('demo-gate-main', 'offline');
      await stack.advanceClock(1); // a disconnect counts once it has lasted 30 s
      const atGate = await open(troubled);
      await typeNumber(atGate.page, gateNumber);
      await atGate.page.locator('#code:visible').waitFor();
      await typeCode(atGate.page, troubled.code);
      await atGate.page.locator('#code-problem:visible').waitFor();
      // "…or call the person who invited you": the page names them and offers the call.
      const call = atGate.page.locator('#step-code a[href^="tel:"]:visible');
      assert.equal(await call.count(), 1, `${language}: the host's call on the gate-offline message`);
      assert.match(await call.textContent(), /Thandi Mokoena/);
      await shot(atGate.page, 'gate-offline');
      await stack.setGate('demo-gate-main', 'slow', 3);
      await typeCode(atGate.page, troubled.code);
      await atGate.page.locator('#step-progress:visible').waitFor();
      await shot(atGate.page, 'opening');
      await atGate.page.locator('#step-opened:visible').waitFor();
      await stack.setGate('demo-gate-main', 'online');
      await atGate.context.close();

      const lock = async (invite) => {
        for (let i = 1; i <= 5; i++) {
          const wrong = String((Number(invite.code) + i) % 10000).padStart(4, '0');
          await stack.redeem('entry', { token: invite.token, intercom_id: 'ic-demo', gate_number: gateNumber.replace(/\s/g, ''), code: wrong });
        }
      };
      // A gate that reports it could not open, press after press, until the passage's
      // allowance of failures is used up: a person must help.
      const wearOut = async (invite) => {
        await stack.setGate('demo-gate-main', 'failing');
        const press = { token: invite.token, intercom_id: 'ic-demo', gate_number: gateNumber.replace(/\s/g, ''), code: invite.code };
        let answer = null;
        for (let i = 0; i < 200 && answer?.body?.error?.code !== 'gate_failing'; i++) {
          answer = await stack.redeem('entry', press);
          if (answer.status === 202 || answer.body?.error?.code === 'opening') await new Promise((r) => setTimeout(r, 100));
        }
        await stack.setGate('demo-gate-main', 'online');
        assert.equal(answer?.body?.error?.code, 'gate_failing', JSON.stringify(answer));
      };
      for (const [state, prepare] of [
        ['revoked', async (invite) => stack.revoke(invite.id)],
        ['locked', lock],
        ['gate-failing', wearOut],
        ['not-yet', null],
      ]) {
        const extra = state === 'not-yet'
          ? { starts_at: new Date((await stack.advanceClock(0)).getTime() + 2 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z') }
          : {};
        const invite = await stack.invite('Ana Dlamini', 'ic-demo', { ...choices, ...extra });
        if (prepare) await prepare(invite);
        const guest = await open(invite);
        await guest.page.locator('#step-refused:visible').waitFor();
        await shot(guest.page, state);
        await guest.context.close();
      }

      // Expired (inside its exit window: the page can still name the host). Last in this
      // language: the clock moves on for the next one's codes too.
      const late = await stack.invite('Ana Dlamini', 'ic-demo', choices);
      await stack.advanceClock(12 * 60 + 1);
      const tooLate = await open(late);
      await tooLate.page.locator('#step-refused:visible').waitFor();
      await shot(tooLate.page, 'expired');
      await tooLate.context.close();

      // A link that is no invite's, and the intercom's QR opened with no link kept:
      // said in the phone's language, there being no invite to say which.
      const stranger = await phone(browser, { width: 360, height: 740, camera: false, locale: `${language}-ZA` });
      await stranger.page.goto(`${stack.base}/#ic-demo.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA`);
      await stranger.page.locator('#step-refused:visible').waitFor();
      await shot(stranger.page, 'invalid-link');
      await stranger.page.evaluate(() => localStorage.clear());
      await stranger.page.goto(`${stack.base}/s/ic-demo#${gateNumber.replace(/\s/g, '')}`);
      await stranger.page.locator('#view-no-link:visible').waitFor();
      await shot(stranger.page, 'no-link');
      await stranger.context.close();
    }
  });
});
