import { ManualClock } from '../../src/core/index.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { resultToJsonLine, runNluStream } from '../../src/cli/nlu-commands.js';
import { stratifiedFolds } from '../../src/nlu/evaluate.js';
import { loadIntentModel, readLabelledTsv, TRAIN_CORPUS, type Understander } from '../../src/nlu/index.js';

const ROOT = path.resolve(__dirname, '../..');

/** Runs `acuerdo <args>` with only the nlu commands registered, as src/cli/main.ts will. */
function acuerdo(args: string[], stdin = ''): Promise<{ stdout: string; stderr: string; code: number }> {
  const script = `
    const { Command } = require('commander');
    const { registerNluCommands } = require('./src/cli/nlu-commands.ts');
    const program = new Command('acuerdo');
    registerNluCommands(program);
    program.parseAsync(process.argv.slice(1), { from: 'user' }).catch((err) => { console.error(err.message); process.exitCode = 1; });
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' };
  delete env.OPENAI_API_KEY;
  delete env.DATABASE_URL;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', '-e', script, ...args], { cwd: ROOT, env }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? Number((err as { code?: number }).code ?? 1) : 0 }),
    );
    child.stdin?.end(stdin);
  });
}

describe('nlu: command line', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-nlu-cli-'));
  });

  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes the documented JSON line: entities in order, absent ones omitted, confidence to 2 decimals', () => {
    assert.equal(
      resultToJsonLine({
        text: 'cc 93388915, 6 cuotas de 200 mil desde el 15 de diciembre',
        intent: 'identificacion',
        confidence: 0.987654,
        source: 'cedula',
        entities: { date: '2026-12-15', installments: 6, amount: 200_000, cedula: '93388915' },
      }),
      '{"text":"cc 93388915, 6 cuotas de 200 mil desde el 15 de diciembre","intent":"identificacion","confidence":0.99,"source":"cedula","entities":{"cedula":"93388915","amount":200000,"installments":6,"date":"2026-12-15"}}',
    );
    assert.equal(
      resultToJsonLine({ text: 'hola', intent: 'saludo', confidence: 0.934, source: 'model', entities: {} }),
      '{"text":"hola","intent":"saludo","confidence":0.93,"source":"model","entities":{}}',
    );
  });

  it('answers every input line with one output line, in order', async () => {
    const seen: string[] = [];
    const fake: Understander = {
      understand: async (text, options) => {
        seen.push(`${text}|${String(options?.local)}`);
        return { text, intent: 'saludo', confidence: 1, source: 'model', entities: {} };
      },
    };
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    input.end('hola\n\nchao\r\n');
    assert.equal(await runNluStream(fake, input, output, { local: true, clock: new ManualClock('2026-11-23T15:00:00Z') }), 3);
    assert.deepEqual(seen, ['hola|true', '|true', 'chao|true']);
    assert.deepEqual(written.trim().split('\n').map((l) => JSON.parse(l).text), ['hola', '', 'chao']);
  });

  it('`acuerdo nlu --local` reads stdin and writes JSON lines', async () => {
    const { stdout, code, stderr } = await acuerdo(['nlu', '--local'], 'hola buenas\nmi cc es 93.388.915\npuedo dar 6 cuotas de 200 mil\n\n');
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { intent: string; confidence: number; source: string; entities: Record<string, unknown> });
    assert.equal(lines.length, 4);
    assert.equal(lines[0]!.intent, 'saludo');
    assert.deepEqual(lines[1], { text: 'mi cc es 93.388.915', intent: 'identificacion', confidence: 0.99, source: 'cedula', entities: { cedula: '93388915' } });
    assert.equal(lines[2]!.intent, 'solicitud_plan');
    assert.deepEqual(lines[2]!.entities, { amount: 200000, installments: 6 });
    assert.equal(lines[3]!.confidence, 0);
  });

  it('`acuerdo nlu eval FILE.tsv` prints accuracy, macro-F1, per-intent precision/recall and the confusion matrix; --json the same as JSON', async () => {
    const file = path.join(dir, 'eval.tsv');
    await fs.writeFile(file, 'text\tintent\ncuanto debo\tconsulta_deuda\nquiero hablar con un asesor\tsolicitar_asesor\nno me escriban mas\tno_contactar\nhola\tdespedida\n');
    const text = await acuerdo(['nlu', 'eval', file]);
    assert.equal(text.code, 0, text.stderr);
    for (const part of ['accuracy   0.7500', 'macro-F1', 'precision', 'recall', 'confusion matrix']) assert.ok(text.stdout.includes(part), part);

    const json = await acuerdo(['nlu', 'eval', file, '--json']);
    const report = JSON.parse(json.stdout) as { n: number; accuracy: number; macroF1: number; confusion: number[][]; perIntent: { intent: string; recall: number }[] };
    assert.equal(report.n, 4);
    assert.equal(report.accuracy, 0.75);
    assert.equal(report.confusion.length, 13);
    assert.equal(report.perIntent.find((m) => m.intent === 'consulta_deuda')!.recall, 1);
  });

  it('`acuerdo nlu eval` names the bad line of a broken file', async () => {
    const file = path.join(dir, 'bad.tsv');
    await fs.writeFile(file, 'text\tintent\nhola\tsaludo\nchao\tadios\n');
    const { code, stderr } = await acuerdo(['nlu', 'eval', file]);
    assert.notEqual(code, 0);
    assert.match(stderr, /bad\.tsv:3: unknown intent "adios"/);
  });

  it('`acuerdo train` retrains from a corpus, writes a loadable model and prints the k-fold report', async () => {
    const [part, rest] = stratifiedFolds(await readLabelledTsv(TRAIN_CORPUS), 4, 3);
    const corpus = path.join(dir, 'corpus.tsv');
    const heldout = path.join(dir, 'heldout.tsv');
    const tsv = (rows: { text: string; intent: string }[]) => 'text\tintent\n' + rows.map((r) => `${r.text}\t${r.intent}`).join('\n') + '\n';
    await fs.writeFile(corpus, tsv(part!));
    await fs.writeFile(heldout, tsv(rest!.slice(0, 60)));
    const out = path.join(dir, 'model.json');

    const { stdout, code, stderr } = await acuerdo(['train', '--corpus', corpus, '--heldout', heldout, '--out', out, '--folds', '3', '--json']);
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(stdout) as { examples: number; crossValidation: { folds: number; foldAccuracy: number[]; accuracy: number; temperature: number }; heldout: { n: number } };
    assert.equal(summary.examples, part!.length);
    assert.equal(summary.crossValidation.folds, 3);
    assert.equal(summary.crossValidation.foldAccuracy.length, 3);
    assert.ok(summary.crossValidation.accuracy > 0.5);
    assert.equal(summary.heldout.n, 60);

    const model = await loadIntentModel(out);
    assert.equal(model.info.examples, part!.length);
    assert.equal(model.temperature, summary.crossValidation.temperature);

    const human = await acuerdo(['train', '--corpus', corpus, '--heldout', '', '--out', out, '--folds', '3']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /3-fold cross-validation/);
    assert.match(human.stdout, /confusion matrix/);
  });
});
