/**
 * The flows module's public surface: loading and validating YAML flows and policies,
 * rendering messages, and drawing flows as Mermaid.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FlowDefinitionError } from '../core/index.js';
import { checkFlowText, InvalidFlowError } from './loader.js';
import { checkPoliciesText, createPolicySet, type PolicySet } from './policies.js';
import type { Flow } from './types.js';

export { ACTIONS, DEBTOR_VARIABLES, ENTITY_NAMES, MONEY_VARIABLES, TURN_VARIABLES, isActionName } from './catalog.js';
export type { ActionName, ActionSpec, EntityName } from './catalog.js';
export { parseCondition, truthy, type Condition, type Scope } from './expression.js';
export { firstName, foldText, formatDate, formatMoney, formatNumber, titleCase } from './format.js';
export { checkFlowText, InvalidFlowError, loadFlowFile, parseFlow } from './loader.js';
export { flowToMermaid, ruleLabel } from './mermaid.js';
export {
  BUILTIN_POLICY,
  checkPoliciesText,
  createPolicySet,
  loadPoliciesFile,
  PAYMENT_CHANNEL_TYPES,
  VERIFICATION_METHODS,
  type PaymentChannel,
  type Policy,
  type PolicySet,
  type VerificationMethod,
} from './policies.js';
export { formatValue, parseTemplate, renderTemplate, resolveSetValue, type Template } from './template.js';
export type { ButtonDef, FallbackDef, Flow, MessageDef, RuleDef, SourcePosition, StateDef } from './types.js';

/** The flows shipped with the product. */
export const DEFAULT_FLOWS_DIR = path.resolve(__dirname, '..', '..', 'flows');
export const POLICIES_FILE_NAME = 'policies.yaml';
export const DEFAULT_FLOW_NAME = 'negociacion';

/** Every flow of a directory, by name, and the directory's policies. */
export interface FlowCatalog {
  flows: ReadonlyMap<string, Flow>;
  policies: PolicySet;
}

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export function isPoliciesFile(file: string): boolean {
  return path.basename(file).toLowerCase() === POLICIES_FILE_NAME;
}

/** Checks one file, flow or policies, without throwing: the problems, by position. */
export function checkFile(file: string): { kind: 'flow' | 'policies'; flow?: Flow; problems: FlowDefinitionError[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { kind: 'flow', problems: [new FlowDefinitionError(file, 1, 1, `cannot read the file: ${(err as Error).message}`)] };
  }
  if (isPoliciesFile(file)) return { kind: 'policies', problems: checkPoliciesText(text, file).problems };
  const { flow, problems } = checkFlowText(text, file);
  return { kind: 'flow', flow, problems };
}

/** The YAML files `flows validate` checks by default. */
export function flowFilesIn(dir: string = DEFAULT_FLOWS_DIR): string[] {
  return yamlFiles(dir);
}

/**
 * Loads every flow of a directory and its policies.yaml (built-in policy without it).
 * Throws InvalidFlowError at the first broken file: a broken flow never starts.
 */
export function loadFlowCatalog(dir: string = DEFAULT_FLOWS_DIR): FlowCatalog {
  const flows = new Map<string, Flow>();
  let policies: PolicySet = createPolicySet();
  for (const file of yamlFiles(dir)) {
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(process.cwd(), file) || file;
    if (isPoliciesFile(file)) {
      const checked = checkPoliciesText(text, rel);
      if (!checked.policies) throw new InvalidFlowError(rel, checked.problems);
      policies = checked.policies;
      continue;
    }
    const checked = checkFlowText(text, rel);
    if (!checked.flow) throw new InvalidFlowError(rel, checked.problems);
    if (flows.has(checked.flow.name)) {
      throw new InvalidFlowError(rel, [new FlowDefinitionError(rel, 1, 1, `a flow named '${checked.flow.name}' is already loaded`)]);
    }
    flows.set(checked.flow.name, checked.flow);
  }
  return { flows, policies };
}
export { actionSpec } from './catalog.js';
export { YamlSource } from './source.js';
