import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImportError } from '../../src/core/index.js';
import { importPortfolio, parsePortfolioCsv } from '../../src/store/import.js';
import { checkObligationNumber, issueDatesIn, lastDigits, parseIssueDate } from '../../src/store/identity-columns.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

/** Any fixed time: the import's clock. */
const IMPORTED_AT = new Date('2026-11-23T15:00:00Z');
const TODAY = '2026-11-23';

const HEADER = 'Cedula,Nombre_del_cliente,Saldo_total,banco,Oferta_1,Oferta_2,Hasta_3_cuotas,Hasta_6_cuotas,Hasta_12_cuotas,Telefono,Tier';

function csv(rows: string[], extra = ',Fecha_expedicion,Numero_obligacion'): Buffer {
  return Buffer.from([HEADER + extra, ...rows].join('\n') + '\n', 'utf8');
}

describe('identity columns of a portfolio file (Fecha_expedicion, Numero_obligacion)', () => {
  it('reads the issue date in the usual spreadsheet forms, day first', () => {
    const rows = [
      '93388915,CARLOS,1000,B,,,,,,,default,15/03/2005,4567-8901-2345',
      '52876123,LUZ,1000,B,,,,,,,default,2005-03-15,TC000123456',
      '1023456789,MARIA,1000,B,,,,,,,default,38426,987654321',
      '79456321,JORGE,1000,B,,,,,,,default,15-03-05,12345',
      '43567890,DIANA,1000,B,,,,,,,default,15/03/2005 0:00,',
      '32456789,GLORIA,1000,B,,,,,,,default,2005-03-15 00:00:00,',
      '71234567,HERNAN,1000,B,,,,,,,default,5/3/2005,',
      '80123456,JUAN,1000,B,,,,,,,default,,',
    ];
    const { rows: parsed, problems } = parsePortfolioCsv(csv(rows), TODAY);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      parsed.map((r) => [r.cedula, r.fecha_expedicion, r.numero_obligacion]),
      [
        ['93388915', '2005-03-15', '4567-8901-2345'],
        ['52876123', '2005-03-15', 'TC000123456'],
        ['1023456789', '2005-03-15', '987654321'],
        ['79456321', '2005-03-15', '12345'],
        ['43567890', '2005-03-15', null],
        ['32456789', '2005-03-15', null],
        ['71234567', '2005-03-05', null],
        ['80123456', null, null],
      ],
    );
  });

  it('reports bad identity values with their line numbers', () => {
    const rows = [
      '93388915,CARLOS,1000,B,,,,,,,default,31/02/2005,1234',
      '52876123,LUZ,1000,B,,,,,,,default,15/03/2030,1234',
      '1023456789,MARIA,1000,B,,,,,,,default,ayer,1234',
      '79456321,JORGE,1000,B,,,,,,,default,15/03/2005,12',
      '43567890,DIANA,1000,B,,,,,,,default,15/03/2005,4.56789E+15',
      '32456789,GLORIA,1000,B,,,,,,,default,15/03/2005,<script>',
      '71234567,HERNAN,1000,B,,,,,,,default,15/03/2005,4567',
    ];
    const { rows: parsed, problems } = parsePortfolioCsv(csv(rows), TODAY);
    assert.deepEqual(
      problems.map((p) => [p.line, p.reason.split(' ')[0]]),
      [
        [2, 'Fecha_expedicion'],
        [3, 'Fecha_expedicion'],
        [4, 'Fecha_expedicion'],
        [5, 'Numero_obligacion'],
        [6, 'Numero_obligacion'],
        [7, 'Numero_obligacion'],
      ],
    );
    assert.match(problems[4]!.reason, /scientific notation/);
    assert.deepEqual(parsed.map((r) => r.cedula), ['71234567']);
  });

  it('keeps files without the new columns working', () => {
    const { rows, problems } = parsePortfolioCsv(csv(['93388915,CARLOS,1000,B,,,,,,3001234567,default'], ''), TODAY);
    assert.deepEqual(problems, []);
    assert.equal(rows[0]!.fecha_expedicion, null);
    assert.equal(rows[0]!.numero_obligacion, null);
  });

  describe('importing', () => {
    let db: TestDatabase;
    let dir: string;
    before(async () => {
      db = await freshDatabase();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acuerdo-identity-'));
    });
    after(async () => {
      await db?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('stores the issue date and the obligation number', async () => {
      const file = path.join(dir, 'good.csv');
      fs.writeFileSync(file, csv(['93388915,CARLOS,1000,B,,,,,,3001234567,default,15/03/2005,4567-8901-2345']));
      await importPortfolio(db.knex, file, { portfolio: 'Identidad', now: IMPORTED_AT });
      const row = await db.knex('debtors').where({ cedula: '93388915' }).first('fecha_expedicion', 'numero_obligacion', 'phone');
      assert.deepEqual(row, { fecha_expedicion: '2005-03-15', numero_obligacion: '4567-8901-2345', phone: '573001234567' });
    });

    it('refuses an issue date after the import day (the import clock, not the machine)', async () => {
      const file = path.join(dir, 'future.csv');
      fs.writeFileSync(file, csv(['93388915,CARLOS,1000,B,,,,,,,default,24/11/2026,1234']));
      await assert.rejects(importPortfolio(db.knex, file, { portfolio: 'Identidad', now: IMPORTED_AT }), (err: unknown) => {
        assert.ok(err instanceof ImportError);
        assert.deepEqual(err.problems.map((p) => p.line), [2]);
        return true;
      });
      // A day earlier, it is fine.
      fs.writeFileSync(file, csv(['93388915,CARLOS,1000,B,,,,,,,default,23/11/2026,1234']));
      await importPortfolio(db.knex, file, { portfolio: 'Identidad', now: IMPORTED_AT });
    });
  });
});

describe('identity answers in the chat', () => {
  it('finds an issue date however the debtor writes it', () => {
    for (const text of ['15/03/2005', '15-03-2005', '15.03.05', 'el 15 de marzo de 2005', '15 marzo 2005', 'marzo 15 de 2005', 'creo que fue el 15/3/2005', '2005-03-15', '15 de mar. de 2005']) {
      assert.deepEqual(issueDatesIn(text, TODAY), ['2005-03-15'], text);
    }
    assert.deepEqual(issueDatesIn('no me acuerdo', TODAY), []);
    assert.deepEqual(issueDatesIn('31/02/2005', TODAY), []);
  });

  it('takes the last digits of obligation numbers and checks them', () => {
    assert.equal(lastDigits('TC-0001234-5'), '2345');
    assert.equal(lastDigits('12'), undefined);
    assert.deepEqual(checkObligationNumber(' 5201-0000-4321 '), { value: '5201-0000-4321' });
    assert.ok('reason' in checkObligationNumber('ABC'));
  });

  it('does not read an Excel serial as a chat date', () => {
    assert.equal(parseIssueDate('38426', { today: TODAY }), undefined);
    assert.equal(parseIssueDate('38426', { today: TODAY, excelSerials: true }), '2005-03-15');
  });
});
