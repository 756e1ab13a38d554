import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Clock, Logger } from '../core/index.js';
import type { Knex } from '../store/index.js';
import { addDocument } from './documents.js';

/** The fictional agency's guide (payment points, hours, certificates, glossary), loaded with the demo portfolios. */
export const DEMO_DOCUMENT = path.join(__dirname, 'demo', 'guia-atencion-deudor.md');

/** Loads the demo guide when there is no document yet. Returns true if it did. */
export async function loadDemoDocumentIfEmpty(knex: Knex, clock: Clock, log: Logger): Promise<boolean> {
  if (await knex('documents').first('id')) return false;
  const doc = await addDocument(knex, clock, {
    fileName: path.basename(DEMO_DOCUMENT),
    data: await readFile(DEMO_DOCUMENT),
    title: 'Guía de atención al deudor',
  });
  log.info({ document: doc.title, chunks: doc.chunks }, 'demo document loaded');
  return true;
}
