/**
 * Conversation tests for flows, written in YAML like Rasa's end-to-end stories: the
 * debtors to load, then cases of user turns with assertions on the state, the reply
 * text, the buttons, context values and the agreement recorded. `acuerdo test-flows`
 * and `npm test` run them against a real database and the real engine.
 *
 *   now: "2026-11-23T10:00:00-05:00"
 *   portfolios:
 *     - name: Demo
 *       debtors:
 *         - { cedula: "93388915", nombre: CARLOS FAJARDO, saldo_total: 123456, banco: TUYA S.A., oferta_1: 98765 }
 *   cases:
 *     - name: pago de contado
 *       steps:
 *         - user: hola
 *           state: inicial
 *           says: cédula
 *         - user: "93388915"
 *           state: informar_deuda
 *       agreement: { kind: contado, total: 98765 }
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { Knex } from 'knex';
import { z } from 'zod';
import { FlowDefinitionError, ManualClock } from '../core/index.js';
import { InvalidFlowError } from '../flows/index.js';
import type { PolicySet } from '../flows/index.js';
import { YamlSource } from '../flows/index.js';
import type { Flow } from '../flows/index.js';
import type { Logger } from '../log.js';
import type { Understander } from '../nlu/index.js';
import { createEngine, type EngineTurnResult } from './engine.js';
import { CHANNELS, type ChannelName } from '../core/index.js';

const textOrList = z.union([z.string(), z.array(z.string())]);
const money = z.number().int().nonnegative();

const debtorShape = z.strictObject({
  cedula: z.union([z.string(), z.number()]).transform(String),
  nombre: z.string().default('ANA PÉREZ'),
  saldo_total: money,
  banco: z.string().default('BANCO DE PRUEBA S.A.'),
  oferta_1: money.nullable().optional(),
  oferta_2: money.nullable().optional(),
  hasta_3_cuotas: money.nullable().optional(),
  hasta_6_cuotas: money.nullable().optional(),
  hasta_12_cuotas: money.nullable().optional(),
  tier: z.enum(['default', 'premium', 'vip']).default('default'),
  /** The identity facts (Ley 2300 art. 4): the mobile on file, the cédula's issue date (YYYY-MM-DD), the obligation number. */
  telefono: z.union([z.string(), z.number()]).transform(String).optional(),
  /** Another name for `telefono`. */
  phone: z.union([z.string(), z.number()]).transform(String).optional(),
  fecha_expedicion: z.string().optional(),
  numero_obligacion: z.union([z.string(), z.number()]).transform(String).optional(),
});

const agreementShape = z.strictObject({
  kind: z.enum(['contado', 'cuotas']).optional(),
  total: money.optional(),
  installments: z.number().int().positive().optional(),
  installment_amount: money.optional(),
  first_due_date: z.string().optional(),
});

const stepShape = z
  .strictObject({
    user: z.union([z.string(), z.number()]).transform(String).optional(),
    button: z.union([z.string(), z.number()]).transform(String).optional(),
    media: z.string().optional(),
    /** Expected state after the turn. */
    state: z.string().optional(),
    /** Texts the replies contain (case and accents ignored). */
    says: textOrList.optional(),
    not_says: textOrList.optional(),
    /** The button ids offered, in order. */
    buttons: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
    /** Context values (a subset). */
    context: z.record(z.string(), z.unknown()).optional(),
    intent: z.string().optional(),
    status: z.enum(['open', 'handoff', 'closed']).optional(),
    no_reply: z.boolean().optional(),
    /** A contact card shared with the message (Telegram): the sender's own (`own: true`) or someone else's. */
    contact: z.strictObject({ phone: z.union([z.string(), z.number()]).transform(String), own: z.boolean().default(true) }).optional(),
    /** The "share my number" button offered with the replies (its label). */
    request_contact: z.boolean().optional(),
    /** Minutes that pass before this message (default: half a minute). */
    wait: z.number().nonnegative().optional(),
  })
  .refine((s) => [s.user, s.button, s.media].filter((x) => x !== undefined).length + (s.contact && s.user === undefined ? 1 : 0) === 1, {
    error: 'a step needs exactly one of user:, button:, media: or contact:',
  });

/** An agreement the debtor already has when the case starts (the negotiation's memory). */
const existingAgreementShape = z.strictObject({
  cedula: z.union([z.string(), z.number()]).transform(String),
  reference: z.string().default('AC-PRUEBA1'),
  kind: z.enum(['contado', 'cuotas']).default('cuotas'),
  total: money,
  installments: z.number().int().positive().default(1),
  installment_amount: money.optional(),
  first_due_date: z.string(),
  /** What the agreement's status must be when the case ends. */
  status_after: z.enum(['vigente', 'cumplido', 'incumplido', 'cancelado', 'reemplazado']).optional(),
});

const caseShape = z.strictObject({
  name: z.string(),
  /** "Today" for this case (default: the file's). */
  now: z.string().optional(),
  existing_agreement: existingAgreementShape.optional(),
  channel: z.enum(CHANNELS).default('api'),
  steps: z.array(stepShape).min(1),
  agreement: agreementShape.nullable().optional(),
  status: z.enum(['open', 'handoff', 'closed']).optional(),
  handoff_reason: z.string().optional(),
  opt_out: z.enum(['no_contactar', 'borrar_datos']).optional(),
  dispute: z.boolean().optional(),
  /** The channel user id to write as (e.g. a WhatsApp number); default: a fresh one per case. */
  from: z.union([z.string(), z.number()]).transform(String).optional(),
  /** The phone the channel proves for the sender (WhatsApp's number), sent with every message. */
  phone: z.union([z.string(), z.number()]).transform(String).optional(),
  /** The conversation's identity verification at the end: pendiente | verificado | bloqueado | tercero | null. */
  verification: z.enum(['pendiente', 'verificado', 'bloqueado', 'tercero']).nullable().optional(),
  /** Identity attempts recorded for the case's channel user, by outcome. */
  attempts: z.strictObject({ verificado: z.number().int().optional(), fallido: z.number().int().optional(), bloqueado: z.number().int().optional() }).optional(),
  /** Whether a third-party contact was recorded. */
  third_party: z.boolean().optional(),
});

const fileShape = z.strictObject({
  flow: z.string().optional(),
  now: z.string().default('2026-11-23T10:00:00-05:00'),
  portfolios: z
    .array(z.strictObject({ name: z.string(), policy: z.record(z.string(), z.unknown()).optional(), debtors: z.array(debtorShape) }))
    .default([]),
  cases: z.array(caseShape).min(1),
});

export type FlowTestFile = z.infer<typeof fileShape> & { file: string; positions: { line: number }[] };
type FlowTestCase = z.infer<typeof caseShape>;
type FlowTestStep = z.infer<typeof stepShape>;

/** Reads a test file; shape problems come back with file:line:column. */
export function loadFlowTests(file: string, text = fs.readFileSync(file, 'utf8')): FlowTestFile {
  const parsed = YamlSource.parse(file, text);
  if (parsed.problems.length) throw new InvalidFlowError(file, parsed.problems);
  const shape = fileShape.safeParse(parsed.value);
  if (!shape.success) {
    throw new InvalidFlowError(
      file,
      shape.error.issues.map((i) => parsed.source.problem(i.path.filter((p): p is string | number => typeof p !== 'symbol'), i.message)),
    );
  }
  const positions = shape.data.cases.map((_, i) => ({ line: parsed.source.at(['cases', i]).line }));
  return { ...shape.data, file, positions };
}

export interface CaseResult {
  file: string;
  line: number;
  name: string;
  passed: boolean;
  failures: string[];
  /** The conversation, turn by turn, for the report of a failed case. */
  transcript: string[];
}

export interface FlowTestDeps {
  knex: Knex;
  understander: Understander;
  flows: ReadonlyMap<string, Flow>;
  policies: PolicySet;
  log: Logger;
}

/** Inserts (or updates) the file's portfolios and debtors. */
export async function loadFlowTestFixtures(knex: Knex, file: FlowTestFile): Promise<void> {
  // The file's "now": the database stamps no domain time itself.
  const loadedAt = new Date(file.now);
  for (const p of file.portfolios) {
    const [row] = (await knex('portfolios')
      .insert({ name: p.name, policy: JSON.stringify(p.policy ?? {}), created_at: loadedAt, updated_at: loadedAt })
      .onConflict('name')
      .merge(['policy'])
      .returning('id')) as { id: number }[];
    const portfolioId = (row as { id: number }).id;
    for (const d of p.debtors) {
      await knex('debtors')
        .insert({
          portfolio_id: portfolioId,
          cedula: d.cedula,
          nombre_del_cliente: d.nombre,
          saldo_total: d.saldo_total,
          banco: d.banco,
          oferta_1: d.oferta_1 ?? null,
          oferta_2: d.oferta_2 ?? null,
          hasta_3_cuotas: d.hasta_3_cuotas ?? null,
          hasta_6_cuotas: d.hasta_6_cuotas ?? null,
          hasta_12_cuotas: d.hasta_12_cuotas ?? null,
          tier: d.tier,
          phone: d.telefono ?? d.phone ?? null,
          fecha_expedicion: d.fecha_expedicion ?? null,
          numero_obligacion: d.numero_obligacion ?? null,
          created_at: loadedAt,
          updated_at: loadedAt,
        })
        .onConflict(['portfolio_id', 'cedula'])
        .merge();
    }
  }
}

/** Case and accents ignored, punctuation kept ("$" must still mean "$"). */
function looseText(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/\s+/g, ' ');
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : v);

function describeTurn(step: FlowTestStep, r: EngineTurnResult): string[] {
  const input =
    step.user !== undefined
      ? `user: ${step.user}`
      : step.button !== undefined
        ? `button: ${step.button}`
        : step.media !== undefined
          ? `media: ${step.media}`
          : `contact: ${step.contact?.own ? 'own' : 'other'}`;
  const nlu = r.nlu ? ` [${r.nlu.intent} ${r.nlu.confidence.toFixed(2)} ${r.nlu.source}${Object.keys(r.nlu.entities).length ? ' ' + JSON.stringify(r.nlu.entities) : ''}]` : '';
  const lines = [`  > ${input}${nlu}   (${r.previousState ?? '?'} → ${r.state})`];
  for (const reply of r.replies) {
    lines.push(`    ${reply.text}`);
    if (reply.buttons?.length) lines.push(`    [${reply.buttons.map((b) => `${b.id}: ${b.text}`).join(' | ')}]`);
  }
  return lines;
}

function checkStep(step: FlowTestStep, r: EngineTurnResult, n: number): string[] {
  const failures: string[] = [];
  const at = `step ${n}`;
  // What the debtor reads: the texts and the buttons' texts.
  const text = r.replies.flatMap((x) => [x.text, ...(x.buttons ?? []).map((b) => b.text)]).join('\n');
  const folded = looseText(text);
  if (step.state !== undefined && r.state !== step.state) failures.push(`${at}: expected state ${step.state}, got ${r.state}`);
  if (step.status !== undefined && r.status !== step.status) failures.push(`${at}: expected status ${step.status}, got ${r.status}`);
  for (const s of list(step.says)) if (!folded.includes(looseText(s))) failures.push(`${at}: expected the reply to say "${s}"`);
  for (const s of list(step.not_says)) if (folded.includes(looseText(s))) failures.push(`${at}: expected the reply not to say "${s}"`);
  if (step.no_reply && r.replies.length) failures.push(`${at}: expected no reply, got ${r.replies.length}`);
  if (step.buttons !== undefined) {
    const ids = r.replies.flatMap((x) => x.buttons ?? []).map((b) => b.id);
    if (!isDeepStrictEqual(ids, step.buttons)) failures.push(`${at}: expected buttons [${step.buttons.join(', ')}], got [${ids.join(', ')}]`);
  }
  if (step.request_contact !== undefined && r.replies.some((x) => x.requestContact) !== step.request_contact) {
    failures.push(`${at}: expected ${step.request_contact ? 'a' : 'no'} "share my number" button`);
  }
  if (step.intent !== undefined && r.nlu?.intent !== step.intent) failures.push(`${at}: expected intent ${step.intent}, got ${r.nlu?.intent ?? 'none'}`);
  for (const [k, v] of Object.entries(step.context ?? {})) {
    // null means "not set".
    const actual = r.context[k] ?? null;
    if (!isDeepStrictEqual(actual, v)) failures.push(`${at}: expected context ${k} = ${JSON.stringify(v)}, got ${JSON.stringify(r.context[k])}`);
  }
  return failures;
}

/** Runs one case of a loaded file as a new channel user. */
export async function runFlowTestCase(deps: FlowTestDeps, file: FlowTestFile, index: number, userId: string): Promise<CaseResult> {
  const c = file.cases[index] as FlowTestCase;
  const start = new Date(c.now ?? file.now);
  if (Number.isNaN(start.getTime())) throw new FlowDefinitionError(file.file, 1, 1, `now: '${file.now}' is not a date-time`);
  const clock = new ManualClock(start);
  const engine = createEngine({ ...deps, clock, defaultFlow: file.flow });
  const failures: string[] = [];
  const transcript: string[] = [];
  let conversationId: string | undefined;
  const existing = await prepareCase(deps.knex, file, c, clock.now());
  // A case may write as a given user (a WhatsApp number); its earlier conversation is closed first.
  const sender = c.from ?? userId;
  if (c.from !== undefined) await engine.reset(c.channel as ChannelName, sender);
  for (const [i, step] of c.steps.entries()) {
    clock.advance(step.wait !== undefined ? step.wait * 60_000 : 30_000);
    const r = await engine.handle({
      channel: c.channel as ChannelName,
      from: sender,
      messageId: `${userId}:${i}`,
      text: step.user ?? '',
      buttonId: step.button,
      media: step.media !== undefined ? { kind: step.media } : undefined,
      verifiedPhone: c.phone,
      contact: step.contact ? { phone: step.contact.phone, userId: step.contact.own ? sender : `${sender}-otro` } : undefined,
      at: clock.now(),
    });
    transcript.push(...describeTurn(step, r));
    failures.push(...checkStep(step, r, i + 1));
    conversationId = r.conversationId || conversationId;
    if (failures.length) break;
  }
  if (!failures.length && conversationId) {
    const agreements = (await deps.knex('agreements').where({ conversation_id: conversationId })) as Record<string, unknown>[];
    if (c.agreement === null && agreements.length) failures.push(`expected no agreement, found ${agreements.length}`);
    if (c.agreement) {
      const a = agreements[0];
      if (!a) failures.push('expected an agreement to be recorded; none was');
      else {
        for (const [k, v] of Object.entries(c.agreement)) {
          if (v !== undefined && a[k] !== v) failures.push(`agreement ${k}: expected ${JSON.stringify(v)}, got ${JSON.stringify(a[k])}`);
        }
      }
    }
    const conv = (await deps.knex('conversations').where({ id: conversationId }).first('status', 'handoff_reason')) as
      | { status: string; handoff_reason: string | null }
      | undefined;
    if (c.status !== undefined && conv?.status !== c.status) failures.push(`expected the conversation ${c.status}, it is ${conv?.status}`);
    if (c.handoff_reason !== undefined && conv?.handoff_reason !== c.handoff_reason) {
      failures.push(`expected handoff reason ${c.handoff_reason}, got ${conv?.handoff_reason ?? 'none'}`);
    }
    if (c.opt_out !== undefined) {
      const row = await deps.knex('opt_outs').where({ conversation_id: conversationId, kind: c.opt_out }).first('id');
      if (!row) failures.push(`expected an opt_outs row of kind ${c.opt_out}`);
    }
    if (c.verification !== undefined) {
      const row = (await deps.knex('conversations').where({ id: conversationId }).first('context')) as { context: Record<string, unknown> } | undefined;
      const estado = (row?.context._identidad as { estado?: string } | undefined)?.estado ?? null;
      if (estado !== c.verification) failures.push(`expected verification ${c.verification}, got ${estado}`);
    }
    if (c.attempts !== undefined) {
      const rows = (await deps.knex('identity_attempts').where({ channel: c.channel, user_id: sender }).select('outcome')) as { outcome: string }[];
      for (const [outcome, n] of Object.entries(c.attempts)) {
        const got = rows.filter((x) => x.outcome === outcome).length;
        if (got !== n) failures.push(`expected ${n} identity attempt(s) ${outcome}, got ${got}`);
      }
    }
    if (c.third_party !== undefined) {
      const row = await deps.knex('third_party_contacts').where({ channel: c.channel, user_id: sender }).first('id');
      if (Boolean(row) !== c.third_party) failures.push(c.third_party ? 'expected a third-party contact to be recorded' : 'expected no third-party contact');
    }
    if (c.dispute !== undefined) {
      const row = await deps.knex('conversation_events').where({ conversation_id: conversationId, kind: 'disputa' }).first('id');
      const open = await deps.knex('disputes').where({ conversation_id: conversationId, status: 'abierta' }).first('id');
      if (Boolean(row) !== c.dispute || Boolean(open) !== c.dispute) failures.push(c.dispute ? 'expected a dispute to be recorded (event and open dispute)' : 'expected no dispute');
    }
    if (existing !== undefined && c.existing_agreement?.status_after) {
      const row = (await deps.knex('agreements').where({ id: existing }).first('status', 'replaced_by')) as { status: string; replaced_by: number | null };
      if (row.status !== c.existing_agreement.status_after) failures.push(`existing agreement: expected ${c.existing_agreement.status_after}, got ${row.status}`);
      if (row.status === 'reemplazado' && row.replaced_by === null) failures.push('existing agreement: reemplazado without replaced_by');
    }
  }
  return { file: file.file, line: file.positions[index]?.line ?? 1, name: c.name, passed: failures.length === 0, failures, transcript };
}

/**
 * Each case starts from the file's debtors as loaded: no vigente agreement and no open
 * dispute left by an earlier case; then the case's `existing_agreement`, if any.
 * Returns the existing agreement's id.
 */
async function prepareCase(knex: Knex, file: FlowTestFile, c: FlowTestCase, now: Date): Promise<number | undefined> {
  const cedulas = file.portfolios.flatMap((p) => p.debtors.map((d) => d.cedula));
  if (!cedulas.length) return undefined;
  const debtors = knex('debtors').whereIn('cedula', cedulas).select('id');
  await knex('agreements').whereIn('debtor_id', debtors).where({ status: 'vigente' }).update({ status: 'cancelado', status_changed_at: now });
  await knex('disputes').whereIn('debtor_id', debtors).where({ status: 'abierta' }).update({ status: 'resuelta', resolved_at: now });
  const a = c.existing_agreement;
  if (!a) return undefined;
  const debtor = (await knex('debtors').where({ cedula: a.cedula }).orderBy('id').first('id', 'portfolio_id')) as { id: number; portfolio_id: number } | undefined;
  if (!debtor) throw new FlowDefinitionError(file.file, 1, 1, `existing_agreement: no debtor with cédula ${a.cedula}`);
  const reference = `${a.reference}-${randomBytes(3).toString('hex').toUpperCase()}`;
  const installmentAmount = a.installment_amount ?? Math.ceil(a.total / a.installments);
  const [row] = (await knex('agreements')
    .insert({
      debtor_id: debtor.id,
      portfolio_id: debtor.portfolio_id,
      kind: a.kind,
      total: a.total,
      installments: a.installments,
      installment_amount: installmentAmount,
      first_due_date: a.first_due_date,
      channel: c.channel,
      reference,
      status: 'vigente',
      status_changed_at: now,
      created_at: now,
    })
    .returning('id')) as { id: number }[];
  return row?.id;
}

/** Runs every case of the files on the given database (load fixtures, then each case as a new user). */
export async function runFlowTestFiles(files: string[], deps: FlowTestDeps): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  let run = 0;
  const stamp = randomBytes(4).toString('hex');
  for (const f of files) {
    const file = loadFlowTests(f);
    await loadFlowTestFixtures(deps.knex, file);
    for (let i = 0; i < file.cases.length; i++) {
      results.push(await runFlowTestCase(deps, file, i, `flowtest-${stamp}-${++run}`));
    }
  }
  return results;
}

/** A human report: one line per case, and the transcript of each failure. */
export function formatFlowTestReport(results: CaseResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.passed ? '✔' : '✘'} ${r.name}  (${r.file}:${r.line})`);
    if (!r.passed) {
      for (const f of r.failures) lines.push(`    ✘ ${f}`);
      lines.push(...r.transcript.map((t) => `  ${t}`));
    }
  }
  const failed = results.filter((r) => !r.passed).length;
  lines.push('', `${results.length - failed} passed, ${failed} failed`);
  return lines.join('\n');
}
