/**
 * Loads a flow file: YAML → shape check (zod) → compiled Flow → validation.
 * Every problem is a FlowDefinitionError pointing at file:line:column; a flow with
 * any problem is never returned, so a broken flow never starts.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { AcuerdoError, FlowDefinitionError } from '../core/index.js';
import {
  ACTIONS,
  BUILTIN_VARIABLES,
  CAMPAIGN_VARIABLES,
  DEBT_DETAIL_VARIABLES,
  ENTITY_NAMES,
  INTENTS,
  isActionName,
  isEntityName,
  isIntent,
  TURN_VARIABLES,
  type ActionSpec,
  type EntityName,
  type Intent,
} from './catalog.js';
import { ConditionSyntaxError, parseCondition, type Condition } from './expression.js';
import { foldText } from './format.js';
import { hint, YamlSource, type YamlPath } from './source.js';
import { parseTemplate, TemplateSyntaxError, type Template } from './template.js';
import type { ButtonDef, FallbackDef, Flow, MessageDef, RuleDef, RuleOrigin, StateDef } from './types.js';

/** A flow file has problems; `problems` lists each with its position. */
export class InvalidFlowError extends AcuerdoError {
  override name = 'InvalidFlowError';
  constructor(
    readonly file: string,
    readonly problems: FlowDefinitionError[],
  ) {
    super(`${file}: ${problems.length} problem(s) in the flow:\n` + problems.map((p) => `  ${p.message}`).join('\n'));
  }
}

// ---------------------------------------------------------------- the file's shape

const textOrList = z.union([z.string(), z.array(z.string()).min(1)], { error: 'expected a name or a list of names' });
const scalarText = z.union([z.string(), z.number()], { error: 'expected a text' }).transform(String);
const messageItem = z.union([z.string(), z.strictObject({ text: z.string({ error: 'expected the message text' }), if: z.string().optional() })], {
  error: 'expected a message text, or { text, if }',
});
const messages = z.union([z.string(), z.array(messageItem)], { error: 'expected a message text or a list of messages' });
const setMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()], { error: 'expected a text, number or true/false' }), {
  error: 'expected name: value pairs',
});

const rawRule = z.strictObject({
  intent: textOrList.optional(),
  entity: textOrList.optional(),
  button: scalarText.optional(),
  text: textOrList.optional(),
  outcome: z.string().optional(),
  if: z.string().optional(),
  say: messages.optional(),
  set: setMap.optional(),
  goto: z.string().optional(),
  during_handoff: z.boolean().optional(),
  asks_again: z.boolean().optional(),
});
type RawRule = z.infer<typeof rawRule>;

const rawButton = z.strictObject({
  id: scalarText,
  text: z.string({ error: 'expected the text the debtor sees on the button' }),
  say: messages.optional(),
  set: setMap.optional(),
  goto: z.string().optional(),
});

const rawFallback = z.strictObject({
  say: messages.optional(),
  retries: z.number().int().min(0).max(20, { error: 'expected 0 to 20' }).optional(),
  goto: z.string().optional(),
});
type RawFallback = z.infer<typeof rawFallback>;

const rawState = z.strictObject({
  description: z.string().optional(),
  say: messages.optional(),
  buttons: z.array(rawButton).optional(),
  buttons_from: z.string().optional(),
  request_contact: z.string().optional(),
  action: z.string().optional(),
  next: z.union([z.string(), z.array(rawRule)], { error: 'expected a state name or a list of rules' }).optional(),
  on: z.array(rawRule, { error: 'expected a list of rules' }).optional(),
  fallback: rawFallback.optional(),
  end: z.boolean().optional(),
});
type RawState = z.infer<typeof rawState>;

const rawFlow = z.strictObject({
  flow: z.string().optional(),
  description: z.string().optional(),
  start: z.string().optional(),
  variables: z.array(z.string()).optional(),
  fallback: rawFallback.optional(),
  media_reply: messages.optional(),
  empty_reply: messages.optional(),
  handoff_reply: messages.optional(),
  timeout_warning: messages.optional(),
  campaign_opening: messages.optional(),
  globals: z.array(rawRule, { error: 'expected a list of rules' }).optional(),
  states: z.record(z.string(), rawState.nullable(), { error: 'expected the states, by name' }),
});
type RawFlow = z.infer<typeof rawFlow>;

const KNOWN_KEYS: Record<string, readonly string[]> = {
  rule: Object.keys(rawRule.shape),
  button: Object.keys(rawButton.shape),
  fallback: Object.keys(rawFallback.shape),
  state: Object.keys(rawState.shape),
  flow: Object.keys(rawFlow.shape),
};

function shapeProblems(source: YamlSource, error: z.ZodError): FlowDefinitionError[] {
  return error.issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      const kind = path.length === 0 ? 'flow' : path.includes('buttons') && typeof path.at(-1) === 'number' ? 'button' : path.at(-1) === 'fallback' ? 'fallback' : path[0] === 'states' && path.length === 2 ? 'state' : 'rule';
      return source.problem(path, `unknown key '${key}'${hint(key, KNOWN_KEYS[kind] ?? [])}`, { key });
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      const key = String(path.at(-1));
      return source.problem(path.slice(0, -1), `missing '${key}'`);
    }
    return source.problem(path, issue.message);
  });
}

// ---------------------------------------------------------------- compiling

const DEFAULT_FALLBACK_TEXT = 'Disculpe, no le entendí bien. ¿Me lo puede escribir de otra forma?';
const DEFAULT_MEDIA_TEXT = 'Por ahora solo puedo leer mensajes de texto 🙏 ¿Me lo escribe, por favor?';
const DEFAULT_EMPTY_TEXT = 'Parece que su mensaje llegó vacío. ¿Me lo escribe de nuevo, por favor?';
const DEFAULT_WARNING_TEXT = '¿Seguimos? Esta conversación se cerrará en {{horas_restantes}} horas si no recibimos respuesta.';
const DEFAULT_OPENING_TEXT =
  'Hola, buen día 👋 Tenemos una información importante para usted. Para compartirla de forma segura, por favor escríbanos su número de cédula.';
const DEFAULT_RETRIES = 2;

/** A variable use, kept for validation after every `set:` name is known. */
interface VariableUse {
  name: string;
  path: YamlPath;
  needle?: string | RegExp;
}

class Compiler {
  readonly problems: FlowDefinitionError[] = [];
  readonly uses: VariableUse[] = [];
  readonly setNames = new Set<string>();

  constructor(readonly source: YamlSource) {}

  report(path: YamlPath, reason: string, options?: { key?: string; needle?: string | RegExp }): void {
    this.problems.push(this.source.problem(path, reason, options));
  }

  template(text: string, path: YamlPath): Template {
    try {
      const t = parseTemplate(text);
      for (const v of t.variables) this.uses.push({ name: v.name, path, needle: new RegExp(`\\{\\{\\s*${v.name}\\b`) });
      return t;
    } catch (err) {
      if (err instanceof TemplateSyntaxError) this.report(path, err.message, { needle: text.slice(err.offset, err.offset + 12) });
      else throw err;
      return parseTemplate('');
    }
  }

  condition(text: string, path: YamlPath): Condition | undefined {
    try {
      const c = parseCondition(text);
      for (const name of c.variables) this.uses.push({ name, path, needle: name });
      return c;
    } catch (err) {
      if (err instanceof ConditionSyntaxError) {
        this.report(path, `condition '${text}': ${err.message}`);
        return undefined;
      }
      throw err;
    }
  }

  messages(raw: RawState['say'], path: YamlPath): MessageDef[] {
    if (raw === undefined) return [];
    const items = typeof raw === 'string' ? [{ item: raw, path }] : raw.map((item, i) => ({ item, path: [...path, i] }));
    return items.map(({ item, path: p }) => {
      if (typeof item === 'string') return { template: this.template(item, p), pos: this.source.at(p) };
      const when = item.if !== undefined ? this.condition(item.if, [...p, 'if']) : undefined;
      return { template: this.template(item.text, [...p, 'text']), when, pos: this.source.at(p) };
    });
  }

  names<T extends string>(raw: string | string[] | undefined, path: YamlPath, known: readonly T[], is: (s: string) => s is T, what: string): T[] | undefined {
    if (raw === undefined) return undefined;
    const list = typeof raw === 'string' ? [raw] : raw;
    const out: T[] = [];
    list.forEach((name, i) => {
      if (is(name)) out.push(name);
      else this.report(typeof raw === 'string' ? path : [...path, i], `unknown ${what} '${name}'${hint(name, known)}; known: ${known.join(', ')}`);
    });
    return out;
  }

  setEntries(raw: Record<string, string | number | boolean | null> | undefined, path: YamlPath): RuleDef['set'] {
    if (!raw) return [];
    return Object.entries(raw).map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) this.report(path, `'${name}' is not a valid variable name (letters, digits and _)`, { key: name });
      if (BUILTIN_TURN.has(name)) this.report(path, `'${name}' is a value of the message and cannot be set`, { key: name });
      this.setNames.add(name);
      return { name, value: this.template(value === null ? '' : String(value), [...path, name]) };
    });
  }

  rule(raw: RawRule, path: YamlPath, origin: RuleOrigin): RuleDef {
    const intents = this.names<Intent>(raw.intent, [...path, 'intent'], INTENTS, isIntent, 'intent');
    const entities = this.names<EntityName>(raw.entity, [...path, 'entity'], ENTITY_NAMES, isEntityName, 'entity');
    const phrases = raw.text === undefined ? undefined : (typeof raw.text === 'string' ? [raw.text] : raw.text).map(foldText).filter(Boolean);
    if (origin === 'next') {
      for (const key of ['intent', 'entity', 'button', 'text'] as const) {
        if (raw[key] !== undefined) this.report(path, `'${key}' cannot be used in next: (it runs without waiting for a message); put this rule under on:`, { key });
      }
      if (raw.goto === undefined) this.report(path, 'a rule under next: needs goto:');
    } else if (raw.outcome !== undefined) {
      this.report(path, "'outcome' belongs in next: (the rules tried right after the state's action)", { key: 'outcome' });
    }
    if (raw.during_handoff !== undefined && origin !== 'global') {
      this.report(path, "'during_handoff' is only for globals:", { key: 'during_handoff' });
    }
    return {
      origin,
      intents,
      entities,
      button: raw.button,
      phrases,
      outcome: raw.outcome,
      when: raw.if !== undefined ? this.condition(raw.if, [...path, 'if']) : undefined,
      say: this.messages(raw.say, [...path, 'say']),
      set: this.setEntries(raw.set, [...path, 'set']),
      goto: raw.goto,
      duringHandoff: raw.during_handoff ?? false,
      asksAgain: raw.asks_again ?? false,
      pos: this.source.at(path),
    };
  }

  fallback(raw: RawFallback | undefined, path: YamlPath, base: FallbackDef | undefined): FallbackDef {
    return {
      say: raw?.say !== undefined ? this.messages(raw.say, [...path, 'say']) : (base?.say ?? [{ template: parseTemplate(DEFAULT_FALLBACK_TEXT), pos: this.source.at(path) }]),
      retries: raw?.retries ?? base?.retries ?? DEFAULT_RETRIES,
      goto: raw?.goto ?? base?.goto ?? '',
      pos: raw?.goto !== undefined ? this.source.at([...path, 'goto']) : (base?.pos ?? this.source.at(path)),
    };
  }
}

const BUILTIN_TURN: ReadonlySet<string> = new Set(TURN_VARIABLES);

function compile(source: YamlSource, raw: RawFlow, fileName: string): { flow: Flow; compiler: Compiler } {
  const c = new Compiler(source);
  const baseFallback = raw.fallback ? c.fallback(raw.fallback, ['fallback'], undefined) : undefined;
  const flowFallback = baseFallback ?? c.fallback(undefined, [], undefined);

  const states = new Map<string, StateDef>();
  for (const [name, maybeState] of Object.entries(raw.states)) {
    const path: YamlPath = ['states', name];
    const s: RawState = maybeState ?? {};
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) c.report(['states'], `state name '${name}' must be letters, digits and _`, { key: name });
    let action: StateDef['action'];
    if (s.action !== undefined) {
      if (isActionName(s.action)) action = s.action;
      else c.report([...path, 'action'], `unknown action '${s.action}'${hint(s.action, Object.keys(ACTIONS))}; known: ${Object.keys(ACTIONS).join(', ')}`);
    }
    const buttons: ButtonDef[] = [];
    const buttonRules: RuleDef[] = [];
    (s.buttons ?? []).forEach((b, i) => {
      const bp: YamlPath = [...path, 'buttons', i];
      if (buttons.some((other) => other.id === b.id)) c.report([...bp, 'id'], `button id '${b.id}' is used twice in this state`);
      buttons.push({ id: b.id, text: c.template(b.text, [...bp, 'text']), pos: source.at(bp) });
      if (b.goto !== undefined || b.set !== undefined || b.say !== undefined) {
        buttonRules.push({
          origin: 'button',
          button: b.id,
          say: c.messages(b.say, [...bp, 'say']),
          set: c.setEntries(b.set, [...bp, 'set']),
          goto: b.goto,
          duringHandoff: false,
          asksAgain: false,
          pos: source.at(bp),
        });
      }
    });
    if (s.buttons_from !== undefined) c.uses.push({ name: s.buttons_from, path: [...path, 'buttons_from'] });
    const next =
      typeof s.next === 'string'
        ? [{ origin: 'next' as const, say: [], set: [], goto: s.next, duringHandoff: false, asksAgain: false, pos: source.at([...path, 'next']) }]
        : (s.next ?? []).map((r, i) => c.rule(r, [...path, 'next', i], 'next'));
    states.set(name, {
      name,
      description: s.description,
      pos: source.at(['states'], { key: name }),
      say: c.messages(s.say, [...path, 'say']),
      buttons,
      buttonsFrom: s.buttons_from,
      requestContact: s.request_contact !== undefined ? c.template(s.request_contact, [...path, 'request_contact']) : undefined,
      action,
      next,
      on: [...buttonRules, ...(s.on ?? []).map((r, i) => c.rule(r, [...path, 'on', i], 'on'))],
      fallback: s.fallback ? c.fallback(s.fallback, [...path, 'fallback'], flowFallback) : flowFallback,
      end: s.end ?? false,
    });
  }

  const globals = (raw.globals ?? []).map((r, i) => c.rule(r, ['globals', i], 'global'));
  const flow: Flow = {
    name: raw.flow ?? fileName,
    file: source.file,
    description: raw.description,
    start: raw.start ?? '',
    states,
    globals,
    mediaReply: raw.media_reply !== undefined ? c.messages(raw.media_reply, ['media_reply']) : [{ template: parseTemplate(DEFAULT_MEDIA_TEXT), pos: source.at([]) }],
    emptyReply: raw.empty_reply !== undefined ? c.messages(raw.empty_reply, ['empty_reply']) : [{ template: parseTemplate(DEFAULT_EMPTY_TEXT), pos: source.at([]) }],
    handoffReply: raw.handoff_reply !== undefined ? c.messages(raw.handoff_reply, ['handoff_reply']) : [],
    timeoutWarning:
      raw.timeout_warning !== undefined ? c.messages(raw.timeout_warning, ['timeout_warning']) : [{ template: parseTemplate(DEFAULT_WARNING_TEXT), pos: source.at([]) }],
    campaignOpening:
      raw.campaign_opening !== undefined ? c.messages(raw.campaign_opening, ['campaign_opening']) : [{ template: parseTemplate(DEFAULT_OPENING_TEXT), pos: source.at([]) }],
    variables: new Set([...BUILTIN_VARIABLES, ...(raw.variables ?? []), ...c.setNames]),
  };
  return { flow, compiler: c };
}

// ---------------------------------------------------------------- validating

/** Words that must never reach a debtor. Ley 2300 art. 7 and Ley 1266. */
const FORBIDDEN_TEXT: { pattern: RegExp; reason: string }[] = [
  {
    pattern: /por\s*qu[eé]\s+(no\s+)?(ha|has|habia|había|hab[ií]as|pudo|pudiste|dej[oó]|dejaste)?\s*(de\s+)?pag/i,
    reason: 'never ask the debtor why they did not pay (Ley 2300 de 2023, art. 7)',
  },
  {
    // A threat: "si no paga lo reportamos", "será reportado a Datacrédito". Naming the bureaus to explain the law is not one.
    pattern:
      /\b(?:si no (?:paga|pagas|cancela|se pone al d[ií]a)\b[^.]{0,60}(?:report|datacr|central)|(?:lo|la|le|te|los) (?:vamos a |van a |podemos |)report(?:amos|aremos|ar[aá]n|ar)\b|ser[aá] reportad|quedar[aá] reportad|reportarlo|reportarla|reportarte|reporte negativo)/i,
    reason: 'do not threaten a credit-bureau report (Ley 1266 de 2008)',
  },
  {
    // Ley 1266: the record updates as the law says (it may stay up to twice the delinquency, at most four years).
    pattern: /(?:se borra|se elimina|sale del reporte|saldr[aá] del reporte|desaparece|queda limpi|lo sacamos|lo retiramos|se limpia)[^.]{0,40}(?:inmediat|de una vez|enseguida|al instante|el mismo d[ií]a|de una)/i,
    reason: 'do not promise that paying clears a credit-bureau report at once (Ley 1266 de 2008)',
  },
];

function statesReachedBy(rule: RuleDef): string[] {
  return rule.goto ? [rule.goto] : [];
}

function validate(flow: Flow, c: Compiler): void {
  const src = c.source;
  const exists = (name: string) => flow.states.has(name);
  const stateNames = [...flow.states.keys()];

  // Start state.
  if (!flow.start) c.report([], 'missing start state: add `start: <state name>` at the top of the file');
  else if (!exists(flow.start)) c.report(['start'], `unknown start state '${flow.start}'${hint(flow.start, stateNames)}`);

  const checkTarget = (target: string | undefined, path: YamlPath) => {
    if (target !== undefined && !exists(target)) c.report(path, `unknown target state '${target}'${hint(target, stateNames)}`);
  };

  const rulePath = (state: string, rule: RuleDef, list: 'on' | 'next', index: number): YamlPath =>
    rule.origin === 'button' ? ['states', state, 'buttons'] : ['states', state, list, index];

  // Fallback escalation.
  const fallbackTargets = new Set<string>();
  for (const state of flow.states.values()) {
    const fb = state.fallback;
    if (!fb.goto) {
      c.problems.push(new FlowDefinitionError(src.file, state.pos.line, state.pos.column, `state '${state.name}' has no fallback escalation: add fallback: goto: <state> at the top of the file or in the state`));
    } else if (!exists(fb.goto)) {
      c.problems.push(new FlowDefinitionError(src.file, fb.pos.line, fb.pos.column, `unknown target state '${fb.goto}'${hint(fb.goto, stateNames)}`));
    } else fallbackTargets.add(fb.goto);
  }

  // Globals.
  flow.globals.forEach((rule, i) => {
    checkTarget(rule.goto, ['globals', i, 'goto']);
    if (rule.button !== undefined) c.report(['globals', i], "'button' cannot be used in globals: (buttons belong to a state)", { key: 'button' });
  });

  for (const state of flow.states.values()) {
    const base: YamlPath = ['states', state.name];
    const spec: ActionSpec | undefined = state.action ? ACTIONS[state.action] : undefined;
    const ids = new Set(state.buttons.map((b) => b.id));

    state.next.forEach((rule, i) => {
      const p = rulePath(state.name, rule, 'next', i);
      checkTarget(rule.goto, typeof c.source.doc.getIn([...base, 'next']) === 'string' ? [...base, 'next'] : [...p, 'goto']);
      if (rule.outcome !== undefined) {
        if (!spec) c.report([...p, 'outcome'], `'outcome: ${rule.outcome}' but state '${state.name}' has no action`);
        else if (!spec.outcomes.includes(rule.outcome)) {
          c.report([...p, 'outcome'], `action '${state.action}' has no outcome '${rule.outcome}'${hint(rule.outcome, spec.outcomes)}; its outcomes: ${spec.outcomes.join(', ')}`);
        }
      }
    });
    let onIndex = 0;
    for (const rule of state.on) {
      const p = rulePath(state.name, rule, 'on', rule.origin === 'button' ? 0 : onIndex);
      if (rule.origin !== 'button') onIndex++;
      checkTarget(rule.goto, rule.origin === 'button' ? p : [...p, 'goto']);
      if (rule.button !== undefined && rule.button !== '*' && !ids.has(rule.button)) {
        if (state.buttonsFrom === undefined) {
          c.report([...p, 'button'], `state '${state.name}' has no button '${rule.button}'${hint(rule.button, ids)}`);
        }
      }
      if (rule.button === '*' && ids.size === 0 && state.buttonsFrom === undefined) {
        c.report([...p, 'button'], `'button: "*"' but state '${state.name}' shows no buttons`);
      }
    }
    for (const b of state.buttons) {
      const handled = state.on.some((r) => r.button === b.id || r.button === '*');
      if (!handled) c.problems.push(new FlowDefinitionError(src.file, b.pos.line, b.pos.column, `button '${b.id}' leads nowhere: give it goto: or add a rule 'button: ${b.id}' under on:`));
    }

    const ends = state.end || spec?.ends !== undefined;
    const moves = state.next.some((r) => r.when === undefined && r.outcome === undefined);
    if (ends && (state.on.length > 0 || state.next.length > 0)) {
      c.report(base, `state '${state.name}' ends the conversation${state.end ? ' (end: true)' : ` (action ${state.action})`}; its on:/next: rules would never be used`);
    }
    if (!ends && state.on.length === 0 && !moves) {
      c.report(base, `the conversation would get stuck in '${state.name}': add on: rules, a next: without conditions, or end: true`);
    }
  }

  // Unreachable states.
  const reached = new Set<string>();
  const queue: string[] = [];
  const visit = (name: string | undefined) => {
    if (name && exists(name) && !reached.has(name)) {
      reached.add(name);
      queue.push(name);
    }
  };
  visit(flow.start);
  flow.globals.forEach((r) => visit(r.goto));
  fallbackTargets.forEach(visit);
  while (queue.length) {
    const state = flow.states.get(queue.shift() as string) as StateDef;
    for (const r of [...state.next, ...state.on]) statesReachedBy(r).forEach(visit);
  }
  for (const state of flow.states.values()) {
    if (!reached.has(state.name)) c.problems.push(new FlowDefinitionError(src.file, state.pos.line, state.pos.column, `unreachable state '${state.name}': no rule leads to it`));
  }

  // next: loops (they would spin without waiting for the debtor).
  const onStack = new Set<string>();
  const done = new Set<string>();
  const walk = (name: string): void => {
    if (done.has(name)) return;
    if (onStack.has(name)) {
      const s = flow.states.get(name) as StateDef;
      c.problems.push(new FlowDefinitionError(src.file, s.pos.line, s.pos.column, `next: rules loop back to '${name}' without waiting for the debtor`));
      return;
    }
    onStack.add(name);
    for (const r of flow.states.get(name)?.next ?? []) if (r.goto && exists(r.goto)) walk(r.goto);
    onStack.delete(name);
    done.add(name);
  };
  for (const name of flow.states.keys()) walk(name);

  // Variables.
  for (const use of c.uses) {
    if (!flow.variables.has(use.name)) {
      c.report(use.path, `unknown variable '${use.name}'${hint(use.name, flow.variables)}; declare it under variables: if it comes from elsewhere`, { needle: use.needle });
    }
  }

  // Compliance: what a debtor reads.
  for (const message of allMessages(flow)) {
    for (const rule of FORBIDDEN_TEXT) {
      const m = rule.pattern.exec(message.template.source);
      if (m) c.problems.push(new FlowDefinitionError(src.file, message.pos.line, message.pos.column, `${rule.reason}: '${m[0]}'`));
    }
  }
  checkDebtDetailBeforeIdentification(flow, c);
}

function allMessages(flow: Flow): MessageDef[] {
  const out: MessageDef[] = [...flow.mediaReply, ...flow.emptyReply, ...flow.handoffReply, ...flow.timeoutWarning, ...flow.campaignOpening];
  flow.globals.forEach((r) => out.push(...r.say));
  for (const s of flow.states.values()) {
    out.push(...s.say, ...s.fallback.say);
    [...s.on, ...s.next].forEach((r) => out.push(...r.say));
  }
  return out;
}

/**
 * The actions whose `found` outcome means the debtor proved who they are: the cédula
 * matched AND the second fact (or a verified channel) did (find_debtor and
 * select_portfolio return `found` only for a verified conversation; check_identity
 * after a right answer).
 */
const IDENTIFYING_ACTIONS = new Set(['find_debtor', 'select_portfolio', 'check_identity']);

/**
 * Ley 2300 art. 4: no detail of a debt before the debtor is identified. The states a
 * debtor can reach without passing a `found` outcome of an identifying action must not
 * show debt values, except in messages guarded by a condition on `identificado`.
 */
function checkDebtDetailBeforeIdentification(flow: Flow, c: Compiler): void {
  const unidentified = new Set<string>();
  const queue: string[] = [];
  const visit = (name: string | undefined) => {
    if (name && flow.states.has(name) && !unidentified.has(name)) {
      unidentified.add(name);
      queue.push(name);
    }
  };
  // A rule whose condition requires `identificado` ("if: identificado and …") cannot fire before the cédula matches.
  const needsIdentified = (r: RuleDef) => !!r.when && !/\bor\b/.test(r.when.source) && /(?:^|\band\s+)identificado(?:\s+and\b|\s*$)/.test(r.when.source.trim());
  visit(flow.start);
  flow.globals.forEach((r) => !needsIdentified(r) && visit(r.goto));
  for (const s of flow.states.values()) visit(s.fallback.goto);
  while (queue.length) {
    const state = flow.states.get(queue.shift() as string) as StateDef;
    for (const r of state.on) if (!needsIdentified(r)) visit(r.goto);
    for (const r of state.next) {
      if (needsIdentified(r)) continue;
      if (state.action && IDENTIFYING_ACTIONS.has(state.action) && r.outcome === 'found') continue;
      visit(r.goto);
    }
  }
  const guarded = (cond?: Condition) => cond?.variables.includes('identificado') ?? false;
  const check = (messages: MessageDef[], stateName: string, guard?: Condition) => {
    for (const m of messages) {
      if (guarded(m.when) || guarded(guard)) continue;
      const leak = m.template.variables.find((v) => DEBT_DETAIL_VARIABLES.has(v.name));
      if (leak) {
        c.problems.push(
          new FlowDefinitionError(
            c.source.file,
            m.pos.line,
            m.pos.column,
            `'{{${leak.name}}}' shows debt details in '${stateName}', which a debtor can reach before the cédula matches (Ley 2300 art. 4); guard the message with if: identificado`,
          ),
        );
      }
    }
  };
  for (const name of unidentified) {
    const s = flow.states.get(name) as StateDef;
    check(s.say, name);
    check(s.fallback.say, name);
    for (const r of s.on) check(r.say, name, r.when);
    for (const b of s.buttons) {
      const leak = b.text.variables.find((v) => DEBT_DETAIL_VARIABLES.has(v.name));
      if (leak) c.problems.push(new FlowDefinitionError(c.source.file, b.pos.line, b.pos.column, `button shows '{{${leak.name}}}' before the cédula matches (Ley 2300 art. 4)`));
    }
  }
  for (const [what, list] of [
    ['media_reply', flow.mediaReply],
    ['empty_reply', flow.emptyReply],
    ['handoff_reply', flow.handoffReply],
    ['timeout_warning', flow.timeoutWarning],
  ] as const) {
    for (const m of list) {
      if (guarded(m.when)) continue;
      const leak = m.template.variables.find((v) => DEBT_DETAIL_VARIABLES.has(v.name));
      if (leak) c.problems.push(new FlowDefinitionError(c.source.file, m.pos.line, m.pos.column, `'{{${leak.name}}}' in ${what} can show debt details before the cédula matches (Ley 2300 art. 4); guard it with if: identificado`));
    }
  }
  // A campaign writes first, to a number that may not be the debtor's: only the first name.
  for (const m of flow.campaignOpening) {
    const other = [...m.template.variables.map((v) => v.name), ...(m.when?.variables ?? [])].find((name) => !CAMPAIGN_VARIABLES.includes(name));
    if (other) c.problems.push(new FlowDefinitionError(c.source.file, m.pos.line, m.pos.column, `campaign_opening may only use {{nombre}}: '${other}' is not known before the cédula matches (Ley 2300 art. 4)`));
  }
  for (const r of flow.globals) {
    for (const m of r.say) {
      if (guarded(m.when) || guarded(r.when)) continue;
      const leak = m.template.variables.find((v) => DEBT_DETAIL_VARIABLES.has(v.name));
      if (leak) c.problems.push(new FlowDefinitionError(c.source.file, m.pos.line, m.pos.column, `'{{${leak.name}}}' in a global rule can show debt details before the cédula matches (Ley 2300 art. 4); guard it with if: identificado`));
    }
  }
}

// ---------------------------------------------------------------- public

export interface FlowCheck {
  flow?: Flow;
  problems: FlowDefinitionError[];
}

/** Parses and validates flow text. `file` is only used in positions. */
export function checkFlowText(text: string, file: string): FlowCheck {
  const parsed = YamlSource.parse(file, text);
  if (parsed.problems.length) return { problems: parsed.problems };
  if (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
    return { problems: [new FlowDefinitionError(file, 1, 1, 'a flow file is a map with start: and states:')] };
  }
  const shape = rawFlow.safeParse(parsed.value);
  if (!shape.success) return { problems: dedupe(shapeProblems(parsed.source, shape.error)) };
  const base = file.split(/[\\/]/).pop()?.replace(/\.ya?ml$/i, '') ?? 'flow';
  const { flow, compiler } = compile(parsed.source, shape.data, base);
  validate(flow, compiler);
  const problems = dedupe(compiler.problems);
  return problems.length ? { problems } : { flow, problems };
}

function dedupe(problems: FlowDefinitionError[]): FlowDefinitionError[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => (seen.has(p.message) ? false : (seen.add(p.message), true)))
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Loads and validates a flow; throws InvalidFlowError listing every problem. */
export function parseFlow(text: string, file: string): Flow {
  const { flow, problems } = checkFlowText(text, file);
  if (!flow) throw new InvalidFlowError(file, problems);
  return flow;
}

export function loadFlowFile(file: string): Flow {
  return parseFlow(fs.readFileSync(file, 'utf8'), file);
}
