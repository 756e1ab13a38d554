import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { requireRole, type Role } from '../admin-auth.js';

/** What the OpenAPI document needs of an operation. */
export interface DocumentedRoute {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express syntax, relative to the router's mount point: /conversations/:id */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  /** The least role allowed (see src/http/admin-auth.ts); admin when not stated. */
  role?: Role;
  query?: z.ZodType;
  params?: z.ZodType;
  body?: z.ZodType;
  /** The answers by status code. The first 2xx one is the default status. */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

/**
 * One API operation described once: its input schemas, its answers and its handler.
 * The router validates requests with the schemas and the OpenAPI document is built
 * from the same descriptions (see src/http/openapi.ts).
 */
export interface ApiRoute<Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType>
  extends DocumentedRoute {
  query?: Q;
  params?: P;
  body?: B;
  handler: (input: { query: z.output<Q>; params: z.output<P>; body: z.output<B>; req: Request; res: Response }) => Promise<unknown>;
}

/** Keeps the handler's input typed by the route's schemas. */
export function defineRoute<Q extends z.ZodType = z.ZodObject, P extends z.ZodType = z.ZodObject, B extends z.ZodType = z.ZodUnknown>(
  route: ApiRoute<Q, P, B>,
): ApiRoute {
  return route as unknown as ApiRoute;
}

/** A request that does not match its schema. Answered 400 with every problem. */
export class RequestValidationError extends Error {
  override name = 'RequestValidationError';
  constructor(
    readonly where: 'query' | 'params' | 'body',
    readonly issues: { path: string; message: string }[],
  ) {
    super(`invalid ${where}`);
  }
}

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, where: 'query' | 'params' | 'body'): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new RequestValidationError(
      where,
      parsed.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message })),
    );
  }
  return parsed.data;
}

function defaultStatus(route: ApiRoute): number {
  return Number(Object.keys(route.responses).find((s) => Number(s) >= 200 && Number(s) < 300) ?? 200);
}

/** Adds the routes to the router: role check, parse, call, answer JSON (unless the handler answered itself). */
export function mountRoutes(router: Router, routes: ApiRoute[]): void {
  for (const route of routes) {
    const handle: RequestHandler = async (req, res, next) => {
      try {
        const query = route.query ? parseOrThrow(route.query, req.query, 'query') : undefined;
        const params = route.params ? parseOrThrow(route.params, req.params, 'params') : undefined;
        const body = route.body ? parseOrThrow(route.body, req.body ?? {}, 'body') : undefined;
        const result = await route.handler({ query, params, body, req, res });
        if (!res.headersSent && result !== undefined) res.status(defaultStatus(route)).json(result);
      } catch (err) {
        next(err);
      }
    };
    router[route.method](route.path, requireRole(route.role ?? 'admin'), handle);
  }
}
