import assert from 'node:assert/strict';
import { interpretUpdate, OPENING_TEXT } from '../../../channels/telegram/updates.js';
import { update } from './fixtures.js';

/** When the service received the update (taps and activities without a time of their own get it). */
const RECEIVED_AT = new Date('2026-11-23T15:00:00Z');

const BOT_ID = '7012345678';

function handled(name: string) {
  const action = interpretUpdate(update(name), BOT_ID, RECEIVED_AT);
  assert.equal(action.kind, 'handle', `${name} should reach the engine`);
  return action;
}

describe('telegram updates → InboundMessage', () => {
  it('reads a text message: the chat is the sender, the update_id the delivery id', () => {
    const { message, callbackQueryId } = handled('text');
    assert.deepEqual(message, {
      channel: 'telegram',
      from: '5281907331',
      messageId: '7012345678:512900101',
      text: 'hola buenas, me llego un mensaje de una deuda',
      at: new Date(1763726400 * 1000),
    });
    assert.equal(callbackQueryId, undefined);
  });

  it('gives a redelivered update the same delivery id, and another bot a different one', () => {
    const first = interpretUpdate(update('text'), BOT_ID, RECEIVED_AT);
    const again = interpretUpdate(update('text'), BOT_ID, RECEIVED_AT);
    const otherBot = interpretUpdate(update('text'), '6999999999', RECEIVED_AT);
    assert.ok(first.kind === 'handle' && again.kind === 'handle' && otherBot.kind === 'handle');
    assert.equal(again.message.messageId, first.message.messageId);
    assert.notEqual(otherBot.message.messageId, first.message.messageId);
  });

  it('reads a button tap as its id and its label, to be answered', () => {
    const action = handled('callback-query');
    assert.equal(action.callbackQueryId, '2268516093746192471');
    assert.equal(action.message.buttonId, 'cuotas_3');
    assert.equal(action.message.text, '3 cuotas');
    assert.equal(action.message.from, '5281907331');
    assert.equal(action.message.messageId, '7012345678:512900104');
  });

  it('turns a tap on a button whose id did not fit into its label only', () => {
    const raw = update('callback-query');
    const cq = raw.callback_query as { data: string; message: { reply_markup: { inline_keyboard: { text: string; callback_data: string }[][] } } };
    cq.data = '~1';
    cq.message.reply_markup.inline_keyboard[1]![0]!.callback_data = '~1';
    const { message } = (() => {
      const action = interpretUpdate(raw, BOT_ID, RECEIVED_AT);
      assert.equal(action.kind, 'handle');
      return action;
    })();
    assert.equal(message.buttonId, undefined);
    assert.equal(message.text, '3 cuotas');
  });

  it('opens the flow on /start, deep-link payload or not', () => {
    assert.equal(handled('start').message.text, OPENING_TEXT);
    const addressed = update('start');
    (addressed.message as { text: string }).text = '/start@acuerdo_cobranza_bot';
    const action = interpretUpdate(addressed, BOT_ID, RECEIVED_AT);
    assert.ok(action.kind === 'handle');
    assert.equal(action.message.text, OPENING_TEXT);
  });

  for (const [fixture, kind] of [
    ['photo', 'photo'],
    ['voice', 'voice'],
    ['sticker', 'sticker'],
    ['location', 'location'],
    ['document', 'document'],
  ] as const) {
    it(`marks a ${kind} as media, with no text (a caption is not read)`, () => {
      const { message } = handled(fixture);
      assert.deepEqual(message.media, { kind });
      assert.equal(message.text, undefined);
    });
  }

  it('reads a shared contact with the id of the user it belongs to, as no media', () => {
    const own = handled('contact-own').message;
    assert.deepEqual(own.contact, { phone: '573001234567', userId: '5281907331' });
    assert.equal(own.from, '5281907331', 'the sender: the engine counts the number only when the card is theirs');
    assert.equal(own.media, undefined);
    const forwarded = handled('contact-forwarded').message;
    assert.deepEqual(forwarded.contact, { phone: '+57 300 123 4567', userId: '6012345678' });
    assert.notEqual(forwarded.contact?.userId, forwarded.from);
  });

  it('ignores edited messages', () => {
    assert.deepEqual(interpretUpdate(update('edited-message'), BOT_ID, RECEIVED_AT), { kind: 'ignore', reason: 'not a new message' });
  });

  it('ignores group chats, where third parties would read about the debt', () => {
    assert.equal(interpretUpdate(update('group-text'), BOT_ID, RECEIVED_AT).kind, 'ignore');
  });

  it('ignores what is not an update', () => {
    assert.equal(interpretUpdate({ hello: 'world' }, BOT_ID, RECEIVED_AT).kind, 'ignore');
  });
});
