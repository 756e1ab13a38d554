import { z } from 'zod';
import { ALERT_KINDS } from '../../ops/index.js';
import { CONVERSATION_STATUSES } from '../../ops/index.js';
import { runtimeSettingsSchema, settingsUpdateSchema } from '../../ops/index.js';

/**
 * The admin API's request and response schemas. Requests are validated with them,
 * and the OpenAPI document at /docs is generated from them, so the two cannot drift.
 * `.meta({ id })` names a schema in the document's components.
 */

const isoDate = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected an ISO 8601 date or date-time, e.g. 2026-11-21 or 2026-11-21T08:00:00-05:00' })
  .transform((s) => new Date(s))
  .meta({ type: 'string', format: 'date-time', example: '2026-11-21T00:00:00-05:00' });

const bool = z
  .enum(['true', 'false'], { message: 'expected true or false' })
  .transform((v) => v === 'true');

const limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);
const offset = z.coerce.number().int().min(0).default(0);
const iso = z.string().meta({ format: 'date-time' });

export const errorBodySchema = z
  .object({ error: z.string().meta({ example: 'invalid_request' }), details: z.unknown().optional() })
  .meta({ id: 'Error', description: 'Every error answer: a code and, when useful, what was wrong' });

export const conversationIdParams = z.object({ id: z.uuid({ message: 'expected a conversation id (UUID)' }) });

export const windowQuery = z.object({
  from: isoDate.optional().describe('Start of the window (inclusive); default: `to` minus 24 hours (30 days for the funnel and AI usage)'),
  to: isoDate.optional().describe('End of the window (exclusive); default: now'),
});

// --- config ---

export const runtimeConfigSchema = runtimeSettingsSchema.meta({ id: 'RuntimeConfig', description: 'The settings in force' });
export const configUpdateSchema = settingsUpdateSchema.meta({
  id: 'RuntimeConfigUpdate',
  description: 'Any subset of RuntimeConfig. A value replaces the current one; null restores the default.',
  example: { nlu: { confidence_threshold: 0.7, openai_enabled: false }, rate_limits: { chat_per_sender_per_minute: 30 } },
});
export const configResponseSchema = z
  .object({
    config: runtimeConfigSchema,
    overrides: z.record(z.string(), z.unknown()).describe('Only what an operator changed; the rest are defaults from the environment'),
    updated_at: iso.nullable(),
  })
  .meta({ id: 'ConfigResponse' });

// --- conversations ---

export const conversationListQuery = z.object({
  status: z.enum(CONVERSATION_STATUSES).optional(),
  state: z.string().min(1).max(100).optional().describe('Flow state, e.g. proponer_planes_pago'),
  channel: z.string().min(1).max(40).optional(),
  portfolio: z.string().min(1).max(200).optional().describe('Portfolio id or name'),
  from: isoDate.optional().describe('Opened at or after'),
  to: isoDate.optional().describe('Opened before'),
  handoff: bool.optional().describe('true: was handed to a person at some point; false: never was'),
  limit: limit(500, 50),
  offset,
});

export const conversationSummarySchema = z
  .object({
    id: z.uuid(),
    channel: z.string(),
    source: z.string().nullable().describe('Where the conversation came from: the deep-link payload that opened it (campaign attribution)'),
    user_id: z.string(),
    state: z.string(),
    status: z.enum(CONVERSATION_STATUSES),
    tier: z.string(),
    message_count: z.number().int(),
    portfolio_id: z.number().int().nullable(),
    portfolio: z.string().nullable(),
    debtor_id: z.number().int().nullable(),
    debtor_name: z.string().nullable(),
    cedula: z.string().nullable(),
    opened_at: iso,
    last_activity_at: iso,
    handoff_at: iso.nullable(),
    handoff_reason: z.string().nullable(),
    assigned_to: z.string().nullable(),
    closed_at: iso.nullable(),
    close_reason: z.string().nullable(),
    last_message: z.string().nullable(),
    verification: z
      .enum(['pendiente', 'verificado', 'bloqueado', 'tercero'])
      .nullable()
      .describe(
        'Identity (Ley 2300 art. 4): null before a cédula matched; pendiente (second fact asked), verificado, bloqueado (3 failures in 24 h), tercero (someone writing for the debtor; nothing disclosed)',
      ),
    verification_method: z.string().nullable().describe('How it was proved, or what is asked: telefono, fecha_expedicion, obligacion, canal, ninguna'),
    failed_attempts: z.number().int().describe('Wrong answers to the identity question in this conversation'),
  })
  .meta({ id: 'ConversationSummary' });

export const conversationListSchema = z
  .object({ total: z.number().int(), items: z.array(conversationSummarySchema) })
  .meta({ id: 'ConversationList' });

export const transcriptMessageSchema = z
  .object({
    id: z.number().int(),
    direction: z.enum(['in', 'out']),
    author: z.enum(['debtor', 'bot', 'agent', 'system']),
    text: z.string().nullable(),
    button_id: z.string().nullable(),
    buttons: z.array(z.object({ id: z.string(), text: z.string() })).nullable(),
    media_kind: z.string().nullable(),
    intent: z.string().nullable(),
    confidence: z.number().nullable(),
    nlu_source: z.string().nullable(),
    previous_state: z.string().nullable(),
    next_state: z.string().nullable(),
    created_at: iso,
  })
  .meta({ id: 'TranscriptMessage' });

export const transcriptSchema = z
  .object({
    conversation: conversationSummarySchema.extend({ context: z.record(z.string(), z.unknown()) }),
    messages: z.array(transcriptMessageSchema),
  })
  .meta({ id: 'Transcript' });

// --- handoff ---

const agent = z.string().trim().min(1).max(80).describe('Who acts, as shown to other agents');
const debtorText = z.string().trim().min(1, { message: 'the message is empty' }).max(4000);

export const takeBodySchema = z.strictObject({ agent }).meta({ id: 'HandoffTake' });
export const replyBodySchema = z.strictObject({ agent, text: debtorText.describe('Sent to the debtor on their channel, as the agency') }).meta({ id: 'HandoffReply' });
export const releaseBodySchema = z
  .strictObject({ agent, message: debtorText.optional().describe('Optional message to the debtor') })
  .meta({ id: 'HandoffRelease' });

export const queueItemSchema = conversationSummarySchema
  .extend({ waiting_seconds: z.number().int(), unanswered: z.number().int() })
  .meta({ id: 'HandoffQueueItem' });
export const queueSchema = z.object({ items: z.array(queueItemSchema) }).meta({ id: 'HandoffQueue' });
export const replyResultSchema = z.object({ message_id: z.number().int(), outbox_id: z.number().int() }).meta({ id: 'HandoffReplyResult' });
export const okSchema = z.object({ ok: z.literal(true) }).meta({ id: 'Ok' });

// --- agreements ---

export const agreementListQuery = z.object({
  portfolio: z.string().min(1).max(200).optional().describe('Portfolio id or name'),
  channel: z.string().min(1).max(40).optional(),
  kind: z.enum(['contado', 'cuotas']).optional(),
  from: isoDate.optional().describe('Recorded at or after'),
  to: isoDate.optional().describe('Recorded before'),
  limit: limit(1000, 100),
  offset,
});
export const agreementCsvQuery = agreementListQuery.omit({ limit: true, offset: true }).extend({
  format: z
    .enum(['csv', 'excel-co'])
    .optional()
    .describe("csv: comma-separated, English headers, ISO dates. excel-co: Excel as used in Colombia (';', Spanish headers, dd/mm/yyyy). Default: excel-co when the browser prefers Spanish (Accept-Language), csv otherwise"),
});

export const agreementSchema = z
  .object({
    id: z.number().int(),
    created_at: iso,
    portfolio_id: z.number().int(),
    portfolio: z.string(),
    debtor_id: z.number().int(),
    cedula: z.string(),
    debtor_name: z.string(),
    banco: z.string(),
    kind: z.enum(['contado', 'cuotas']),
    total: z.number().int().describe('COP, whole pesos'),
    installments: z.number().int(),
    installment_amount: z.number().int().describe('COP, whole pesos'),
    first_due_date: z.string().meta({ format: 'date' }),
    channel: z.string(),
    status: z.string(),
    conversation_id: z.uuid().nullable(),
    reference: z.string().nullable(),
    paid_installments: z.number().int(),
    paid_amount: z.number().int().describe('COP received and allocated to the schedule'),
    next_due_date: z.string().meta({ format: 'date' }).nullable(),
    next_due_amount: z.number().int().nullable(),
    overdue_installments: z.number().int(),
  })
  .meta({ id: 'Agreement' });
export const agreementListSchema = z
  .object({ total: z.number().int(), total_amount: z.number().int(), items: z.array(agreementSchema) })
  .meta({ id: 'AgreementList' });

// --- metrics, funnel, NLU ---

const numberMap = z.record(z.string(), z.number());
export const metricsSchema = z
  .object({
    window: z.object({ from: iso, to: iso }),
    summary: z.object({
      total_requests: z.number().int(),
      errors: z.number().int(),
      error_rate: z.number().describe('Share of failed turns, 0..1'),
      avg_response_time_ms: z.number(),
      max_response_time_ms: z.number(),
      low_confidence_rate: z.number().describe('Share of understood messages under the NLU threshold, 0..1'),
    }),
    system_usage: numberMap.describe('Percent of requests by NLU layer: rules, ml (local model), openai, cedula, none'),
    performance: z.object({
      avg_response_time_ms_by_source: numberMap,
      by_channel: z.record(z.string(), z.object({ requests: z.number().int(), errors: z.number().int(), avg_response_time_ms: z.number() })),
    }),
    conversations: z.object({
      open: z.number().int(),
      handoff: z.number().int(),
      closed: z.number().int(),
      archived: z.number().int(),
      opened_in_window: z.number().int(),
      opened_by_source: numberMap.describe('Conversations opened in the window by where they came from (deep-link payload; "directo" without one)'),
    }),
    handoffs: z.object({ queued: z.number().int(), in_window: z.number().int(), by_reason: numberMap }),
    agreements: z.object({ in_window: z.number().int(), total_amount: z.number().int(), by_portfolio: numberMap }),
    openai: z.object({ calls: z.number().int(), failures: z.number().int(), cost_usd: z.number() }),
  })
  .meta({ id: 'Metrics' });

export const funnelSchema = z
  .object({
    from: iso,
    to: iso,
    rows: z.array(
      z.object({
        portfolio_id: z.number().int().nullable(),
        portfolio: z.string().nullable().describe('null: conversations not identified yet'),
        channel: z.string(),
        conversations: z.number().int(),
        identified: z.number().int(),
        offered: z.number().int(),
        agreements: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'Funnel' });

export const nluOverviewSchema = z
  .object({
    from: iso,
    to: iso,
    threshold: z.number(),
    sources: z.array(z.object({ source: z.string(), messages: z.number().int(), share: z.number(), avg_confidence: z.number().nullable() })),
    low_confidence: z.array(
      z.object({
        message_id: z.number().int(),
        conversation_id: z.uuid(),
        channel: z.string(),
        text: z.string().nullable(),
        intent: z.string().nullable(),
        confidence: z.number(),
        nlu_source: z.string().nullable(),
        created_at: iso,
      }),
    ),
  })
  .meta({ id: 'NluOverview' });

// --- alerts, AI usage ---

export const alertListQuery = z.object({
  status: z.enum(['open', 'resolved', 'all']).default('all'),
  limit: limit(500, 100),
});
export const alertSchema = z
  .object({
    id: z.number().int(),
    kind: z.enum(ALERT_KINDS),
    severity: z.enum(['warning', 'critical']),
    message: z.string(),
    value: z.number(),
    threshold: z.number(),
    details: z.record(z.string(), z.unknown()),
    raised_at: iso,
    last_seen_at: iso,
    resolved_at: iso.nullable(),
  })
  .meta({ id: 'Alert' });
export const alertListSchema = z.object({ items: z.array(alertSchema) }).meta({ id: 'AlertList' });

const usageNumbers = {
  calls: z.number().int(),
  ok: z.number().int(),
  failed: z.number().int(),
  tokens_in: z.number().int(),
  tokens_out: z.number().int(),
  cost_usd: z.number().describe('Estimated, US dollars'),
  avg_latency_ms: z.number().nullable(),
};
export const aiUsageSchema = z
  .object({
    from: iso,
    to: iso,
    totals: z.object(usageNumbers),
    failures: numberMap.describe('Failed calls by status: error, timeout, malformed, circuit_open'),
    per_day: z.array(z.object({ day: z.string().meta({ format: 'date' }).describe('A day in America/Bogota'), ...usageNumbers })),
    per_model: z.array(z.object({ model: z.string(), ...usageNumbers })),
  })
  .meta({ id: 'AiUsage' });

export const sessionSchema = z
  .object({ ok: z.literal(true), admin_api: z.literal('enabled'), time: iso })
  .meta({ id: 'AdminSession', description: 'Answers 200 when the token is right (the dashboard’s login check)' });
