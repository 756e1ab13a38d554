import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import { createBotFrameworkChannel } from '../../../channels/botframework/index.js';
import { loadConfig } from '../../../src/core/index.js';
import { createKnex } from '../../../src/store/db.js';
import { testPorts } from '../../support/ports.js';
import { activity, postActivity, RecordingHandler } from './support.js';

const APP_ID = '2f9d2c4e-7b1a-4f43-9c1e-5d6a7b8c9d0e';
const SERVICE_URL = 'https://smba.trafficmanager.net/amer/';

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** A JWT as the Bot Connector sends it (RS256, issuer api.botframework.com, audience the app id). */
function token(key: KeyObject, kid: string, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
  const payload = b64url(JSON.stringify({ iss: 'https://api.botframework.com', aud: APP_ID, serviceurl: SERVICE_URL, nbf: now - 60, exp: now + 3600, ...claims }));
  return `${header}.${payload}.${b64url(sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), key))}`;
}

/**
 * Microsoft's OpenID metadata (login.botframework.com/v1/.well-known/openidconfiguration)
 * and its JWKS, published by a local server: the keys the channel trusts.
 */
async function openIdServer(publicKey: KeyObject, kid: string) {
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  const app = express();
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  app.get('/v1/.well-known/openidconfiguration', (_req, res) => {
    res.json({ issuer: 'https://api.botframework.com', authorization_endpoint: 'https://invalid.botframework.com', jwks_uri: `${base}/v1/.well-known/keys`, id_token_signing_alg_values_supported: ['RS256'], token_endpoint_auth_methods_supported: ['private_key_jwt'] });
  });
  app.get('/v1/.well-known/keys', (_req, res) => {
    res.json({ keys: [{ kty: 'RSA', use: 'sig', kid, n: jwk.n, e: jwk.e }] });
  });
  return { url: `${base}/v1/.well-known/openidconfiguration`, close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) };
}

async function harness(metadataUrl: string) {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string }), done()) }));
  const handler = new RecordingHandler(() => []);
  const config = loadConfig({ BOTFRAMEWORK_ENABLED: 'true', MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret', MicrosoftAppType: 'MultiTenant', BotOpenIdMetadata: metadataUrl });
  const knex = createKnex('postgres://unused@127.0.0.1:1/unused');
  const channel = createBotFrameworkChannel(testPorts({ engine: handler, knex, config, log }));
  const app = express();
  channel.mount(app);
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    handler,
    /** Warn-level lines (pino level 40) written since the last call. */
    warnings() {
      const warns = lines.filter((l) => l.level === 40).map((l) => l.msg);
      lines.length = 0;
      return warns;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await knex.destroy();
    },
  };
}

describe('bot framework token verification', function () {
  this.timeout(20_000);
  const trusted = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // The library prints its own diagnostics for a bad signature to the console; keep the test output clean.
  const consoleError = console.error;
  before(() => {
    console.error = () => undefined;
  });
  after(() => {
    console.error = consoleError;
  });

  it('accepts the published key, and answers 401 with one warn line to every other token', async () => {
    const metadata = await openIdServer(trusted.publicKey, 'key-1');
    const h = await harness(metadata.url);
    try {
      const body = activity('teams-personal-message', SERVICE_URL);
      const ok = await postActivity(h.url, body, { authorization: `Bearer ${token(trusted.privateKey, 'key-1')}` });
      assert.equal(ok.status, 200, 'the test setup proves a genuine token passes');
      assert.equal(h.handler.received.length, 1);
      h.warnings();

      const bad: [string, string][] = [
        ['signed with another key under the published kid', token(stranger.privateKey, 'key-1')],
        ['signed with a key nobody published', token(stranger.privateKey, 'key-9')],
        ['for another app', token(trusted.privateKey, 'key-1', { aud: '00000000-0000-0000-0000-000000000000' })],
        ['from another issuer', token(trusted.privateKey, 'key-1', { iss: 'https://sts.windows.net/evil/' })],
        ['expired', token(trusted.privateKey, 'key-1', { exp: Math.floor(Date.now() / 1000) - 600, nbf: Math.floor(Date.now() / 1000) - 7200 })],
        ['for another service URL', token(trusted.privateKey, 'key-1', { serviceurl: 'https://attacker.example.com/' })],
        ['not a JWT', 'not.a.token'],
        ['empty', ''],
      ];
      for (const [label, jwt] of bad) {
        const res = await postActivity(h.url, body, { authorization: `Bearer ${jwt}` });
        assert.equal(res.status, 401, label);
        assert.deepEqual(await res.json(), { error: 'unauthorized' }, label);
        assert.deepEqual(h.warnings(), ['bot framework request refused: not authenticated'], label);
      }
      assert.equal(h.handler.received.length, 1, 'nothing refused reached the engine');
    } finally {
      await h.close();
      await metadata.close();
    }
  });

  it('answers 503 with Retry-After, not 500, when the OpenID metadata is unreachable or failing', async () => {
    // A port nothing listens on.
    const dead = http.createServer().listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const unreachable = await harness(`http://127.0.0.1:${port}/v1/.well-known/openidconfiguration`);
    // A metadata endpoint that answers 500.
    const failing = express();
    failing.get('/v1/.well-known/openidconfiguration', (_req, res) => res.status(500).end());
    const failingServer = http.createServer(failing).listen(0, '127.0.0.1');
    await once(failingServer, 'listening');
    const broken = await harness(`http://127.0.0.1:${(failingServer.address() as AddressInfo).port}/v1/.well-known/openidconfiguration`);
    try {
      for (const h of [unreachable, broken]) {
        const res = await postActivity(h.url, activity('teams-personal-message', SERVICE_URL), { authorization: `Bearer ${token(trusted.privateKey, 'key-1')}` });
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('retry-after'), '5');
        assert.equal(((await res.json()) as { error: string }).error, 'auth_metadata_unavailable');
        assert.equal(h.warnings().length, 1);
        assert.equal(h.handler.received.length, 0);
      }
    } finally {
      await unreachable.close();
      await broken.close();
      failingServer.closeAllConnections();
      await new Promise<void>((resolve) => failingServer.close(() => resolve()));
    }
  });
});
