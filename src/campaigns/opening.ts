/**
 * The opening a text-channel campaign sends: the `campaign_opening` of a flow, with only
 * the debtor's first name in scope.
 */
import path from 'node:path';
import type { Reply } from '../core/index.js';
import { DEFAULT_FLOW_NAME, firstName, loadFlowCatalog, renderTemplate, type Flow } from '../flows/index.js';
import type { CampaignContent, CampaignDebtor } from './campaigns.js';

/** The replies of a flow's campaign_opening for a debtor. */
export function renderOpening(flow: Flow, debtor: CampaignDebtor): Reply[] {
  const scope = { nombre: firstName(debtor.nombre_del_cliente) };
  const out: Reply[] = [];
  for (const m of flow.campaignOpening) {
    if (m.when && !m.when.evaluate(scope)) continue;
    const text = renderTemplate(m.template, scope).trim();
    if (text) out.push({ text });
  }
  return out;
}

/**
 * The content for a text campaign from the flows directory: `flowName`'s opening
 * (default: the default flow). Undefined when there is no such flow.
 */
export function flowOpeningContent(flowsDir: string, flowName: string = DEFAULT_FLOW_NAME): CampaignContent | undefined {
  const { flows } = loadFlowCatalog(path.resolve(flowsDir));
  const flow = flows.get(flowName);
  if (!flow) return undefined;
  return (debtor) => renderOpening(flow, debtor);
}
