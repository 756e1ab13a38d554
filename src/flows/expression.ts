/**
 * The small condition language of flows (`if:`), e.g.
 *
 *   amount >= cuota_minima
 *   intent == "disputa" and not identificado
 *   installments > cuotas_maximas or amount < 10000
 *
 * Values: numbers (50000 or 0.5), strings in single or double quotes, true, false,
 * null and variable names. Operators: == != > >= < <=, and, or, not, parentheses.
 * A bare variable is true when it is set and not false, 0, "" or an empty list.
 * A comparison with an unset variable is false (never an error), so a condition over
 * an entity the debtor did not give simply does not match.
 * Text compares the way people type it: "Baja." == "baja" (case, accents and
 * punctuation aside).
 */
import { foldText } from './format.js';

export type Value = string | number | boolean | null | undefined | object;
export type Scope = Readonly<Record<string, unknown>>;

type Node =
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'var'; name: string }
  | { kind: 'not'; operand: Node }
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'cmp'; op: ComparisonOperator; left: Node; right: Node };

type ComparisonOperator = '==' | '!=' | '>' | '>=' | '<' | '<=';

/** A parsed condition: its source, the variables it reads, and how to evaluate it. */
export interface Condition {
  readonly source: string;
  readonly variables: readonly string[];
  evaluate(scope: Scope): boolean;
}

/** Thrown by parseCondition; `offset` is where in the source the problem is. */
export class ConditionSyntaxError extends Error {
  override name = 'ConditionSyntaxError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

type Token =
  | { type: 'num'; value: number; at: number }
  | { type: 'str'; value: string; at: number }
  | { type: 'id'; value: string; at: number }
  | { type: 'op'; value: ComparisonOperator; at: number }
  | { type: 'paren'; value: '(' | ')'; at: number }
  | { type: 'end'; at: number };

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /\d+(?:\.\d+)?/y;
const OPERATOR = /==|!=|>=|<=|>|</y;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '(' || ch === ')') {
      tokens.push({ type: 'paren', value: ch, at: i });
      i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      const end = source.indexOf(ch, i + 1);
      if (end < 0) throw new ConditionSyntaxError('a text in quotes is not closed', i);
      tokens.push({ type: 'str', value: source.slice(i + 1, end), at: i });
      i = end + 1;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(source);
    if (num) {
      tokens.push({ type: 'num', value: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    IDENT.lastIndex = i;
    const id = IDENT.exec(source);
    if (id) {
      tokens.push({ type: 'id', value: id[0], at: i });
      i += id[0].length;
      continue;
    }
    OPERATOR.lastIndex = i;
    const op = OPERATOR.exec(source);
    if (op) {
      tokens.push({ type: 'op', value: op[0] as ComparisonOperator, at: i });
      i += op[0].length;
      continue;
    }
    if (ch === '=') throw new ConditionSyntaxError('use == to compare (a single = is not a comparison)', i);
    throw new ConditionSyntaxError(`unexpected character '${ch}'`, i);
  }
  tokens.push({ type: 'end', at: source.length });
  return tokens;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false', 'null']);

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }
  private next(): Token {
    return this.tokens[this.i++] as Token;
  }
  private isWord(word: string): boolean {
    const t = this.peek();
    return t.type === 'id' && t.value === word;
  }

  parse(): Node {
    const node = this.or();
    const t = this.peek();
    if (t.type !== 'end') throw new ConditionSyntaxError(`unexpected '${describe(t)}'; join conditions with and / or`, t.at);
    return node;
  }
  private or(): Node {
    let left = this.and();
    while (this.isWord('or')) {
      this.next();
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }
  private and(): Node {
    let left = this.not();
    while (this.isWord('and')) {
      this.next();
      left = { kind: 'and', left, right: this.not() };
    }
    return left;
  }
  private not(): Node {
    if (this.isWord('not')) {
      this.next();
      return { kind: 'not', operand: this.not() };
    }
    return this.comparison();
  }
  private comparison(): Node {
    const left = this.operand();
    const t = this.peek();
    if (t.type === 'op') {
      this.next();
      return { kind: 'cmp', op: t.value, left, right: this.operand() };
    }
    return left;
  }
  private operand(): Node {
    const t = this.next();
    switch (t.type) {
      case 'num':
        return { kind: 'literal', value: t.value };
      case 'str':
        return { kind: 'literal', value: t.value };
      case 'paren':
        if (t.value === '(') {
          const inner = this.or();
          const close = this.next();
          if (close.type !== 'paren' || close.value !== ')') throw new ConditionSyntaxError('a parenthesis is not closed', t.at);
          return inner;
        }
        throw new ConditionSyntaxError("unexpected ')'", t.at);
      case 'id':
        if (t.value === 'true') return { kind: 'literal', value: true };
        if (t.value === 'false') return { kind: 'literal', value: false };
        if (t.value === 'null') return { kind: 'literal', value: null };
        if (KEYWORDS.has(t.value)) throw new ConditionSyntaxError(`'${t.value}' needs a value before it`, t.at);
        return { kind: 'var', name: t.value };
      case 'op':
        throw new ConditionSyntaxError(`'${t.value}' needs a value on its left`, t.at);
      case 'end':
        throw new ConditionSyntaxError('the condition ends too early', t.at);
    }
  }
}

function describe(t: Token): string {
  return t.type === 'end' ? 'end' : String(t.value);
}

function variablesOf(node: Node, out: Set<string>): Set<string> {
  switch (node.kind) {
    case 'var':
      out.add(node.name);
      break;
    case 'not':
      variablesOf(node.operand, out);
      break;
    case 'and':
    case 'or':
    case 'cmp':
      variablesOf(node.left, out);
      variablesOf(node.right, out);
      break;
    case 'literal':
      break;
  }
  return out;
}

/** Truthiness as an analyst expects it: unset, false, 0, "" and [] are false. */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== undefined && value !== null && value !== false && value !== 0 && value !== '';
}

function value(node: Node, scope: Scope): unknown {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'var':
      return Object.prototype.hasOwnProperty.call(scope, node.name) ? scope[node.name] : undefined;
    default:
      return evaluate(node, scope);
  }
}

/** Numbers stored as text (e.g. "50000") compare as numbers. */
function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

function compare(op: ComparisonOperator, a: unknown, b: unknown): boolean {
  if (op === '==' || op === '!=') {
    const na = asNumber(a);
    const nb = asNumber(b);
    const equal =
      na !== undefined && nb !== undefined
        ? na === nb
        : (a ?? null) === (b ?? null) || (typeof a === 'string' && typeof b === 'string' && foldText(a) === foldText(b));
    return op === '==' ? equal : !equal;
  }
  if (a === undefined || a === null || b === undefined || b === null) return false;
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== undefined && nb !== undefined) {
    return op === '>' ? na > nb : op === '>=' ? na >= nb : op === '<' ? na < nb : na <= nb;
  }
  if (typeof a === 'string' && typeof b === 'string') {
    // Dates as YYYY-MM-DD order correctly as text.
    return op === '>' ? a > b : op === '>=' ? a >= b : op === '<' ? a < b : a <= b;
  }
  return false;
}

function evaluate(node: Node, scope: Scope): boolean {
  switch (node.kind) {
    case 'literal':
    case 'var':
      return truthy(value(node, scope));
    case 'not':
      return !evaluate(node.operand, scope);
    case 'and':
      return evaluate(node.left, scope) && evaluate(node.right, scope);
    case 'or':
      return evaluate(node.left, scope) || evaluate(node.right, scope);
    case 'cmp':
      return compare(node.op, value(node.left, scope), value(node.right, scope));
  }
}

/** Parses a condition; throws ConditionSyntaxError with the offset of the problem. */
export function parseCondition(source: string): Condition {
  const ast = new Parser(tokenize(source)).parse();
  const variables = [...variablesOf(ast, new Set())];
  return { source, variables, evaluate: (scope) => evaluate(ast, scope) };
}
