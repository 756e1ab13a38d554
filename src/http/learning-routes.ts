/**
 * The learning loop over the admin API, for supervisors (src/learning; docs in README,
 * "The learning loop"). Everything under /api/v1/admin/learning:
 *
 *   GET    /ratings?from&to                      distribution by portfolio, channel and week; comments
 *   GET    /inbox?status=open|confirmed|corrected|not_useful|all
 *   POST   /inbox/:id                            {"action":"confirm"} | {"action":"correct","intent":…} | {"action":"not_useful"}
 *   GET    /models                               versions with metrics and gate, the one active, the training running
 *   POST   /models/train                         {"tolerance"?: 0.01} starts a training (202); off the request path
 *   POST   /models/:version/activate             {"force"?: true}
 *   POST   /models/rollback
 *   GET    /dictionary  POST /dictionary  PUT /dictionary/:id  DELETE /dictionary/:id  GET /dictionary/history
 *   POST   /finetune/export                      {filters} → the validation report
 *   GET    /finetune/export.jsonl?min_rating&outcome&from&to   the masked JSONL
 *   GET    /finetune/jobs  POST /finetune/jobs   POST /finetune/jobs/poll
 *   POST   /finetune/jobs/:id/use                the job's model becomes the fallback's
 *   POST   /finetune/fallback/reset              back to OPENAI_MODEL
 *   GET    /debts/:debtorId                      every conversation about one debt
 */
import express, { type ErrorRequestHandler, type Response, type Router } from 'express';
import type OpenAI from 'openai';
import { z, ZodError } from 'zod';
import type { Clock } from '../core/index.js';
import {
  activateVersion,
  clearFallbackModel,
  createDictionaryEntry,
  debtView,
  deleteDictionaryEntry,
  dictionaryEntryInput,
  DictionaryError,
  dictionaryHistory,
  exportFilters,
  exportFineTuning,
  FineTuneError,
  GateError,
  listDictionary,
  listFineTuningJobs,
  listInbox,
  listVersions,
  pollFineTuningJobs,
  ratingReport,
  readState,
  reviewDecision,
  ReviewError,
  reviewItem,
  rollbackVersion,
  startFineTuningJob,
  startJobInput,
  trainVersion,
  updateDictionaryEntry,
  useFineTunedModel,
  type TrainVersionResult,
} from '../learning/index.js';
import type { Logger } from '../log.js';
import type { NluSettings } from '../nlu/index.js';
import type { Knex } from '../store/index.js';
import { principalOf, requireRole } from './admin-auth.js';

export const LEARNING_PATH = '/api/v1/admin/learning';

export interface LearningRoutesDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  adminToken: () => string | undefined;
  /** The NLU settings in force (the gate evaluates with the same threshold). */
  nluSettings: () => NluSettings;
  /** The OpenAI client for fine-tuning; undefined when OPENAI_API_KEY is not set. */
  openai: () => OpenAI | undefined;
  /** Called after this instance changed the active version or the fallback model (reload now, not at the next poll). */
  changed?: () => void;
  /** Training options for tests (a smaller corpus, fewer folds). */
  training?: Partial<Parameters<typeof trainVersion>[1]>;
}

const idParam = z.coerce.number().int().positive();
const DAY = 24 * 3600_000;

class NotFound extends Error {}

/** The training this instance is running, if any, and how the last one ended. */
interface TrainingStatus {
  running: boolean;
  startedAt: Date | null;
  by: string | null;
  last: TrainVersionResult | null;
  error: string | null;
}

function who(res: Response): string {
  const p = principalOf(res);
  return p?.email ?? p?.name ?? 'unknown';
}

export function createLearningRouter(deps: LearningRoutesDeps): Router {
  const { knex, clock, log } = deps;
  const router = express.Router();
  router.use(requireRole('supervisor', deps.adminToken));
  const training: TrainingStatus = { running: false, startedAt: null, by: null, last: null, error: null };

  const handle =
    (fn: (req: express.Request, res: Response) => Promise<unknown>, status = 200): express.RequestHandler =>
    (req, res, next) => {
      fn(req, res).then((body) => {
        if (!res.headersSent) res.status(status).json(body);
      }, next);
    };

  router.get(
    '/ratings',
    handle(async (req) => {
      const q = z.object({ from: z.coerce.date().optional(), to: z.coerce.date().optional() }).parse(req.query);
      const to = q.to ?? clock.now();
      return ratingReport(knex, { from: q.from ?? new Date(to.getTime() - 90 * DAY), to });
    }),
  );

  router.get(
    '/inbox',
    handle(async (req) => {
      const q = z.object({ status: z.enum(['open', 'confirmed', 'corrected', 'not_useful', 'all']).default('open'), limit: z.coerce.number().int().min(1).max(500).default(50) }).parse(req.query);
      return { items: await listInbox(knex, q) };
    }),
  );
  router.post(
    '/inbox/:id',
    handle(async (req, res) => {
      const item = await reviewItem(knex, idParam.parse(req.params.id), reviewDecision.parse(req.body), who(res), clock);
      if (!item) throw new NotFound('no such review item');
      return item;
    }),
  );

  router.get(
    '/models',
    handle(async () => ({ state: await readState(knex), versions: await listVersions(knex), training })),
  );
  router.post(
    '/models/train',
    handle(async (req, res) => {
      const body = z.strictObject({ tolerance: z.number().min(0).max(1).optional() }).parse(req.body ?? {});
      if (training.running) {
        res.status(409).json({ error: 'training_running', details: `a training started at ${training.startedAt?.toISOString()} is still running` });
        return;
      }
      Object.assign(training, { running: true, startedAt: clock.now(), by: who(res), error: null });
      // Off the request path: the answer is 202 at once; the worker thread does the CPU work.
      void trainVersion(knex, { clock, by: who(res), settings: deps.nluSettings(), log, ...deps.training, ...(body.tolerance !== undefined ? { tolerance: body.tolerance } : {}) })
        .then(
          (result) => {
            training.last = result;
            if (result.activated) deps.changed?.();
          },
          (err: unknown) => {
            training.error = err instanceof Error ? err.message : String(err);
            log.error({ err }, 'model training failed');
          },
        )
        .finally(() => {
          training.running = false;
        });
      return { training: 'started', startedAt: training.startedAt };
    }, 202),
  );
  router.post(
    '/models/rollback',
    handle(async (_req, res) => {
      const out = await rollbackVersion(knex, { by: who(res), clock });
      deps.changed?.();
      return out;
    }),
  );
  router.post(
    '/models/:version/activate',
    handle(async (req, res) => {
      const body = z.strictObject({ force: z.boolean().optional() }).parse(req.body ?? {});
      const row = await activateVersion(knex, idParam.parse(req.params.version), { by: who(res), clock, force: body.force });
      deps.changed?.();
      return row;
    }),
  );

  router.get('/dictionary', handle(async () => ({ entries: await listDictionary(knex), state: await readState(knex) })));
  router.get('/dictionary/history', handle(async () => ({ versions: await dictionaryHistory(knex) })));
  router.post('/dictionary', handle(async (req, res) => createDictionaryEntry(knex, dictionaryEntryInput.parse(req.body), who(res), clock), 201));
  router.put(
    '/dictionary/:id',
    handle(async (req, res) => {
      const row = await updateDictionaryEntry(knex, idParam.parse(req.params.id), dictionaryEntryInput.partial().parse(req.body), who(res), clock);
      if (!row) throw new NotFound('no such dictionary entry');
      return row;
    }),
  );
  router.delete(
    '/dictionary/:id',
    handle(async (req, res) => {
      if (!(await deleteDictionaryEntry(knex, idParam.parse(req.params.id), who(res), clock))) throw new NotFound('no such dictionary entry');
      return { deleted: true };
    }),
  );

  const filtersFromQuery = (query: unknown) =>
    exportFilters.parse(
      Object.fromEntries(
        Object.entries(query as Record<string, string>).map(([k, v]) => [k, k === 'min_rating' || k === 'limit' ? (v === 'none' ? null : Number(v)) : v]),
      ),
    );
  router.post('/finetune/export', handle(async (req) => (await exportFineTuning(knex, exportFilters.parse(req.body?.filters ?? req.body ?? {}))).report));
  router.get('/finetune/export.jsonl', (req, res, next) => {
    exportFineTuning(knex, filtersFromQuery(req.query)).then((data) => {
      res.setHeader('Content-Type', 'application/jsonl; charset=utf-8');
      res.setHeader('Content-Disposition', 'attachment; filename="acuerdo-finetune.jsonl"');
      res.setHeader('X-Examples', String(data.report.examples));
      res.send(data.jsonl);
    }, next);
  });
  router.get('/finetune/jobs', handle(async () => ({ jobs: await listFineTuningJobs(knex), state: await readState(knex) })));
  router.post(
    '/finetune/jobs',
    handle(async (req, res) => {
      const client = deps.openai();
      if (!client) throw new FineTuneError('OPENAI_API_KEY is not set: fine-tuning needs it');
      return startFineTuningJob(knex, client, startJobInput.parse(req.body ?? {}), { by: who(res), clock, log });
    }, 201),
  );
  router.post(
    '/finetune/jobs/poll',
    handle(async () => {
      const client = deps.openai();
      if (!client) throw new FineTuneError('OPENAI_API_KEY is not set: fine-tuning needs it');
      return pollFineTuningJobs(knex, client, clock, log);
    }),
  );
  router.post(
    '/finetune/jobs/:id/use',
    handle(async (req, res) => {
      const model = await useFineTunedModel(knex, idParam.parse(req.params.id), { by: who(res), clock });
      deps.changed?.();
      return { fallback_model: model };
    }),
  );
  router.post(
    '/finetune/fallback/reset',
    handle(async (_req, res) => {
      await clearFallbackModel(knex, { by: who(res), clock });
      deps.changed?.();
      return { fallback_model: null };
    }),
  );

  router.get(
    '/debts/:debtorId',
    handle(async (req) => {
      const view = await debtView(knex, idParam.parse(req.params.debtorId));
      if (!view) throw new NotFound('no such debtor');
      return view;
    }),
  );

  const errors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof ZodError) {
      res.status(400).json({ error: 'invalid_request', details: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
    } else if (err instanceof NotFound) {
      res.status(404).json({ error: 'not_found', details: err.message });
    } else if (err instanceof GateError || err instanceof FineTuneError || err instanceof DictionaryError || err instanceof ReviewError) {
      res.status(409).json({ error: err.name, details: err.message });
    } else if ((err as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json({ error: 'invalid_json', details: 'the body is not valid JSON' });
    } else {
      log.error({ err }, 'learning request failed');
      res.status(500).json({ error: 'internal_error' });
    }
  };
  router.use(errors);
  return router;
}
