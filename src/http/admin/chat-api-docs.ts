import { z } from 'zod';
import { chatMessageBody, CHAT_API_PATH, resetBody, testCedulaBody } from '../chat-routes.js';
import type { DocumentedRoute } from './route.js';
import { errorBodySchema } from './schemas.js';

/**
 * The REST chat API as the OpenAPI document shows it. The request bodies are the very
 * schemas src/http/chat-routes.ts validates with; the answers are described here and
 * checked against the real answers in test/admin/openapi.test.ts.
 */

const button = z.object({ id: z.string(), text: z.string() });
export const chatReplySchema = z.object({ text: z.string(), buttons: z.array(button).optional() }).meta({ id: 'ChatReply' });

export const chatMessageResponseSchema = z
  .object({
    conversation_id: z.string(),
    current_state: z.string().describe('The flow state after the turn'),
    replies: z.array(chatReplySchema),
    context: z.record(z.string(), z.unknown()).describe('Conversation context (debtor data only once the cédula matched)'),
    status: z.enum(['open', 'handoff', 'closed']).describe('handoff: a person has the conversation and the bot stays quiet'),
    duplicate: z.boolean().describe('True when message_id was already handled: nothing was done'),
  })
  .meta({ id: 'ChatMessageResponse' });

export const chatHistorySchema = z
  .object({
    conversation_id: z.string(),
    user_id: z.string(),
    status: z.string(),
    current_state: z.string(),
    opened_at: z.string(),
    last_activity_at: z.string(),
    messages: z.array(
      z.object({
        direction: z.enum(['in', 'out']),
        author: z.enum(['debtor', 'bot', 'agent', 'system']),
        text: z.string().nullable(),
        button_id: z.string().nullable(),
        buttons: z.array(button).nullable(),
        intent: z.string().nullable(),
        confidence: z.number().nullable(),
        nlu_source: z.string().nullable(),
        entities: z.record(z.string(), z.unknown()).nullable(),
        previous_state: z.string().nullable(),
        next_state: z.string().nullable(),
        created_at: z.string(),
      }),
    ),
  })
  .meta({ id: 'ChatHistory' });

export const chatResetResponseSchema = z
  .object({ reset: z.boolean(), conversation_id: z.string().nullable() })
  .meta({ id: 'ChatResetResponse' });
export const testCedulaResponseSchema = z
  .object({ cedula: z.string().nullable().meta({ example: '93388915' }) })
  .meta({ id: 'TestCedulaResponse' });
export const healthResponseSchema = z
  .object({ status: z.enum(['ok', 'unavailable']), database: z.enum(['ok', 'unreachable']), service: z.string(), time: z.string() })
  .meta({ id: 'Health' });

const invalid = { description: 'The body does not match its schema', schema: errorBodySchema };
const limited = { description: 'Too many messages from this sender in a minute', schema: errorBodySchema };
const tags = ['chat'];

/** The chat API's operations, relative to /api/v1/chat. */
export const chatApiRoutes: DocumentedRoute[] = [
  {
    method: 'post',
    path: '/message',
    summary: 'Send a debtor’s message and get the bot’s replies',
    tags,
    body: chatMessageBody.meta({ id: 'ChatMessageRequest' }),
    responses: { 200: { description: 'The turn’s replies', schema: chatMessageResponseSchema }, 400: invalid, 413: invalid, 429: limited },
  },
  {
    method: 'get',
    path: '/historial/:conversation_id',
    summary: 'A chat API conversation’s messages',
    tags,
    params: z.object({ conversation_id: z.uuid() }),
    responses: {
      200: { description: 'Every message, oldest first', schema: chatHistorySchema },
      400: invalid,
      404: { description: 'No chat API conversation with that id', schema: errorBodySchema },
    },
  },
  {
    method: 'post',
    path: '/reset-conversation',
    summary: 'Close the sender’s live conversation',
    tags,
    body: resetBody.meta({ id: 'ChatResetRequest' }),
    responses: { 200: { description: 'Whether a conversation was closed', schema: chatResetResponseSchema }, 400: invalid, 429: limited },
  },
  {
    method: 'post',
    path: '/test-cedula',
    summary: 'Find a cédula in a text',
    tags,
    body: testCedulaBody.meta({ id: 'TestCedulaRequest' }),
    responses: { 200: { description: 'The cédula found, or null', schema: testCedulaResponseSchema }, 400: invalid, 429: limited },
  },
  {
    method: 'get',
    path: '/test',
    summary: 'Health check',
    tags,
    responses: {
      200: { description: 'The service and its database are up', schema: healthResponseSchema },
      503: { description: 'The database is unreachable', schema: healthResponseSchema },
    },
  },
];

export const CHAT_API = { basePath: CHAT_API_PATH, routes: chatApiRoutes };
