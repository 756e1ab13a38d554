/**
 * Walks a flow for one message: which rule fires, which states are entered, what is
 * said. It returns data (replies, the new state and context, effects) and never
 * writes; actions are reached through the `runAction` it is given.
 *
 * Order in a waiting state: a pressed button (its rule); then the state's rules and the
 * globals — a global wins unless the state's matching rule names the same intent;
 * then the state's fallback, which after `retries` misunderstandings in a row
 * escalates. A new conversation enters the start state first; its first message is
 * then read in the start state, without a fallback answer (the greeting already asks).
 */
import { actionSpec, ENTITY_NAMES, type ActionName } from '../flows/index.js';
import type { Scope } from '../flows/index.js';
import { foldText } from '../flows/index.js';
import { renderTemplate, resolveSetValue } from '../flows/index.js';
import type { Flow, MessageDef, RuleDef, StateDef } from '../flows/index.js';
import type { Logger } from '../log.js';
import type { NluResult } from '../nlu/index.js';
import type { ActionRequest, ActionResult } from './actions.js';
import { matchButton } from './buttons.js';
import type { Effect } from './effects.js';
import type { Button, Reply } from '../core/index.js';

export const DEFAULT_MAX_STEPS = 12;

export interface RunnerConversation {
  state: string;
  context: Record<string, unknown>;
  fallbackCount: number;
  debtorId: number | null;
  portfolioId: number | null;
  /** Opened by this message: the start state is entered first. */
  isNew: boolean;
  /** A person has the conversation: only globals marked during_handoff apply. */
  inHandoff: boolean;
  /** Skip the flow's rules and escalate (the state's fallback target) for this reason. */
  escalate?: 'limit';
}

export interface TurnInput {
  text?: string;
  buttonId?: string;
  media?: { kind: string };
  nlu?: NluResult;
  /** What the words say beyond the intent (src/engine/signals.ts), as turn variables. */
  signals?: Record<string, unknown>;
  /** The turn's time, from the service's clock (the handoff acknowledgement's pacing). */
  now?: Date;
  /** The writer said they are someone else (Ley 2300 art. 4): the relation, as `tercero`. */
  thirdParty?: string;
  /** The message is a shared contact card (as `contacto`): not empty even without text. */
  contact?: boolean;
}

/** While a person has the conversation, the debtor hears from the bot at most this often. */
export const HANDOFF_ACK_INTERVAL_MS = 5 * 60 * 1000;

export type ConversationStatus = 'open' | 'handoff' | 'closed';

export interface StepResult {
  state: string;
  replies: Reply[];
  context: Record<string, unknown>;
  effects: Effect[];
  fallbackCount: number;
  status: ConversationStatus;
  /** Every state entered this turn, in order. */
  path: string[];
  /** What fired: a rule's label, "fallback", "escalation", "media", "empty", "start" or "none". */
  matched: string;
  /** The step cap cut the turn short (a flow bug; logged). */
  capped: boolean;
}

export interface RunnerDeps {
  runAction(name: ActionName, req: ActionRequest): Promise<ActionResult>;
  log?: Logger;
  maxSteps?: number;
}

/** The values of the current message, for conditions and messages. */
function turnVariables(input: TurnInput, button: Button | undefined): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  if (input.nlu) {
    vars.intent = input.nlu.intent;
    vars.confidence = input.nlu.confidence;
    for (const [k, v] of Object.entries(input.nlu.entities)) if (v !== undefined) vars[k] = v;
  }
  if (input.text !== undefined) vars.text = input.text;
  if (button) vars.button = button.id;
  Object.assign(vars, input.signals);
  if (input.thirdParty) vars.tercero = input.thirdParty;
  if (input.contact) vars.contacto = true;
  return vars;
}

class Turn {
  readonly replies: Reply[] = [];
  readonly effects: Effect[] = [];
  readonly path: string[] = [];
  context: Record<string, unknown>;
  state: StateDef;
  fallbackCount: number;
  status: ConversationStatus = 'open';
  binding: { debtorId: number | null; portfolioId: number | null };
  capped = false;
  private steps = 0;
  private turnVars: Record<string, unknown> = {};
  private folded: string;

  constructor(
    readonly flow: Flow,
    readonly conv: RunnerConversation,
    readonly input: TurnInput,
    readonly deps: RunnerDeps,
  ) {
    this.context = { ...conv.context };
    this.state = flow.states.get(conv.state) ?? (flow.states.get(flow.start) as StateDef);
    this.fallbackCount = conv.fallbackCount;
    this.binding = { debtorId: conv.debtorId, portfolioId: conv.portfolioId };
    this.folded = foldText(input.text ?? '');
  }

  scope(): Scope {
    return { ...this.context, ...this.turnVars };
  }

  setTurn(button: Button | undefined): void {
    this.turnVars = turnVariables(this.input, button);
  }

  /** The buttons a state shows now: its own, then those from a context list. */
  buttonsOf(state: StateDef): Button[] {
    const scope = this.scope();
    const out: Button[] = state.buttons.map((b) => ({ id: b.id, text: renderTemplate(b.text, scope) }));
    if (state.buttonsFrom) {
      const list = this.context[state.buttonsFrom];
      if (Array.isArray(list)) {
        for (const item of list) {
          if (item && typeof item === 'object' && 'id' in item && 'text' in item) out.push({ id: String(item.id), text: String(item.text) });
        }
      }
    }
    return out;
  }

  say(messages: readonly MessageDef[]): void {
    for (const m of messages) {
      const scope = this.scope();
      if (m.when && !m.when.evaluate(scope)) continue;
      const text = renderTemplate(m.template, scope, (name) =>
        this.deps.log?.warn({ flow: this.flow.name, state: this.state.name, variable: name }, 'message variable has no value'),
      ).trim();
      if (text) this.replies.push({ text });
    }
  }

  matches(rule: RuleDef, pressed: Button | undefined): boolean {
    const scope = this.scope();
    if (rule.button !== undefined && !(pressed && (rule.button === '*' || rule.button === pressed.id))) return false;
    if (rule.intents && !(typeof scope.intent === 'string' && (rule.intents as string[]).includes(scope.intent))) return false;
    if (rule.entities && !rule.entities.some((e) => this.turnVars[e] !== undefined)) return false;
    if (rule.phrases && !rule.phrases.some((p) => ` ${this.folded} `.includes(` ${p} `))) return false;
    if (rule.when && !rule.when.evaluate(scope)) return false;
    return true;
  }

  /** set → say → goto. */
  async apply(rule: RuleDef, trigger: ActionRequest['trigger'] = 'rule'): Promise<void> {
    this.fallbackCount = 0;
    const scope = this.scope();
    for (const { name, value } of rule.set) this.context[name] = resolveSetValue(value, scope);
    this.say(rule.say);
    if (rule.goto) await this.enter(rule.goto, trigger);
  }

  async enter(target: string, trigger: ActionRequest['trigger']): Promise<void> {
    let next: string | undefined = target;
    const max = this.deps.maxSteps ?? DEFAULT_MAX_STEPS;
    while (next) {
      if (++this.steps > max) {
        this.capped = true;
        this.deps.log?.error({ flow: this.flow.name, path: this.path }, 'flow step cap reached; the turn stops here');
        return;
      }
      const state = this.flow.states.get(next);
      if (!state) return; // the validator makes this impossible
      this.state = state;
      this.fallbackCount = 0;
      this.path.push(state.name);
      let outcome: string | undefined;
      if (state.action) {
        const result = await this.deps.runAction(state.action, { scope: this.scope(), binding: { ...this.binding }, trigger });
        outcome = result.outcome;
        for (const [k, v] of Object.entries(result.set ?? {})) {
          if (v === undefined) delete this.context[k];
          else this.context[k] = v;
        }
        for (const e of result.effects ?? []) {
          this.effects.push(e);
          if (e.kind === 'bind_debtor') this.binding = { debtorId: e.debtorId, portfolioId: e.portfolioId };
        }
        const ends = actionSpec(state.action).ends;
        if (ends) this.status = ends;
      }
      this.say(state.say);
      if (state.end && this.status === 'open') {
        this.status = 'closed';
        this.effects.push({ kind: 'close', reason: state.name });
      }
      if (this.status !== 'open') return;
      const rule = state.next.find((r) => (r.outcome === undefined || r.outcome === outcome) && (!r.when || r.when.evaluate(this.scope())));
      if (!rule) return;
      const scope = this.scope();
      for (const { name, value } of rule.set) this.context[name] = resolveSetValue(value, scope);
      this.say(rule.say);
      next = rule.goto;
    }
  }

  /** The rule the message fires in the current state, if any. */
  pick(pressed: Button | undefined, options: { handoffOnly?: boolean } = {}): RuleDef | undefined {
    if (options.handoffOnly) return this.flow.globals.find((r) => r.duringHandoff && this.matches(r, undefined));
    if (pressed) {
      const byButton = this.state.on.find((r) => r.button !== undefined && this.matches(r, pressed));
      if (byButton) return byButton;
    }
    const local = this.state.on.find((r) => r.button === undefined && this.matches(r, undefined));
    const global = this.flow.globals.find((r) => this.matches(r, undefined));
    if (global && (!local || !local.intents?.some((i) => global.intents?.includes(i)))) return global;
    return local;
  }

  finish(): void {
    if (this.status !== 'open') return;
    // A "share my number" button where the channel has one (Telegram), while the state waits.
    if (this.state.requestContact && this.state.on.length) {
      const last = this.replies.at(-1);
      const label = renderTemplate(this.state.requestContact, this.scope()).trim();
      if (last && label) last.requestContact = label;
    }
    const buttons = this.buttonsOf(this.state);
    if (!buttons.length) return;
    const last = this.replies.at(-1);
    if (last) last.buttons = buttons;
  }

  result(matched: string): StepResult {
    this.finish();
    for (const k of ENTITY_NAMES) if (this.context[k] === undefined) delete this.context[k];
    return {
      state: this.state.name,
      replies: this.replies,
      context: this.context,
      effects: this.effects,
      fallbackCount: this.fallbackCount,
      status: this.status,
      path: this.path,
      matched,
      capped: this.capped,
    };
  }
}

function describeRule(rule: RuleDef): string {
  const parts: string[] = [rule.origin];
  if (rule.button !== undefined) parts.push(`button=${rule.button}`);
  if (rule.intents) parts.push(`intent=${rule.intents.join('|')}`);
  if (rule.entities) parts.push(`entity=${rule.entities.join('|')}`);
  if (rule.phrases) parts.push('text');
  if (rule.when) parts.push(`if ${rule.when.source}`);
  return parts.join(' ');
}

/** Renders messages outside a turn (the scheduler's timeout warning): those whose condition holds. */
export function renderMessages(messages: readonly MessageDef[], scope: Scope): Reply[] {
  const out: Reply[] = [];
  for (const m of messages) {
    if (m.when && !m.when.evaluate(scope)) continue;
    const text = renderTemplate(m.template, scope).trim();
    if (text) out.push({ text });
  }
  return out;
}

/** The plans kept in the context, as buttons. */
function planButtons(list: unknown): Button[] {
  if (!Array.isArray(list)) return [];
  return list.filter((p): p is { id: unknown; text: unknown } => !!p && typeof p === 'object' && 'id' in p && 'text' in p).map((p) => ({ id: String(p.id), text: String(p.text) }));
}

/** Steps the flow for one message. */
export async function runTurn(flow: Flow, conv: RunnerConversation, input: TurnInput, deps: RunnerDeps): Promise<StepResult> {
  const turn = new Turn(flow, conv, input, deps);
  const isMedia = input.media !== undefined && !input.text?.trim();
  const isEmpty = !isMedia && !input.text?.trim() && !input.buttonId && !input.contact;

  if (conv.inHandoff) {
    turn.setTurn(undefined);
    if (isMedia || isEmpty) return turn.result('none');
    const rule = turn.pick(undefined, { handoffOnly: true });
    if (!rule) {
      turn.status = 'handoff';
      // Never silence: a short acknowledgement, at most once every few minutes.
      const now = input.now?.getTime();
      const last = Date.parse(String(turn.context._aviso_asesor ?? ''));
      if (now !== undefined && flow.handoffReply.length && !(now - last < HANDOFF_ACK_INTERVAL_MS)) {
        turn.say(flow.handoffReply);
        turn.context._aviso_asesor = new Date(now).toISOString();
        return turn.result('handoff_ack');
      }
      return turn.result('none');
    }
    await turn.apply(rule);
    // The rule may close the conversation (an opt-out); otherwise the person keeps it.
    if (turn.status === 'open') turn.status = 'handoff';
    return turn.result(describeRule(rule));
  }

  if (conv.isNew) {
    turn.setTurn(undefined);
    const rule = isMedia || isEmpty ? undefined : turn.pick(undefined);
    if (rule && rule.origin === 'global') {
      await turn.apply(rule);
      return turn.result(describeRule(rule));
    }
    await turn.enter(flow.start, 'rule');
    if (isMedia || isEmpty || turn.status !== 'open' || turn.state.name !== flow.start) return turn.result('start');
    // The first message, read in the start state: a cédula in "hola, soy 93388915" counts.
    const first = turn.pick(undefined);
    if (first && (first.goto !== undefined || first.set.length > 0)) {
      await turn.apply(first);
      return turn.result(describeRule(first));
    }
    return turn.result('start');
  }

  if (conv.escalate) {
    turn.setTurn(undefined);
    // Past the message limit a person takes it: follow the fallback targets (a menu first, say) to the handoff.
    let target = turn.state.fallback.goto;
    for (let hops = 0; hops < 3; hops++) {
      const s = flow.states.get(target);
      if (!s || s.action === 'handoff' || s.fallback.goto === target) break;
      target = s.fallback.goto;
    }
    await turn.enter(target, conv.escalate);
    return turn.result('escalation');
  }

  if (isMedia || isEmpty) {
    turn.setTurn(undefined);
    turn.say(isMedia ? flow.mediaReply : flow.emptyReply);
    return turn.result(isMedia ? 'media' : 'empty');
  }

  const offered = turn.buttonsOf(turn.state);
  // In a state that reads `opcion_plan`, "la primera", "la de 6", "de contado" name one of the plans shown
  // before — never the state's own buttons ("la primera" is not "Sí, confirmo"). A bare number still presses
  // the numbered list the debtor has in front of them.
  const readsPlans = turn.state.buttonsFrom !== 'planes' && turn.state.on.some((r) => r.when?.variables.includes('opcion_plan'));
  const plans = readsPlans ? planButtons(turn.context.planes) : [];
  const planPick = input.buttonId === undefined && plans.length && !/^\s*\d+\s*\.?\s*$/.test(input.text ?? '') ? matchButton(input.text, plans) : undefined;
  const pressed = input.buttonId !== undefined ? offered.find((b) => b.id === input.buttonId) : planPick ? undefined : matchButton(input.text, offered);
  if (planPick) input.signals = { ...input.signals, opcion_plan: planPick.id };
  turn.setTurn(pressed);
  const rule = turn.pick(pressed);
  const fallback = turn.state.fallback;
  const count = conv.fallbackCount + 1;
  if (rule?.asksAgain && count <= fallback.retries) {
    // Asking again counts like a misunderstanding: past the limit, the fallback's way out (options, a person).
    await turn.apply(rule);
    turn.fallbackCount = count;
    return turn.result(describeRule(rule));
  }
  if (rule && !rule.asksAgain) {
    await turn.apply(rule);
    return turn.result(describeRule(rule));
  }

  if (count > fallback.retries) {
    await turn.enter(fallback.goto, 'fallback');
    return turn.result('escalation');
  }
  turn.fallbackCount = count;
  turn.say(fallback.say);
  return turn.result('fallback');
}
