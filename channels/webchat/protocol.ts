/**
 * The web chat's wire format, shared by the server (channels/webchat) and the widget
 * (channels/webchat/widget). Types and constants only: the widget bundles this file.
 *
 * HTTP:
 *   POST {session}                          → 201 { token, visitorId }
 *   GET  {history}?after=ID  Bearer token   → 200 HistoryResponse | 401 { error: 'bad_signature' }
 * WebSocket at {socket}: the client's first frame is `hello`; the server answers
 * `welcome` and the messages after the client's cursor, then pushes every new message.
 */

export const WEBCHAT_PATHS = {
  widget: '/widget.js',
  session: '/webchat/v1/session',
  history: '/webchat/v1/history',
  socket: '/webchat/v1/socket',
} as const;

/** WebSocket close code for a token whose signature does not verify. */
export const CLOSE_BAD_SIGNATURE = 4401;

/** One line of the conversation as the widget shows it. */
export interface ChatMessage {
  /** The messages table's id: increasing, the cursor for "what I have already". */
  id: number;
  from: 'visitor' | 'bot' | 'agent';
  text: string;
  buttons?: { id: string; text: string }[];
  /** ISO 8601. */
  at: string;
  /** For the visitor's own messages: the id the widget gave it, to replace its pending bubble. */
  clientId?: string;
}

export interface Limits {
  /** The longest message the server accepts, in characters. */
  maxChars: number;
}

export interface SessionResponse {
  token: string;
  visitorId: string;
}

export interface HistoryResponse {
  visitorId: string;
  messages: ChatMessage[];
  limits: Limits;
}

export type ClientFrame =
  | { type: 'hello'; token: string; after: number }
  | { type: 'message'; clientId: string; text?: string; buttonId?: string };

export type ErrorCode = 'bad_signature' | 'rate_limited' | 'too_long' | 'invalid' | 'unavailable';

export type ServerFrame =
  | { type: 'welcome'; visitorId: string; limits: Limits }
  | { type: 'messages'; messages: ChatMessage[] }
  | { type: 'typing'; on: boolean }
  /** The message was taken (or had been already: duplicate). Its rows come in a `messages` frame first. */
  | { type: 'ack'; clientId: string; duplicate: boolean }
  | { type: 'error'; code: ErrorCode; clientId?: string; retryAfterMs?: number; message?: string };

/** The ids the widget makes for its messages: 8–64 URL-safe characters. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
