/**
 * `npm run bench:import`: imports a generated 100,000-row bank export (Latin-1,
 * semicolons, amounts written $1.234.567) into a real PostgreSQL and reports the time.
 * Uses DATABASE_URL when set, else an embedded server in a temporary directory.
 * Target: 100,000 rows in under 30 s.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { createLogger } from '../../src/log.js';
import { createKnex, migrateLatest } from '../../src/store/db.js';
import { ensureEmbeddedPostgres } from '../../src/store/embedded.js';
import { importPortfolio } from '../../src/store/import.js';

/** When the test imports: any fixed time (the rows' created_at / updated_at). */
const IMPORTED_AT = new Date('2026-11-23T15:00:00Z');

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const NAMES = ['CARLOS', 'MARÍA', 'JOSÉ', 'LUZ', 'ANDRÉS', 'DIANA', 'JORGE', 'ÁNGELA', 'HERNÁN', 'SOFÍA'];
const SURNAMES = ['GÓMEZ', 'RODRÍGUEZ', 'LÓPEZ', 'MUÑOZ', 'PÉREZ', 'CASTAÑO', 'OSPINA', 'MEJÍA'];
const BANKS = ['BANCOLOMBIA S.A.', 'BANCO DE BOGOTÁ', 'COMPAÑÍA DE FINANCIAMIENTO TUYA S.A.', 'BANCO DAVIVIENDA S.A.'];
const money = (n: number) => '$' + n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, '.');

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-bench-import-'));
  await fs.chmod(dir, 0o755);
  const lines = ['Cedula;Nombre_del_cliente;Saldo_total;banco;Oferta_1;Oferta_2;Hasta_3_cuotas;Hasta_6_cuotas;Hasta_12_cuotas;Telefono;Tier'];
  for (let i = 0; i < ROWS; i++) {
    const cedula = String(10_000_000 + i * 7);
    const saldo = 100_000 + ((i * 7919) % 9_900_000);
    lines.push(
      [
        cedula.replace(/\B(?=(\d{3})+(?!\d))/g, '.'),
        `${NAMES[i % NAMES.length]} ${SURNAMES[i % SURNAMES.length]} ${SURNAMES[(i * 3) % SURNAMES.length]}`,
        money(saldo),
        BANKS[i % BANKS.length],
        money(Math.round(saldo * 0.8)),
        money(Math.round(saldo * 0.7)),
        money(Math.round(saldo * 0.9)),
        money(Math.round(saldo * 0.95)),
        money(saldo),
        `3${String(100_000_000 + i).slice(0, 9)}`,
        i % 10 === 0 ? 'premium' : 'default',
      ].join(';'),
    );
  }
  const file = path.join(dir, 'cartera.csv');
  await fs.writeFile(file, iconv.encode(lines.join('\r\n') + '\r\n', 'win1252'));
  const size = (await fs.stat(file)).size;

  const log = createLogger({ level: 'warn', pretty: false });
  const server = process.env.DATABASE_URL ? undefined : await ensureEmbeddedPostgres({ dataDir: dir, database: 'bench', log });
  const url = process.env.DATABASE_URL ?? server!.connectionString('bench');
  const knex = createKnex(url, 4, log);
  try {
    await migrateLatest(knex);
    await knex.raw(`delete from portfolios where name = 'bench'`);
    const memBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const result = await importPortfolio(knex, file, { portfolio: 'bench', now: IMPORTED_AT });
    const seconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const again = await importPortfolio(knex, file, { portfolio: 'bench', now: IMPORTED_AT });
    const secondsUpdate = (performance.now() - t1) / 1000;
    const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
    console.log(`file: ${ROWS} rows, ${mb(size)} MB, Latin-1, ';' separated`);
    console.log(`first import : ${result.inserted} inserted in ${seconds.toFixed(2)} s (${Math.round(ROWS / seconds)} rows/s)`);
    console.log(`second import: ${again.updated} updated in ${secondsUpdate.toFixed(2)} s (${Math.round(ROWS / secondsUpdate)} rows/s)`);
    console.log(`rss: ${mb(memBefore)} MB before, ${mb(process.memoryUsage().rss)} MB after`);
    console.log(seconds < 30 ? 'target met: under 30 s' : 'TARGET MISSED: 30 s');
  } finally {
    await knex.destroy();
    await server?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
