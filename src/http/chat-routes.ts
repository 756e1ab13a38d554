/**
 * The REST chat API: the seed system's channel "api". Mounted at /api/v1/chat.
 *
 *   POST /message             { user_id, message, conversation_id?, button_id?, message_id? }
 *                             (or the message id in an Idempotency-Key header)
 *   GET  /historial/:id       a conversation's messages (its UUID or its number)
 *   POST /reset-conversation  { user_id, conversation_id? }
 *   POST /test-cedula         { text } → { cedula | null }
 *
 * The seed system's clients send `user_id` and `conversation_id` as integers and read
 * `conversation_id`, `message` (the replies as one text), `current_state`, `buttons`
 * (of the last reply) and `context`; the richer `replies[]`, `status` and `duplicate`
 * sit beside them. A conversation has a UUID and a number: both are accepted anywhere
 * an id is, and the response's `conversation_id` follows the client's style (the number
 * when its ids were integers); `conversation_uuid` and `conversation_number` are both
 * always there.
 *
 * Ids go through the one normalization every layer uses (normalizeUserId); a control
 * character in any id, or a NUL in the text, is refused with 400 and a JSON reason.
 * Replies are delivered in the response (stored as the conversation's messages; nothing
 * is queued in the outbox). A message
 * sent again with the same id gets the first answer again (`duplicate: true`), so a
 * client retries safely; without an id each request is a new message (at least once).
 */
import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { hasControlCharacters, normalizeUserId, type Clock } from '../core/index.js';
import type { ChatConversations, ConversationRef, Engine } from '../engine/index.js';

export const CHAT_API_PATH = '/api/v1/chat';
const CHANNEL = 'api';
/** The largest integer id accepted (conversation numbers, integer user ids). */
const MAX_ID = 999_999_999_999_999;

const noControl = (s: string) => !hasControlCharacters(s);
const CONTROL_REASON = 'must not contain control characters';
// A message may span lines; NUL and the other control characters are never text.
// eslint-disable-next-line no-control-regex
const textOk = (s: string) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s);

/** A sender id as text or as an integer (the seed system's clients send integers). */
const userId = z
  .union([z.string({ error: 'expected the user id as text or an integer' }), z.int({ error: 'expected the user id as text or an integer' }).nonnegative().max(MAX_ID)])
  .refine((v) => typeof v === 'number' || noControl(v), { error: CONTROL_REASON })
  .transform((v) => normalizeUserId(CHANNEL, v))
  .pipe(z.string().min(1, { error: 'must not be empty' }).max(200, { error: 'at most 200 characters' }));

/** A conversation's UUID or number, as text or as an integer. */
const conversationInt = z.int({ error: 'expected the conversation id as an integer or text' }).positive().max(MAX_ID);
const conversationText = z
    .string({ error: 'expected the conversation id as an integer or text' })
    .min(1)
    .max(64, { error: 'at most 64 characters' })
    .refine(noControl, { error: CONTROL_REASON })
    .refine((v) => /^\d{1,15}$/.test(v) || z.uuid().safeParse(v).success, { error: 'expected a conversation number or UUID' });
const conversationRef = z.union([conversationInt, conversationText]);
/** In a body: optional, and null counts as absent. */
const optionalConversationRef = z.union([conversationInt, conversationText, z.null()]).optional();

const clientId = z
  .union([z.string({ error: 'expected the message id as text or an integer' }), z.int().nonnegative().max(MAX_ID)])
  .transform((v) => String(v).trim())
  .pipe(z.string().min(1, { error: 'must not be empty' }).max(200, { error: 'at most 200 characters' }).refine(noControl, { error: CONTROL_REASON }));

export const chatMessageBody = z.object({
  user_id: userId,
  message: z
    .string({ error: 'expected the message as text (it may be empty)' })
    .max(4000, { error: 'at most 4000 characters' })
    .refine(textOk, { error: 'must not contain NUL or other control characters (line breaks and tabs are fine)' }),
  conversation_id: optionalConversationRef,
  button_id: z.string().min(1).max(200).refine(noControl, { error: CONTROL_REASON }).optional(),
  /** Optional: the client's id for this message; a repeated id gets the first answer again. */
  message_id: clientId.optional(),
});

export const resetBody = z.object({ user_id: userId, conversation_id: optionalConversationRef });
export const testCedulaBody = z.object({
  text: z.string({ error: 'expected the text to scan' }).max(4000, { error: 'at most 4000 characters' }).refine(textOk, { error: 'must not contain NUL or other control characters' }),
});
const idempotencyKey = clientId;

export interface ChatButton {
  id: string;
  text: string;
}

export interface ChatReply {
  text: string;
  buttons?: ChatButton[];
}

export interface ChatMessageResponse {
  /** The conversation's number when the client sent integer ids (the seed's style), else its UUID. */
  conversation_id: string | number;
  conversation_uuid: string;
  conversation_number: number;
  /** The seed's reply: every reply's text, in order, as one message. */
  message: string;
  current_state: string;
  /** The seed's buttons: those of the last reply. */
  buttons: ChatButton[];
  context: Record<string, unknown>;
  replies: ChatReply[];
  /** open | handoff (a person has it; the bot stays quiet) | closed */
  status: string;
  /** True when the message id was already handled: the first answer, nothing done again. */
  duplicate: boolean;
}

export interface ChatRouterDeps {
  engine: Engine;
  /** Conversation numbers and the replay of saved turns (src/engine's createChatConversations). */
  conversations: ChatConversations;
  /** The NLU's cédula detector (src/nlu's detectCedula). */
  detectCedula: (text: string) => string | null;
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

function notFound(res: Response): void {
  res.status(404).json({ error: 'not_found', details: 'no chat API conversation with that id for this user' });
}

/** The client's message id, stored per sender: two senders may both call their message "1". */
const externalId = (user: string, id: string) => `${user}\u001f${id}`;

function toChatReply(r: { text: string; buttons?: { id: string; text: string }[] }): ChatReply {
  return r.buttons?.length ? { text: r.text, buttons: r.buttons.map((b) => ({ id: b.id, text: b.text })) } : { text: r.text };
}

export function createChatRouter(deps: ChatRouterDeps): Router {
  const { engine, conversations } = deps;
  const router = Router();
  /** UUID → number; a conversation's number never changes. */
  const numbers = new Map<string, number>();

  async function numberOf(uuid: string): Promise<number> {
    const known = numbers.get(uuid);
    if (known !== undefined) return known;
    const ref = await conversations.find(uuid);
    if (!ref) return 0;
    if (numbers.size >= 10_000) numbers.delete(numbers.keys().next().value as string);
    numbers.set(uuid, ref.number);
    return ref.number;
  }

  /** The referenced conversation when it is this sender's chat API conversation; false when it is someone else's. */
  async function ownConversation(ref: string | number | null | undefined, user: string): Promise<ConversationRef | undefined | false> {
    if (ref === undefined || ref === null) return undefined;
    const found = await conversations.find(ref);
    if (!found) return undefined;
    return found.channel === CHANNEL && found.user_id === user ? found : false;
  }

  router.post('/message', async (req: Request, res: Response) => {
    const body = parse(chatMessageBody, req.body, res);
    if (!body) return;
    const header = req.get('idempotency-key');
    let clientMessageId = body.message_id;
    if (header !== undefined) {
      const key = idempotencyKey.safeParse(header);
      if (!key.success) return badRequest(res, new z.ZodError(key.error.issues.map((i) => ({ ...i, path: ['Idempotency-Key'] }))));
      if (clientMessageId !== undefined && clientMessageId !== key.data) {
        res.status(400).json({ error: 'invalid_request', details: [{ field: 'message_id', message: 'differs from the Idempotency-Key header' }] });
        return;
      }
      clientMessageId = key.data;
    }
    // A conversation id that is this sender's continues it (the engine keeps one live conversation
    // per sender); an unknown one is ignored and the answer says which conversation it went to.
    if ((await ownConversation(body.conversation_id, body.user_id)) === false) return notFound(res);

    const messageId = clientMessageId === undefined ? randomUUID() : externalId(body.user_id, clientMessageId);
    let result = await engine.handle({
      channel: CHANNEL,
      from: body.user_id,
      messageId,
      text: body.message,
      buttonId: body.button_id,
      at: deps.clock.now(),
    });
    if (result.duplicate && clientMessageId !== undefined) {
      // A retry: the answer the first delivery saved, not an empty one.
      const first = await conversations.replay(CHANNEL, messageId);
      if (first && first.conversation.user_id === body.user_id) {
        result = { ...result, conversationId: first.conversation.id, state: first.state, replies: first.replies, context: first.context, status: first.conversation.status as typeof result.status };
      }
    }
    const replies = result.replies.map(toChatReply);
    const number = result.conversationId ? await numberOf(result.conversationId) : 0;
    const seedStyle = typeof req.body?.user_id === 'number' || typeof req.body?.conversation_id === 'number';
    const response: ChatMessageResponse = {
      conversation_id: seedStyle ? number : result.conversationId,
      conversation_uuid: result.conversationId,
      conversation_number: number,
      message: replies.map((r) => r.text).join('\n\n'),
      current_state: result.state,
      buttons: replies.at(-1)?.buttons ?? [],
      context: result.context,
      replies,
      status: result.status,
      duplicate: result.duplicate,
    };
    res.json(response);
  });

  router.get('/historial/:conversation_id', async (req: Request, res: Response) => {
    const id = conversationRef.safeParse(req.params.conversation_id);
    if (!id.success) return badRequest(res, id.error);
    const ref = await conversations.find(id.data);
    const transcript = ref ? await engine.transcript(ref.id) : undefined;
    // Only the chat API's own conversations; other channels' transcripts are for agents.
    if (!ref || !transcript || transcript.conversation.channel !== CHANNEL) {
      res.status(404).json({ error: 'not_found', details: 'no chat API conversation with that id' });
      return;
    }
    const c = transcript.conversation;
    res.json({
      conversation_id: typeof id.data === 'number' || /^\d+$/.test(id.data) ? ref.number : c.id,
      conversation_uuid: c.id,
      conversation_number: ref.number,
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
    const named = await ownConversation(body.conversation_id, body.user_id);
    if (named === false || (named === undefined && body.conversation_id != null)) return notFound(res);
    const { conversationId } = await engine.reset(CHANNEL, body.user_id);
    const seedStyle = typeof req.body?.user_id === 'number' || typeof req.body?.conversation_id === 'number';
    const number = conversationId ? await numberOf(conversationId) : null;
    res.json({ reset: conversationId !== null, conversation_id: seedStyle ? number : conversationId, conversation_number: number });
  });

  router.post('/test-cedula', (req: Request, res: Response) => {
    const body = parse(testCedulaBody, req.body, res);
    if (!body) return;
    res.json({ cedula: deps.detectCedula(body.text) });
  });

  return router;
}
