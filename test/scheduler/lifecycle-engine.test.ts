/**
 * The lifecycle with the real engine, flows, NLU and outbox: warnings from the flow,
 * auto-close and a fresh conversation after it, the message limit, opt-outs through the
 * engine, campaigns through the outbox (text and WhatsApp template), and the guard's
 * last look before sending. A fake clock drives it all.
 */
import assert from 'node:assert/strict';
import { flowOpeningContent, startCampaign, templateAwareOutbound, templateContent, type StartOptions } from '../../src/campaigns/index.js';
import { recheckBeforeSend } from '../../src/compliance/index.js';
import type { Reply } from '../../src/core/index.js';
import { createEngine, createOutbox, lockChannelUser, type Engine, type Outbox } from '../../src/engine/index.js';
import { loadFlowCatalog } from '../../src/flows/index.js';
import { createLogger } from '../../src/log.js';
import { createUnderstander, type Understander } from '../../src/nlu/index.js';
import { ManualClock, messageLimitFor, processTimeouts, SEED_TIER_LIMITS, type TierLimits } from '../../src/scheduler/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { bog, conversation, debtor, portfolio } from '../compliance/seed.js';

const log = createLogger({ level: 'silent', pretty: false });

/** A channel that keeps what it was asked to send. */
class RecordingChannel {
  sent: { to: string; replies: Reply[] }[] = [];
  constructor(readonly name: 'telegram' | 'whatsapp-cloud') {}
  async send(to: string, replies: Reply[]) {
    this.sent.push({ to, replies });
    return { externalId: `ext-${this.sent.length}` };
  }
  textsTo(to: string): string[] {
    return this.sent.filter((s) => s.to === to).flatMap((s) => s.replies.map((r) => r.text));
  }
}

let understander: Promise<Understander> | undefined;

describe('lifecycle with the engine', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let clock: ManualClock;
  let telegram: RecordingChannel;
  let outbox: Outbox;
  let engine: Engine;
  let limits: TierLimits;
  let seq = 0;

  const { flows, policies } = loadFlowCatalog();

  beforeEach(async () => {
    db = await freshDatabase();
    clock = new ManualClock(bog('2026-03-03T07:30'));
    telegram = new RecordingChannel('telegram');
    limits = structuredClone(SEED_TIER_LIMITS);
    outbox = createOutbox({ knex: db.knex, log, clock, beforeSend: (row, now) => recheckBeforeSend(db.knex, row, now) });
    outbox.registerChannel(telegram);
    understander ??= createUnderstander({ settings: () => ({ confidenceThreshold: 0.6, openaiEnabled: false, maxChars: 2000 }), log });
    engine = createEngine({
      knex: db.knex,
      understander: await understander,
      flows,
      policies,
      log,
      outbox,
      clock,
      messageLimit: messageLimitFor(() => limits),
    });
    const pid = await portfolio(db.knex, 'Tuya');
    await debtor(db.knex, pid, { cedula: '93388915', name: 'CARLOS FAJARDO', phone: '573001234567' });
  });
  afterEach(async () => {
    await outbox.stop();
    await db.drop();
  });

  const say = (from: string, text: string) => engine.handle({ channel: 'telegram', from, messageId: `m${++seq}`, text, at: clock.now() }).then(async (r) => {
    await outbox.idle();
    return r;
  });
  const timeouts = () =>
    processTimeouts(db.knex, clock.now(), {
      limits: () => limits,
      warningFor: (c, info) => engine.timeoutWarning(c, info.hoursLeft),
      lockConversation: lockChannelUser,
      dispatch: (ids) => void outbox.dispatch(ids),
    }).then(async (r) => {
      await outbox.idle();
      return r;
    });

  it("warns with the flow's message, auto-closes, and a later message opens a fresh conversation with the history kept", async () => {
    const first = await say('tg-1', 'hola');
    await say('tg-1', '93388915');
    await say('tg-1', '4567'); // the mobile's last 4 digits: the identity question (Ley 2300 art. 4)
    clock.set(bog('2026-03-03T17:30'));
    assert.equal((await timeouts()).warned, 1);
    const warning = telegram.textsTo('tg-1').at(-1);
    assert.match(warning ?? '', /Carlos, ¿seguimos\? .* se cerrará en 2 horas/);

    clock.set(bog('2026-03-03T19:30'));
    assert.equal((await timeouts()).closed, 1);
    const closed = await db.knex('conversations').where({ id: first.conversationId }).first();
    assert.deepEqual([closed.status, closed.close_reason], ['closed', 'timeout']);

    clock.set(bog('2026-03-04T09:00'));
    const again = await say('tg-1', 'hola');
    assert.notEqual(again.conversationId, first.conversationId);
    assert.equal(again.state, 'inicial', 'a fresh conversation asks for the cédula again');
    const history = await db.knex('messages').where({ conversation_id: first.conversationId }).orderBy('id').select('direction', 'author', 'text');
    assert.ok(history.length >= 5, 'the closed conversation keeps its messages');
    assert.ok(history.some((m) => m.author === 'system' && /seguimos/.test(m.text)), 'including the warning');
  });

  it('hands the conversation to a person past the tier’s message limit', async () => {
    limits.default = { ...limits.default, max_messages: 3 };
    for (let i = 0; i < 3; i++) assert.equal((await say('tg-2', 'hola')).status, 'open');
    const fourth = await say('tg-2', 'hola');
    assert.equal(fourth.status, 'handoff');
    const conv = await db.knex('conversations').where({ id: fourth.conversationId }).first();
    assert.equal(conv.handoff_reason, 'message_limit');
  });

  it('answers a debtor who writes first at any hour: replies are not outbound contacts', async () => {
    clock.set(bog('2026-03-08T23:15')); // a Sunday night
    const r = await say('tg-3', 'hola');
    assert.ok(r.replies.length > 0);
    assert.deepEqual(telegram.textsTo('tg-3'), r.replies.map((x) => x.text));
    assert.equal((await db.knex('outbox').where({ recipient: 'tg-3' }).first()).status, 'sent');
  });

  for (const words of ['STOP', 'Baja.', 'no me escriban más', 'Por favor NO ME ESCRIBAN MAS', 'dejen de escribirme']) {
    it(`"${words}" revokes the channel at once and is acknowledged`, async () => {
      const from = `tg-${++seq}`;
      await say(from, 'hola');
      const r = await say(from, words);
      assert.equal(r.state, 'no_contactar');
      assert.match(r.replies.map((x) => x.text).join(' '), /No le volveremos a escribir por este medio/);
      const row = await db.knex('opt_outs').where({ channel: 'telegram', user_id: from }).first();
      assert.equal(row?.kind, 'no_contactar');
    });
  }

  it('"borren mis datos" is recorded for a person with the 15-business-day answer date; the debt stays', async () => {
    clock.set(bog('2026-12-01T10:00'));
    await say('tg-datos', 'hola');
    await say('tg-datos', '93388915');
    await say('tg-datos', '4567');
    const r = await say('tg-datos', 'borren mis datos');
    assert.match(r.replies.map((x) => x.text).join(' '), /23 de diciembre/);
    assert.equal(r.status, 'handoff', 'a person handles it');
    const row = await db.knex('opt_outs').where({ user_id: 'tg-datos', kind: 'borrar_datos' }).first();
    assert.deepEqual([row.status, row.due_date], ['open', '2026-12-23']);
    assert.ok(await db.knex('debtors').where({ cedula: '93388915' }).first());
  });

  describe('campaigns', () => {
    const campaign = (over: Partial<StartOptions>): StartOptions => ({
      portfolio: 'Tuya',
      channel: 'telegram',
      template: 'negociacion',
      content: flowOpeningContent('flows')!,
      settings: { ratePerMinute: { 'whatsapp-cloud': 60, 'whatsapp-web': 4, telegram: 20 } },
      now: () => clock.now(),
      dispatch: (ids) => void outbox.dispatch(ids),
      ...over,
    });

    beforeEach(async () => {
      // Carlos wrote to the bot on Telegram last month: the bot may write to that chat.
      const d = await db.knex('debtors').where({ cedula: '93388915' }).first('id');
      await conversation(db.knex, { channel: 'telegram', userId: 'tg-carlos', debtorId: d.id, lastActivity: bog('2026-02-02T10:00'), status: 'closed' });
    });

    it("send the flow's opening through the outbox", async () => {
      clock.set(bog('2026-03-03T09:00'));
      const r = await startCampaign(db.knex, campaign({}));
      assert.equal(r.queued, 1);
      await outbox.idle();
      const [opening] = telegram.textsTo('tg-carlos');
      assert.match(opening ?? '', /escríbanos su número de cédula/);
      assert.doesNotMatch(opening ?? '', /\$|saldo|deuda|Tuya/i, 'nothing about the debt before the cédula matches');
    });

    it('STOP through the engine revokes the channel: the reply goes out at once, the queued campaign message is cancelled, later campaigns skip it', async () => {
      clock.set(bog('2026-03-03T21:00'));
      const r = await startCampaign(db.knex, campaign({}));
      assert.equal(r.deferred, 1, 'at night the opening waits for 07:00');

      // The debtor writes first, at 21:30, "STOP": the answer is not held behind the deferred opening.
      clock.set(bog('2026-03-03T21:30'));
      const stop = await say('tg-carlos', 'STOP');
      assert.equal(stop.state, 'no_contactar');
      assert.match(telegram.textsTo('tg-carlos').join('\n'), /No le volveremos a escribir por este medio/);
      assert.ok(await db.knex('opt_outs').where({ channel: 'telegram', user_id: 'tg-carlos', kind: 'no_contactar' }).first());
      // The revocation takes effect at once: the queued opening is cancelled by the turn, not at 07:00.
      const cancelled = await db.knex('outbox').where({ kind: 'campaign' }).first();
      assert.deepEqual([cancelled.status, cancelled.last_error, cancelled.updated_at.getTime()], ['failed', 'cancelled: canal_revocado', clock.now().getTime()]);

      // 07:00: nothing goes out.
      clock.set(bog('2026-03-04T07:00'));
      await outbox.runOnce();
      await outbox.idle();
      assert.equal(telegram.textsTo('tg-carlos').filter((t) => /cédula/.test(t)).length, 0);
      const row = await db.knex('outbox').where({ kind: 'campaign' }).first();
      assert.deepEqual([row.status, row.last_error], ['failed', 'cancelled: canal_revocado']);

      clock.set(bog('2026-03-10T09:00'));
      const later = await startCampaign(db.knex, campaign({ repeat: true }));
      assert.deepEqual([later.queued, later.deferred, later.skipped], [0, 0, 1]);
      const target = await db.knex('campaign_targets').where({ campaign_id: later.campaignId }).first();
      assert.equal(target.reason, 'canal_revocado');
    });

    it('open WhatsApp Cloud conversations with an approved template', async () => {
      const cloud = new RecordingChannel('whatsapp-cloud');
      const templates: { to: string; template: unknown }[] = [];
      outbox.registerChannel(
        templateAwareOutbound({
          outbound: cloud,
          sendTemplate: async (to, template) => {
            templates.push({ to, template });
            return { externalId: 'wamid.HBgM' };
          },
        }),
      );
      clock.set(bog('2026-03-03T09:00'));
      await startCampaign(db.knex, campaign({ channel: 'whatsapp-cloud', template: 'apertura_cobranza', content: templateContent('apertura_cobranza', 'es_CO', ['nombre']) }));
      await outbox.idle();
      assert.deepEqual(templates, [{ to: '573001234567', template: { name: 'apertura_cobranza', language: 'es_CO', bodyParameters: ['Carlos'] } }]);
      assert.equal(cloud.sent.length, 0, 'not as a plain message');
      const row = await db.knex('outbox').where({ channel: 'whatsapp-cloud' }).first();
      assert.deepEqual([row.status, row.external_id], ['sent', 'wamid.HBgM']);
    });
  });

  it('a timeout warning deferred overnight never holds back the replies, and is dropped once the debtor writes', async () => {
    clock.set(bog('2026-03-03T20:00'));
    const conv = await say('tg-4', 'hola');
    clock.set(bog('2026-03-04T06:00'));
    assert.equal((await timeouts()).deferred, 1);
    clock.set(bog('2026-03-04T06:30'));
    const before = telegram.sent.length;
    const r = await say('tg-4', 'hola');
    assert.equal(r.conversationId, conv.conversationId);
    assert.equal(telegram.sent.length, before + 1, 'the reply went out at once');
    clock.set(bog('2026-03-04T07:00'));
    await outbox.runOnce();
    await outbox.idle();
    assert.equal(telegram.sent.length, before + 1, 'the stale warning was not sent');
    const warning = await db.knex('outbox').where({ kind: 'warning' }).first();
    assert.deepEqual([warning.status, warning.last_error], ['failed', 'cancelled: superseded']);
  });
});
