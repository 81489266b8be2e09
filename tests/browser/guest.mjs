// What a guest does on the page, step by step, as the browser tests drive it: by
// the page's roles and visible names only, as a person reads the screen.
import { phone } from './harness.mjs';

export async function openLink(browser, invite, options) {
  const guest = await phone(browser, options);
  await guest.page.goto(invite.link);
  await guest.page.getByRole('heading', { level: 1, name: /^Hi |^Hallo / }).waitFor();
  return guest;
}

export async function scanWithCamera(page) {
  await page.getByRole('button', { name: 'Open camera and scan' }).click();
  await page.getByRole('textbox', { name: 'Code from your SMS' }).waitFor();
}

export async function typeGateNumber(page, number) {
  await page.getByRole('textbox', { name: /type the gate number/ }).fill(number);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('textbox', { name: 'Code from your SMS' }).waitFor();
}

export async function typeCode(page, code) {
  // Typed digit by digit, as on a keypad: the 4th digit sends it.
  await page.getByRole('textbox', { name: 'Code from your SMS' }).pressSequentially(code);
}

export const gateOpen = (page) => page.getByRole('heading', { name: 'Gate open' }).waitFor();

