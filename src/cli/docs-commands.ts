import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Config } from '../core/index.js';
import {
  addDocument,
  createOpenAiEmbedder,
  DocumentReadError,
  ensureEmbeddings,
  evaluateRetrieval,
  formatRetrievalReport,
  listDocuments,
  parseQuestionSet,
  QuestionSetError,
  UnknownPortfolioError,
  type Embedder,
} from '../knowledge/index.js';
import { fail, withDatabase } from './context.js';

/** The documents' embedder when OpenAI is configured and enabled. */
export function embedderFromConfig(config: Config): Embedder | undefined {
  if (!config.OPENAI_ENABLED || !config.OPENAI_API_KEY) return undefined;
  return createOpenAiEmbedder({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, model: config.OPENAI_EMBEDDING_MODEL, timeoutMs: 30_000 });
}

/** `docs add`, `docs list` and `docs eval`: the agency's documents the bot answers general questions from. */
export function registerDocsCommands(program: Command): void {
  const docs = program.command('docs').description("the agency's documents (PDF, DOCX, TXT, Markdown) the bot answers debtors' general questions from");

  docs
    .command('add')
    .description('upload a document: its text is extracted, split into chunks and indexed (embedded too when OpenAI is configured)')
    .argument('<file>', 'a .pdf, .docx, .txt or .md file')
    .option('--portfolio <name>', 'only for this portfolio (default: every portfolio)')
    .option('--title <title>', 'the title debtors see as the source (default: from the file name)')
    .action(async (file: string, opts: { portfolio?: string; title?: string }) => {
      let data: Buffer;
      try {
        data = await readFile(file);
      } catch (err) {
        fail(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
        return;
      }
      await withDatabase(async ({ knex, clock, config }) => {
        try {
          const doc = await addDocument(knex, clock, { fileName: file, data, portfolio: opts.portfolio, title: opts.title });
          const embedder = embedderFromConfig(config);
          const embedded = embedder ? await ensureEmbeddings(knex, embedder) : 0;
          process.stdout.write(
            `Added document #${doc.id} «${doc.title}» (${doc.type}, ${doc.size_bytes} bytes, ${doc.chunks} chunks${doc.portfolio ? `, portfolio ${doc.portfolio}` : ', every portfolio'})` +
              (embedder ? `; ${embedded} chunk(s) embedded with ${embedder.model}` : '; full-text only (OpenAI not configured)') +
              '.\n',
          );
        } catch (err) {
          if (err instanceof DocumentReadError || err instanceof UnknownPortfolioError) return fail(`Not added: ${err.message}`);
          throw err;
        }
      });
    });

  docs
    .command('list')
    .description('list the documents')
    .action(async () => {
      await withDatabase(async ({ knex }) => {
        const rows = await listDocuments(knex);
        if (!rows.length) process.stdout.write('No documents. Add one with: npx acuerdo docs add FILE\n');
        for (const d of rows) {
          process.stdout.write(
            `#${d.id}  ${d.active ? 'active  ' : 'inactive'}  ${d.type.padEnd(4)}  ${String(d.chunks).padStart(3)} chunks  ${d.title}  (${d.file_name}, ${d.portfolio ?? 'every portfolio'})\n`,
          );
        }
      });
    });

  docs
    .command('eval')
    .description('retrieval quality on a question set (TSV: question<TAB>passage the answering chunk contains, "-" for unanswerable): hit@1 and hit@3, full-text only and, with OpenAI configured, hybrid')
    .argument('<file>', 'the question set, e.g. test/fixtures/knowledge/questions.tsv')
    .option('--misses', 'list the questions whose passage was not in the first three')
    .action(async (file: string, opts: { misses?: boolean }) => {
      let questions;
      try {
        questions = parseQuestionSet(await readFile(file, 'utf8'));
      } catch (err) {
        if (err instanceof QuestionSetError || (err as NodeJS.ErrnoException).code === 'ENOENT') return fail(`${file}: ${(err as Error).message}`);
        throw err;
      }
      await withDatabase(async ({ knex, config }) => {
        const active = (await listDocuments(knex)).filter((d) => d.active);
        process.stdout.write(`${questions.length} questions over ${active.length} active document(s): ${active.map((d) => `«${d.title}»`).join(', ') || 'none'}\n`);
        const show = (text: string) => process.stdout.write(`${opts.misses ? text : text.split('\n')[0]}\n`);
        show(formatRetrievalReport(await evaluateRetrieval(knex, questions)));
        const embedder = embedderFromConfig(config);
        if (!embedder) {
          process.stdout.write('hybrid    not measured: OpenAI is not configured (set OPENAI_API_KEY)\n');
          return;
        }
        const embedded = await ensureEmbeddings(knex, embedder);
        if (embedded) process.stdout.write(`(${embedded} chunk(s) embedded with ${embedder.model} first)\n`);
        show(formatRetrievalReport(await evaluateRetrieval(knex, questions, embedder)));
      });
    });
}
