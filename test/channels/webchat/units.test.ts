import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { buildWidget, PREBUILT_WIDGET, WIDGET_GZIP_BUDGET } from '../../../channels/webchat/build.js';
import { createVisitorIdentity } from '../../../channels/webchat/identity.js';
import { createOriginPolicy, parseAllowedOrigins } from '../../../channels/webchat/origins.js';
import { createRateLimiter } from '../../../channels/webchat/rate-limit.js';
import { backoffDelay } from '../../../channels/webchat/widget/client.js';

describe('web chat: visitor identity', () => {
  const identity = createVisitorIdentity('a-secret-of-at-least-thirty-two-characters');

  it('issues ids whose token verifies, and only with the same secret', () => {
    const { visitorId, token } = identity.issue();
    assert.match(visitorId, /^v[A-Za-z0-9_-]{22}$/);
    assert.equal(identity.verify(token), visitorId);
    assert.equal(createVisitorIdentity('another-secret-of-at-least-thirty-two-chars').verify(token), undefined);
  });

  it('rejects another visitor’s id under my signature, edits, and junk', () => {
    const me = identity.issue();
    const other = identity.issue();
    const mySignature = me.token.split('.')[1];
    assert.equal(identity.verify(`${other.visitorId}.${mySignature}`), undefined);
    assert.equal(identity.verify(other.visitorId), undefined);
    assert.equal(identity.verify(`${other.visitorId}.`), undefined);
    // Every other spelling of the signature fails, including the last character's spare bits.
    const at = (i: number) => me.token.slice(0, i) + (me.token[i] === 'A' ? 'B' : 'A') + me.token.slice(i + 1);
    for (const i of [24, 40, me.token.length - 1]) assert.equal(identity.verify(at(i)), undefined, `character ${i} changed`);
    for (const junk of ['', '.', 'x.y', null, undefined, 'v'.repeat(200)]) assert.equal(identity.verify(junk), undefined);
  });
});

describe('web chat: per-visitor rate limit', () => {
  it('allows a burst, then one message per refill interval, per visitor', () => {
    let now = 1_000_000;
    const limiter = createRateLimiter(6, () => now);
    for (let i = 0; i < 6; i++) assert.deepEqual(limiter.take('a'), { ok: true });
    assert.deepEqual(limiter.take('a'), { ok: false, retryAfterMs: 10_000 });
    assert.deepEqual(limiter.take('b'), { ok: true }, 'another visitor has its own bucket');
    now += 9_999;
    assert.equal(limiter.take('a').ok, false);
    now += 1;
    assert.deepEqual(limiter.take('a'), { ok: true });
    assert.equal(limiter.take('a').ok, false);
    now += 60_000;
    for (let i = 0; i < 6; i++) assert.equal(limiter.take('a').ok, true, 'the bucket refills to the burst, no further');
    assert.equal(limiter.take('a').ok, false);
  });
});

describe('web chat: allowed origins', () => {
  it('allows listed origins and the service’s own, refuses the rest', () => {
    const policy = createOriginPolicy('https://www.agencia.com.co, https://agencia.com.co/', 'https://bot.agencia.com.co/base');
    assert.equal(policy.allows('https://www.agencia.com.co', 'bot.agencia.com.co'), true);
    assert.equal(policy.allows('https://agencia.com.co', 'bot.agencia.com.co'), true);
    assert.equal(policy.allows('https://bot.agencia.com.co', 'x'), true, 'PUBLIC_URL is this service');
    assert.equal(policy.allows('http://localhost:3000', 'localhost:3000'), true, 'same origin as the request');
    assert.equal(policy.allows('https://evil.example', 'bot.agencia.com.co'), false);
    assert.equal(policy.allows('https://www.agencia.com.co.evil.example', 'bot.agencia.com.co'), false);
    assert.equal(policy.allows('null', 'bot.agencia.com.co'), false, 'sandboxed frames and file: pages');
    assert.equal(policy.allows(undefined, 'bot.agencia.com.co'), true, 'not a browser page: the token decides');
  });

  it('takes * for any origin and names a bad entry', () => {
    assert.equal(createOriginPolicy('*', undefined).allows('https://anything.example', 'x'), true);
    assert.deepEqual(parseAllowedOrigins(undefined), []);
    assert.throws(() => parseAllowedOrigins('https://ok.example, not an origin'), /"not an origin"/);
  });
});

describe('web chat: reconnect backoff', () => {
  it('doubles from half a second to ten seconds, with jitter in the upper half', () => {
    assert.equal(backoffDelay(0, () => 0), 250);
    assert.equal(backoffDelay(0, () => 1), 500);
    assert.equal(backoffDelay(3, () => 1), 4000);
    assert.equal(backoffDelay(10, () => 1), 10_000);
    assert.equal(backoffDelay(50, () => 0), 5000);
  });
});

describe('web chat: the widget bundle', function () {
  this.timeout(30_000);

  it('builds from the source with esbuild, one self-contained script under 30 KB gzipped', async () => {
    const widget = await buildWidget();
    assert.equal(widget.source, 'esbuild');
    const gzipped = zlib.gzipSync(widget.code, { level: 9 }).length;
    assert.equal(widget.gzip.length, gzipped);
    assert.ok(gzipped < WIDGET_GZIP_BUDGET, `the widget is ${gzipped} bytes gzipped; the budget is ${WIDGET_GZIP_BUDGET}`);
    assert.doesNotMatch(widget.code, /\brequire\(|\bimport\s*\(/, 'no module loading left in the browser bundle');
    assert.equal(widget.code.match(/innerHTML/g)?.length, 1, 'innerHTML once: for the widget’s own constant icons, never for text');
  });

  it('is written to dist/widget.js by `npm run build:widget`, which reports its size', async () => {
    const root = path.resolve(__dirname, '..', '..', '..');
    const { stdout } = await promisify(execFile)(process.execPath, [require.resolve('tsx/cli'), 'channels/webchat/build.ts'], { cwd: root });
    assert.match(stdout, /^dist\/widget\.js: \d+\.\d KB, \d+\.\d KB gzipped \(budget 30\.0 KB\)\n$/);
    assert.equal(await fs.readFile(PREBUILT_WIDGET, 'utf8'), (await buildWidget()).code);
  });
});
