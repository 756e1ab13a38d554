import assert from 'node:assert/strict';
import { createTelegramChannel, type TelegramChannel } from '../../../channels/telegram/index.js';
import { interpretUpdate } from '../../../channels/telegram/updates.js';
import { recheckReachableBeforeSend } from '../../../src/compliance/index.js';
import { loadConfig } from '../../../src/core/index.js';
import { createOutbox, enqueueReplies } from '../../../src/engine/index.js';
import { metricsReport } from '../../../src/ops/metrics-report.js';
import { SUMMARY_COLUMNS, summaryQuery } from '../../../src/ops/conversations.js';
import { testPorts } from '../../support/ports.js';
import { engineFixture, quietLog, type EngineFixture } from '../../engine/support/harness.js';
import { BOT, FakeBotApi, TOKEN } from './fake-bot-api.js';

const CHAT = 111222333;
const person = { id: CHAT, is_bot: false, first_name: 'Carlos', language_code: 'es' };
const privateChat = { id: CHAT, first_name: 'Carlos', type: 'private' };

/** An Update with a message, as the Bot API documents it (t.me/<bot>?start=<payload> arrives as "/start <payload>"). */
const startUpdate = (updateId: number, text: string, date: number) => ({
  update_id: updateId,
  message: { message_id: updateId, from: person, chat: privateChat, date, text, entities: [{ offset: 0, length: 6, type: 'bot_command' }] },
});

/** An Update with my_chat_member (ChatMemberUpdated): in a private chat, the user blocked (kicked) or unblocked (member) the bot. */
const memberUpdate = (updateId: number, from: string, to: string, date: number) => ({
  update_id: updateId,
  my_chat_member: {
    chat: privateChat,
    from: person,
    date,
    old_chat_member: { user: BOT, status: from, ...(from === 'kicked' ? { until_date: 0 } : {}) },
    new_chat_member: { user: BOT, status: to, ...(to === 'kicked' ? { until_date: 0 } : {}) },
  },
});

describe('telegram: deep-link source and blocked bots', function () {
  this.timeout(60_000);
  let f: EngineFixture;
  let api: FakeBotApi;
  let channel: TelegramChannel;
  const t0 = () => Math.floor(f.clock.now().getTime() / 1000);

  before(async () => {
    f = await engineFixture();
    api = await new FakeBotApi().start();
    const config = loadConfig({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: api.url });
    channel = createTelegramChannel(testPorts({ engine: f.engine, knex: f.knex, config, log: quietLog, clock: f.clock }), { limits: { perSecond: 1000, perChatIntervalMs: 0 } });
  });
  after(async () => {
    await api?.close();
    await f?.db.drop();
  });

  it('reads the /start payload as the source, and my_chat_member as (un)reachability', () => {
    const at = new Date('2026-03-02T15:00:00Z');
    const start = interpretUpdate(startUpdate(1, '/start campana_marzo-2026', 1772463600), String(BOT.id), at);
    assert.equal(start.kind, 'handle');
    assert.equal(start.kind === 'handle' && start.message.source, 'campana_marzo-2026');
    assert.equal(start.kind === 'handle' && start.message.text, 'hola');
    // Not a payload Telegram allows (1-64 of A-Z a-z 0-9 _ -): no source.
    const odd = interpretUpdate(startUpdate(2, '/start <script>', 1772463600), String(BOT.id), at);
    assert.equal(odd.kind === 'handle' && odd.message.source, undefined);
    const plain = interpretUpdate(startUpdate(3, '/start', 1772463600), String(BOT.id), at);
    assert.equal(plain.kind === 'handle' && plain.message.source, undefined);
    assert.deepEqual(interpretUpdate(memberUpdate(4, 'member', 'kicked', 1772463600), String(BOT.id), at), {
      kind: 'reachability',
      userId: String(CHAT),
      reachable: false,
      at: new Date(1772463600 * 1000),
    });
    const back = interpretUpdate(memberUpdate(5, 'kicked', 'member', 1772463700), String(BOT.id), at);
    assert.equal(back.kind === 'reachability' && back.reachable, true);
  });

  it('keeps the payload as the conversation’s source: on the row, in the dashboard’s list and in the metrics', async () => {
    await channel.handleUpdate(startUpdate(10, '/start campana_marzo', t0()));
    const conv = (await f.knex('conversations').where({ channel: 'telegram', user_id: String(CHAT) }).first('id', 'source', 'context')) as { id: string; source: string; context: Record<string, unknown> };
    assert.equal(conv.source, 'campana_marzo');
    // A later /start in the same conversation does not change where it came from.
    await channel.handleUpdate(startUpdate(11, '/start otra_campana', t0()));
    assert.equal(((await f.knex('conversations').where({ id: conv.id }).first('source')) as { source: string }).source, 'campana_marzo');
    const listed = (await summaryQuery(f.knex).where('c.id', conv.id).first(SUMMARY_COLUMNS)) as { source: string };
    assert.equal(listed.source, 'campana_marzo');
    const now = f.clock.now();
    const report = await metricsReport(f.knex, { from: new Date(now.getTime() - 3_600_000), to: new Date(now.getTime() + 3_600_000) });
    assert.equal(report.conversations.opened_by_source.campana_marzo, 1);
  });

  it('cancels outbound messages to a user who blocked the bot, and sends again once unblocked', async () => {
    const outbox = createOutbox({ knex: f.knex, log: quietLog, clock: f.clock, beforeSend: (row, now) => recheckReachableBeforeSend(f.knex, row, now) });
    outbox.registerChannel(channel.outbound);
    await channel.handleUpdate(memberUpdate(20, 'member', 'kicked', t0()));
    assert.deepEqual(await f.knex('channel_reachability').select('channel', 'user_id', 'reason'), [{ channel: 'telegram', user_id: String(CHAT), reason: 'blocked' }]);

    const sentBefore = api.callsOf('sendMessage').length;
    const blocked = await enqueueReplies(f.knex, { channel: 'telegram', recipient: String(CHAT), replies: [{ text: 'Recordatorio de su acuerdo de pago.' }], kind: 'reminder' }, f.clock.now());
    await outbox.runOnce();
    const row = (await f.knex('outbox').where({ id: blocked }).first('status', 'last_error')) as { status: string; last_error: string };
    assert.equal(row.status, 'failed');
    assert.match(row.last_error, /canal_inalcanzable: blocked/);
    assert.equal(api.callsOf('sendMessage').length, sentBefore, 'nothing was sent to a user who blocked the bot');

    await channel.handleUpdate(memberUpdate(21, 'kicked', 'member', t0() + 1));
    assert.equal((await f.knex('channel_reachability').select('*')).length, 0);
    const open = await enqueueReplies(f.knex, { channel: 'telegram', recipient: String(CHAT), replies: [{ text: 'Hola de nuevo.' }], kind: 'reply' }, f.clock.now());
    await outbox.runOnce();
    assert.equal(((await f.knex('outbox').where({ id: open }).first('status')) as { status: string }).status, 'sent');
    assert.equal(api.callsOf('sendMessage').at(-1)?.text, 'Hola de nuevo.');
    await outbox.stop();
  });
});
