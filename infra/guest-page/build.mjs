// Builds the guest page into dist/: minified, content-hashed assets (so CloudFront
// and phones may cache them forever) and index.html naming them. The one build
// tool is esbuild (pinned in package-lock.json); the decoder (jsQR) becomes its own
// asset, loaded only at the scan step.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const src = (name) => readFileSync(join(here, 'src', name), 'utf8');
const dist = join(here, 'dist');

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });

function emit(name, ext, content) {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 12);
  const file = `${name}.${hash}.${ext}`;
  writeFileSync(join(dist, 'assets', file), content);
  return `/assets/${file}`;
}

const target = ['chrome80', 'safari13', 'firefox78'];
const minify = async (code, loader) => (await transform(code, { loader, minify: true, target })).code;

const css = emit('app', 'css', await minify(src('style.css'), 'css'));
// Every text the guest reads: the catalogues the service's SMS and share message
// come from too (shared/i18n/<language>.json), bundled whole (about 2 KB gzipped each).
const catalogues = join(here, '..', '..', 'shared', 'i18n');
const messages = Object.fromEntries(
  readdirSync(catalogues)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => [file.replace(/\.json$/, ''), JSON.parse(readFileSync(join(catalogues, file), 'utf8'))]),
);
// isiZulu and isiXhosa hyphenate a class prefix to an English word or a number
// (i-QR, ku-intercom, eziyisi-8); a browser would end a line after the hyphen and
// leave the prefix alone. On the page (never in the SMS, which must stay GSM-7) the
// hyphen becomes U+2011, which does not break.
for (const language of ['zu', 'xh']) {
  for (const [key, text] of Object.entries(messages[language] ?? {})) {
    messages[language][key] = text.replace(/(^|[\s(])([a-z]{1,8})-(?=[\p{L}\d{])/gu, '$1$2\u2011');
  }
}
const catalogue = `const MESSAGES = ${JSON.stringify(messages)};`;
const js = emit('app', 'js', await minify(`${catalogue}\n${src('words.js')}\n${src('keep.js')}\n${src('scanner.js')}\n${src('app.js')}`, 'js'));
const decoder = emit('jsqr', 'js', await minify(readFileSync(require.resolve('jsqr/dist/jsQR.js'), 'utf8'), 'js'));

const html = src('index.html').replace('%CSS%', css).replace('%JS%', js).replace('%DECODER%', decoder);
if (html.includes('%')) throw new Error('index.html has a placeholder left');
writeFileSync(join(dist, 'index.html'), html);
writeFileSync(join(dist, 'manifest.json'), `${JSON.stringify({ css, js, decoder }, null, 2)}\n`);
console.log(`guest page built: dist/index.html, ${css}, ${js}, ${decoder}`);
