/**
 * The agency's documents over the admin API, for supervisors:
 *
 *   POST   /api/v1/admin/documents            multipart: `file` (PDF, DOCX, TXT, MD), optional `portfolio`, `title`
 *   GET    /api/v1/admin/documents            the documents
 *   PATCH  /api/v1/admin/documents/:id        {"active": false} deactivates, true activates
 *   DELETE /api/v1/admin/documents/:id        deletes the document and its chunks
 *   GET    /api/v1/admin/documents/questions  questions asked, unanswered ones, answers per document
 *
 * A file that cannot be read is 400 with the file's name and the reason; nothing is stored.
 */
import express, { type ErrorRequestHandler, type Router } from 'express';
import multer from 'multer';
import { z } from 'zod';
import type { Clock, Logger } from '../core/index.js';
import {
  addDocument,
  deleteDocument,
  DocumentNotFoundError,
  DocumentReadError,
  documentQuestionStats,
  ensureEmbeddings,
  listDocuments,
  MAX_DOCUMENT_BYTES,
  setDocumentActive,
  UnknownPortfolioError,
  type Embedder,
} from '../knowledge/index.js';
import type { Knex } from '../store/index.js';
import { requireRole } from './admin-auth.js';

export const DOCUMENTS_PATH = '/api/v1/admin/documents';

export interface KnowledgeRoutesDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  adminToken: () => string | undefined;
  /** The embedder in force (OpenAI configured and enabled), to embed a new document's chunks at once. */
  embedder?: () => Embedder | undefined;
}

const idParam = z.coerce.number().int().positive();
const patchBody = z.object({ active: z.boolean() }).strict();
const windowQuery = z.object({ from: z.coerce.date().optional(), to: z.coerce.date().optional() });

const DAY = 24 * 3600_000;

export function createKnowledgeRouter(deps: KnowledgeRoutesDeps): Router {
  const { knex, clock, log } = deps;
  const router = express.Router();
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: MAX_DOCUMENT_BYTES, files: 1, fields: 5 } });
  router.use(requireRole('supervisor', deps.adminToken));

  // Any upload the multipart parser cannot read (a broken body, a second file, a wrong field) is the client's: 400.
  const single: express.RequestHandler = (req, res, next) =>
    upload.single('file')(req, res, (err?: unknown) => {
      if (!err || err instanceof multer.MulterError) return next(err);
      res.status(400).json({ error: 'invalid_upload', details: (err as Error).message });
    });

  router.post('/', single, async (req, res, next) => {
    try {
      const file = req.file;
      if (!file) {
        res.status(400).json({ error: 'file_required', details: 'send the document as multipart/form-data in the field `file`' });
        return;
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const portfolio = typeof body.portfolio === 'string' && body.portfolio.trim() ? body.portfolio.trim() : undefined;
      const title = typeof body.title === 'string' && body.title.trim() ? body.title.trim().slice(0, 200) : undefined;
      // multer hands the name as latin1 bytes; browsers send UTF-8.
      const fileName = Buffer.from(file.originalname, 'latin1').toString('utf8');
      const doc = await addDocument(knex, clock, { fileName, data: file.buffer, portfolio, title });
      const embedder = deps.embedder?.();
      let embedded = 0;
      if (embedder) {
        try {
          embedded = await ensureEmbeddings(knex, embedder);
        } catch (err) {
          // Full-text works at once; the embeddings are retried on the next upload or start.
          log.warn({ err, document: doc.id }, 'embedding the new document failed; full-text search only until retried');
        }
      }
      res.status(201).json({ document: doc, embedded });
    } catch (err) {
      next(err);
    }
  });

  router.get('/', async (_req, res, next) => {
    try {
      res.json({ documents: await listDocuments(knex) });
    } catch (err) {
      next(err);
    }
  });

  router.get('/questions', async (req, res, next) => {
    try {
      const q = windowQuery.safeParse(req.query);
      if (!q.success) {
        res.status(400).json({ error: 'invalid_query', details: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
        return;
      }
      const to = q.data.to ?? clock.now();
      const from = q.data.from ?? new Date(to.getTime() - 30 * DAY);
      res.json(await documentQuestionStats(knex, { from, to }));
    } catch (err) {
      next(err);
    }
  });

  router.patch('/:id', async (req, res, next) => {
    try {
      const id = idParam.safeParse(req.params.id);
      const body = patchBody.safeParse(req.body);
      if (!id.success || !body.success) {
        res.status(400).json({ error: 'invalid_request', details: 'expected /documents/<id> and a body {"active": true|false}' });
        return;
      }
      res.json({ document: await setDocumentActive(knex, clock, id.data, body.data.active) });
    } catch (err) {
      next(err);
    }
  });

  router.delete('/:id', async (req, res, next) => {
    try {
      const id = idParam.safeParse(req.params.id);
      if (!id.success) {
        res.status(400).json({ error: 'invalid_request', details: 'expected /documents/<id>' });
        return;
      }
      await deleteDocument(knex, id.data);
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });

  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (err instanceof DocumentReadError) {
      res.status(400).json({ error: 'unreadable_document', details: err.message, file: err.fileName, reason: err.reason });
      return;
    }
    if (err instanceof UnknownPortfolioError) {
      res.status(400).json({ error: 'unknown_portfolio', details: err.message });
      return;
    }
    if (err instanceof DocumentNotFoundError) {
      res.status(404).json({ error: 'not_found', details: err.message });
      return;
    }
    if (err instanceof multer.MulterError) {
      const tooLarge = err.code === 'LIMIT_FILE_SIZE';
      res.status(tooLarge ? 413 : 400).json({ error: tooLarge ? 'payload_too_large' : 'invalid_upload', details: tooLarge ? `the limit is ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB` : `${err.message}${err.field ? ` (${err.field})` : ''}` });
      return;
    }
    next(err);
  };
  router.use(onError);
  return router;
}
