import assert from 'node:assert/strict';
import path from 'node:path';
import { ImportError } from '../../src/core/index.js';
import { importPortfolio, parseAmount, normalizeCedula, normalizePhone } from '../../src/store/import.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

/** When the test imports: any fixed time (the rows' created_at / updated_at). */
const IMPORTED_AT = new Date('2026-11-23T15:00:00Z');

const fixture = (name: string) => path.join(__dirname, '..', 'fixtures', 'portfolios', name);

describe('portfolio import', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await freshDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('imports a good file, normalizing cédulas, amounts, phones and tiers', async () => {
    const result = await importPortfolio(db.knex, fixture('good.csv'), { portfolio: 'Tuya 2026', now: IMPORTED_AT });
    assert.equal(result.rows, 3);
    assert.equal(result.inserted, 3);
    assert.equal(result.encoding, 'utf-8');
    const rows = await db.knex('debtors').orderBy('cedula').select();
    assert.deepEqual(
      rows.map((r) => [r.cedula, r.saldo_total, r.oferta_2, r.phone, r.tier]),
      [
        ['1023456789', 1500000, 1050000, '573109876543', 'premium'],
        ['52876123', 845300, null, null, 'vip'],
        ['93388915', 123456, 86419, '573001234567', 'default'],
      ],
    );
    const carlos = rows.find((r) => r.cedula === '93388915');
    assert.equal(carlos.nombre_del_cliente, 'CARLOS FAJARDO');
    assert.equal(carlos.banco, 'COMPAÑÍA DE FINANCIAMIENTO TUYA S.A.');
  });

  it('upserts by cédula within the portfolio', async () => {
    await importPortfolio(db.knex, fixture('good.csv'), { portfolio: 'Tuya', now: IMPORTED_AT });
    const again = await importPortfolio(db.knex, fixture('latin1-semicolon.csv'), { portfolio: 'Tuya', now: IMPORTED_AT });
    assert.equal(again.inserted, 1);
    assert.equal(again.updated, 1);
    const count = await db.knex('debtors').count<{ count: number }[]>('* as count');
    assert.equal(Number(count[0]!.count), 4);
    // The same cédula in another portfolio is another debt.
    await importPortfolio(db.knex, fixture('latin1-semicolon.csv'), { portfolio: 'Otra', now: IMPORTED_AT });
    const debts = await db.knex('debtors').where({ cedula: '93388915' });
    assert.equal(debts.length, 2);
  });

  it('reads Latin-1 files separated by semicolons', async () => {
    const result = await importPortfolio(db.knex, fixture('latin1-semicolon.csv'), { portfolio: 'Excel', now: IMPORTED_AT });
    assert.equal(result.encoding, 'latin1');
    assert.equal(result.delimiter, ';');
    const andres = await db.knex('debtors').where({ cedula: '1098765432' }).first();
    assert.equal(andres.nombre_del_cliente, 'ANDRÉS FELIPE MARTÍNEZ');
    assert.equal(andres.saldo_total, 389900);
    const carlos = await db.knex('debtors').where({ cedula: '93388915' }).first();
    assert.equal(carlos.banco, 'COMPAÑÍA DE FINANCIAMIENTO TUYA S.A.');
    assert.equal(carlos.hasta_6_cuotas, 117283);
  });

  it('rejects a bad file with each line number and reason, writing nothing', async () => {
    await assert.rejects(
      importPortfolio(db.knex, fixture('bad.csv'), { portfolio: 'Mala', now: IMPORTED_AT }),
      (err: unknown) => {
        assert.ok(err instanceof ImportError);
        assert.deepEqual(
          err.problems.map((p) => p.line),
          [2, 3],
        );
        assert.match(err.problems[0]!.reason, /Cedula "12345"/);
        assert.match(err.problems[1]!.reason, /Nombre_del_cliente is empty/);
        assert.match(err.problems[1]!.reason, /Saldo_total "abc"/);
        return true;
      },
    );
    assert.equal((await db.knex('portfolios').select()).length, 0);
    assert.equal((await db.knex('debtors').select()).length, 0);
  });

  it('imports nothing from a mixed file by default', async () => {
    await assert.rejects(importPortfolio(db.knex, fixture('mixed.csv'), { portfolio: 'Mixta', now: IMPORTED_AT }), (err: unknown) => {
      assert.ok(err instanceof ImportError);
      assert.deepEqual(
        err.problems.map((p) => [p.line, p.reason.split(' ')[0]]),
        [
          [3, 'Tier'],
          [5, 'Cedula'],
          [6, 'Telefono'],
        ],
      );
      assert.match(err.problems[1]!.reason, /already on line 4/);
      return true;
    });
    assert.equal((await db.knex('debtors').select()).length, 0);
  });

  it('imports the valid rows of a mixed file with skipInvalid and lists the rest', async () => {
    const result = await importPortfolio(db.knex, fixture('mixed.csv'), { portfolio: 'Mixta', skipInvalid: true, now: IMPORTED_AT });
    assert.equal(result.rows, 2);
    assert.deepEqual(
      result.rejected.map((p) => p.line),
      [3, 5, 6],
    );
    const cedulas = (await db.knex('debtors').orderBy('cedula').pluck('cedula')) as string[];
    assert.deepEqual(cedulas, ['79456321', '93388915']);
  });

  it('stops at a missing column, naming it, and at a missing file', async () => {
    await assert.rejects(importPortfolio(db.knex, fixture('missing-column.csv'), { portfolio: 'X', now: IMPORTED_AT }), (err: unknown) => {
      assert.ok(err instanceof ImportError);
      assert.match(err.message, /line 1.*banco, Oferta_1, Oferta_2, Hasta_3_cuotas, Hasta_6_cuotas, Hasta_12_cuotas/);
      return true;
    });
    await assert.rejects(importPortfolio(db.knex, fixture('nope.csv'), { portfolio: 'X', now: IMPORTED_AT }), /Cannot read .*no such file/);
  });
});

describe('spreadsheet values', () => {
  it('parses COP amounts as written in Colombia', () => {
    const cases: [string, number | undefined][] = [
      ['123456', 123456],
      ['123.456', 123456],
      ['$123.456', 123456],
      ['$ 123.456', 123456],
      ['123.456,00', 123456],
      ["1'500.000", 1500000],
      ['1.500.000', 1500000],
      ['1,234,567', 1234567],
      ['123456.00', 123456],
      ['86.419,50', 86420],
      ['12.34.56', undefined],
      ['abc', undefined],
      ['', undefined],
      ['-5', undefined],
    ];
    for (const [raw, expected] of cases) assert.equal(parseAmount(raw), expected, raw);
  });

  it('normalizes cédulas and phones', () => {
    assert.equal(normalizeCedula('93.388.915'), '93388915');
    assert.equal(normalizeCedula("1'023.456.789"), '1023456789');
    assert.equal(normalizeCedula('2023456789'), undefined);
    assert.equal(normalizeCedula('12345'), undefined);
    assert.equal(normalizePhone('+57 300 123 4567'), '573001234567');
    assert.equal(normalizePhone('601 234 5678'), '576012345678');
    assert.equal(normalizePhone('12345'), undefined);
  });
});
