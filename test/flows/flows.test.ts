import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  formatFlowTestReport,
  loadFlowTestFixtures,
  loadFlowTests,
  runFlowTestCase,
  type FlowTestDeps,
} from '../../src/engine/flow-tests.js';
import { loadFlowCatalog } from '../../src/flows/index.js';
import { quietLog } from '../engine/support/harness.js';
import { localUnderstander } from '../engine/support/nlu.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

/**
 * Runs every YAML conversation test in test/flows/ (the same runner as
 * `acuerdo test-flows`) against a fresh database, the shipped flows and the real
 * local NLU. One mocha test per case; a failure shows the transcript.
 */
const dir = __dirname;
const files = fs
  .readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .map((f) => path.join(dir, f));

for (const file of files) {
  const loaded = loadFlowTests(path.relative(process.cwd(), file));
  describe(`flow conversation tests: ${path.basename(file)}`, function () {
    let db: TestDatabase;
    let deps: FlowTestDeps;
    before(async () => {
      db = await freshDatabase();
      const { flows, policies } = loadFlowCatalog();
      deps = { knex: db.knex, understander: await localUnderstander(), flows, policies, log: quietLog };
      await loadFlowTestFixtures(db.knex, loaded);
    });
    after(async () => db?.drop());

    loaded.cases.forEach((c, i) => {
      it(c.name, async () => {
        const result = await runFlowTestCase(deps, loaded, i, `case-${i}`);
        if (!result.passed) throw new Error('\n' + formatFlowTestReport([result]));
      });
    });
  });
}

describe('acuerdo test-flows (CLI)', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => db?.drop());

  const acuerdo = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(__dirname, '..', '..', 'src/cli/bin.cjs'), ...args],
        { cwd: path.join(__dirname, '..', '..'), env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'warn' }, timeout: 100_000 },
        (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });

  it('passes the shipped cases on a scratch database, and exits non-zero with the transcript when a case fails', async () => {
    const ok = await acuerdo(['test-flows']);
    assert.equal(ok.code, 0, ok.stdout);
    const shipped = files.reduce((n, file) => n + loadFlowTests(file).cases.length, 0);
    assert.ok(shipped >= 20, `at least 20 shipped cases, found ${shipped}`);
    assert.match(ok.stdout, new RegExp(`^${shipped} passed, 0 failed$`, 'm'));

    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'acuerdo-flowtest-'));
    const bad = path.join(dir, 'falla.yaml');
    await fs.promises.writeFile(bad, 'cases:\n  - name: espera otro estado\n    steps:\n      - user: hola\n        state: informar_deuda\n');
    try {
      const failed = await acuerdo(['test-flows', bad]);
      assert.equal(failed.code, 1);
      assert.match(failed.stdout, /✘ espera otro estado/);
      assert.match(failed.stdout, /expected state informar_deuda, got inicial/);
      assert.match(failed.stdout, /> user: hola/);
      const left = await db.knex.raw(`select count(*)::int as n from pg_database where datname like 'acuerdo_flowtest_%'`);
      assert.equal(left.rows[0].n, 0, 'the scratch databases are dropped');
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });
});
