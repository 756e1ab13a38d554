import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { insertDebtorAt, insertPortfolioAt, recordAgreement } from './support.js';

const bin = path.resolve(__dirname, '../../src/cli/bin.cjs');

describe('npx acuerdo payments', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let reference: string;
  const at = new Date('2026-12-01T15:00:00Z');
  before(async () => {
    db = await freshDatabase();
    const pid = await insertPortfolioAt(db.knex, 'Banco Uno', at);
    const d = await insertDebtorAt(db.knex, pid, at);
    reference = 'AC-CL2TST';
    await recordAgreement(db.knex, { debtorId: d.id, portfolioId: pid, reference, total: 90_000, installments: 3, firstDueDate: '2026-12-15', at });
  });
  after(async () => {
    await db.drop();
  });

  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, [bin, 'payments', ...args], { env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' } });

  it('imports a payment report, refuses a bad one with line numbers, and lists what matched nothing with the cédula masked', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagos-'));
    const bad = path.join(dir, 'malo.csv');
    fs.writeFileSync(bad, `Referencia;Valor;Fecha\n${reference};30.000;15/12/2026\n${reference};;15/12/2026\n`);
    await assert.rejects(run('import', bad), (err: { code?: number; stderr?: string }) => err.code === 1 && /1 invalid row; nothing was imported/.test(err.stderr ?? '') && /line 3: Valor "" is not an amount/.test(err.stderr ?? ''));
    const good = path.join(dir, 'pagos.csv');
    fs.writeFileSync(good, `Referencia;Cedula;Valor;Fecha;Medio\n${reference};;$30.000;15/12/2026;Efecty\n;1098765432;50.000;16/12/2026;PSE\n`);
    const { stdout } = await run('import', good);
    assert.match(stdout, /Imported 2 payments \(1 applied, 1 without an agreement, 0 already imported; utf-8, ";" separated\)\./);
    assert.match((await run('import', good)).stdout, /\(0 applied, 0 without an agreement, 2 already imported/);
    const listed = (await run('unmatched')).stdout;
    assert.match(listed, /1 unmatched payment\(s\)/);
    assert.match(listed, /\*+432/);
    assert.doesNotMatch(listed, /1098765432/);
  });
});
