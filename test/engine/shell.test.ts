import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

/** Runs `acuerdo shell` as an operator would, typing `lines`; resolves with what it printed. */
function shell(lines: string[], dataDir: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'src/cli/bin.cjs'), 'shell'], {
      cwd: root,
      env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn', OPENAI_API_KEY: '' },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
    child.stdin.end(lines.join('\n') + '\n');
  });
}

describe('acuerdo shell', function () {
  this.timeout(60_000);
  let dataDir: string;
  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-shell-'));
    await fs.chmod(dataDir, 0o755);
  });
  after(async () => fs.rm(dataDir, { recursive: true, force: true }));

  it('chats on a fresh data directory with the demo portfolio: state, NLU and numbered buttons each turn', async () => {
    // The demo's Carlos has 3001234567 on file: the identity question asks its last 4 digits.
    const { code, stdout } = await shell(['hola', 'mi cedula es 93.388.915', '4567', '1', '/salir'], dataDir);
    assert.equal(code, 0, stdout);
    assert.match(stdout, /estado: inicial → inicial\s+NLU: saludo/);
    assert.match(stdout, /estado: inicial → verificar_identidad\s+NLU: identificacion \([\d.]+, cedula\) \{"cedula":"93388915"\}/);
    assert.match(stdout, /estado: verificar_identidad → informar_deuda/);
    assert.match(stdout, /COMPAÑÍA DE FINANCIAMIENTO TUYA S\.A\. por \$123\.456/);
    assert.match(stdout, /1\. Ver opciones de pago\n\s+2\. Hablar con un asesor/);
    assert.match(stdout, /estado: informar_deuda → proponer_planes_pago/);
    assert.match(stdout, /Pago de contado: \$98\.765/);
  });
});
