import assert from 'node:assert/strict';
import { matchButton, renderNumberedOptions } from '../../src/engine/buttons.js';
import { addBusinessDays, bogotaDate } from '../../src/core/index.js';
import { computeOffers, evaluateCounteroffer, type Verdict } from '../../src/engine/offers.js';
import { BUILTIN_POLICY, type Policy } from '../../src/flows/index.js';

const carlos = { saldoTotal: 123456, oferta1: 98765, oferta2: 86419, hasta3: 111110, hasta6: 117283, hasta12: 123456 };
const policy: Policy = { ...BUILTIN_POLICY, minInstallment: 10_000, maxInstallments: 12 };

const summary = (v: Verdict) => (v.outcome === 'missing' ? 'missing' : `${v.outcome}: ${v.plan.id} ${v.plan.installments}x${v.plan.installmentAmount} = ${v.plan.total}`);

describe('offers', () => {
  it('come from the debtor’s columns when the bank sent them', () => {
    const offers = computeOffers(carlos, policy);
    assert.deepEqual(
      offers.plans.map((p) => [p.id, p.total, p.installments, p.installmentAmount, p.text]),
      [
        ['contado', 98765, 1, 98765, 'Pago de contado: $98.765'],
        ['cuotas_3', 111110, 3, 37037, '3 cuotas de $37.037'],
        ['cuotas_6', 117283, 6, 19548, '6 cuotas de $19.548'],
        ['cuotas_12', 123456, 12, 10288, '12 cuotas de $10.288'],
      ],
    );
    assert.equal(offers.minCash, 86419, 'Oferta_2 is the floor for cash');
    assert.equal(offers.longest.id, 'cuotas_12');
  });

  it('come from the portfolio’s policy otherwise', () => {
    const offers = computeOffers({ saldoTotal: 1_200_000 }, { ...policy, cashDiscountPct: 20, maxCashDiscountPct: 30, installmentOptions: [3, 6, 12, 24] });
    assert.deepEqual(
      offers.plans.map((p) => [p.id, p.total, p.installmentAmount]),
      [
        ['contado', 960000, 960000],
        ['cuotas_3', 1200000, 400000],
        ['cuotas_6', 1200000, 200000],
        ['cuotas_12', 1200000, 100000],
      ],
      '24 installments exceed max_installments',
    );
    assert.equal(offers.minCash, 840000);
    const small = computeOffers({ saldoTotal: 50_000 }, { ...policy, minInstallment: 20_000 });
    assert.deepEqual(small.plans.map((p) => p.id), ['contado'], 'no plan under the minimum installment');
  });
});

describe('counter-offers', () => {
  const offers = computeOffers(carlos, policy);
  const judge = (amount?: number, installments?: number, text = '') => summary(evaluateCounteroffer({ amount, installments, text }, offers, policy));

  it('accept a number of installments within the policy', () => {
    assert.equal(judge(undefined, 6), 'accepted: cuotas_6 6x19548 = 117283');
    assert.equal(judge(undefined, 4), 'accepted: cuotas_4 4x29321 = 117283', 'priced like the next longer offered plan');
    assert.equal(judge(undefined, 1), 'accepted: contado 1x98765 = 98765');
  });

  it('counter too many installments with the longest allowed plan', () => {
    assert.equal(judge(undefined, 24), 'countered: cuotas_12 12x10288 = 123456');
  });

  it('read an amount alone as a monthly installment, accepted exactly: that amount, the last installment what is left', () => {
    assert.equal(judge(50_000, undefined, 'puedo pagar 50 mil mensuales'), 'accepted: cuotas_3_propuesta 3x50000 = 111110');
    assert.equal(judge(37_037, undefined, 'puedo 37.037 al mes'), 'accepted: cuotas_3 3x37037 = 111110');
    assert.equal(judge(15_000, undefined, 'puedo 15 mil al mes'), 'accepted: cuotas_9_propuesta 9x15000 = 123456');
    assert.equal(judge(5_000, undefined, 'puedo 5 mil al mes'), 'countered: cuotas_12 12x10288 = 123456');
  });

  it('read an amount as cash when the words say so or it reaches the cash floor', () => {
    assert.equal(judge(90_000, undefined, 'te doy 90 mil de contado'), 'accepted: contado_propuesto 1x90000 = 90000');
    assert.equal(judge(120_000, undefined, 'le pago 120 mil'), 'accepted: contado 1x98765 = 98765', 'never more than the offer');
    assert.equal(judge(50_000, undefined, 'te doy 50 mil de una'), 'countered: contado_minimo 1x86419 = 86419');
  });

  it('check an amount with a number of installments together', () => {
    assert.equal(judge(40_000, 3, 'cuotas de 40 mil a 3 meses'), 'accepted: cuotas_3 3x37037 = 111110');
    // 3 installments of 20 mil do not reach the total: countered (never "accepted" as something else), 20 mil in 6.
    assert.equal(judge(20_000, 3, 'cuotas de 20 mil a 3 meses'), 'countered: cuotas_6_propuesta 6x20000 = 117283');
  });

  it('say missing without a figure', () => {
    assert.equal(judge(), 'missing');
  });
});

describe('buttons for channels without buttons', () => {
  const buttons = [
    { id: 'contado', text: 'Pago de contado: $98.765' },
    { id: 'cuotas_3', text: '3 cuotas de $37.037' },
  ];

  it('render as a numbered list', () => {
    assert.equal(
      renderNumberedOptions({ text: '¿Cómo quiere pagar?', buttons }),
      '¿Cómo quiere pagar?\n\n1. Pago de contado: $98.765\n2. 3 cuotas de $37.037\n\nResponda con el número de su opción.',
    );
    assert.equal(renderNumberedOptions({ text: 'Hola' }), 'Hola');
  });

  it('match the number, the text or the id typed back', () => {
    for (const typed of ['1', ' 1. ', 'la 1', 'opción 1', 'PAGO DE CONTADO: $98.765', 'pago de contado 98765', 'contado']) {
      assert.equal(matchButton(typed, buttons)?.id, 'contado', typed);
    }
    assert.equal(matchButton('2', buttons)?.id, 'cuotas_3');
    for (const typed of ['0', 'quiero pagar', '', '93388915']) assert.equal(matchButton(typed, buttons), undefined, typed);
  });

  it('match a short answer that names exactly one option, and nothing ambiguous or negated', () => {
    const plans = [
      { id: 'contado', text: 'Pago de contado: $98.765' },
      { id: 'cuotas_3', text: '3 cuotas de $37.037' },
      { id: 'cuotas_6', text: '6 cuotas de $19.548' },
      { id: 'cuotas_12', text: '12 cuotas de $10.288' },
      { id: 'asesor', text: 'Hablar con un asesor' },
    ];
    const expected: [string, string | undefined][] = [
      ['de contado', 'contado'],
      ['el de contado porfa', 'contado'],
      ['la de 6 cuotas', 'cuotas_6'],
      ['seis cuotas', 'cuotas_6'],
      ['en doce cuotas', 'cuotas_12'],
      ['12', 'cuotas_12'], // out of the list's range: read as the option's content
      ['3', 'cuotas_6'], // in range: the third option wins, as the list asks
      ['un asesor', 'asesor'],
      ['cuotas', undefined], // three options have cuotas
      ['no quiero de contado', undefined],
      ['si', undefined],
      ['prefiero pagar de contado el viernes cuando me paguen la quincena', undefined],
    ];
    for (const [typed, id] of expected) assert.equal(matchButton(typed, plans)?.id, id, typed);
  });
});

describe('dates', () => {
  it('are Bogotá’s calendar dates', () => {
    assert.equal(bogotaDate(new Date('2026-11-24T04:59:00Z')), '2026-11-23');
    assert.equal(bogotaDate(new Date('2026-11-24T05:00:00Z')), '2026-11-24');
  });

  it('count business days without weekends and Colombian holidays', () => {
    // 8 December (Inmaculada Concepción) is a Tuesday in 2026.
    assert.equal(addBusinessDays('2026-11-23', 15), '2026-12-15');
    // Ley Emiliani: 12 January 2026 (Reyes, moved to Monday) is a holiday.
    assert.equal(addBusinessDays('2026-01-09', 1), '2026-01-13');
  });
});
