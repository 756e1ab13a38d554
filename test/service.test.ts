import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../src/core/index.js';
import { createLogger } from '../src/log.js';
import { startService, type RunningService } from '../src/service.js';

const run = promisify(execFile);
const root = path.join(__dirname, '..');

/** Runs `acuerdo …` as a separate process, as an operator would. */
function acuerdo(args: string[], dataDir: string) {
  return run(process.execPath, [path.join(root, 'src/cli/bin.cjs'), ...args], {
    cwd: root,
    env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' },
    timeout: 60_000,
  });
}

const pidFile = (dataDir: string) => path.join(dataDir, 'pg', 'postmaster.pid');
const exists = (file: string) => fs.access(file).then(() => true, () => false);

describe('the service on the embedded PostgreSQL, shared with the CLI', function () {
  this.timeout(120_000);
  const log = createLogger({ level: 'silent', pretty: false });
  let dataDir: string;
  let service: RunningService | undefined;

  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-service-'));
    await fs.chmod(dataDir, 0o755);
  });
  after(async () => {
    await service?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('starts on an empty data directory, migrated, with the demo portfolio', async () => {
    service = await startService(loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' }), log);
    assert.ok(await exists(pidFile(dataDir)));
    const carlos = await service.knex('debtors').join('portfolios', 'portfolios.id', 'debtors.portfolio_id').where({ cedula: '93388915' }).first();
    assert.equal(carlos.nombre_del_cliente, 'CARLOS FAJARDO');
    assert.equal(carlos.banco, 'COMPAÑÍA DE FINANCIAMIENTO TUYA S.A.');
    assert.equal(carlos.saldo_total, 123456);
    assert.equal(carlos.oferta_2, 86419);
    const health = await fetch(`http://127.0.0.1:${service.port}/api/v1/chat/test`);
    assert.equal(health.status, 200);
  });

  it('lets the CLI import into the running service’s database, and keeps serving after', async () => {
    const out = await acuerdo(['import', path.join(root, 'test/fixtures/portfolios/good.csv'), '--portfolio', 'Desde CLI'], dataDir);
    assert.match(out.stdout, /Imported 3 debtors into "Desde CLI"/);
    const seen = await service!.knex('debtors').join('portfolios', 'portfolios.id', 'debtors.portfolio_id').where('portfolios.name', 'Desde CLI');
    assert.equal(seen.length, 3);
    const health = await fetch(`http://127.0.0.1:${service!.port}/api/v1/chat/test`);
    assert.equal(health.status, 200, 'the CLI must not stop the server the service uses');
  });

  it('reports bad rows by line from the CLI with a non-zero exit', async () => {
    await assert.rejects(acuerdo(['import', path.join(root, 'test/fixtures/portfolios/bad.csv'), '--portfolio', 'Mala'], dataDir), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /line 2: Cedula "12345"/);
      assert.match(err.stderr, /line 3: Nombre_del_cliente is empty/);
      return true;
    });
  });

  it('stops the embedded server when the service stops, and the CLI starts it on its own', async () => {
    await service!.close();
    service = undefined;
    assert.equal(await exists(pidFile(dataDir)), false);
    const out = await acuerdo(['migrate', '--status'], dataDir);
    assert.match(out.stdout, /applied {2}20261121000000_core\.ts/);
    assert.equal(await exists(pidFile(dataDir)), false, 'the CLI stops the server it started');
  });

  it('rolls migrations back and forward from the CLI', async () => {
    const back = await acuerdo(['migrate', '--rollback', '--all'], dataDir);
    assert.match(back.stdout, /Rolled back/);
    const forward = await acuerdo(['migrate'], dataDir);
    assert.match(forward.stdout, /Applied/);
  });
});
