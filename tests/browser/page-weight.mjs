// Benchmark (not a test): what the guest page transfers, per request, raw and
// gzipped as CloudFront compresses it, for the first screen and for the scan step.
// `make bench-page`; results go to infra/guest-page/WEIGHT.md by hand.
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { launch, phone, qrVideo, startStack } from './harness.mjs';

const stack = await startStack();
const plain = await launch(null);
const y4m = await qrVideo(plain, stack, 'ic-demo', join(tmpdir(), `qr-weight-${process.pid}.y4m`));
const browser = await launch(y4m);
try {
  const invite = await stack.invite('Weight Guest');
  const { page, record } = await phone(browser);
  await page.goto(invite.link);
  await page.getByRole('heading', { name: 'Hi Weight' }).waitFor();
  const firstScreen = await sizes(record.responses.splice(0));
  await page.getByRole('button', { name: 'Open camera and scan' }).click();
  await page.getByRole('textbox', { name: 'Code from your SMS' }).waitFor();
  const scanStep = await sizes(record.responses.splice(0));
  print('First screen (link opened, status answered)', firstScreen);
  print('Scan step (decoder loaded, QR decoded)', scanStep);
} finally {
  await Promise.all([browser.close(), plain.close()]);
  stack.stop();
}

async function sizes(responses) {
  const rows = [];
  for (const response of responses) {
    if (response.url().startsWith('data:')) continue;
    const body = await response.body().catch(() => Buffer.alloc(0));
    rows.push({ path: new URL(response.url()).pathname, raw: body.length, gzip: gzipSync(body).length });
  }
  return rows;
}

function print(title, rows) {
  console.log(`\n${title}\n| request | bytes | gzip |\n|---|---:|---:|`);
  for (const row of rows) console.log(`| ${row.path} | ${row.raw} | ${row.gzip} |`);
  const total = (key) => rows.reduce((sum, row) => sum + row[key], 0);
  console.log(`| **total** | ${total('raw')} | ${total('gzip')} |`);
}
