// The API as the app's developers will use it: a client generated from
// infra/openapi.yaml by openapi-typescript (generated/api.d.ts), called through
// openapi-fetch, type-checked by tsc, against the local stack. Every answer it gets
// is validated against the document (ajv, JSON Schema 2020-12, as OpenAPI 3.1's
// schemas are): its status must be documented for the operation and its body must
// match that status's schema, which forbids fields it does not list.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import type { components, paths } from './generated/api.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const document = parse(readFileSync(join(root, 'infra', 'openapi.yaml'), 'utf8'));

type Json = Record<string, unknown>;

// --- Every answer checked against the document --------------------------------

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(document, 'openapi.json');

/** `#/components/...` references resolved (a response may be one). */
function resolve(node: Json): Json {
  let at = node;
  while (typeof at.$ref === 'string') {
    at = at.$ref.slice(2).split('/').reduce<Json>((part, key) => part[key.replace(/~1/g, '/')] as Json, document);
  }
  return at;
}

const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** Throws unless `status` and `body` are what the document says `method path` answers. */
function checkAnswer(method: string, path: string, status: number, body: unknown, contentType: string | null) {
  const operation = document.paths[path]?.[method.toLowerCase()];
  assert.ok(operation, `${method} ${path} is not in the document`);
  const response = operation.responses[String(status)];
  assert.ok(response, `${operation.operationId} answered ${status}, which the document does not list`);
  const content = resolve(response).content as Json | undefined;
  if (!content) {
    assert.equal(body, null, `${operation.operationId} ${status} has a body the document does not describe`);
    return;
  }
  assert.match(contentType ?? '', /^application\/json/, `${operation.operationId} ${status}: content type`);
  // Where the schema sits in the document, as a JSON pointer ajv follows.
  const responsePointer = typeof response.$ref === 'string'
    ? response.$ref
    : `#/paths/${escape(path)}/${method.toLowerCase()}/responses/${status}`;
  const validate = ajv.getSchema(`openapi.json${responsePointer}/content/application~1json/schema`)
    ?? ajv.compile({ $ref: `openapi.json${responsePointer}/content/application~1json/schema` });
  if (!validate(body)) {
    assert.fail(`${operation.operationId} ${status} does not match the document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
  }
}

let answersChecked = 0;

const checkEveryAnswer: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    const text = await response.clone().text();
    checkAnswer(request.method, schemaPath, response.status, text ? JSON.parse(text) : null, response.headers.get('content-type'));
    answersChecked += 1;
    return undefined;
  },
};

// --- The local stack -----------------------------------------------------------

let stack: ChildProcess;
let base = '';

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function startStack() {
  const port = await freePort();
  stack = spawn(join(root, 'target', 'debug', 'local-stack'), [], {
    cwd: root,
    env: { ...process.env, OTA_PORT: String(port), OTA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((up, fail) => {
    const timer = setTimeout(() => fail(new Error(`local stack did not start:\n${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('local stack is up')) {
        clearTimeout(timer);
        up();
      }
    };
    stack.stdout?.on('data', read);
    stack.stderr?.on('data', read);
    stack.on('exit', (code) => fail(new Error(`local stack exited (${code}):\n${output}`)));
  });
  base = `http://127.0.0.1:${port}`;
}

const local = async (path: string, init?: RequestInit) => fetch(`${base}/_local${path}`, init);
const tokenOf = async (user: string) => (await local(`/token/${user}`)).text();

/** A client as the app builds one: the generated paths, a user's JWT, every answer checked. */
function appClient(jwt: string | null): Client<paths> {
  const client = createClient<paths>({ baseUrl: base, headers: jwt ? { authorization: `Bearer ${jwt}` } : {} });
  client.use(checkEveryAnswer);
  return client;
}

/** The guest page's client: no login, each body's hash in `x-amz-content-sha256`. */
const guest = () => appClient(null);

/** The service's error inside an answer that may also be an edge's (`EdgeMessage`). */
function serviceError(answer: unknown) {
  return answer && typeof answer === 'object' && 'error' in answer
    ? (answer as components['schemas']['Error']).error
    : undefined;
}
const sha256 = (body: unknown) => createHash('sha256').update(JSON.stringify(body)).digest('hex');

before(async () => {
  await startStack();
});

after(() => {
  stack.kill('SIGINT');
});

// --- The flows -----------------------------------------------------------------

const intercomId = 'ic-demo';
const path = { intercomId };

test("an owner's day through the generated client: settings, a code, the list, a resend, the activity, a revoke", async () => {
  const owner = appClient(await tokenOf('user-owner'));
  const settings = await owner.GET('/intercoms/{intercomId}/settings', { params: { path } });
  assert.equal(settings.response.status, 200);
  const gates = settings.data?.gates ?? [];
  const entry = gates.find((gate) => gate.label === 'Main gate');
  assert.ok(entry, JSON.stringify(gates));

  // Only the entry gate: every number takes its default, as the generated type allows.
  const saved = await owner.PUT('/intercoms/{intercomId}/settings', { params: { path }, body: { entry_gate: entry.id } });
  assert.equal(saved.data?.settings?.max_users, saved.data?.defaults.max_users);
  assert.equal(saved.data?.settings?.exit_gate, entry.id);
  assert.equal(saved.data?.settings?.exit_gate_label, 'Main gate');

  const key = crypto.randomUUID();
  const created = await owner.POST('/intercoms/{intercomId}/codes', {
    params: { path, header: { 'Idempotency-Key': key } },
    body: { name: 'Thandi Mokoena', mobile: '082 555 0199' },
  });
  assert.equal(created.response.status, 201);
  const code = created.data;
  assert.ok(code);
  assert.equal(code.entry_gate, entry.id);
  assert.equal(code.entry_gate_label, 'Main gate');
  assert.ok(code.share.message.includes(code.code) && code.share.message.includes(code.link));
  assert.ok(code.share.whatsapp_url.startsWith('https://wa.me/27825550199?text='), code.share.whatsapp_url);
  assert.equal(code.starts_at, code.created_at);

  const replay = await owner.POST('/intercoms/{intercomId}/codes', {
    params: { path, header: { 'Idempotency-Key': key } },
    body: { name: 'Thandi Mokoena', mobile: '082 555 0199' },
  });
  assert.equal(replay.response.headers.get('idempotent-replayed'), 'true');
  assert.equal(replay.data?.id, code.id);

  // The whole list, a page of one at a time.
  const listed: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await owner.GET('/intercoms/{intercomId}/codes', { params: { path, query: { limit: 1, cursor } } });
    assert.equal(page.response.status, 200);
    listed.push(...(page.data?.codes ?? []).map((listedCode) => listedCode.id));
    cursor = page.data?.next_cursor ?? undefined;
  } while (cursor);
  assert.ok(listed.includes(code.id), `${code.id} not in ${listed}`);

  const resent = await owner.POST('/intercoms/{intercomId}/codes/{codeId}/sms', { params: { path: { intercomId, codeId: code.id } } });
  assert.equal(resent.response.status, 202);
  assert.equal(resent.data?.sms.status, 'queued');

  // A code the owner shares themselves, for tomorrow: listed as scheduled, no SMS until a resend.
  const tomorrow = new Date(Date.now() + 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const later = await owner.POST('/intercoms/{intercomId}/codes', {
    params: { path },
    body: { name: 'Sipho Dlamini', mobile: '082 555 0198', delivery: 'owner_shares', starts_at: tomorrow },
  });
  assert.equal(later.response.status, 201);
  assert.equal(later.data?.sms.status, 'owner_shares');
  assert.equal(later.data?.starts_at, tomorrow);
  const all = await owner.GET('/intercoms/{intercomId}/codes', { params: { path, query: { limit: 100 } } });
  assert.equal(all.data?.codes.find((listedCode) => listedCode.id === later.data?.id)?.state, 'scheduled');
  const texted = await owner.POST('/intercoms/{intercomId}/codes/{codeId}/sms', {
    params: { path: { intercomId, codeId: later.data?.id ?? '' } },
  });
  assert.equal(texted.data?.sms.status, 'queued');

  const history = await owner.GET('/intercoms/{intercomId}/activity', { params: { path, query: { code: code.id } } });
  assert.equal(history.data?.code_id, code.id);
  assert.equal(history.data?.next_cursor, null);
  assert.ok(history.data?.facts.some((fact) => fact.kind === 'code_created'));

  const revoked = await owner.DELETE('/intercoms/{intercomId}/codes/{codeId}', { params: { path: { intercomId, codeId: code.id } } });
  assert.equal(revoked.response.status, 204);
  const again = await owner.POST('/intercoms/{intercomId}/codes/{codeId}/sms', { params: { path: { intercomId, codeId: code.id } } });
  assert.equal(serviceError(again.error)?.code, 'code_ended');
  assert.equal(serviceError(again.error)?.state, 'revoked');

  // Thandi asks to be forgotten: her number as the create answered it.
  const erased = await owner.POST('/intercoms/{intercomId}/guest-erasures', { params: { path }, body: { mobile: code.guest.mobile } });
  assert.equal(erased.response.status, 200);
  assert.deepEqual(erased.data?.erased_codes, [code.id]);
  const forgotten = await owner.GET('/intercoms/{intercomId}/activity', { params: { path, query: { code: code.id } } });
  assert.ok(forgotten.data?.facts.every((fact) => fact.guest === undefined), JSON.stringify(forgotten.data));
  assert.ok(forgotten.data?.facts.some((fact) => fact.kind === 'guest_erased' && fact.actor === 'user-owner'));
  const live = await owner.POST('/intercoms/{intercomId}/guest-erasures', { params: { path }, body: { mobile: '+27825550198' } });
  assert.equal(serviceError(live.error)?.code, 'code_active');
  assert.equal(serviceError(live.error)?.code_id, later.data?.id);

  const page = await owner.GET('/intercoms/{intercomId}/activity', { params: { path, query: { limit: 5 } } });
  assert.ok((page.data?.facts.length ?? 0) > 0);
});

test('a guest enters and leaves through the generated client, as the page would', async () => {
  const owner = appClient(await tokenOf('user-owner'));
  await owner.PUT('/intercoms/{intercomId}/settings', { params: { path }, body: { entry_gate: 'gate-main', exit_gate: 'gate-exit' } });
  const created = await owner.POST('/intercoms/{intercomId}/codes', { params: { path }, body: { name: 'Sipho Dlamini', mobile: '083 555 0142' } });
  const invite = created.data;
  assert.ok(invite);
  const qr = await (await local(`/qr/${intercomId}`)).text();
  const gateNumber = qr.match(/>(\d{4} \d{4})<\/text>/)?.[1];
  assert.ok(gateNumber);

  const client = guest();
  const status = async () => {
    const body = { token: invite.token };
    const answer = await client.POST('/guest/status', { params: { header: { 'x-amz-content-sha256': sha256(body) } }, body });
    assert.equal(answer.response.status, 200);
    assert.ok(answer.data);
    return answer.data;
  };
  const first = await status();
  assert.equal(first.next, 'entry');
  assert.equal(first.gate_label, 'Main gate');
  assert.equal(first.first_name, 'Sipho');

  for (const [passage, gate] of [['entry', 'Main gate'], ['exit', 'Exit gate']] as const) {
    const body: components['schemas']['Redeem'] = {
      token: invite.token, intercom_id: intercomId, gate_number: gateNumber, code: invite.code, attempt_id: crypto.randomUUID(),
    };
    const params: { header: { 'x-amz-content-sha256': string } } = { header: { 'x-amz-content-sha256': sha256(body) } };
    const opened: { data?: components['schemas']['Opened']; error?: unknown; response: Response } = passage === 'entry'
      ? await client.POST('/guest/entry', { params, body })
      : await client.POST('/guest/exit', { params, body });
    assert.equal(opened.response.status, 202, JSON.stringify(opened.error));
    assert.equal(opened.data?.gate_label, gate);
    // The simulated gate acts on its shadow; the page asks until it has.
    let state = 'opening';
    for (let tries = 0; state !== 'used' && tries < 50; tries++) {
      await new Promise((wait) => setTimeout(wait, 100));
      state = (await status())[passage].state;
    }
    assert.equal(state, 'used', `${passage} never opened`);
  }

  // Wrong and malformed requests get documented answers in the documented shapes.
  const wrong = { token: invite.token, intercom_id: intercomId, gate_number: gateNumber, code: invite.code === '0000' ? '1111' : '0000' };
  const refused = await client.POST('/guest/entry', { params: { header: { 'x-amz-content-sha256': sha256(wrong) } }, body: wrong });
  assert.ok(refused.error && 'error' in refused.error, JSON.stringify(refused.error));
  const empty = { ...wrong, intercom_id: '' };
  const invalid = await client.POST('/guest/entry', { params: { header: { 'x-amz-content-sha256': sha256(empty) } }, body: empty });
  assert.equal(invalid.response.status, 400);
  const unsigned = await client.POST('/guest/status', { params: { header: { 'x-amz-content-sha256': '0'.repeat(64) } }, body: { token: invite.token } });
  assert.equal(unsigned.response.status, 403);
  assert.ok(unsigned.error && 'Message' in unsigned.error);
});

test('refusals reach the generated client in their documented shapes', async () => {
  const nobody = appClient(null);
  const unauthorized = await nobody.GET('/intercoms/{intercomId}/codes', { params: { path } });
  assert.equal(unauthorized.response.status, 401);
  assert.deepEqual(unauthorized.error, { message: 'Unauthorized' });

  const shared = appClient(await tokenOf('user-shared'));
  const ownerOnly = await shared.PUT('/intercoms/{intercomId}/settings', { params: { path }, body: { entry_gate: 'gate-main' } });
  assert.equal(serviceError(ownerOnly.error)?.code, 'owner_only');

  const stranger = appClient(await tokenOf('user-stranger'));
  const forbidden = await stranger.GET('/intercoms/{intercomId}/activity', { params: { path } });
  assert.equal(serviceError(forbidden.error)?.code, 'forbidden');

  const owner = appClient(await tokenOf('user-owner'));
  const badCursor = await owner.GET('/intercoms/{intercomId}/codes', { params: { path, query: { cursor: 'not-a-cursor' } } });
  assert.equal(serviceError(badCursor.error)?.field, 'cursor');
  const notMobile = await owner.POST('/intercoms/{intercomId}/codes', { params: { path }, body: { name: 'Ann', mobile: '011 555 0100' } });
  assert.equal(serviceError(notMobile.error)?.field, 'mobile');
  const missing = await owner.DELETE('/intercoms/{intercomId}/codes/{codeId}', { params: { path: { intercomId, codeId: 'AAAAAAAAAAA' } } });
  assert.equal(serviceError(missing.error)?.code, 'code_not_found');
  assert.ok(answersChecked > 20, `only ${answersChecked} answers checked`);
});
