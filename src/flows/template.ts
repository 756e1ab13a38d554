/**
 * Message templates: text with {{variable}} or {{variable | filter}} in it.
 *
 * Money variables (saldo_total, oferta_1, plan_total…) are written as $123.456 and
 * dates (YYYY-MM-DD values) in Spanish without any filter. Filters: dinero, fecha,
 * numero, mayusculas, nombre_propio.
 */
import { MONEY_VARIABLES } from './catalog.js';
import { firstName, formatDate, formatMoney, formatNumber, ISO_DATE, titleCase } from './format.js';
import type { Scope } from './expression.js';

export const FILTERS = ['dinero', 'fecha', 'numero', 'mayusculas', 'nombre_propio', 'primer_nombre'] as const;
export type FilterName = (typeof FILTERS)[number];

type Part = { kind: 'text'; text: string } | { kind: 'var'; name: string; filter?: FilterName; offset: number };

export interface Template {
  readonly source: string;
  readonly parts: readonly Part[];
  /** Variables the template reads, with their offset in the source. */
  readonly variables: readonly { name: string; offset: number }[];
}

export class TemplateSyntaxError extends Error {
  override name = 'TemplateSyntaxError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const PLACEHOLDER = /\{\{\s*([^{}|]*?)\s*(?:\|\s*([^{}]*?)\s*)?\}\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseTemplate(source: string): Template {
  const parts: Part[] = [];
  const variables: { name: string; offset: number }[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    const offset = m.index;
    const name = m[1] ?? '';
    const filter = m[2];
    if (!NAME.test(name)) throw new TemplateSyntaxError(`'{{${name}}}' is not a variable name`, offset);
    if (filter !== undefined && !(FILTERS as readonly string[]).includes(filter)) {
      throw new TemplateSyntaxError(`unknown filter '${filter}' (known: ${FILTERS.join(', ')})`, offset);
    }
    if (offset > last) parts.push({ kind: 'text', text: source.slice(last, offset) });
    parts.push({ kind: 'var', name, filter: filter as FilterName | undefined, offset });
    variables.push({ name, offset });
    last = offset + m[0].length;
  }
  const rest = source.slice(last);
  const stray = rest.indexOf('{{');
  if (stray >= 0) throw new TemplateSyntaxError("'{{' is not closed with '}}'", last + stray);
  if (rest) parts.push({ kind: 'text', text: rest });
  return { source, parts, variables };
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return undefined;
}

/** One value as text, by its filter or else by what the variable is. */
export function formatValue(name: string, value: unknown, filter?: FilterName): string {
  if (value === undefined || value === null) return '';
  switch (filter) {
    case 'dinero': {
      const n = toNumber(value);
      return n === undefined ? String(value) : formatMoney(n);
    }
    case 'numero': {
      const n = toNumber(value);
      return n === undefined ? String(value) : formatNumber(n);
    }
    case 'fecha':
      return formatDate(String(value));
    case 'mayusculas':
      return String(value).toLocaleUpperCase('es-CO');
    case 'nombre_propio':
      return titleCase(String(value));
    case 'primer_nombre':
      return firstName(String(value));
    case undefined:
      break;
  }
  if (MONEY_VARIABLES.has(name)) {
    const n = toNumber(value);
    if (n !== undefined) return formatMoney(n);
  }
  if (typeof value === 'string' && ISO_DATE.test(value)) return formatDate(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : formatNumber(value);
  if (typeof value === 'boolean') return value ? 'sí' : 'no';
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'object' && v && 'text' in v ? String(v.text) : String(v))).join(', ');
  return String(value);
}

/**
 * Renders a template. `missing` is told about variables with no value (they render as
 * nothing); the validator makes that rare, but a context can lack a value at run time.
 */
export function renderTemplate(template: Template, scope: Scope, missing?: (name: string) => void): string {
  let out = '';
  for (const part of template.parts) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    const value = Object.prototype.hasOwnProperty.call(scope, part.name) ? scope[part.name] : undefined;
    if (value === undefined || value === null) missing?.(part.name);
    out += formatValue(part.name, value, part.filter);
  }
  return out;
}

/**
 * A `set:` value: a template that is exactly one {{variable}} copies the value itself
 * (a number stays a number, a date stays a date); any other text is rendered.
 */
export function resolveSetValue(template: Template, scope: Scope): unknown {
  const only = template.parts.length === 1 ? template.parts[0] : undefined;
  if (only && only.kind === 'var' && only.filter === undefined) {
    return Object.prototype.hasOwnProperty.call(scope, only.name) ? scope[only.name] : undefined;
  }
  return renderTemplate(template, scope);
}
