import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { extractEntities } from '../../src/nlu/index.js';

/** Saturday 21 November 2026, 10:00 in Bogota. */
const NOW = new Date('2026-11-21T15:00:00Z');
const FIXTURE = path.resolve(__dirname, '../fixtures/nlu/entity-cases.tsv');

interface EntityCase {
  text: string;
  amount?: number;
  installments?: number;
  date?: string;
}

function fixtureCases(): EntityCase[] {
  const value = (v: string | undefined) => (v === undefined || v === '-' ? undefined : v);
  return fs
    .readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [text, amount, installments, date] = line.split('\t');
      return {
        text: text ?? '',
        amount: value(amount) === undefined ? undefined : Number(amount),
        installments: value(installments) === undefined ? undefined : Number(installments),
        date: value(date),
      };
    });
}

describe('nlu: entities', () => {
  describe('amount in COP', () => {
    const cases: [string, number][] = [
      ['200 mil', 200_000],
      ['200 lucas', 200_000],
      ['$200.000', 200_000],
      ['doscientos mil', 200_000],
      ['2 millones', 2_000_000],
      ['2 palos', 2_000_000],
      ["1'500.000", 1_500_000],
      ['un millón y medio', 1_500_000],
      ['medio millón', 500_000],
      ['150k', 150_000],
      ['puedo pagar 150000', 150_000],
      ['dos millones quinientos mil', 2_500_000],
    ];
    for (const [text, amount] of cases) {
      it(`${JSON.stringify(text)} → ${amount}`, () => assert.equal(extractEntities(text, NOW).amount, amount));
    }

    it('prefers what the debtor offers over what they owe', () => {
      assert.equal(extractEntities('debo 2.500.000 pero solo tengo 500 lucas', NOW).amount, 500_000);
    });

    it('does not read a cédula, a phone, a count or "mil gracias" as money', () => {
      assert.deepEqual(extractEntities('mil gracias', NOW), {});
      assert.deepEqual(extractEntities('tengo 2 hijos', NOW), {});
      assert.deepEqual(extractEntities('mi cel 3001234567', NOW), {});
      assert.deepEqual(extractEntities('93388915', NOW), { cedula: '93388915' });
    });
  });

  describe('installments', () => {
    const cases: [string, EntityCase][] = [
      ['a 6 cuotas', { text: '', installments: 6 }],
      ['en seis cuotas', { text: '', installments: 6 }],
      ['12 meses', { text: '', installments: 12 }],
      ['cuotas de 100 mil', { text: '', amount: 100_000 }],
      ['6 cuotas de 200 mil', { text: '', installments: 6, amount: 200_000 }],
    ];
    for (const [text, expected] of cases) {
      it(JSON.stringify(text), () => {
        const e = extractEntities(text, NOW);
        assert.equal(e.installments, expected.installments);
        assert.equal(e.amount, expected.amount);
      });
    }

    it('does not take "ni un peso" for an amount', () => {
      assert.equal(extractEntities('yo no les pago ni un peso', NOW).amount, undefined);
    });

    it('does not take durations for a term', () => {
      assert.equal(extractEntities('hace 3 meses que no trabajo', NOW).installments, undefined);
      assert.equal(extractEntities('llevo 6 meses sin trabajo', NOW).installments, undefined);
      assert.equal(extractEntities('en 2 meses le pago', NOW).installments, undefined);
    });
  });

  describe('dates, resolved in America/Bogota', () => {
    const cases: [string, string][] = [
      ['el 15 de diciembre', '2026-12-15'],
      ['el viernes', '2026-11-27'],
      ['fin de mes', '2026-11-30'],
      ['la otra quincena', '2026-12-15'],
      ['esta quincena', '2026-11-30'],
      ['mañana', '2026-11-22'],
      ['el 20 de noviembre', '2027-11-20'],
      ['15/12/2026', '2026-12-15'],
      ['cuando me paguen la prima', '2026-12-20'],
      ['si pero empiezo en marzo', '2027-03-01'],
      ['a finales de enero', '2027-01-31'],
      ['el viernes 4 de diciembre', '2026-12-04'],
    ];
    for (const [text, date] of cases) {
      it(`${JSON.stringify(text)} → ${date}`, () => assert.equal(extractEntities(text, NOW).date, date));
    }

    it('uses the Bogota calendar day, not UTC', () => {
      // 02:00 UTC on 1 December is 21:00 on 30 November in Bogota.
      const lateEvening = new Date('2026-12-01T02:00:00Z');
      assert.equal(extractEntities('hoy', lateEvening).date, '2026-11-30');
      assert.equal(extractEntities('fin de mes', lateEvening).date, '2026-11-30');
      assert.equal(extractEntities('mañana', lateEvening).date, '2026-12-01');
    });

    it('does not take "la mañana" (the morning) for tomorrow', () => {
      assert.equal(extractEntities('le escribo en la mañana', NOW).date, undefined);
    });
  });

  it('reads all four entities from one message', () => {
    assert.deepEqual(extractEntities('cc 93.388.915, puedo dar 6 cuotas de 150 mil desde el viernes', NOW), {
      cedula: '93388915',
      amount: 150_000,
      installments: 6,
      date: '2026-11-27',
    });
  });

  it('gets amounts and installments right on at least 95% of the fixture cases, dates on 95%', () => {
    const cases = fixtureCases();
    assert.ok(cases.length >= 100, `only ${cases.length} cases`);
    const wrong = { money: [] as string[], date: [] as string[] };
    for (const c of cases) {
      const e = extractEntities(c.text, NOW);
      if (e.amount !== c.amount || e.installments !== c.installments) wrong.money.push(`${c.text} → ${JSON.stringify(e)}`);
      if (e.date !== c.date) wrong.date.push(`${c.text} → ${JSON.stringify(e)}`);
    }
    const money = 1 - wrong.money.length / cases.length;
    const date = 1 - wrong.date.length / cases.length;
    assert.ok(money >= 0.95, `amounts/installments ${money.toFixed(3)}: ${wrong.money.slice(0, 10).join(' | ')}`);
    assert.ok(date >= 0.95, `dates ${date.toFixed(3)}: ${wrong.date.slice(0, 10).join(' | ')}`);
  });

  it('survives hostile input', () => {
    assert.deepEqual(extractEntities('', NOW), {});
    assert.deepEqual(extractEntities('😂😂😂', NOW), {});
    const long = 'mil '.repeat(5000) + 'palos y medio '.repeat(500);
    assert.doesNotThrow(() => extractEntities(long, NOW));
  });
});

describe('nlu: amounts and installments written the hard ways (fixture)', () => {
  const rows = fs
    .readFileSync(path.resolve(__dirname, '../fixtures/nlu/amount-adversarial.tsv'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split('\t') as [string, string, string]);

  it('reads ≥ 99% of them exactly (amount and installments both right)', () => {
    assert.ok(rows.length >= 25, String(rows.length));
    const wrong = rows.filter(([text, amount, installments]) => {
      const e = extractEntities(text, NOW);
      return String(e.amount ?? '-') !== amount || String(e.installments ?? '-') !== installments;
    });
    assert.ok(1 - wrong.length / rows.length >= 0.99, wrong.map(([t]) => `${t} → ${JSON.stringify(extractEntities(t, NOW))}`).join(' | '));
  });

  it('"tres cientos mil" is 300,000 and "cuotas mensuales de $90.000 durante 8 meses" is 8 × 90,000', () => {
    assert.equal(extractEntities('tres cientos mil', NOW).amount, 300_000);
    assert.deepEqual(extractEntities('cuotas mensuales de $90.000 durante 8 meses', NOW), { amount: 90_000, installments: 8 });
    assert.equal(extractEntities('durante 3 meses estuve sin trabajo', NOW).installments, undefined);
  });
});
