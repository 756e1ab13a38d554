import assert from 'node:assert/strict';
import { chatWords, cleanText, collapseRepeats, foldSameLength } from '../../src/nlu/normalize.js';

describe('nlu: normalization', () => {
  describe('cleanText', () => {
    it('removes control, zero-width and bidi characters and collapses whitespace', () => {
      assert.equal(cleanText('  hola\u0000\u0007\t\n buenas\u200b\u202e  ', 2000), 'hola buenas');
    });

    it('cuts to the maximum, never leaving half an emoji', () => {
      assert.equal(cleanText('a'.repeat(20_000), 2000).length, 2000);
      const cut = cleanText('😀'.repeat(10), 5);
      assert.equal(cut, '😀😀');
      assert.ok(!/[\ud800-\udbff]$/.test(cut));
    });

    it('turns empty and whitespace-only text into an empty string', () => {
      assert.equal(cleanText('', 2000), '');
      assert.equal(cleanText(' \t\n\u00a0 ', 2000), '');
    });
  });

  it('folds accents without changing the length, so positions still point into the original', () => {
    const text = 'Cédula Nº Añoñuevo ÜÉ';
    const folded = foldSameLength(text);
    assert.equal(folded, 'cedula nº anonuevo ue');
    assert.equal(folded.length, text.length);
  });

  it('collapses letters repeated for emphasis but keeps ll, rr, cc and ee', () => {
    assert.equal(collapseRepeats('siiiii'), 'si');
    assert.equal(collapseRepeats('holaa'), 'hola');
    assert.equal(collapseRepeats('noooo'), 'no');
    assert.equal(collapseRepeats('llamar'), 'llamar');
    assert.equal(collapseRepeats('ahorra'), 'ahorra');
    assert.equal(collapseRepeats('accion'), 'accion');
    assert.equal(collapseRepeats('cree'), 'cree');
  });

  it('expands chat abbreviations', () => {
    assert.deepEqual(chatWords('q xq pq k pa tb dnd x favor'), ['que', 'porque', 'porque', 'que', 'para', 'tambien', 'donde', 'por', 'favor']);
    assert.deepEqual(chatWords('porfa kiero pagar'), ['por', 'favor', 'quiero', 'pagar']);
    assert.deepEqual(chatWords('Sííííí DALE'), ['si', 'dale']);
  });

  it('turns meaningful emojis into marker words and drops the rest', () => {
    assert.deepEqual(chatWords('👍'), ['xemojisi']);
    assert.deepEqual(chatWords('no 👎'), ['no', 'xemojino']);
    assert.deepEqual(chatWords('😂😂🎉'), []);
  });

  it('replaces numbers with one marker word', () => {
    assert.deepEqual(chatWords('pago 200.000 el 15'), ['pago', 'xnum', 'el', 'xnum']);
    assert.deepEqual(chatWords('150k y 200mil'), ['xnum', 'k', 'y', 'xnum', 'mil']);
  });
});
