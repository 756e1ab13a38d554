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

const conversationId = z
  .union([z.int(), z.string()])
  .describe('The conversation: its number when the request sent integer ids (the seed system’s style), else its UUID');
export const chatMessageResponseSchema = z
  .object({
    conversation_id: conversationId,
    conversation_uuid: z.string().describe('The conversation’s UUID'),
    conversation_number: z.int().describe('The conversation’s number (the seed system’s id)'),
    message: z.string().describe('The seed system’s reply: every reply’s text, in order, separated by a blank line'),
    current_state: z.string().describe('The flow state after the turn'),
    buttons: z.array(button).describe('The seed system’s buttons: those of the last reply (empty when it has none)'),
    context: z.record(z.string(), z.unknown()).describe('Conversation context (debtor data only once the cédula matched)'),
    replies: z.array(chatReplySchema).describe('Each reply with its own buttons'),
    status: z.enum(['open', 'handoff', 'closed']).describe('handoff: a person has the conversation and the bot stays quiet'),
    duplicate: z.boolean().describe('True when the message id was already handled: the first answer again, nothing done twice'),
  })
  .meta({ id: 'ChatMessageResponse' });

export const chatHistorySchema = z
  .object({
    conversation_id: conversationId,
    conversation_uuid: z.string(),
    conversation_number: z.int(),
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
  .object({
    status: z.enum(['ok', 'unavailable']),
    database: z.enum(['ok', 'unreachable']),
    reason: z.string().optional().describe('Why the database is unavailable (down, restarting: attempt n of m, failed)'),
    service: z.string(),
    time: z.string(),
  })
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
    description:
      'Accepts the seed system’s request as it was (`{"user_id": 1, "message": "93388915", "conversation_id": 1}`: integers or text) and answers with its fields (`conversation_id`, `message`, `current_state`, `buttons`, `context`) beside `replies[]`. Send `message_id` or an `Idempotency-Key` header to retry safely: a repeated id gets the first answer again with `duplicate: true`.',
    responses: {
      200: { description: 'The turn’s replies', schema: chatMessageResponseSchema },
      400: invalid,
      404: { description: 'conversation_id names another sender’s conversation', schema: errorBodySchema },
      413: invalid,
      429: limited,
    },
  },
  {
    method: 'get',
    path: '/historial/:conversation_id',
    summary: 'A chat API conversation’s messages',
    tags,
    params: z.object({ conversation_id: z.string().describe('The conversation’s UUID or its number') }),
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
      503: { description: 'The database is unreachable or restarting (with Retry-After)', schema: healthResponseSchema },
    },
  },
];

export const CHAT_API = { basePath: CHAT_API_PATH, routes: chatApiRoutes };
