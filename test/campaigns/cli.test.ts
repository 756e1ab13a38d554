import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { checkFlowText } from '../../src/flows/index.js';
import { renderOpening } from '../../src/campaigns/opening.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { bog, conversation, debtor, portfolio } from '../compliance/seed.js';

const bin = path.resolve(__dirname, '../../src/cli/bin.cjs');

describe('npx acuerdo campaign', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
    const pid = await portfolio(db.knex, 'Banco Uno');
    const withChat = await debtor(db.knex, pid, { cedula: '93388915' });
    await debtor(db.knex, pid, { cedula: '1023456789' });
    await conversation(db.knex, { channel: 'telegram', userId: '424242', debtorId: withChat.id, lastActivity: bog('2026-01-10T10:00'), status: 'closed' });
  });
  after(async () => {
    await db.drop();
  });

  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, [bin, 'campaign', ...args], { env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' } });

  it('--dry-run lists who would be contacted and who is skipped and why, with personal numbers masked', async () => {
    const { stdout } = await run('start', '--portfolio', 'Banco Uno', '--channel', 'telegram', '--dry-run');
    assert.match(stdout, /Dry run: Banco Uno on telegram: (1 now, 0 deferred|0 now, 1 deferred), 1 skipped\./);
    assert.match(stdout, /skip .*sin_chat_telegram \(has never written to the Telegram bot, and a bot cannot write first\)/);
    assert.doesNotMatch(stdout, /93388915|1023456789|424242/, 'cédulas and chat ids are masked');
    assert.equal(Number((await db.knex('campaigns').count('* as n').first())!.n), 0);
  });

  it('start queues through the outbox and status reports it; WhatsApp Cloud needs a template', async () => {
    const { stdout } = await run('start', '--portfolio', 'Banco Uno', '--channel', 'telegram');
    assert.match(stdout, /Started campaign #\d+: (1 queued, 0 deferred|0 queued, 1 deferred) by the contact rules, 1 skipped/);
    const row = await db.knex('outbox').where({ kind: 'campaign' }).first();
    assert.equal(row.recipient, '424242');
    assert.match(row.payload[0].text, /número de cédula/);
    const status = JSON.parse((await run('status', '--json')).stdout) as { targets: number; skipped: number; skipped_by_reason: Record<string, number> }[];
    assert.equal(status[0]?.targets, 2);
    assert.deepEqual(status[0]?.skipped_by_reason, { sin_chat_telegram: 1 });
    await assert.rejects(run('start', '--portfolio', 'Banco Uno', '--channel', 'whatsapp-cloud'), (err: { code?: number; stderr?: string }) => err.code === 1 && /approved message template/.test(err.stderr ?? ''));
    await assert.rejects(run('start', '--portfolio', 'Banco Uno', '--channel', 'sms'), (err: { stderr?: string }) => /--channel must be one of/.test(err.stderr ?? ''));
  });
});

describe("a flow's campaign_opening", () => {
  const flow = (opening: string) => `
flow: prueba
start: inicial
fallback: { say: "¿Perdón?", retries: 1, goto: fin }
campaign_opening: "${opening}"
states:
  inicial:
    say: "Hola"
    on:
      - intent: saludo
        goto: fin
  fin:
    say: "Chao"
    end: true
`;

  it('may greet by first name and nothing more (Ley 2300 art. 4)', () => {
    const ok = checkFlowText(flow('Hola {{nombre}}, escríbanos su cédula.'), 'prueba.yaml');
    assert.deepEqual(ok.problems, []);
    const replies = renderOpening(ok.flow!, { id: 1, cedula: '93388915', nombre_del_cliente: 'CARLOS FAJARDO', phone: null, tier: 'default' });
    assert.deepEqual(replies, [{ text: 'Hola Carlos, escríbanos su cédula.' }]);
    const leak = checkFlowText(flow('Hola {{nombre}}, debe {{saldo_total}} a {{banco}}.'), 'prueba.yaml');
    assert.equal(leak.flow, undefined);
    assert.match(leak.problems.map((p) => p.message).join('\n'), /campaign_opening may only use \{\{nombre\}\}: 'saldo_total'/);
  });
});
