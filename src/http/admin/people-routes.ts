/**
 * The admin API's people side: users (admins), one's own API tokens (everyone), the
 * audit trail (admins, read and export only) and the agency's settings (admins). Part
 * of adminRoutes, so of the OpenAPI document and the role-by-route test.
 */
import { z } from 'zod';
import type { Clock, Config } from '../../core/index.js';
import {
  getAgency,
  listAudit,
  newUserSchema,
  PASSWORD_MIN_LENGTH,
  PeopleError,
  updateAgency,
  USER_ROLES,
  writeAuditCsv,
  type PeopleStore,
  type User,
} from '../../ops/index.js';
import type { Knex } from '../../store/index.js';
import { principalOf } from '../admin-auth.js';
import { defineRoute, type ApiRoute } from './route.js';
import * as s from './schemas.js';

const unauthorized = { description: 'Missing or wrong credentials', schema: s.errorBodySchema };
const forbidden = { description: 'The role may not do this', schema: s.errorBodySchema };
const invalid = { description: 'The request does not match its schema', schema: s.errorBodySchema };
const noUser = { description: 'No such user in this agency', schema: s.errorBodySchema };

const userSchema = z
  .object({
    id: z.number().int(),
    email: z.string(),
    name: z.string(),
    role: z.enum(USER_ROLES),
    job_title: z.string().nullable(),
    portfolio_ids: z.array(z.number().int()),
    disabled: z.boolean(),
    locked_until: z.string().nullable(),
    last_login_at: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'User' });

const toUser = (u: User): z.infer<typeof userSchema> => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  job_title: u.job_title,
  portfolio_ids: u.portfolio_ids,
  disabled: Boolean(u.disabled_at),
  locked_until: u.locked_until?.toISOString() ?? null,
  last_login_at: u.last_login_at?.toISOString() ?? null,
  created_at: u.created_at.toISOString(),
});

const idParams = z.object({ id: z.coerce.number().int().positive() });
const auditQuery = z.object({
  action: z.string().min(1).max(60).optional(),
  actor: z.string().min(1).max(254).optional(),
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export function peopleAdminRoutes(deps: { knex: Knex; people: PeopleStore; clock: Clock; config: Config }): ApiRoute[] {
  const { knex, people } = deps;
  /** The user with this id in the caller's agency (another agency's ids answer 404, as if they did not exist). */
  const userInAgency = async (res: import('express').Response, id: number): Promise<User | undefined> => {
    const user = await people.get(id);
    if (!user || user.agency_id !== principalOf(res)!.agencyId) {
      res.status(404).json({ error: 'not_found', details: `no user ${id}` });
      return undefined;
    }
    return user;
  };
  const peopleError = (res: import('express').Response, err: unknown) => {
    if (!(err instanceof PeopleError)) throw err;
    const status = err.code === 'not_found' ? 404 : err.code === 'invalid' ? 400 : 409;
    res.status(status).json({ error: err.code, details: err.message });
    return undefined;
  };

  return [
    defineRoute({
      method: 'get',
      path: '/users',
      summary: "The agency's users",
      tags: ['users'],
      role: 'admin',
      responses: { 200: { description: 'Users, oldest first', schema: z.object({ items: z.array(userSchema) }) }, 401: unauthorized, 403: forbidden },
      handler: async ({ res }) => ({ items: (await people.list({ agencyId: principalOf(res)!.agencyId })).map(toUser) }),
    }),
    defineRoute({
      method: 'post',
      path: '/users',
      summary: 'Add a user',
      description: `Role admin, supervisor or agent. The password (at least ${PASSWORD_MIN_LENGTH} characters) is stored as a bcrypt hash. portfolio_ids limits an agent to those portfolios.`,
      tags: ['users'],
      role: 'admin',
      body: newUserSchema.omit({ agency_id: true }),
      responses: { 201: { description: 'The user', schema: userSchema }, 400: invalid, 401: unauthorized, 403: forbidden, 409: { description: 'The e-mail is taken', schema: s.errorBodySchema } },
      handler: async ({ body, res }) => {
        try {
          const agencyId = principalOf(res)!.agencyId;
          if (body.portfolio_ids?.length) {
            const theirs = (await knex('portfolios').whereIn('id', body.portfolio_ids).where({ agency_id: agencyId }).select('id')) as { id: number }[];
            if (theirs.length !== new Set(body.portfolio_ids).size) throw new PeopleError('portfolio_ids: not portfolios of this agency', 'invalid');
          }
          return toUser(await people.addUser({ ...body, agency_id: agencyId }));
        } catch (err) {
          return peopleError(res, err);
        }
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/disable',
      summary: 'Disable a user: no login; their sessions and API tokens stop working',
      tags: ['users'],
      role: 'admin',
      params: idParams,
      responses: { 200: { description: 'The user', schema: userSchema }, 401: unauthorized, 403: forbidden, 404: noUser, 409: { description: 'The last active admin', schema: s.errorBodySchema } },
      handler: async ({ params, res }) => {
        const user = await userInAgency(res, params.id);
        if (!user) return undefined;
        try {
          return toUser(await people.disable(user.email));
        } catch (err) {
          return peopleError(res, err);
        }
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/enable',
      summary: 'Enable a disabled user again (and lift a lockout)',
      tags: ['users'],
      role: 'admin',
      params: idParams,
      responses: { 200: { description: 'The user', schema: userSchema }, 401: unauthorized, 403: forbidden, 404: noUser },
      handler: async ({ params, res }) => {
        const user = await userInAgency(res, params.id);
        return user ? toUser(await people.enable(user.email)) : undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/password',
      summary: "Reset a user's password (ends their sessions, lifts a lockout)",
      tags: ['users'],
      role: 'admin',
      params: idParams,
      body: z.strictObject({ password: z.string().min(PASSWORD_MIN_LENGTH).max(200) }),
      responses: { 200: { description: 'The user', schema: userSchema }, 400: invalid, 401: unauthorized, 403: forbidden, 404: noUser },
      handler: async ({ params, body, res }) => {
        const user = await userInAgency(res, params.id);
        return user ? toUser(await people.resetPassword(user.email, body.password)) : undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/me/password',
      summary: 'Change my own password',
      description: 'Needs the current password. Ends every session of the user, this one included: sign in again.',
      tags: ['users'],
      role: 'agent',
      body: z.strictObject({ current_password: z.string().min(1).max(200), new_password: z.string().min(PASSWORD_MIN_LENGTH).max(200) }),
      responses: { 200: { description: 'Changed', schema: s.okSchema }, 400: invalid, 401: unauthorized, 403: { description: 'The current password is wrong', schema: s.errorBodySchema } },
      handler: async ({ body, res }) => {
        const p = principalOf(res)!;
        if (p.userId === null) return res.status(400).json({ error: 'not_a_user', details: 'the ADMIN_TOKEN has no password' });
        if (!(await people.changeOwnPassword(p.userId, body.current_password, body.new_password))) {
          return res.status(403).json({ error: 'wrong_password', details: 'the current password is wrong' });
        }
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/me/tokens',
      summary: 'My API tokens (never the tokens themselves)',
      tags: ['users'],
      role: 'agent',
      responses: { 200: { description: 'Tokens' }, 400: invalid, 401: unauthorized },
      handler: async ({ res }) => {
        const p = principalOf(res)!;
        if (p.userId === null) return res.status(400).json({ error: 'not_a_user', details: 'API tokens belong to users; the ADMIN_TOKEN has none' });
        const items = await people.listApiTokens(p.userId);
        return { items: items.map((t) => ({ ...t, created_at: t.created_at.toISOString(), last_used_at: t.last_used_at?.toISOString() ?? null, revoked_at: t.revoked_at?.toISOString() ?? null })) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/me/tokens',
      summary: 'Create an API token for scripts',
      description: 'The token is in this answer only; it is stored as its SHA-256. Send it as `Authorization: Bearer acu_…`; it acts with your role.',
      tags: ['users'],
      role: 'agent',
      body: z.strictObject({ name: z.string().trim().min(1).max(100) }),
      responses: { 201: { description: 'The new token' }, 400: invalid, 401: unauthorized },
      handler: async ({ body, res }) => {
        const p = principalOf(res)!;
        if (p.userId === null) return res.status(400).json({ error: 'not_a_user', details: 'API tokens belong to users; the ADMIN_TOKEN has none' });
        return people.createApiToken(p.userId, body.name);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/me/tokens/:id',
      summary: 'Revoke one of my API tokens',
      tags: ['users'],
      role: 'agent',
      params: idParams,
      responses: { 200: { description: 'Revoked', schema: s.okSchema }, 401: unauthorized, 404: { description: 'No such live token of yours', schema: s.errorBodySchema } },
      handler: async ({ params, res }) => {
        const p = principalOf(res)!;
        if (p.userId === null || !(await people.revokeApiToken(p.userId, params.id))) return res.status(404).json({ error: 'not_found', details: `no live token ${params.id} of yours` });
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id/tokens/:token',
      summary: "Revoke a user's API token",
      tags: ['users'],
      role: 'admin',
      params: z.object({ id: z.coerce.number().int().positive(), token: z.coerce.number().int().positive() }),
      responses: { 200: { description: 'Revoked', schema: s.okSchema }, 401: unauthorized, 403: forbidden, 404: noUser },
      handler: async ({ params, res }) => {
        const user = await userInAgency(res, params.id);
        if (!user) return undefined;
        if (!(await people.revokeApiToken(user.id, params.token))) return res.status(404).json({ error: 'not_found', details: `no live token ${params.token}` });
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/audit',
      summary: 'The audit trail, newest first',
      description: 'Logins (and failed ones), exports, setting changes, takeovers, replies, agreement changes, document uploads and user changes: who, what, when and from where. Append-only.',
      tags: ['audit'],
      role: 'admin',
      query: auditQuery,
      responses: { 200: { description: 'Entries' }, 400: invalid, 401: unauthorized, 403: forbidden },
      handler: async ({ query, res }) => listAudit(knex, { ...query, agencyId: principalOf(res)!.agencyId }),
    }),
    defineRoute({
      method: 'get',
      path: '/audit.csv',
      summary: 'Export the audit trail as CSV',
      tags: ['audit'],
      role: 'admin',
      query: auditQuery.omit({ limit: true, offset: true }),
      responses: { 200: { description: 'The CSV file', contentType: 'text/csv' }, 400: invalid, 401: unauthorized, 403: forbidden },
      handler: async ({ query, res }) => {
        res.status(200);
        res.set('Content-Type', 'text/csv; charset=utf-8');
        res.set('Content-Disposition', `attachment; filename="auditoria-${deps.clock.now().toISOString().slice(0, 10)}.csv"`);
        res.set('Cache-Control', 'no-store');
        await writeAuditCsv(knex, { ...query, agencyId: principalOf(res)!.agencyId }, res);
        res.end();
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/agency',
      summary: "The agency's name and reply signature",
      tags: ['config'],
      role: 'admin',
      responses: { 200: { description: 'The agency' }, 401: unauthorized, 403: forbidden },
      handler: async ({ res }) => {
        const agency = await getAgency(knex, principalOf(res)!.agencyId);
        return { ...agency, display_name: agency?.name ?? deps.config.AGENCY_NAME };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/agency',
      summary: "Change the agency's name or reply signature",
      description:
        'reply_signature, when set, is sent before every agent reply: {nombre} is the agent’s first name, {cargo} their job title (asesor by default), {agencia} the agency’s name. Example: "Le escribe {nombre}, {cargo} de {agencia}." null: replies are not signed.',
      tags: ['config'],
      role: 'admin',
      body: z.strictObject({ name: z.string().trim().min(1).max(120).nullable().optional(), reply_signature: z.string().trim().min(1).max(200).nullable().optional() }),
      responses: { 200: { description: 'The agency' }, 400: invalid, 401: unauthorized, 403: forbidden },
      handler: async ({ body, res }) => updateAgency(knex, principalOf(res)!.agencyId, body, deps.clock.now()),
    }),
  ];
}
