/**
 * A loaded, validated flow: what the engine walks. Built only by the loader, which
 * has checked every name and every reference in it.
 */
import type { ActionName, EntityName, Intent } from './catalog.js';
import type { Condition } from './expression.js';
import type { Template } from './template.js';

/** Where something is written in a flow file (1-based, like an editor shows it). */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** One message the bot says; said only when its condition (`if:`) holds. */
export interface MessageDef {
  template: Template;
  when?: Condition;
  pos: SourcePosition;
}

export interface ButtonDef {
  id: string;
  text: Template;
  pos: SourcePosition;
}

/** Where a rule was written, which decides when it is tried. */
export type RuleOrigin = 'on' | 'next' | 'global' | 'button';

/**
 * A transition. It matches when every criterion it names holds (a list within a
 * criterion means any of its items); then its `set` is applied, its messages said and
 * the conversation moves to `goto` (or stays, without it).
 */
export interface RuleDef {
  origin: RuleOrigin;
  intents?: Intent[];
  entities?: EntityName[];
  /** A button id, or "*" for any button of the state. */
  button?: string;
  /** Phrases (folded: lowercase, no accents) any of which the message contains. */
  phrases?: string[];
  outcome?: string;
  when?: Condition;
  say: MessageDef[];
  set: { name: string; value: Template }[];
  goto?: string;
  /** Global rules only: applies even while a person has the conversation. */
  duringHandoff: boolean;
  /**
   * The rule only asks again (a yes with a condition, an emoji): it counts toward the
   * state's fallback limit like a misunderstanding, so the debtor never loops.
   */
  asksAgain: boolean;
  pos: SourcePosition;
}

export interface FallbackDef {
  say: MessageDef[];
  /** How many misunderstandings in a row get `say`; the next one escalates to `goto`. */
  retries: number;
  goto: string;
  pos: SourcePosition;
}

export interface StateDef {
  name: string;
  description?: string;
  pos: SourcePosition;
  say: MessageDef[];
  buttons: ButtonDef[];
  /** A context list of { id, text } shown as buttons (e.g. `planes`, `carteras`). */
  buttonsFrom?: string;
  /**
   * The label of a "share my number" button where the channel has one (Telegram's
   * request_contact), shown while the state waits: a phone the platform proves.
   */
  requestContact?: Template;
  action?: ActionName;
  /** Tried right after entering (after the action and the messages), without waiting. */
  next: RuleDef[];
  /** Tried on the debtor's next message. */
  on: RuleDef[];
  fallback: FallbackDef;
  /** The conversation closes after this state's messages. */
  end: boolean;
}

export interface Flow {
  name: string;
  file: string;
  description?: string;
  start: string;
  states: ReadonlyMap<string, StateDef>;
  globals: RuleDef[];
  /** The answer to a photo, voice note, sticker… */
  mediaReply: MessageDef[];
  /** The answer to an empty message. */
  emptyReply: MessageDef[];
  /** What a debtor hears while waiting for a person (at most once every few minutes). */
  handoffReply: MessageDef[];
  /** What the scheduler sends a silent debtor before closing the conversation ({{horas_restantes}}). */
  timeoutWarning: MessageDef[];
  /** What a campaign sends to open a conversation on a text channel (only {{nombre}}; no debt details). */
  campaignOpening: MessageDef[];
  /** Every variable name the flow may use (built-ins, action values, declared, set). */
  variables: ReadonlySet<string>;
}
