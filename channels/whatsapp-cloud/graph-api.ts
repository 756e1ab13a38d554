import { ChannelApiError } from '../../src/core/index.js';

/** What the adapter needs to call Meta's Graph API for one business phone number. */
export interface GraphApiSettings {
  token: string;
  phoneNumberId: string;
  /** e.g. v21.0 */
  apiVersion: string;
  /** https://graph.facebook.com, or a local fake in tests. */
  baseUrl: string;
  /** Per request; default 15 s. */
  timeoutMs?: number;
}

/** A Cloud API message body without the envelope fields the client adds. */
export type GraphMessage = { type: string } & Record<string, unknown>;

/** Error codes that mean "too many, try again later" (throughput, per-user pair rate, WABA rate, app rate). */
const RATE_LIMITED = new Set([130429, 131056, 80007, 4]);
/** Error codes for a temporary failure on Meta's side. */
const TEMPORARY = new Set([1, 2, 131000, 131016, 133004]);
/** More than 24 hours since the user last wrote: only a template can open the conversation again. */
export const OUTSIDE_WINDOW = 131047;
/** Meta asks for this pause between two messages to the same user after a 131056. */
const PAIR_RATE_PAUSE_MS = 6000;

interface GraphErrorBody {
  error?: { message?: string; code?: number; error_data?: { details?: string }; fbtrace_id?: string };
}

/** The explanation operators read when a reply could not go out because the 24-hour window closed. */
export function outsideWindowExplanation(details?: string): string {
  return (
    `WhatsApp Cloud API error ${OUTSIDE_WINDOW}: more than 24 hours have passed since the debtor last wrote, ` +
    'so only an approved message template can reach them now' +
    (details ? ` (${details})` : '')
  );
}

/**
 * The Cloud API's send endpoint, POST /{version}/{phone-number-id}/messages. Every
 * failure becomes a ChannelApiError whose `retryable` the outbox acts on: rate limits
 * and Meta's temporary errors are retried, everything else (a closed 24-hour window,
 * a bad token, an invalid request) is not.
 */
export class GraphApi {
  constructor(private readonly settings: GraphApiSettings) {}

  /** Sends one message to `to` (a WhatsApp id: the phone in international digits) and returns its wamid. */
  async sendMessage(to: string, message: GraphMessage): Promise<string> {
    const { baseUrl, apiVersion, phoneNumberId, token, timeoutMs } = this.settings;
    const url = `${baseUrl.replace(/\/+$/, '')}/${apiVersion}/${phoneNumberId}/messages`;
    const body = JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to, ...message });
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs ?? 15_000),
      });
    } catch (cause) {
      throw new ChannelApiError('WhatsApp Cloud API unreachable', 'whatsapp-cloud', { retryable: true, cause });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) {
      const id = (parsed as { messages?: { id?: unknown }[] } | undefined)?.messages?.[0]?.id;
      if (typeof id !== 'string') {
        throw new ChannelApiError('WhatsApp Cloud API answered without a message id', 'whatsapp-cloud', { retryable: false });
      }
      return id;
    }
    throw graphError(res, (parsed as GraphErrorBody | undefined)?.error);
  }
}

function graphError(res: Response, error: GraphErrorBody['error']): ChannelApiError {
  const code = error?.code;
  const details = error?.error_data?.details;
  const retryAfterHeader = Number(res.headers.get('retry-after'));
  const headerMs = Number.isFinite(retryAfterHeader) && retryAfterHeader > 0 ? retryAfterHeader * 1000 : undefined;
  const summary = `WhatsApp Cloud API ${res.status}${code !== undefined ? ` error ${code}` : ''}: ${error?.message ?? res.statusText}`;
  if (code === OUTSIDE_WINDOW) {
    return new ChannelApiError(outsideWindowExplanation(details), 'whatsapp-cloud', { retryable: false, code });
  }
  if (code !== undefined && RATE_LIMITED.has(code)) {
    const retryAfterMs = headerMs ?? (code === 131056 ? PAIR_RATE_PAUSE_MS : undefined);
    return new ChannelApiError(summary, 'whatsapp-cloud', { retryable: true, code, ...(retryAfterMs ? { retryAfterMs } : {}) });
  }
  const retryable = (code !== undefined && TEMPORARY.has(code)) || res.status === 429 || res.status >= 500;
  return new ChannelApiError(summary + (details ? ` (${details})` : ''), 'whatsapp-cloud', {
    retryable,
    code: code ?? res.status,
    ...(headerMs ? { retryAfterMs: headerMs } : {}),
  });
}
