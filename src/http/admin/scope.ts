/**
 * What the person asking may reach, for the admin routes: an agent limited to some
 * portfolios sees only their conversations (and those not yet tied to a portfolio, which
 * show no debtor data); a person's actions carry their own name, not one they type; an
 * agent's reply is signed when the agency wants it.
 */
import type { Response } from 'express';
import type { Config } from '../../core/index.js';
import { agentSignature, getAgency, type PeopleStore } from '../../ops/index.js';
import type { Knex } from '../../store/index.js';
import { principalOf } from '../admin-auth.js';

/** The portfolios the principal is limited to; null: all of the agency's. */
export function portfolioScope(res: Response): number[] | null {
  return principalOf(res)?.portfolioIds ?? null;
}

/** Whether a conversation with this portfolio is in the principal's reach. */
export function inScope(res: Response, portfolioId: number | null): boolean {
  const ids = portfolioScope(res);
  return !ids || portfolioId === null || ids.includes(portfolioId);
}

/**
 * Whether the principal may reach the conversation; when not, answers 404 (as for an id
 * that does not exist, so ids cannot be probed) and returns false. A missing
 * conversation is left to the handler's own 404.
 */
export async function mayReachConversation(knex: Knex, res: Response, id: string): Promise<boolean> {
  if (!portfolioScope(res)) return true;
  const row = (await knex('conversations').where({ id }).first('portfolio_id')) as { portfolio_id: number | null } | undefined;
  if (!row || inScope(res, row.portfolio_id)) return true;
  res.status(404).json({ error: 'not_found', details: 'no such conversation' });
  return false;
}

/** The name an action is recorded under: a user's own name; with the ADMIN_TOKEN, the one given. */
export function actingAgent(res: Response, given: string): string {
  const p = principalOf(res);
  return p && p.userId !== null ? p.name : given;
}

/** The reply's text, preceded by the agent's signature line when the agency signs replies. */
export async function signedReply(deps: { knex: Knex; config: Config; people?: PeopleStore }, res: Response, text: string): Promise<string> {
  const p = principalOf(res);
  if (!p || p.userId === null || !deps.people) return text;
  const [agency, user] = await Promise.all([getAgency(deps.knex, p.agencyId), deps.people.get(p.userId)]);
  const line = user ? agentSignature(agency, user, deps.config.AGENCY_NAME) : undefined;
  return line ? `${line}\n${text}` : text;
}
