import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');

/** Runs the project's dependency rules on some files; resolves with the exit code and the report. */
async function cruise(files: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(DEPCRUISE, [...files, '--config', '.dependency-cruiser.cjs'], { cwd: ROOT });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

/**
 * The house's rules (.dependency-cruiser.cjs, `npm run lint:deps` in CI) catch what they
 * are for: a fixture channel that reaches for the database or the engine's insides, and
 * a core module that imports the rest of src, fail the check.
 */
describe('dependency rules (npm run lint:deps)', function () {
  this.timeout(60_000);
  const fixtureDir = path.join(ROOT, 'channels', 'lint-fixture');
  const coreFixture = path.join(ROOT, 'src', 'core', 'lint-fixture.ts');
  after(async () => {
    await fs.rm(fixtureDir, { recursive: true, force: true });
    await fs.rm(coreFixture, { force: true });
  });

  it('refuse a channel that imports knex or src internals', async () => {
    await fs.mkdir(fixtureDir, { recursive: true });
    await fs.writeFile(
      path.join(fixtureDir, 'index.ts'),
      "import knex from 'knex';\nimport { enqueueReplies } from '../../src/engine/outbox.js';\nexport const reach = [knex, enqueueReplies];\n",
    );
    const { code, out } = await cruise(['channels/lint-fixture']).finally(() => fs.rm(fixtureDir, { recursive: true, force: true }));
    assert.notEqual(code, 0);
    assert.match(out, /channels-never-database: channels\/lint-fixture\/index\.ts → node_modules\/knex\//);
    assert.match(out, /channels-only-core: channels\/lint-fixture\/index\.ts → src\/engine\/outbox\.ts/);
  });

  it('refuse a core module that imports the rest of src', async () => {
    await fs.writeFile(coreFixture, "import { createEngine } from '../engine/index.js';\nexport const engine = createEngine;\n");
    const { code, out } = await cruise(['src/core/lint-fixture.ts']).finally(() => fs.rm(coreFixture, { force: true }));
    assert.notEqual(code, 0);
    assert.match(out, /core-imports-nothing-of-ours: src\/core\/lint-fixture\.ts → src\/engine\/index\.ts/);
  });

  it('pass on the channels as they are', async () => {
    const { code, out } = await cruise(['channels']);
    assert.equal(code, 0, out);
  });
});
