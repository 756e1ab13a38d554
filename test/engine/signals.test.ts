import assert from 'node:assert/strict';
import { matchButton } from '../../src/engine/buttons.js';
import { readSignals } from '../../src/engine/signals.js';
import type { NluResult } from '../../src/nlu/types.js';

/** The signals the flow's irreversible steps hang on, read as debtors write on a phone. */
const nlu = (entities: NluResult['entities'] = {}): NluResult => ({ text: '', intent: 'confirmacion', confidence: 0.9, source: 'model', entities });

describe('what the words say (signals)', () => {
  it('an explicit yes is only agreement words', () => {
    for (const t of ['si', 'siii dale', 'Sí, confirmo', 'listo de una', 'de una hagale', 'ok perfecto gracias', 'si señor', 'dale pues', 'okkk', 'de una', 'de una pues']) {
      assert.equal(readSignals(t, nlu()).si_claro, true, t);
    }
  });

  it('a yes with a condition, a figure, a date, a question or sarcasm is not a yes', () => {
    assert.equal(readSignals('si pero empiezo en marzo', nlu({ date: '2027-03-01' })).si_claro, false);
    assert.equal(readSignals('ok pero de 300', nlu()).si_claro, false);
    assert.equal(readSignals('ok pero de 300', nlu()).con_condicion, true);
    assert.equal(readSignals('listo si me quitan los intereses', nlu()).con_condicion, true);
    assert.equal(readSignals('si de 50 mil', nlu({ amount: 50000 })).si_claro, false);
    assert.equal(readSignals('si?', nlu()).si_claro, false);
    assert.equal(readSignals('si claro como no 🙄', nlu()).si_claro, false);
    assert.equal(readSignals('jajaja si ahorita les pago', nlu()).si_claro, false);
    assert.equal(readSignals('no acepto', nlu()).si_claro, false);
    assert.equal(readSignals('voy a pagar', nlu()).si_claro, false, 'a payment intent is not a yes');
    assert.equal(readSignals('el perro se comio la tarea', nlu()).con_condicion, false, '"perro" is not "pero"');
  });

  it('opt-outs come from the compliance detector, in all their variants', () => {
    for (const t of ['dejen de mandarme mensajes', 'no me vuelvan a contactar', 'no quiero más mensajes', 'STOP', 'Baja', 'yo no autoricé que me contactaran', 'no me manden mas mensajes', 'paren de escribirme']) {
      assert.equal(readSignals(t).pide_baja, true, t);
    }
    for (const t of ['what is this about?', '😡😡', 'no me alcanza la plata', 'no quiero pagar eso', 'stop paying? no way']) {
      assert.equal(readSignals(t).pide_baja, false, t);
    }
  });

  it('English, emojis alone and the questions the flow answers', () => {
    assert.equal(readSignals('what is this about?').en_ingles, true);
    assert.equal(readSignals('who are you? i dont understand').en_ingles, true);
    assert.equal(readSignals('ok gracias').en_ingles, false);
    assert.equal(readSignals('😡😡😡').solo_emojis, true);
    assert.equal(readSignals('como le pago?').pregunta, 'como_pagar');
    assert.equal(readSignals('donde consigno').pregunta, 'como_pagar');
    assert.equal(readSignals('que referencia pongo').pregunta, 'referencia');
    assert.equal(readSignals('me dan paz y salvo?').pregunta, 'paz_y_salvo');
    assert.equal(readSignals('si pago salgo de datacredito?').pregunta, 'centrales');
    assert.equal(readSignals('a que horas atienden').pregunta, 'horario');
    assert.equal(readSignals('de parte de quien me escriben').pregunta, 'quien_escribe');
    assert.equal(readSignals('y si pago hoy?', nlu({ date: '2026-11-23' })).pregunta, 'fecha');
    assert.equal(readSignals('puedo pagar el 30', nlu({ date: '2026-11-30' })).pregunta, undefined, 'a request for a date is not a question about one');
  });

  it('"ya pagué", "no debo eso", and agreement requests; a paz y salvo or a cancellation is not a dispute', () => {
    assert.equal(readSignals('eso ya lo pague el mes pasado').ya_pague, true);
    assert.equal(readSignals('yo ya cancele esa deuda').ya_pague, true);
    assert.equal(readSignals('yo no debo eso').no_reconoce, true);
    assert.equal(readSignals('esa deuda no es mia, nunca saque credito').no_reconoce, true);
    assert.equal(readSignals('necesito el paz y salvo').no_reconoce, false);
    assert.equal(readSignals('quiero cancelar el acuerdo').no_reconoce, false);
    assert.equal(readSignals('quiero cancelar el acuerdo').cancelar_acuerdo, true);
    assert.equal(readSignals('quiero cambiar la fecha del acuerdo').cambiar_acuerdo, true);
  });
});

describe('options picked by position in words', () => {
  const buttons = [
    { id: 'contado', text: 'Pago de contado: $98.765' },
    { id: 'cuotas_3', text: '3 cuotas de $37.037' },
    { id: 'cuotas_6', text: '6 cuotas de $20.000' },
  ];
  it('"la primera", "la ultima", "la de 6", "2"', () => {
    assert.equal(matchButton('la primera', buttons)?.id, 'contado');
    assert.equal(matchButton('la segunda opcion', buttons)?.id, 'cuotas_3');
    assert.equal(matchButton('la ultima', buttons)?.id, 'cuotas_6');
    assert.equal(matchButton('la de 6', buttons)?.id, 'cuotas_6');
    assert.equal(matchButton('2', buttons)?.id, 'cuotas_3');
  });
  it('"a 20 cuotas" is not the button of $20.000', () => {
    assert.equal(matchButton('a 20 cuotas', buttons), undefined);
  });
});
