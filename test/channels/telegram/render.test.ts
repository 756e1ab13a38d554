import assert from 'node:assert/strict';
import { encodeCallbackData, MAX_MESSAGE_LENGTH, renderReply, splitText } from '../../../channels/telegram/render.js';

describe('telegram rendering', () => {
  it('keeps a short text whole', () => {
    assert.deepEqual(splitText('Hola, ¿en qué te ayudo?'), ['Hola, ¿en qué te ayudo?']);
  });

  it('splits a long text under 4,096 characters a piece, between words, losing nothing', () => {
    const words = Array.from({ length: 1500 }, (_, i) => `palabra${i}`);
    const text = words.join(' ');
    const parts = splitText(text);
    assert.ok(parts.length >= 4);
    for (const part of parts) assert.ok(part.length <= MAX_MESSAGE_LENGTH, `piece of ${part.length}`);
    assert.deepEqual(parts.join(' ').split(' '), words);
  });

  it('prefers a paragraph break', () => {
    const first = 'a'.repeat(3000);
    const second = 'b '.repeat(1000).trim();
    assert.deepEqual(splitText(`${first}\n\n${second}`), [first, second]);
  });

  it('cuts a word longer than a message without splitting an emoji', () => {
    const text = 'x'.repeat(4095) + '😀' + 'y'.repeat(10);
    const parts = splitText(text);
    assert.equal(parts[0], 'x'.repeat(4095));
    assert.equal(parts[1], '😀' + 'y'.repeat(10));
  });

  it('puts the buttons as an inline keyboard on the last piece, one a row', () => {
    const messages = renderReply({
      text: 'z '.repeat(3000).trim(),
      buttons: [
        { id: 'contado', text: 'Pago de contado' },
        { id: 'cuotas_3', text: '3 cuotas' },
      ],
    });
    assert.equal(messages.length, 2);
    assert.equal(messages[0]!.reply_markup, undefined);
    assert.deepEqual(messages[1]!.reply_markup, {
      inline_keyboard: [[{ text: 'Pago de contado', callback_data: 'contado' }], [{ text: '3 cuotas', callback_data: 'cuotas_3' }]],
    });
  });

  it('offers "share my number" as a one-time request_contact keyboard when the reply asks for it', () => {
    const [message] = renderReply({ text: '¿Me escribe los últimos 4 dígitos?', requestContact: '📱 Compartir mi número' });
    assert.deepEqual(message?.reply_markup, {
      keyboard: [[{ text: '📱 Compartir mi número', request_contact: true }]],
      resize_keyboard: true,
      one_time_keyboard: true,
    });
    // Inline buttons win: one message holds one keyboard.
    const [withButtons] = renderReply({ text: 'x', buttons: [{ id: 'a', text: 'A' }], requestContact: 'Compartir' });
    assert.ok(withButtons?.reply_markup && 'inline_keyboard' in withButtons.reply_markup);
  });

  it('names a button by position when its id is longer than callback_data allows', () => {
    assert.equal(encodeCallbackData({ id: 'x'.repeat(65), text: 'Largo' }, 2), '~2');
    assert.equal(encodeCallbackData({ id: 'ñ'.repeat(33), text: 'Largo' }, 0), '~0'); // 66 bytes
    assert.equal(encodeCallbackData({ id: 'x'.repeat(64), text: 'Justo' }, 0), 'x'.repeat(64));
  });
});
