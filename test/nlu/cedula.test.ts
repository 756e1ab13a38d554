import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { detectCedula } from '../../src/nlu/index.js';
import { seededRandom } from '../../src/nlu/evaluate.js';

const FIXTURE = path.resolve(__dirname, '../fixtures/nlu/cedula-cases.tsv');

function fixtureCases(): { text: string; expected: string | null }[] {
  return fs
    .readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [text, expected] = line.split('\t');
      return { text: text ?? '', expected: expected === '-' ? null : (expected ?? null) };
    });
}

describe('nlu: cédula detection', () => {
  describe('takes every written form of a cédula', () => {
    const positives: [string, string][] = [
      ['93388915', '93388915'],
      ['93.388.915', '93388915'],
      ['93 388 915', '93388915'],
      ["1'023.456.789", '1023456789'],
      ['1,023,456,789', '1023456789'],
      ['CC 93388915', '93388915'],
      ['C.C. 93.388.915', '93388915'],
      ['cc: 93388915', '93388915'],
      ['cédula 93388915', '93388915'],
      ['cedula 93388915', '93388915'],
      ['documento 93388915', '93388915'],
      ['identificación 93388915', '93388915'],
      ['mi número de documento es 93388915', '93388915'],
      ['cedula 123456', '123456'],
    ];
    for (const [text, expected] of positives) {
      it(JSON.stringify(text), () => assert.equal(detectCedula(text), expected));
    }
  });

  describe('leaves alone what is not a cédula', () => {
    const negatives = [
      '$200.000',
      '200.000 pesos',
      'debo 1.500.000',
      'puedo pagar 150000',
      '3001234567',
      '+57 300 123 4567',
      '300 123 4567',
      '6012345678',
      '+57 601 234 5678',
      '15/12/2026',
      'el 15 de diciembre a las 10:30',
      'tengo 2 hijos',
      '12345',
      '12345678901',
      '4567 8901 2345 6789',
      '900.123.456-7',
      'pagaré No. 12345678',
      'código 123456',
      'referencia 87654321',
      'tarjeta terminada en 123456',
      '9876543210',
    ];
    for (const text of negatives) {
      it(JSON.stringify(text), () => assert.equal(detectCedula(text), null));
    }
  });

  it('answers the cédula when a phone and a cédula come together, in either order', () => {
    assert.equal(detectCedula('mi cel 3001234567 y mi cc 93388915'), '93388915');
    assert.equal(detectCedula('93388915 3124567890'), '93388915');
    assert.equal(detectCedula('+57 300 123 4567 cedula 1.023.456.789'), '1023456789');
    assert.equal(detectCedula('3124567890 93.388.915'), '93388915');
  });

  it('prefers a labelled number over a bare one, and a label beats the money heuristics', () => {
    assert.equal(detectCedula('debo 1.500.000 y mi cedula es 93388915'), '93388915');
    assert.equal(detectCedula('cc 1500000'), '1500000');
    assert.equal(detectCedula('soy 52123456 y mi cedula es 93388915'), '93388915');
  });

  it('is exact on at least 99% of the fixture cases (test/fixtures/nlu/cedula-cases.tsv)', () => {
    const cases = fixtureCases();
    assert.ok(cases.length >= 150, `only ${cases.length} cases`);
    const failures = cases.filter((c) => detectCedula(c.text) !== c.expected);
    const exact = 1 - failures.length / cases.length;
    assert.ok(exact >= 0.99, `exact ${exact.toFixed(4)}; failures: ${JSON.stringify(failures.slice(0, 10))}`);
  });

  it('is exact on at least 99% of 3,000 generated messages (formats × contexts × phones × amounts)', () => {
    const random = seededRandom(2300);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
    const group = (d: string, sep: string) => d.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
    const cedula = (): string => {
      const length = pick([6, 7, 8, 8, 8, 10, 10]);
      const first = length === 10 ? '1' : String(1 + Math.floor(random() * 9));
      let d = first + digits(length - 1);
      if (d.endsWith('000')) d = d.slice(0, -1) + '7'; // round numbers without a label read as money
      return d;
    };
    const formats: ((d: string) => string)[] = [
      (d) => d,
      (d) => group(d, '.'),
      (d) => group(d, ' '),
      (d) => group(d, ','),
      (d) => (d.length === 10 ? `${d[0]}'${group(d.slice(1), '.')}` : group(d, '.')),
    ];
    const phone = () => pick([`3${digits(9)}`, `+57 3${digits(2)} ${digits(3)} ${digits(4)}`, `60${digits(1)} ${digits(3)} ${digits(4)}`, `(3${digits(2)}) ${digits(7)}`]);
    const amount = () => pick(['200 mil', '$150.000', '1.500.000 pesos', '2 palos', 'medio millón', '80 lucas']);
    const templates: ((c: string) => string)[] = [
      (c) => c,
      (c) => `mi cedula es ${c}`,
      (c) => `cc ${c}`,
      (c) => `C.C. ${c}`,
      (c) => `documento: ${c}`,
      (c) => `hola buenas ${c} gracias`,
      (c) => `le paso mi cédula ${c} para que me diga cuanto debo`,
      (c) => `mi número de documento es ${c}`,
      (c) => `soy maria fernanda, identificacion ${c}`,
      (c) => `${c} esa es`,
    ];
    const failures: string[] = [];
    const total = 3000;
    for (let i = 0; i < total; i++) {
      const d = cedula();
      let text = pick(templates)(pick(formats)(d));
      const extra = random();
      if (extra < 0.25) text = `${text} y mi cel ${phone()}`;
      else if (extra < 0.4) text = `mi whatsapp es ${phone()}, ${text}`;
      else if (extra < 0.55) text = `${text}, puedo pagar ${amount()}`;
      else if (extra < 0.65) text = `debo ${amount()} y ${text}`;
      if (detectCedula(text) !== d) failures.push(`${text} → ${detectCedula(text)} (expected ${d})`);
    }
    // And as many messages with no cédula at all.
    for (let i = 0; i < total; i++) {
      const text = pick([
        () => `mi cel ${phone()}`,
        () => `puedo pagar ${amount()} el 15/12`,
        () => `debo ${group(String(100 + Math.floor(random() * 9000)) + '000', '.')}`,
        () => `la tarjeta ${digits(4)} ${digits(4)} ${digits(4)} ${digits(4)}`,
        () => `nit ${group('9' + digits(8), '.')}-${digits(1)}`,
        () => `referencia ${digits(8)}`,
        () => `pagare no. ${digits(7)}`,
      ])();
      const got = detectCedula(text);
      if (got !== null) failures.push(`${text} → ${got} (expected none)`);
    }
    const exact = 1 - failures.length / (2 * total);
    assert.ok(exact >= 0.99, `exact ${exact.toFixed(4)}; e.g. ${failures.slice(0, 8).join(' | ')}`);
  });

  it('survives hostile input', () => {
    assert.equal(detectCedula(''), null);
    assert.equal(detectCedula('9'.repeat(20_000)), null);
    assert.equal(detectCedula('1.'.repeat(5000)), null);
    assert.equal(detectCedula('\u0000\u0007 93388915 \u202e'), '93388915');
  });
});

describe('nlu: cédula detection on adversarial writing (fixture)', () => {
  const rows = fs
    .readFileSync(path.resolve(__dirname, '../fixtures/nlu/cedula-adversarial.tsv'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [text, expected] = line.split('\t');
      return { text: text ?? '', expected: expected === '-' ? null : (expected ?? null) };
    });

  it('reads ≥ 97% of the adversarial cédulas exactly: - _ , separators, two-digit groups, spaced digits, digits in words', () => {
    const positives = rows.filter((r) => r.expected !== null);
    assert.ok(positives.length >= 25, String(positives.length));
    const wrong = positives.filter((r) => detectCedula(r.text) !== r.expected).map((r) => `${r.text} → ${detectCedula(r.text)}`);
    assert.ok(1 - wrong.length / positives.length >= 0.97, wrong.join(' | '));
  });

  it('takes no PIN, PSE CUS, "código que me llegó", reference, phone, NIT, card, amount or date for a cédula', () => {
    const negatives = rows.filter((r) => r.expected === null);
    assert.ok(negatives.length >= 35, String(negatives.length));
    const taken = negatives.filter((r) => detectCedula(r.text) !== null).map((r) => `${r.text} → ${detectCedula(r.text)}`);
    assert.deepEqual(taken, []);
  });

  for (const [text, expected] of [
    ['cc 52-345-678', '52345678'],
    ['80_234_517', '80234517'],
    ['mi cc es 10 23 45 67 89', '1023456789'],
    ['cedula 1 0 2 6 3 4 5 6 7 8', '1026345678'],
    ['mi cc es 1004 567 812', '1004567812'],
    ['mi cedula es noventa y tres millones trescientos ochenta y ocho mil novecientos quince', '93388915'],
    ['cc 93 millones 388 mil 915', '93388915'],
    ['el pin de efecty es 55667788 y mi cedula 52-345-678', '52345678'],
  ] as const) {
    it(`reads ${JSON.stringify(text)}`, () => assert.equal(detectCedula(text), expected));
  }
  for (const text of ['el pin de efecty es 12345678', 'CUS 987654321', 'el codigo que me llego es 845123', 'la referencia es 52-345-678', 'nit 900-123-456']) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(detectCedula(text), null));
  }
});
