/**
 * The Bot Framework channel with the real engine and outbox on a fresh database:
 * activities in through CloudAdapter, replies out to a local connector.
 */
import assert from 'node:assert/strict';
import { enqueueReplies } from '../../../src/engine/outbox.js';
import { CARLOS, CARLOS_DIGITS, engineFixture, insertDebtor, insertPortfolio, type EngineFixture } from '../../engine/support/harness.js';
import { FakeConnector, type PostedActivity } from './fake-connector.js';
import { activity, postActivity, startHarness, type Harness } from './support.js';

const CONVERSATION = '0a5f1d40-c6e1-11f0-9a7b-3f2c5e8d1a22|livechat';

describe('a negotiation over the Bot Framework, end to end', function () {
  this.timeout(60_000);
  let connector: FakeConnector;
  let fixture: EngineFixture;
  let harness: Harness;
  let counter = 0;

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    fixture = await engineFixture();
    await insertDebtor(fixture.knex, await insertPortfolio(fixture.knex, 'Tuya'), CARLOS);
    harness = await startHarness(fixture.engine, {}, fixture.knex);
    fixture.outbox.registerChannel(harness.channel.outbound);
  });
  afterEach(async () => {
    await fixture.outbox.stop();
    await harness.close();
    await connector.close();
    await fixture.db.drop();
  });

  /** Posts an activity, waits for the outbox, returns the activities the bot posted. */
  async function deliver(body: Record<string, unknown>): Promise<PostedActivity[]> {
    const before = connector.posted.length;
    const res = await postActivity(harness.url, body);
    assert.equal(res.status, 200);
    await fixture.outbox.idle();
    return connector.posted.slice(before);
  }

  function says(text: string): Record<string, unknown> {
    counter += 1;
    return { ...activity('emulator-message', connector.url), id: `msg-${counter}`, text, timestamp: new Date().toISOString() };
  }

  const texts = (posted: PostedActivity[]) => posted.map((p) => String(p.activity.text)).join('\n');
  const actions = (posted: PostedActivity[]) =>
    (posted.at(-1)?.activity.suggestedActions as { actions: { type: string; title: string; value: string }[] } | undefined)?.actions;

  it('greets on conversationUpdate from the flow, offers suggested actions, and records the agreement', async () => {
    const greeting = await deliver(activity('emulator-conversation-update', connector.url));
    assert.equal(greeting.length, 2);
    assert.match(texts(greeting), /Soy el asistente virtual de acuerdos de pago/);
    assert.match(texts(greeting), /número de cédula/);
    assert.ok(greeting.every((p) => p.conversationId === CONVERSATION));

    // Ley 2300 art. 4: the cédula alone discloses nothing; the mobile's last 4 digits do.
    const asked = await deliver(says('93388915'));
    assert.doesNotMatch(texts(asked), /Carlos|\$/);
    assert.match(texts(asked), /últimos 4 dígitos/);
    const found = await deliver(says(CARLOS_DIGITS));
    assert.match(texts(found), /Gracias, Carlos/);
    assert.deepEqual(actions(found), [
      { type: 'imBack', title: 'Ver opciones de pago', value: 'Ver opciones de pago' },
      { type: 'imBack', title: 'Hablar con un asesor', value: 'Hablar con un asesor' },
    ]);

    // A tap on an imBack button comes back as its text.
    const plans = await deliver(says('Ver opciones de pago'));
    const options = actions(plans);
    assert.equal(options?.length, 4);
    const threeInstallments = options?.find((a) => /^3 cuotas/.test(a.title));
    assert.ok(threeInstallments);

    const confirm = await deliver(says(threeInstallments.value));
    assert.deepEqual(actions(confirm)?.map((a) => a.title), ['Sí, confirmo', 'Ver otras opciones']);

    const done = await deliver(says('Sí, confirmo'));
    assert.match(texts(done), /acuerdo de pago quedó registrado/);
    const [agreement] = await fixture.knex('agreements').select();
    assert.equal(agreement?.channel, 'botframework');
    assert.equal(agreement?.installments, 3);
  });

  it('keeps the conversation reference, so a later message reaches the debtor', async () => {
    await deliver(activity('emulator-conversation-update', connector.url));
    const conversation = await fixture.knex('conversations').where({ channel: 'botframework' }).first();
    assert.equal(conversation.user_id, `emulator:${CONVERSATION}`);
    assert.equal(conversation.channel_ref.serviceUrl, connector.url);
    assert.equal(conversation.channel_ref.conversation.id, CONVERSATION);

    // Later, outside any turn (an agent's message): only the stored reference says where to send it.
    const id = await enqueueReplies(fixture.knex, {
      conversationId: conversation.id,
      channel: 'botframework',
      recipient: conversation.user_id,
      replies: [{ text: 'Hola Carlos, le escribe Laura, asesora de cobranza.' }],
      kind: 'agent',
    }, fixture.clock.now());
    const before = connector.posted.length;
    await fixture.outbox.dispatch([id]);
    const [later] = connector.posted.slice(before);
    assert.equal(later?.conversationId, CONVERSATION);
    assert.equal(later?.activity.text, 'Hola Carlos, le escribe Laura, asesora de cobranza.');
    assert.equal((await fixture.knex('outbox').where({ id }).first()).status, 'sent');
  });

  it('answers a redelivered activity once', async () => {
    await deliver(activity('emulator-conversation-update', connector.url));
    const hello = says('hola');
    const first = await deliver(hello);
    const second = await deliver(hello);
    assert.ok(first.length > 0);
    assert.deepEqual(second, []);
  });
});
