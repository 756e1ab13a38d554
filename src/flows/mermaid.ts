/**
 * A flow as a Mermaid flowchart, for the docs and for analysts reviewing a flow
 * (paste it into any Mermaid viewer, or a ```mermaid block on GitHub).
 */
import { actionSpec } from './catalog.js';
import type { Flow, RuleDef, StateDef } from './types.js';

function id(state: string): string {
  // Prefixed: "end" and a few other words are reserved in Mermaid.
  return `s_${state}`;
}

function escape(text: string): string {
  return text.replace(/"/g, '#quot;').replace(/\|/g, '#124;').replace(/[<>]/g, (c) => (c === '<' ? '#lt;' : '#gt;'));
}

function buttonText(state: StateDef, buttonId: string): string {
  const b = state.buttons.find((x) => x.id === buttonId);
  return b ? b.text.source : buttonId;
}

/** A short label of what makes a rule fire. */
export function ruleLabel(rule: RuleDef, state?: StateDef): string {
  const parts: string[] = [];
  if (rule.button !== undefined) parts.push(rule.button === '*' ? 'botón' : `botón: ${state ? buttonText(state, rule.button) : rule.button}`);
  if (rule.intents?.length) parts.push(rule.intents.join(' / '));
  if (rule.entities?.length) parts.push(rule.entities.map((e) => `${e}?`).join(' / '));
  if (rule.phrases?.length) parts.push(rule.phrases.map((p) => `“${p}”`).join(' / '));
  if (rule.outcome !== undefined) parts.push(rule.outcome);
  if (rule.when) parts.push(`si ${rule.when.source}`);
  return parts.join(' + ');
}

export function flowToMermaid(flow: Flow): string {
  const lines: string[] = [`flowchart TD`, `  %% ${flow.name} (${flow.file})`];
  lines.push(`  inicio(("inicio")) --> ${id(flow.start)}`);
  for (const s of flow.states.values()) {
    const action = s.action ? `<br/><i>${s.action}</i>` : '';
    const shape = s.end || (s.action && actionSpec(s.action).ends) ? [`(["`, `"])`] : s.action ? [`[["`, `"]]`] : [`["`, `"]`];
    lines.push(`  ${id(s.name)}${shape[0]}${escape(s.name)}${action}${shape[1]}`);
  }
  const edge = (from: string, to: string, label: string, dotted = false) => {
    const arrow = dotted ? '-.->' : '-->';
    lines.push(label ? `  ${from} ${arrow}|"${escape(label)}"| ${to}` : `  ${from} ${arrow} ${to}`);
  };
  for (const s of flow.states.values()) {
    for (const r of s.next) if (r.goto) edge(id(s.name), id(r.goto), ruleLabel(r, s));
    for (const r of s.on) if (r.goto && r.goto !== s.name) edge(id(s.name), id(r.goto), ruleLabel(r, s));
  }
  const defaultFallback = [...flow.states.values()][0]?.fallback;
  if (flow.globals.length || defaultFallback) lines.push(`  global{{"en cualquier estado"}}`);
  for (const r of flow.globals) if (r.goto) edge('global', id(r.goto), ruleLabel(r), true);
  const fallbackTargets = new Map<string, number>();
  for (const s of flow.states.values()) {
    const key = `${s.fallback.goto}|${s.fallback.retries}`;
    fallbackTargets.set(key, (fallbackTargets.get(key) ?? 0) + 1);
  }
  const common = [...fallbackTargets.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  for (const s of flow.states.values()) {
    const key = `${s.fallback.goto}|${s.fallback.retries}`;
    if (key !== common && s.fallback.goto) edge(id(s.name), id(s.fallback.goto), `no entiende ${s.fallback.retries + 1} veces`, true);
  }
  if (common) {
    const [target, retries] = common.split('|');
    if (target) edge('global', id(target), `no entiende ${Number(retries) + 1} veces`, true);
  }
  lines.push('  classDef ending fill:#eef7ee,stroke:#5a5;');
  const endings = [...flow.states.values()].filter((s) => s.end || (s.action && actionSpec(s.action).ends)).map((s) => id(s.name));
  if (endings.length) lines.push(`  class ${endings.join(',')} ending;`);
  return lines.join('\n') + '\n';
}
