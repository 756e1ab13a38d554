/**
 * The whole service on one clock set years away from the real date (in the past, where
 * the database's own now() would be "later" than the service's): a turn, a send refused
 * with 429 and retried, an agent's reply, a timeout warning, a campaign message the
 * contact window defers, and retention clean-up. Each time the service writes comes from
 * its clock; nothing waits for the database's idea of now. The suite runs this under
 * faketime too, so it holds with the machine's date moved either way.
 */
import assert from 'node:assert/strict';
import { startCampaign, textContent } from '../src/campaigns/index.js';
import { ChannelApiError, loadConfig, ManualClock, type OutboundChannel, type Reply } from '../src/core/index.js';
import { createLogger } from '../src/log.js';
import { startService, type RunningService } from '../src/service.js';
import { freshDatabase, type TestDatabase } from './support/db.js';

const TOKEN = 'service-clock-admin-token-0123456789';
/** Tuesday 5 March 2019, 08:00 in Bogotá: years before any date this suite runs on. */
const START = '2019-03-05T08:00:00-05:00';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A Telegram stand-in: refuses its first send with 429 (retry after 30 s), then records. */
class FlakyTelegram implements OutboundChannel {
  readonly name = 'telegram' as const;
  sent: { to: string; replies: Reply[] }[] = [];
  refuseNext = 1;
  async send(to: string, replies: Reply[]) {
    if (this.refuseNext > 0) {
      this.refuseNext--;
      throw new ChannelApiError('Too Many Requests: retry after 30', 'telegram', { retryable: true, retryAfterMs: 30_000, code: 429 });
    }
    this.sent.push({ to, replies });
    return { externalId: `tg-${this.sent.length}` };
  }
  textsTo(to: string): string[] {
    return this.sent.filter((s) => s.to === to).flatMap((s) => s.replies.map((r) => r.text));
  }
}

describe('the whole service on a clock years from today', function () {
  this.timeout(120_000);
  const log = createLogger({ level: 'silent', pretty: false });
  let db: TestDatabase;
  let service: RunningService;
  let clock: ManualClock;
  let telegram: FlakyTelegram;
  let seq = 0;

  const send = (from: string, text: string) =>
    service.engine.handle({ channel: 'telegram', from, messageId: `clock-${++seq}`, text, at: clock.now() });
  const admin = (path: string, body?: unknown) =>
    fetch(`${service.url}/api/v1/admin${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  before(async () => {
    db = await freshDatabase();
    clock = new ManualClock(START);
    service = await startService(
      loadConfig({
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        ADMIN_TOKEN: TOKEN,
        // Nothing runs on a timer: the test moves the clock and runs each pass by hand.
        SCHEDULER_ENABLED: 'false',
        OUTBOX_POLL_MS: '3600000',
        DEMO_DATA: 'true',
        WEBCHAT_ENABLED: 'false',
      }),
      log,
      { clock },
    );
    telegram = new FlakyTelegram();
    service.outbox.registerChannel(telegram);
  });
  after(async () => {
    await service?.close();
    await db?.drop();
  });

  it('stamps the demo portfolio with the clock’s time', async () => {
    const p = (await service.knex('portfolios').first('created_at')) as { created_at: Date };
    assert.equal(p.created_at.toISOString(), clock.now().toISOString());
  });

  it('answers a turn, and retries the send the channel refused with 429 after the wait it asked for', async () => {
    const turn = await send('tg-ana', 'hola');
    await service.outbox.idle();
    assert.equal(telegram.sent.length, 0, 'the first send was refused');
    const row = (await service.knex('outbox').where({ conversation_id: turn.conversationId }).first()) as {
      status: string;
      created_at: Date;
      next_attempt_at: Date;
    };
    assert.equal(row.status, 'pending');
    assert.equal(row.created_at.toISOString(), clock.now().toISOString());
    assert.equal(row.next_attempt_at.getTime(), clock.now().getTime() + 30_000, 'due when Telegram said, by the service’s clock');
    const messages = (await service.knex('messages').where({ conversation_id: turn.conversationId }).select('created_at')) as { created_at: Date }[];
    assert.ok(messages.length >= 2 && messages.every((m) => m.created_at.getTime() === clock.now().getTime()));

    clock.advance(29_000);
    assert.equal(await service.outbox.runOnce(), 0, 'not before its time');
    clock.advance(2_000);
    assert.equal(await service.outbox.runOnce(), 1);
    assert.match(telegram.textsTo('tg-ana').join('\n'), /cédula/);
  });

  it('sends an agent’s reply at once, stamped by the same clock', async () => {
    clock.advance(MINUTE);
    const turn = await send('tg-luis', 'hola');
    await service.outbox.idle();
    await service.knex('conversations').where({ id: turn.conversationId }).update({ status: 'handoff', handoff_reason: 'solicitar_asesor', handoff_at: clock.now() });
    clock.advance(MINUTE);
    const before = telegram.sent.length;
    const res = await admin(`/handoffs/${turn.conversationId}/reply`, { agent: 'Laura', text: 'Hola, le escribe Laura.' });
    assert.equal(res.status, 201, await res.clone().text());
    await service.outbox.idle();
    assert.deepEqual(telegram.sent.slice(before).flatMap((s) => s.replies.map((r) => r.text)), ['Hola, le escribe Laura.'], 'no worker pass needed');
    const row = (await service.knex('outbox').where({ conversation_id: turn.conversationId, kind: 'agent' }).first()) as { status: string; created_at: Date; sent_at: Date };
    assert.equal(row.status, 'sent');
    assert.equal(row.created_at.toISOString(), clock.now().toISOString());
    assert.equal(row.sent_at.toISOString(), clock.now().toISOString());
  });

  it('warns a silent debtor when the clock says so, inside the contact window', async () => {
    clock.set(START);
    clock.advance(2 * MINUTE);
    const turn = await send('tg-rosa', 'hola');
    await service.outbox.idle();
    clock.advance(10 * HOUR + 5 * MINUTE); // 18:07 in Bogotá: ten hours of silence, still a contact hour
    const res = await admin('/process-timeouts', {});
    assert.equal(res.status, 200, await res.clone().text());
    await service.outbox.idle();
    const warning = (await service.knex('outbox').where({ conversation_id: turn.conversationId, kind: 'warning' }).first()) as { status: string; created_at: Date };
    assert.equal(warning.status, 'sent');
    assert.equal(warning.created_at.toISOString(), clock.now().toISOString());
    assert.match(telegram.textsTo('tg-rosa').at(-1) ?? '', /se cerrará en 2 horas/);
  });

  it('defers a campaign message queued after hours to the next contact hour by the clock’s calendar', async () => {
    clock.set('2019-03-05T20:30:00-05:00'); // Tuesday 20:30: outside Monday–Friday 07:00–19:00
    const debtor = (await service.knex('debtors').where({ cedula: '93388915' }).first('id')) as { id: number };
    await service.knex('conversations').insert({
      channel: 'telegram', user_id: 'tg-carlos', debtor_id: debtor.id, flow: 'negociacion', state: 'inicial', status: 'closed',
      opened_at: new Date('2019-02-01T15:00:00Z'), last_activity_at: new Date('2019-02-01T15:00:00Z'), closed_at: new Date('2019-02-01T16:00:00Z'),
    });
    const result = await startCampaign(service.knex, {
      portfolio: 'Demo',
      channel: 'telegram',
      template: 'negociacion',
      content: textContent(() => 'Hola, buen día. Escríbanos su número de cédula, por favor.'),
      settings: { ratePerMinute: { 'whatsapp-cloud': 60, 'whatsapp-web': 4, telegram: 20 } },
      now: () => clock.now(),
      dispatch: (ids) => void service.outbox.dispatch(ids),
    });
    assert.equal(result.deferred, 1);
    const row = (await service.knex('outbox').where({ recipient: 'tg-carlos', kind: 'campaign' }).first()) as { status: string; next_attempt_at: Date; created_at: Date };
    assert.equal(row.status, 'deferred');
    assert.equal(row.created_at.toISOString(), clock.now().toISOString());
    assert.equal(row.next_attempt_at.toISOString(), new Date('2019-03-06T07:00:00-05:00').toISOString(), 'Wednesday 07:00 in Bogotá');
  });

  it('cleans up by the clock: audit rows past their retention go, younger ones stay', async () => {
    const now = clock.now().getTime();
    const day = 24 * HOUR;
    const row = (daysAgo: number) => ({ model: 'gpt-4o-mini', tokens_in: 1, tokens_out: 1, latency_ms: 1, status: 'ok', cost_usd: 0, created_at: new Date(now - daysAgo * day) });
    await service.knex('llm_calls').insert([row(91), row(89), row(1)]);
    const outcome = await service.scheduler.runNow('retention-cleanup');
    assert.equal(outcome.status, 'ok');
    const left = (await service.knex('llm_calls').select('created_at')) as { created_at: Date }[];
    assert.deepEqual(left.map((r) => Math.round((now - r.created_at.getTime()) / day)).sort((a, b) => a - b), [1, 89]);
  });
});
