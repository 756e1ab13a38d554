/**
 * The REST chat API: the seed system's channel "api". Mounted at /api/v1/chat.
 *
 *   POST /message             { user_id, message, button_id?, message_id? }
 *   GET  /historial/:id       a conversation's messages
 *   POST /reset-conversation  { user_id }
 *   POST /test-cedula         { text } → { cedula | null }
 *
 * Bodies are validated with zod: a bad one gets 400 with the reasons. Replies are
 * delivered in the response (the outbox row is stored as sent).
 */
import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Clock } from '../core/index.js';
import type { Engine } from '../engine/index.js';

export const CHAT_API_PATH = '/api/v1/chat';

const userId = z.string({ error: 'expected the user id as text' }).trim().min(1, { error: 'must not be empty' }).max(200, { error: 'at most 200 characters' });

export const chatMessageBody = z.object({
  user_id: userId,
  message: z.string({ error: 'expected the message as text (it may be empty)' }).max(4000, { error: 'at most 4000 characters' }),
  button_id: z.string().min(1).max(200).optional(),
  /** Optional: the client's id for this message; a repeated id gets no second reply. */
  message_id: z.string().min(1).max(200).optional(),
});

export const resetBody = z.object({ user_id: userId });
export const testCedulaBody = z.object({ text: z.string({ error: 'expected the text to scan' }).max(4000, { error: 'at most 4000 characters' }) });
const conversationIdParam = z.uuid({ error: 'expected a conversation id (UUID)' });

export interface ChatReply {
  text: string;
  buttons?: { id: string; text: string }[];
}

export interface ChatMessageResponse {
  conversation_id: string;
  current_state: string;
  replies: ChatReply[];
  context: Record<string, unknown>;
  /** open | handoff (a person has it; the bot stays quiet) | closed */
  status: string;
  /** True when message_id was already handled: nothing was done. */
  duplicate: boolean;
}

export interface ChatRouterDeps {
  engine: Engine;
  /** The NLU's cédula detector (src/nlu's detectCedula). */
  detectCedula: (text: string) => string | null;
  /** "Now" for the messages' `at`. */
  /** The service's clock: the `at` of each message received over REST. */
  clock: Clock;
}

function badRequest(res: Response, error: z.ZodError): void {
  res.status(400).json({
    error: 'invalid_request',
    details: error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })),
  });
}

function parse<T extends z.ZodType>(schema: T, value: unknown, res: Response): z.infer<T> | undefined {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    badRequest(res, parsed.error);
    return undefined;
  }
  return parsed.data;
}

export function createChatRouter(deps: ChatRouterDeps): Router {
  const { engine } = deps;
  const router = Router();

  router.post('/message', async (req: Request, res: Response) => {
    const body = parse(chatMessageBody, req.body, res);
    if (!body) return;
    const result = await engine.handle({
      channel: 'api',
      from: body.user_id,
      messageId: body.message_id ?? randomUUID(),
      text: body.message,
      buttonId: body.button_id,
      at: deps.clock.now(),
    });
    const response: ChatMessageResponse = {
      conversation_id: result.conversationId,
      current_state: result.state,
      replies: result.replies.map((r) => (r.buttons?.length ? { text: r.text, buttons: r.buttons.map((b) => ({ id: b.id, text: b.text })) } : { text: r.text })),
      context: result.context,
      status: result.status,
      duplicate: result.duplicate,
    };
    res.json(response);
  });

  router.get('/historial/:conversation_id', async (req: Request, res: Response) => {
    const id = conversationIdParam.safeParse(req.params.conversation_id);
    if (!id.success) return badRequest(res, id.error);
    const transcript = await engine.transcript(id.data);
    // Only the chat API's own conversations; other channels' transcripts are for agents.
    if (!transcript || transcript.conversation.channel !== 'api') {
      res.status(404).json({ error: 'not_found', details: 'no chat API conversation with that id' });
      return;
    }
    const c = transcript.conversation;
    res.json({
      conversation_id: c.id,
      user_id: c.user_id,
      status: c.status,
      current_state: c.state,
      opened_at: c.opened_at,
      last_activity_at: c.last_activity_at,
      messages: transcript.messages.map((m) => ({
        direction: m.direction,
        author: m.author,
        text: m.text,
        button_id: m.button_id,
        buttons: m.buttons,
        intent: m.intent,
        confidence: m.confidence,
        nlu_source: m.nlu_source,
        entities: m.entities,
        previous_state: m.previous_state,
        next_state: m.next_state,
        created_at: m.created_at,
      })),
    });
  });

  router.post('/reset-conversation', async (req: Request, res: Response) => {
    const body = parse(resetBody, req.body, res);
    if (!body) return;
    const { conversationId } = await engine.reset('api', body.user_id);
    res.json({ reset: conversationId !== null, conversation_id: conversationId });
  });

  router.post('/test-cedula', (req: Request, res: Response) => {
    const body = parse(testCedulaBody, req.body, res);
    if (!body) return;
    res.json({ cedula: deps.detectCedula(body.text) });
  });

  return router;
}
