import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './core/index.js';
import { systemClock, type Clock } from './core/index.js';
import { createChannelPorts } from './channel-ports.js';
import { createApp } from './http/app.js';
import type { Logger } from './log.js';
import { migrateLatest, openDatabase, type Database, type Knex, type SupervisionOptions } from './store/db.js';
import { loadDemoDataIfEmpty } from './store/demo.js';
import path from 'node:path';
import { createChatConversations, createEngine, createOutbox, warnUnverifiedPortfolios, type Engine, type Outbox } from './engine/index.js';
import { loadFlowCatalog } from './flows/index.js';
import { CHAT_API_PATH, createChatRouter } from './http/chat-routes.js';
import { createKnexLlmCallRecorder, detectCedula } from './nlu/index.js';
import { createChatRateLimiter, operationsRoutes } from './http/admin/index.js';
import { observeLlmCalls, observeTurns, startOps, tierOfTimeouts } from './ops/index.js';
import { loadChannels, type ChannelAdapter } from '../channels/index.js';
import { templateAwareOutbound } from './campaigns/index.js';
import { recheckReachableBeforeSend } from './compliance/index.js';
import { agreementJobs, createLifecycleScheduler, type Scheduler } from './scheduler/index.js';
import { createSchedulerAdminRouter, SCHEDULER_ADMIN_PATH } from './http/scheduler-routes.js';
import { createAgreementsService, createLinkSigner, createMercadoPagoProvider } from './agreements/index.js';
import { createAgreementsRouter } from './http/agreements-routes.js';
import { createKnowledge, createOpenAiAnswerWriter, createOpenAiEmbedder, ensureEmbeddings, loadDemoDocumentIfEmpty } from './knowledge/index.js';
import { createKnowledgeRouter, DOCUMENTS_PATH } from './http/knowledge-routes.js';
import { randomBytes } from 'node:crypto';
import { createFineTuningClient, fineTuningPollJob, LearningUnderstander, withLearning } from './learning/index.js';
import { createLearningRouter, LEARNING_PATH } from './http/learning-routes.js';

export interface RunningService {
  /** The URL a person opens, e.g. http://localhost:3000 */
  url: string;
  port: number;
  knex: Knex;
  database: Database;
  server: http.Server;
  /** The conversation engine every channel hands its messages to. */
  engine: Engine;
  /** Register each channel's OutboundChannel here; replies to it then leave through the outbox. */
  outbox: Outbox;
  /** The scheduled jobs (running when SCHEDULER_ENABLED); runNow() runs one by hand. */
  scheduler: Scheduler;
  /** The one clock every component reads. */
  clock: Clock;
  close(): Promise<void>;
}

/**
 * Composes the service: database (migrated, demo data when empty), HTTP app, and
 * whatever channels and jobs the configuration enables. Returns once it listens.
 */
export interface ServiceOptions {
  /**
   * The one clock every component reads "now" from (default: the system's). Tests pass
   * a ManualClock to drive a whole lifecycle at any date.
   */
  clock?: Clock;
  /** How the database is watched and what happens when it cannot be brought back (default: exit 1). */
  database?: SupervisionOptions;
}

export async function startService(config: Config, log: Logger, options: ServiceOptions = {}): Promise<RunningService> {
  const clock = options.clock ?? systemClock;
  const database = await openDatabase(config, log, { ...options.database, clock });
  const { knex } = database;
  const closers: (() => Promise<void>)[] = [];
  const started: ChannelAdapter[] = [];
  // Channels stop before the HTTP server closes: server.close() waits for upgraded (WebSocket) connections.
  const stopChannels = async () => {
    for (const channel of started.splice(0).reverse()) await channel.stop?.().catch((err: unknown) => log.warn({ err, channel: channel.name }, 'channel stop failed'));
  };
  try {
    const applied = await migrateLatest(knex);
    if (applied.length) log.info({ migrations: applied }, 'migrations applied');
    // The demo agency's guide (payment points, hours, certificates, glossary) comes with the
    // demo portfolios, once: a guide an agency deleted does not come back at the next start.
    if (config.DEMO_DATA && (await loadDemoDataIfEmpty(knex, log, clock.now()))) await loadDemoDocumentIfEmpty(knex, clock, log);

    // The conversation engine: flows checked first (a broken flow never starts), the
    // NLU, the outbox and its retry worker, and the REST chat API (channel "api").
    const { flows, policies } = loadFlowCatalog(path.resolve(config.FLOWS_DIR));
    // Ley 2300 art. 4: a portfolio that asks no second identity fact is named at every start.
    await warnUnverifiedPortfolios(knex, policies, log);
    // Campaigns, reminders and timeout warnings get the compliance guard's last look before sending.
    // A recipient who blocked the bot gets nothing more on that channel.
    const outbox = createOutbox({ knex, log, clock, beforeSend: (row, now) => recheckReachableBeforeSend(knex, row, now) });
    outbox.start(config.OUTBOX_POLL_MS);
    closers.push(() => outbox.stop());
    // Operations: runtime settings (read live by the NLU, the engine and the rate limits),
    // turn statistics, alerts and the handoff queue (agent replies leave through the outbox).
    const ops = await startOps({ knex, config, log, clock, dispatch: (ids) => outbox.dispatch(ids) });
    closers.push(() => ops.stop());
    // The NLU with the active model version, its dictionary and the fallback's model (src/learning):
    // swapped in place when a supervisor activates or rolls back, here and on every instance.
    const understander = await LearningUnderstander.create({
      knex,
      log,
      base: {
        settings: () => ops.settings.nlu(),
        openai: { apiKey: config.OPENAI_API_KEY, model: config.OPENAI_MODEL, baseURL: config.OPENAI_BASE_URL, timeoutMs: config.OPENAI_TIMEOUT_MS, budgetMs: config.OPENAI_BUDGET_MS, maxRetries: config.OPENAI_MAX_RETRIES },
        recorder: observeLlmCalls(createKnexLlmCallRecorder(knex, { clock })),
        log,
      },
    });
    closers.push(async () => understander.stop());
    const fineTuning = createFineTuningClient({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL });
    // After the agreement: payments (Mercado Pago when configured, the bank's file), signed links, paz y salvo.
    const publicUrl = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
    if (!config.LINK_SIGNING_SECRET) log.warn('LINK_SIGNING_SECRET is not set: paz y salvo and payment links will stop working when this process restarts');
    const signer = createLinkSigner({ secret: config.LINK_SIGNING_SECRET ?? randomBytes(32).toString('hex'), publicUrl, clock });
    const provider =
      config.MERCADOPAGO_ACCESS_TOKEN && config.MERCADOPAGO_WEBHOOK_SECRET
        ? createMercadoPagoProvider({ accessToken: config.MERCADOPAGO_ACCESS_TOKEN, webhookSecret: config.MERCADOPAGO_WEBHOOK_SECRET, clock })
        : undefined;
    const agreements = createAgreementsService({
      knex,
      clock,
      log,
      signer,
      provider,
      agency: config.AGENCY_NAME,
      publicUrl,
      templateLanguage: config.CAMPAIGN_TEMPLATE_LANGUAGE,
      dispatch: (ids) => void outbox.dispatch(ids),
    });
    // The agency's documents answer debtors' general questions: full-text always; with OpenAI
    // configured and switched on in the settings, embeddings (each chunk once per model) and
    // answers written from the passages.
    const documentCalls = observeLlmCalls(createKnexLlmCallRecorder(knex, { clock }));
    const documentsAi = config.OPENAI_API_KEY
      ? {
          embedder: createOpenAiEmbedder({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, model: config.OPENAI_EMBEDDING_MODEL, recorder: documentCalls }),
          writer: createOpenAiAnswerWriter({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, model: config.OPENAI_MODEL, timeoutMs: config.OPENAI_TIMEOUT_MS, recorder: documentCalls }),
        }
      : undefined;
    const documentsOpenAi = () => (documentsAi && ops.settings.nlu().openaiEnabled ? documentsAi : undefined);
    const knowledge = createKnowledge({ knex, clock, log, openai: documentsOpenAi });
    if (documentsAi) {
      const embedding = ensureEmbeddings(knex, documentsAi.embedder).catch((err: unknown) => log.warn({ err }, 'embedding the documents failed; full-text search only until the next start or upload'));
      closers.push(() => embedding.then(() => undefined));
    }
    // withLearning: unsure turns go to the review inbox; a good ending asks for a rating.
    const engine = observeTurns(
      withLearning(createEngine({
        knex,
        clock,
        agreementLinks: { payment: (reference) => agreements.paymentLink(reference), certificate: (code) => agreements.certificateLink(code) },
        afterAgreement: async ({ replaces, reference }) => {
          if (replaces !== undefined) await agreements.carryOver(reference);
        },
        understander,
        knowledge,
        flows,
        policies,
        log,
        outbox,
        durability: config.TURN_DURABILITY,
        turnCacheSize: config.TURN_CACHE_SIZE,
        messageLimit: (tier) => tierOfTimeouts(ops.settings.current().timeouts, tier).max_messages,
      }), { knex, clock, log, outbox, threshold: () => ops.settings.nlu().confidenceThreshold }),
      ops.turnStats,
    );

    // Lifecycle jobs (timeouts hourly, retention, archive 06:00, rollup 07:00, America/Bogota);
    // each tick runs once across instances. SCHEDULER_ENABLED=false leaves them to other instances.
    const scheduler = createLifecycleScheduler({
      knex,
      config,
      log,
      clock,
      engine,
      outbox,
      tierLimits: () => ops.settings.current().timeouts,
      moreJobs: [
        ...agreementJobs({
          policyFor: (name, override) => policies.forPortfolio(name, override),
          paymentLink: (reference) => agreements.paymentLink(reference),
          templateLanguage: config.CAMPAIGN_TEMPLATE_LANGUAGE,
          dispatch: (ids) => void outbox.dispatch(ids),
        }),
        // Only with an OpenAI key: there is nothing to follow without one.
        ...(fineTuning ? [fineTuningPollJob(() => fineTuning, clock)] : []),
      ],
    });
    if (config.SCHEDULER_ENABLED) scheduler.start();
    closers.push(() => scheduler.stop());

    // The channels the configuration enables: their routes before the body parser,
    // WebSocket upgrades on the server, their replies through the outbox.
    const channels = await loadChannels(createChannelPorts({ knex, clock, engine, log, config }));
    // templateAwareOutbound: campaign rows holding a WhatsApp template go through the adapter's sendTemplate.
    for (const channel of channels) outbox.registerChannel(templateAwareOutbound(channel));

    const app = createApp({
      knex,
      config,
      log,
      clock,
      database: database.supervisor,
      routes: [
        { path: CHAT_API_PATH, router: createChatRateLimiter(() => ops.settings.current().rate_limits.chat_per_sender_per_minute) },
        { path: CHAT_API_PATH, router: createChatRouter({ engine, conversations: createChatConversations(knex), detectCedula, clock }) },
        { path: SCHEDULER_ADMIN_PATH, router: createSchedulerAdminRouter({ scheduler, enabled: config.SCHEDULER_ENABLED, adminToken: () => config.ADMIN_TOKEN }) },
        { path: '/', router: createAgreementsRouter({ service: agreements, signer }) },
        { path: DOCUMENTS_PATH, router: createKnowledgeRouter({ knex, clock, log, adminToken: () => config.ADMIN_TOKEN, embedder: () => documentsOpenAi()?.embedder }) },
        {
          path: LEARNING_PATH,
          router: createLearningRouter({ knex, clock, log, adminToken: () => config.ADMIN_TOKEN, nluSettings: () => ops.settings.nlu(), openai: () => fineTuning, changed: () => void understander.refresh() }),
        },
        ...operationsRoutes({ knex, config, log, clock, ops }),
      ],
      beforeBodyParsers: (a) => {
        for (const channel of channels) channel.mount?.(a);
      },
    });
    const server = http.createServer(app);
    // Kept-alive connections outlive a load balancer's idle timeout (60 s on the usual
    // ones): with Node's 5 s default the server may close a connection just as a client or
    // proxy sends on it, and that request fails ("socket hang up", a 502 at the balancer).
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    for (const channel of channels) {
      channel.attachServer?.(server);
      started.push(channel);
      await channel.start?.();
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://localhost:${port}`;

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      knex,
      database,
      server,
      engine,
      outbox,
      scheduler,
      clock,
      close() {
        closing ??= (async () => {
          await stopChannels();
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          for (const close of closers.reverse()) await close().catch((err: unknown) => log.warn({ err }, 'shutdown step failed'));
          await database.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await stopChannels();
    await database.close().catch(() => undefined);
    throw err;
  }
}
