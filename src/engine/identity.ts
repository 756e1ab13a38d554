/**
 * Identity before any debt detail (Ley 2300 de 2023, art. 4). A cédula is not a
 * secret, so after it matches the bot asks one more fact the bank's file holds (the
 * portfolio's `verification` policy) or takes the channel's proof (a WhatsApp number,
 * a Telegram contact shared by its owner, equal to the mobile on file). Until then the
 * context holds nothing of the debtor: the verification's own state lives under the
 * engine-private `_identidad` key (never in the API's context).
 *
 * Pure functions: the actions (actions.ts) use them; the engine writes the attempts.
 */
import type { Knex } from 'knex';
import type { PolicySet, VerificationMethod } from '../flows/index.js';
import type { Logger } from '../log.js';
import { issueDatesIn, lastDigits } from '../store/index.js';

/** The context key of the verification state (engine-private: `_` keys never leave the engine). */
export const IDENTITY_KEY = '_identidad';
/** Failed answers (per debtor, and per channel user) that stop the questions. */
export const MAX_FAILED_ATTEMPTS = 3;
/** The window the failures are counted in. */
export const LOCKOUT_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The facts a debtor can be asked for. */
export type AskedMethod = Exclude<VerificationMethod, 'ninguna'>;
/** How a verification was settled, as recorded in identity_attempts.method. */
export type AttemptMethod = AskedMethod | 'canal' | 'contacto' | 'contacto_ajeno' | 'ninguna';

/**
 * The conversation's verification:
 * - pendiente: the cédula matched; the second fact is asked (nothing disclosed);
 * - verificado: proved (answer, channel or a portfolio without verification);
 * - bloqueado: too many failures in the window; a person reviews;
 * - tercero: the writer said they are someone else; never disclosed in this conversation.
 */
export interface IdentityState {
  estado: 'pendiente' | 'verificado' | 'bloqueado' | 'tercero';
  /** The cédula being verified (or verified). */
  cedula?: string;
  /** The debtor rows of that cédula (one per portfolio). */
  candidatos?: number[];
  /** What is asked, or how it was proved. */
  metodo?: AttemptMethod;
  /** Wrong answers in this conversation. */
  fallidos?: number;
  /** What a third party said they are. */
  relacion?: string;
  /** Debtors already recorded as contacted by this third party. */
  registrados?: number[];
}

export function identityOf(context: Record<string, unknown>): IdentityState | undefined {
  const v = context[IDENTITY_KEY];
  return v && typeof v === 'object' && typeof (v as IdentityState).estado === 'string' ? (v as IdentityState) : undefined;
}

/**
 * A Colombian mobile as its 10 digits, from the forms channels and files use:
 * "+57 300 123 4567", "573001234567", "(57) 300-1234567", "573001234567@c.us".
 */
export function normalizeMobile(raw: string | null | undefined): string | undefined {
  if (!raw) return undefined;
  let digits = raw.split('@')[0]!.replace(/\D/g, '');
  if (digits.length === 14 && digits.startsWith('0057')) digits = digits.slice(4);
  if (digits.length === 12 && digits.startsWith('57')) digits = digits.slice(2);
  return digits.length === 10 ? digits : undefined;
}

/** The identity facts of a debtor row. */
export interface IdentityFacts {
  phone: string | null;
  fechaExpedicion: string | null;
  numeroObligacion: string | null;
}

function fact(d: IdentityFacts, method: AskedMethod): string | undefined {
  if (method === 'telefono') return lastDigits(d.phone) ? (d.phone as string) : undefined;
  if (method === 'fecha_expedicion') return d.fechaExpedicion ?? undefined;
  return lastDigits(d.numeroObligacion) ? (d.numeroObligacion as string) : undefined;
}

const ORDER: AskedMethod[] = ['telefono', 'fecha_expedicion', 'obligacion'];

/**
 * What to ask: the policy's fact when the file holds it for one of the rows, else
 * another fact the file holds (the policy names the preferred one; a row without it
 * must still be verifiable). Undefined when no row holds any fact.
 */
export function methodToAsk(preferred: AskedMethod, rows: readonly IdentityFacts[]): AskedMethod | undefined {
  for (const m of [preferred, ...ORDER.filter((x) => x !== preferred)]) if (rows.some((r) => fact(r, m) !== undefined)) return m;
  return undefined;
}

/** Whether a phone the channel proved is the mobile on file. */
export function phoneMatches(proved: string | undefined, d: IdentityFacts): boolean {
  const onFile = normalizeMobile(d.phone);
  return proved !== undefined && onFile !== undefined && proved === onFile;
}

/**
 * Judges a typed answer against one row: `ok`, `wrong`, or `unreadable` when the text
 * holds no answer of the kind asked (no 4 digits, no date): that is not an attempt.
 */
export function judgeAnswer(method: AskedMethod, d: IdentityFacts, text: string, today: string): 'ok' | 'wrong' | 'unreadable' {
  // One answer per attempt: a message listing several dates or numbers is not a right answer.
  if (method === 'fecha_expedicion') {
    const dates = issueDatesIn(text, today);
    if (!dates.length) return 'unreadable';
    const onFile = fact(d, method);
    return dates.length === 1 && dates[0] === onFile ? 'ok' : 'wrong';
  }
  const given = answerDigits(text);
  if (!given.length) return 'unreadable';
  const onFile = lastDigits(fact(d, method));
  return given.length === 1 && given[0] === onFile ? 'ok' : 'wrong';
}

/**
 * The last 4 digits of each number in an answer: "3344", "33 44", "termina en 3344", the
 * whole number "300 123 3344" (digits split by single spaces, dots or dashes are one
 * number). Numbers under 4 digits ("hace 3 años") are not answers.
 */
export function answerDigits(text: string): string[] {
  const numbers = text.match(/\d+(?:[ .\-]\d+)*/g) ?? [];
  const found = new Set<string>();
  for (const n of numbers) {
    const last = lastDigits(n);
    if (last) found.add(last);
  }
  return [...found];
}

/**
 * Startup: names every portfolio whose policy says `verification: ninguna` (in
 * policies.yaml or in its database override), with a warning: its debts are disclosed
 * on the cédula alone, which Ley 2300 art. 4 does not consider proof. Returns the names.
 */
export async function warnUnverifiedPortfolios(knex: Knex, policies: PolicySet, log: Logger): Promise<string[]> {
  const rows = (await knex('portfolios').select('name', 'policy')) as { name: string; policy: unknown }[];
  const names = new Set<string>();
  if (policies.defaultPolicy.verification === 'ninguna') names.add('(default)');
  for (const name of policies.portfolioNames) if (policies.forPortfolio(name).verification === 'ninguna') names.add(name);
  for (const r of rows) {
    const policy = policies.forPortfolio(r.name, r.policy);
    if (policy.verification === 'ninguna') names.add(r.name);
    else names.delete(r.name);
  }
  for (const portfolio of names) {
    log.warn(
      { portfolio },
      `portfolio '${portfolio}' has verification: ninguna: its debts are disclosed on the cédula alone, without a second fact (Ley 2300 art. 4)`,
    );
  }
  return [...names];
}
