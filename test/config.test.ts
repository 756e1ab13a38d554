import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { envSchema, loadConfig } from '../src/core/index.js';
import { ConfigError } from '../src/core/index.js';

const root = path.join(__dirname, '..');

describe('configuration', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 3000);
    assert.equal(config.DATABASE_URL, undefined);
    assert.equal(config.dataDir, path.resolve('./data'));
    assert.equal(config.NLU_CONFIDENCE_THRESHOLD, 0.6);
  });

  it('names every wrong variable and says what it expects', () => {
    assert.throws(
      () => loadConfig({ PORT: 'tres mil', DATABASE_URL: 'mysql://x', NLU_CONFIDENCE_THRESHOLD: '7', DEMO_DATA: 'quizás' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const byVariable = new Map(err.issues.map((i) => [i.variable, i.expected]));
        assert.match(byVariable.get('PORT') ?? '', /TCP port/);
        assert.match(byVariable.get('DATABASE_URL') ?? '', /postgres:\/\//);
        assert.match(byVariable.get('NLU_CONFIDENCE_THRESHOLD') ?? '', /between 0 and 1/);
        assert.match(byVariable.get('DEMO_DATA') ?? '', /true or false/);
        assert.match(err.message, /PORT: expected a TCP port/);
        return true;
      },
    );
  });

  it('treats blank values as unset', () => {
    assert.equal(loadConfig({ PORT: '  ', OPENAI_API_KEY: '' }).PORT, 3000);
  });

  it('stops the service with the variable named when a value is wrong', function () {
    this.timeout(30_000);
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '99999', DATABASE_URL: '' },
      encoding: 'utf8',
    });
    assert.equal(result.status, 78);
    assert.match(result.stderr, /PORT: expected a TCP port number/);
  });

  it('.env.example documents every variable', () => {
    const example = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Za-z][A-Za-z0-9_]+)=/gm)].map((m) => m[1]));
    const missing = Object.keys(envSchema.shape).filter((k) => !documented.has(k));
    assert.deepEqual(missing, [], `.env.example lacks ${missing.join(', ')}`);
  });
});
