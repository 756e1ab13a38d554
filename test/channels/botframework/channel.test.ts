import assert from 'node:assert/strict';
import { ChannelApiError, ConfigError } from '../../../src/core/index.js';
import { FakeConnector } from './fake-connector.js';
import { activity, postActivity, RecordingHandler, startHarness, type Harness } from './support.js';

const AZURE = {
  MicrosoftAppId: '2f9d2c4e-7b1a-4f43-9c1e-5d6a7b8c9d0e',
  MicrosoftAppPassword: 'not-a-real-client-secret',
  MicrosoftAppType: 'MultiTenant',
};
const PLAN_BUTTONS = [
  { id: 'ver_opciones', text: 'Ver opciones de pago' },
  { id: 'asesor', text: 'Hablar con un asesor' },
];

describe('bot framework channel (CloudAdapter against a local connector)', () => {
  let connector: FakeConnector;
  let harness: Harness | undefined;

  beforeEach(async () => {
    connector = await new FakeConnector().start();
  });
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await connector.close();
  });

  it('hands a message to the engine and replies to it with suggested actions (imBack)', async () => {
    const handler = new RecordingHandler(() => [
      { text: 'Gracias, Carlos 😊 Ya encontré su información.' },
      { text: '¿Quiere conocer sus opciones?', buttons: PLAN_BUTTONS },
    ]);
    harness = await startHarness(handler);
    const res = await postActivity(harness.url, activity('emulator-message', connector.url));
    assert.equal(res.status, 200);
    assert.equal(handler.received.length, 1);
    assert.equal(handler.received[0]!.text, 'hola, quiero saber de mi deuda');

    const [first, second] = await connector.waitFor(2);
    assert.equal(first!.conversationId, '0a5f1d40-c6e1-11f0-9a7b-3f2c5e8d1a22|livechat');
    assert.ok(first!.replyToId, 'posted as a reply in the conversation');
    assert.equal(first!.authorization, undefined, 'emulator mode sends no token');
    assert.deepEqual(
      { type: first!.activity.type, text: first!.activity.text, recipient: first!.activity.recipient, from: first!.activity.from },
      {
        type: 'message',
        text: 'Gracias, Carlos 😊 Ya encontré su información.',
        recipient: { id: '5e1f2a7c-3b0d-4c65-9a4e-2f1d8c7b6a50', name: 'User' },
        from: { id: '0c2d4e60-c6e1-11f0-9a7b-3f2c5e8d1a22', name: 'Bot' },
      },
    );
    assert.equal(first!.activity.suggestedActions, undefined);
    assert.equal(second!.activity.text, '¿Quiere conocer sus opciones?');
    assert.deepEqual(second!.activity.suggestedActions, {
      actions: [
        { type: 'imBack', title: 'Ver opciones de pago', value: 'Ver opciones de pago' },
        { type: 'imBack', title: 'Hablar con un asesor', value: 'Hablar con un asesor' },
      ],
      to: ['5e1f2a7c-3b0d-4c65-9a4e-2f1d8c7b6a50'],
    });
  });

  it('shows buttons on Teams as a HeroCard', async () => {
    const handler = new RecordingHandler(() => [{ text: '¿Quiere conocer sus opciones?', buttons: PLAN_BUTTONS }]);
    harness = await startHarness(handler);
    await postActivity(harness.url, activity('teams-personal-message', connector.url));
    const [posted] = await connector.waitFor(1);
    assert.equal(posted!.activity.suggestedActions, undefined);
    assert.deepEqual(posted!.activity.attachments, [
      {
        contentType: 'application/vnd.microsoft.card.hero',
        content: {
          text: '¿Quiere conocer sus opciones?',
          buttons: [
            { type: 'imBack', title: 'Ver opciones de pago', value: 'Ver opciones de pago' },
            { type: 'imBack', title: 'Hablar con un asesor', value: 'Hablar con un asesor' },
          ],
        },
      },
    ]);
  });

  it('greets a person who joins the conversation', async () => {
    const handler = new RecordingHandler(() => [{ text: '¡Hola! 👋 Soy el asistente virtual de acuerdos de pago.' }]);
    harness = await startHarness(handler);
    assert.equal((await postActivity(harness.url, activity('emulator-conversation-update', connector.url))).status, 200);
    const [greeting] = await connector.waitFor(1);
    assert.match(String(greeting!.activity.text), /asistente virtual/);
    // The bot's own arrival is not greeted.
    assert.equal((await postActivity(harness.url, activity('emulator-bot-added', connector.url))).status, 200);
    assert.equal(handler.received.length, 1);
  });

  for (const [label, body] of [
    ['an activity without a type', { ...activity('emulator-message', 'http://127.0.0.1:1'), type: undefined }],
    ['an activity without a conversation', { ...activity('emulator-message', 'http://127.0.0.1:1'), conversation: undefined }],
    ['a JSON array', '[]'],
    ['broken JSON', '{"type": "message",'],
  ] as const) {
    it(`answers 400 to ${label}`, async () => {
      const handler = new RecordingHandler();
      harness = await startHarness(handler);
      const res = await postActivity(harness.url, body);
      assert.equal(res.status, 400);
      assert.equal(handler.received.length, 0);
    });
  }

  it('answers 401 without a Bot Framework token when an app id is set, processing nothing', async () => {
    const handler = new RecordingHandler();
    harness = await startHarness(handler, AZURE);
    const res = await postActivity(harness.url, activity('emulator-message', connector.url));
    assert.equal(res.status, 401);
    const forged = await postActivity(harness.url, activity('emulator-message', connector.url), { authorization: 'Bearer not.a.token' });
    assert.equal(forged.status, 401);
    assert.equal(handler.received.length, 0);
    assert.equal(connector.posted.length, 0);
  });

  it('in emulator mode, refuses service URLs off this machine', async () => {
    const handler = new RecordingHandler();
    harness = await startHarness(handler);
    const res = await postActivity(harness.url, activity('emulator-message', 'https://attacker.example.com/'));
    assert.equal(res.status, 403);
    assert.equal(handler.received.length, 0);
  });

  it('refuses emulator mode in production', async () => {
    await assert.rejects(startHarness(new RecordingHandler(), { NODE_ENV: 'production' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.issues[0]?.variable, 'MicrosoftAppId');
      return true;
    });
  });

  it('asks for the tenant of a single-tenant app', async () => {
    await assert.rejects(startHarness(new RecordingHandler(), { ...AZURE, MicrosoftAppType: 'SingleTenant' }), /MicrosoftAppTenantId/);
  });

  it('answers 500 when the engine fails, and keeps serving', async () => {
    const handler = new RecordingHandler(() => {
      throw new Error('database unreachable');
    });
    harness = await startHarness(handler);
    assert.equal((await postActivity(harness.url, activity('emulator-message', connector.url))).status, 500);
    assert.equal((await postActivity(harness.url, activity('emulator-bot-added', connector.url))).status, 200);
  });

  it('ignores group chats', async () => {
    const handler = new RecordingHandler();
    harness = await startHarness(handler);
    assert.equal((await postActivity(harness.url, activity('teams-group-message', connector.url))).status, 200);
    assert.equal(handler.received.length, 0);
  });

  describe('sending', () => {
    it('cannot send without a stored conversation reference, and says the retry is pointless', async () => {
      harness = await startHarness(new RecordingHandler());
      await assert.rejects(harness.channel.outbound.send('emulator:abc', [{ text: 'Hola' }]), (err: unknown) => {
        assert.ok(err instanceof ChannelApiError);
        assert.equal(err.options.retryable, false);
        return true;
      });
    });

    it('does not retry when the channel refuses the bot (removed from the conversation)', async () => {
      const handler = new RecordingHandler(() => []);
      harness = await startHarness(handler);
      await postActivity(harness.url, activity('emulator-message', connector.url));
      connector.failNext(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
      const reference = handler.received[0]!.channelRef;
      await assert.rejects(harness.channel.outbound.send(handler.received[0]!.from, [{ text: 'Hola' }], { channelRef: reference }), (err: unknown) => {
        assert.ok(err instanceof ChannelApiError);
        assert.equal(err.options.retryable, false);
        assert.equal(err.options.code, 403);
        return true;
      });
    });

    it('says how many replies went out when the connector fails part-way, with their activity ids', async () => {
      const handler = new RecordingHandler(() => []);
      harness = await startHarness(handler);
      await postActivity(harness.url, activity('emulator-message', connector.url));
      const before = connector.posted.length;
      // The first reply is accepted; the connector refuses the second.
      connector.once('posted', () => connector.failNext(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.'));
      const reference = handler.received[0]!.channelRef;
      const replies = [{ text: 'Uno' }, { text: 'Dos' }, { text: 'Tres' }];
      await assert.rejects(harness.channel.outbound.send(handler.received[0]!.from, replies, { channelRef: reference }), (err: unknown) => {
        assert.ok(err instanceof ChannelApiError);
        assert.equal(err.options.code, 403);
        assert.equal(err.options.delivered, 1);
        assert.deepEqual(err.options.externalIds, [`reply-${before + 1}`]);
        return true;
      });
      assert.deepEqual(connector.posted.slice(before).map((p) => p.activity.text), ['Uno']);
      const result = await harness.channel.outbound.send(handler.received[0]!.from, replies.slice(1), { channelRef: reference });
      assert.deepEqual(connector.posted.slice(before).map((p) => p.activity.text), ['Uno', 'Dos', 'Tres']);
      assert.deepEqual(result, { externalId: `reply-${before + 3}`, externalIds: [`reply-${before + 2}`, `reply-${before + 3}`] });
    });
  });
});
