/**
 * Negotiation policies (flows/policies.yaml): what the bot may offer when a debtor's
 * row carries no offers, and the limits of a counter-offer. A default policy, and
 * overrides per portfolio (by the portfolio's name). A portfolio's `policy` column in
 * the database, when set, overrides both.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { FlowDefinitionError } from '../core/index.js';
import { InvalidFlowError } from './loader.js';
import { hint, YamlSource } from './source.js';

export interface Policy {
  /** Discount on the balance for a single cash payment (pago de contado), in %. */
  cashDiscountPct: number;
  /** The deepest cash discount a counter-offer may reach, in %. */
  maxCashDiscountPct: number;
  /** The most installments an agreement may have. */
  maxInstallments: number;
  /** The smallest installment, COP. */
  minInstallment: number;
  /** The installment plans offered when the debtor's row has none. */
  installmentOptions: number[];
  /** Days from today to the first due date of a new agreement. */
  firstDueDays: number;
  /** The latest first due date a debtor may ask for, in days from today. */
  maxFirstDueDays: number;
  /** How to pay, as told to the debtor in the agreement message. */
  paymentInstructions: string;
  /**
   * The second fact asked after the cédula matches, before any debt detail (Ley 2300
   * art. 4): the last 4 digits of the mobile on file, the cédula's issue date, the last
   * 4 digits of the obligation number, or nothing (only when a portfolio says so).
   */
  verification: VerificationMethod;
  /** The ways the agency accepts payments, rendered for the debtor (src/agreements/payment-instructions.ts). */
  paymentChannels: PaymentChannel[];
  /** Days before each due date a reminder goes out (0: only on the due date). */
  reminderDaysBefore: number;
  /** Days after a missed due date the follow-up goes out. */
  followUpDaysAfter: number;
  /** Days after a missed due date the agreement is declared incumplido. */
  brokenAfterDays: number;
  /**
   * Whether the debtor may change or cancel their vigente agreement in the chat (the old
   * one is marked reemplazado or cancelado); when not, a person takes the request.
   */
  agreementChanges: boolean;
}

export const PAYMENT_CHANNEL_TYPES = ['convenio', 'cuenta', 'pse', 'efecty', 'corresponsal', 'nequi', 'daviplata'] as const;
/** What the debtor quotes when paying: the agreement's reference or their cédula. */
const quote = z.enum(['referencia', 'cedula'], { error: 'expected referencia or cedula' });
const paymentChannelShape = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('convenio'), bank: z.string().min(1), convenio: z.string().min(1), quote: quote.optional() }),
    z.strictObject({
      type: z.literal('cuenta'),
      bank: z.string().min(1),
      account_type: z.enum(['ahorros', 'corriente'], { error: 'expected ahorros or corriente' }),
      account: z.string().min(1),
      holder: z.string().min(1),
      nit: z.string().optional(),
      quote: quote.optional(),
    }),
    z.strictObject({ type: z.literal('pse'), url: z.url({ error: 'expected an absolute URL' }).optional() }),
    z.strictObject({ type: z.literal('efecty'), convenio: z.string().min(1), quote: quote.optional() }),
    z.strictObject({ type: z.literal('corresponsal'), bank: z.string().min(1), convenio: z.string().min(1), quote: quote.optional() }),
    z.strictObject({ type: z.literal('nequi'), number: z.string().regex(/^3\d{9}$/, { error: 'expected a 10-digit mobile starting with 3' }) }),
    z.strictObject({ type: z.literal('daviplata'), number: z.string().regex(/^3\d{9}$/, { error: 'expected a 10-digit mobile starting with 3' }) }),
  ],
  { error: `expected a type: ${PAYMENT_CHANNEL_TYPES.join(', ')}` },
);
export type PaymentChannel = z.infer<typeof paymentChannelShape>;

export const VERIFICATION_METHODS = ['telefono', 'fecha_expedicion', 'obligacion', 'ninguna'] as const;
export type VerificationMethod = (typeof VERIFICATION_METHODS)[number];

const pct = z.number({ error: 'expected a percentage (0-100)' }).min(0, { error: 'expected a percentage (0-100)' }).max(100, { error: 'expected a percentage (0-100)' });
const count = z.number({ error: 'expected a whole number' }).int({ error: 'expected a whole number' });

const policyShape = z.strictObject({
  cash_discount_pct: pct,
  max_cash_discount_pct: pct,
  max_installments: count.min(1).max(120),
  min_installment: count.min(0),
  installment_options: z.array(count.min(2).max(120)).min(1),
  first_due_days: count.min(0).max(365),
  max_first_due_days: count.min(0).max(365),
  payment_instructions: z.string().min(1),
  verification: z.enum(VERIFICATION_METHODS, { error: `expected one of: ${VERIFICATION_METHODS.join(', ')}` }),
  payment_channels: z.array(paymentChannelShape),
  reminder_days_before: count.min(0).max(30),
  follow_up_days_after: count.min(1).max(60),
  broken_after_days: count.min(1).max(180),
  agreement_changes: z.boolean({ error: 'expected true or false' }),
});
const partialPolicy = policyShape.partial();
type RawPolicy = z.infer<typeof partialPolicy>;

const fileShape = z.strictObject({
  default: partialPolicy.optional(),
  portfolios: z.record(z.string(), partialPolicy.nullable()).optional(),
});

/** Used where policies.yaml leaves a value out. */
export const BUILTIN_POLICY: Policy = {
  cashDiscountPct: 20,
  maxCashDiscountPct: 30,
  maxInstallments: 12,
  minInstallment: 10_000,
  installmentOptions: [3, 6, 12],
  firstDueDays: 5,
  maxFirstDueDays: 30,
  paymentInstructions:
    'Puede pagar por PSE en el portal de su entidad o en cualquier corresponsal bancario con su número de cédula como referencia.',
  verification: 'telefono',
  paymentChannels: [],
  reminderDaysBefore: 3,
  followUpDaysAfter: 3,
  brokenAfterDays: 15,
  agreementChanges: true,
};

function fromRaw(base: Policy, raw: RawPolicy | null | undefined): Policy {
  if (!raw) return base;
  const maxCash = raw.max_cash_discount_pct ?? Math.max(base.maxCashDiscountPct, raw.cash_discount_pct ?? 0);
  return {
    cashDiscountPct: raw.cash_discount_pct ?? base.cashDiscountPct,
    maxCashDiscountPct: maxCash,
    maxInstallments: raw.max_installments ?? base.maxInstallments,
    minInstallment: raw.min_installment ?? base.minInstallment,
    installmentOptions: raw.installment_options ?? base.installmentOptions,
    firstDueDays: raw.first_due_days ?? base.firstDueDays,
    maxFirstDueDays: raw.max_first_due_days ?? base.maxFirstDueDays,
    paymentInstructions: raw.payment_instructions ?? base.paymentInstructions,
    verification: raw.verification ?? base.verification,
    paymentChannels: raw.payment_channels ?? base.paymentChannels,
    reminderDaysBefore: raw.reminder_days_before ?? base.reminderDaysBefore,
    followUpDaysAfter: raw.follow_up_days_after ?? base.followUpDaysAfter,
    brokenAfterDays: raw.broken_after_days ?? base.brokenAfterDays,
    agreementChanges: raw.agreement_changes ?? base.agreementChanges,
  };
}

export interface PolicySet {
  readonly defaultPolicy: Policy;
  /**
   * The policy for a portfolio: the database override (the portfolio's `policy`
   * column), else policies.yaml's entry for its name, else the default.
   */
  forPortfolio(name: string | undefined, databaseOverride?: unknown): Policy;
  /** The portfolios policies.yaml names (as written). */
  readonly portfolioNames: readonly string[];
}

export function createPolicySet(defaults: Policy = BUILTIN_POLICY, portfolios: ReadonlyMap<string, RawPolicy | null> = new Map()): PolicySet {
  const resolved = new Map<string, Policy>();
  for (const [name, raw] of portfolios) resolved.set(name.toLowerCase(), fromRaw(defaults, raw));
  return {
    defaultPolicy: defaults,
    portfolioNames: [...portfolios.keys()],
    forPortfolio(name, databaseOverride) {
      const base = (name && resolved.get(name.toLowerCase())) || defaults;
      if (databaseOverride && typeof databaseOverride === 'object' && Object.keys(databaseOverride).length) {
        // A wrong override in the database must not break a conversation: use the valid keys.
        const parsed = partialPolicy.safeParse(databaseOverride);
        if (parsed.success) return fromRaw(base, parsed.data);
        const valid: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(databaseOverride)) {
          const one = partialPolicy.safeParse({ [k]: v });
          if (one.success) valid[k] = v;
        }
        return fromRaw(base, valid as RawPolicy);
      }
      return base;
    },
  };
}

/** Checks policies text; problems point at file:line:column. */
export function checkPoliciesText(text: string, file: string): { policies?: PolicySet; problems: FlowDefinitionError[] } {
  const parsed = YamlSource.parse(file, text);
  if (parsed.problems.length) return { problems: parsed.problems };
  const shape = fileShape.safeParse(parsed.value ?? {});
  if (!shape.success) {
    const known = Object.keys(policyShape.shape);
    return {
      problems: shape.error.issues.map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        if (issue.code === 'unrecognized_keys') {
          const key = issue.keys[0] ?? '';
          return parsed.source.problem(path, `unknown key '${key}'${hint(key, path.length ? known : ['default', 'portfolios'])}`, { key });
        }
        return parsed.source.problem(path, issue.message);
      }),
    };
  }
  const problems: FlowDefinitionError[] = [];
  const defaults = fromRaw(BUILTIN_POLICY, shape.data.default);
  const check = (p: Policy, path: (string | number)[]) => {
    if (p.maxCashDiscountPct < p.cashDiscountPct) problems.push(parsed.source.problem(path, 'max_cash_discount_pct is below cash_discount_pct'));
    if (p.maxFirstDueDays < p.firstDueDays) problems.push(parsed.source.problem(path, 'max_first_due_days is below first_due_days'));
    if (p.brokenAfterDays < p.followUpDaysAfter) problems.push(parsed.source.problem(path, 'broken_after_days is below follow_up_days_after'));
  };
  check(defaults, ['default']);
  const portfolios = new Map(Object.entries(shape.data.portfolios ?? {}));
  for (const [name, raw] of portfolios) check(fromRaw(defaults, raw), ['portfolios', name]);
  if (problems.length) return { problems };
  return { policies: createPolicySet(defaults, portfolios), problems };
}

export function loadPoliciesFile(file: string): PolicySet {
  const { policies, problems } = checkPoliciesText(fs.readFileSync(file, 'utf8'), file);
  if (!policies) throw new InvalidFlowError(file, problems);
  return policies;
}
