import assert from 'node:assert/strict';
import { maskPersonalData, reviewReasons } from '../../src/learning/index.js';

describe('learning: personal data masked for the inbox and the exports', () => {
  it('replaces names, cédulas, phones, amounts, e-mails, links and references', () => {
    const names = ['CARLOS ANDRÉS FAJARDO'];
    assert.equal(maskPersonalData('soy Carlos Fajardo, cc 93388915, cel 300 123 4567', { names }), 'soy [nombre] [nombre], cc [numero], cel [telefono]');
    assert.equal(maskPersonalData('puedo $120.000 o 2 palos, o 50 lucas', { names }), 'puedo [monto] o [monto], o [monto]');
    assert.equal(maskPersonalData('los últimos 4567', { names }), 'los últimos [numero]');
    assert.equal(maskPersonalData('escriba a ana@correo.co o vea https://pago.co/x?ref=1 ref AC-7KQ2M9'), 'escriba a [correo] o vea [enlace] ref [referencia]');
    assert.equal(maskPersonalData('quiero 3 cuotas el 15'), 'quiero 3 cuotas el 15', 'small numbers carry no identity');
    assert.equal(maskPersonalData('Andrés no es Carlosito', { names }), '[nombre] no es Carlosito', 'whole words only');
  });

  it('puts in the inbox what the bot was unsure about, not what it knew', () => {
    const nlu = (source: 'model' | 'openai' | 'rules' | 'cedula', confidence: number) => ({ text: 'x', intent: 'saludo' as const, confidence, source, entities: {} });
    const turn = { channel: 'api', messageId: 'm', status: 'open', state: 's', conversationId: 'c' };
    assert.deepEqual(reviewReasons({ ...turn, nlu: nlu('model', 0.4) }, 0.6), ['low_confidence']);
    assert.deepEqual(reviewReasons({ ...turn, nlu: nlu('model', 0.9) }, 0.6), []);
    assert.deepEqual(reviewReasons({ ...turn, nlu: nlu('openai', 0.9) }, 0.6), ['openai']);
    assert.deepEqual(reviewReasons({ ...turn, nlu: nlu('rules', 0.7), matched: 'fallback' }, 0.6), ['rules', 'flow_fallback']);
    assert.deepEqual(reviewReasons({ ...turn, nlu: nlu('cedula', 0.99) }, 0.6), []);
    assert.deepEqual(reviewReasons({ ...turn, nlu: nlu('model', 0.9), status: 'handoff', previousStatus: 'open' }, 0.6), ['handoff']);
    assert.deepEqual(reviewReasons({ ...turn, nlu: nlu('model', 0.9), status: 'handoff', previousStatus: 'handoff' }, 0.6), []);
  });
});
