import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The service's Prometheus metrics, served at GET /metrics. One registry per
 * process; modules increment these and never create their own.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'acuerdo_process_' });

export const messagesTotal = new Counter({
  name: 'acuerdo_messages_total',
  help: 'Messages handled, by channel and direction (in from debtors, out to them)',
  labelNames: ['channel', 'direction'] as const,
  registers: [registry],
});

export const turnDuration = new Histogram({
  name: 'acuerdo_turn_duration_seconds',
  help: 'Time to handle one inbound message (the whole turn transaction)',
  labelNames: ['channel'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
  registers: [registry],
});

export const turnErrors = new Counter({
  name: 'acuerdo_turn_errors_total',
  help: 'Turns that failed and were rolled back',
  labelNames: ['channel'] as const,
  registers: [registry],
});

export const nluResults = new Counter({
  name: 'acuerdo_nlu_results_total',
  help: 'Understood messages by the layer that decided (cedula, model, openai, rules)',
  labelNames: ['source'] as const,
  registers: [registry],
});

export const openaiTokens = new Counter({
  name: 'acuerdo_openai_tokens_total',
  help: 'OpenAI tokens used, by model and kind (in, out)',
  labelNames: ['model', 'kind'] as const,
  registers: [registry],
});

export const openaiCost = new Counter({
  name: 'acuerdo_openai_cost_usd_total',
  help: 'Estimated OpenAI cost in US dollars, by model',
  labelNames: ['model'] as const,
  registers: [registry],
});

export const openaiFailures = new Counter({
  name: 'acuerdo_openai_failures_total',
  help: 'Failed OpenAI calls, by status (error, timeout, malformed, circuit_open)',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const outboxDepth = new Gauge({
  name: 'acuerdo_outbox_depth',
  help: 'Outbox rows waiting to be sent, by status (pending, sending, deferred)',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const outboxFailures = new Counter({
  name: 'acuerdo_outbox_send_failures_total',
  help: 'Failed send attempts, by channel (each is retried unless permanent)',
  labelNames: ['channel'] as const,
  registers: [registry],
});

export const agreementsTotal = new Counter({
  name: 'acuerdo_agreements_total',
  help: 'Payment agreements recorded, by portfolio and kind (contado, cuotas)',
  labelNames: ['portfolio', 'kind'] as const,
  registers: [registry],
});

export const handoffsTotal = new Counter({
  name: 'acuerdo_handoffs_total',
  help: 'Conversations handed to a person, by reason',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const handoffQueueDepth = new Gauge({
  name: 'acuerdo_handoff_queue_depth',
  help: 'Conversations waiting for or held by a person (status handoff)',
  registers: [registry],
});

export const agentRepliesTotal = new Counter({
  name: 'acuerdo_agent_replies_total',
  help: 'Replies an agent sent from the handoff queue, by channel',
  labelNames: ['channel'] as const,
  registers: [registry],
});

export const alertsOpen = new Gauge({
  name: 'acuerdo_alerts_open',
  help: 'Whether an alert condition is firing (1) or not (0), by kind',
  labelNames: ['kind'] as const,
  registers: [registry],
});
