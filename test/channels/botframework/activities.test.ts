import assert from 'node:assert/strict';
import { activitySchema, interpretActivity, OPENING_TEXT } from '../../../channels/botframework/activities.js';
import { activity } from './support.js';

/** When the service received the update (taps and activities without a time of their own get it). */
const RECEIVED_AT = new Date('2026-11-23T15:00:00Z');

const SERVICE = 'http://127.0.0.1:3978';

function interpret(name: string) {
  return interpretActivity(activitySchema.parse(activity(name, SERVICE)), RECEIVED_AT);
}

describe('bot framework activities → InboundMessage', () => {
  it('reads a message: the conversation is the sender, its reference travels along', () => {
    const action = interpret('emulator-message');
    assert.equal(action.kind, 'handle');
    assert.deepEqual(action.message, {
      channel: 'botframework',
      from: 'emulator:0a5f1d40-c6e1-11f0-9a7b-3f2c5e8d1a22|livechat',
      messageId: 'emulator:0a5f1d40-c6e1-11f0-9a7b-3f2c5e8d1a22|livechat:1b7e3c90-c6e1-11f0-8f3d-9d4e2b6a7c11',
      text: 'hola, quiero saber de mi deuda',
      at: new Date('2026-11-21T15:00:00.231Z'),
      channelRef: {
        activityId: '1b7e3c90-c6e1-11f0-8f3d-9d4e2b6a7c11',
        user: { id: '5e1f2a7c-3b0d-4c65-9a4e-2f1d8c7b6a50', name: 'User' },
        bot: { id: '0c2d4e60-c6e1-11f0-9a7b-3f2c5e8d1a22', name: 'Bot' },
        conversation: { id: '0a5f1d40-c6e1-11f0-9a7b-3f2c5e8d1a22|livechat' },
        channelId: 'emulator',
        locale: 'es-CO',
        serviceUrl: SERVICE,
      },
    });
  });

  it('reads a Teams message by its text, not the HTML copy attached to it', () => {
    const action = interpret('teams-personal-message');
    assert.ok(action.kind === 'handle');
    assert.equal(action.message.text, '93388915');
    assert.equal(action.message.media, undefined);
    assert.match(action.message.from, /^msteams:a:17I0kl8/);
  });

  it('marks an image as media', () => {
    const action = interpret('webchat-image');
    assert.ok(action.kind === 'handle');
    assert.deepEqual(action.message.media, { kind: 'image' });
    assert.equal(action.message.text, undefined);
  });

  it('opens the conversation when a person joins it', () => {
    const action = interpret('emulator-conversation-update');
    assert.ok(action.kind === 'handle');
    assert.equal(action.message.text, OPENING_TEXT);
    assert.equal(action.message.messageId, 'emulator:0a5f1d40-c6e1-11f0-9a7b-3f2c5e8d1a22|livechat:0a8c2b10-c6e1-11f0-9a7b-3f2c5e8d1a22');
  });

  it('says nothing when only the bot joined', () => {
    assert.equal(interpret('emulator-bot-added').kind, 'ignore');
  });

  it('ignores group conversations, where third parties would read about the debt', () => {
    assert.equal(interpret('teams-group-message').kind, 'ignore');
  });

  it('ignores typing and other activities', () => {
    const typing = activitySchema.parse({ ...activity('emulator-message', SERVICE), type: 'typing', text: undefined });
    assert.equal(interpretActivity(typing, RECEIVED_AT).kind, 'ignore');
  });

  it('reads a card button that carries its id', () => {
    const submit = activitySchema.parse({ ...activity('emulator-message', SERVICE), text: undefined, value: { buttonId: 'ver_opciones' } });
    const action = interpretActivity(submit, RECEIVED_AT);
    assert.ok(action.kind === 'handle');
    assert.equal(action.message.buttonId, 'ver_opciones');
  });

  it('refuses activities without the fields a reply needs', () => {
    const good = activity('emulator-message', SERVICE);
    for (const broken of [
      { ...good, type: undefined },
      { ...good, conversation: undefined },
      { ...good, serviceUrl: 'not a url' },
      { ...good, from: {} },
    ]) {
      assert.equal(activitySchema.safeParse(broken).success, false, JSON.stringify(broken).slice(0, 60));
    }
  });
});
