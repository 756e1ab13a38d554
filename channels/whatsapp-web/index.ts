import path from 'node:path';
import type { Express } from 'express';
import QRCode from 'qrcode';
import qrcodeTerminal from 'qrcode-terminal';
import type { InboundMessage, OutboundChannel, Reply } from '../../src/core/index.js';
import { ChannelApiError, renderNumberedOptions, withSendProgress } from '../../src/core/index.js';
import { KeyedSerialQueue } from '../../src/core/index.js';
import type { ChannelAdapter, ChannelPorts } from '../types.js';
import { webJsClientFactory, type WebClient, type WebClientFactory, type WebMessage } from './client.js';
import { chatIdForUser, LID_CHAT, startFailureHint, toInbound, userIdForChat } from './messages.js';
import { Pacer, realTimers, Sleeper, type PacingOptions, type Timers } from './pacer.js';

export type { WebChat, WebClient, WebClientFactory, WebMessage, WebMessageId } from './client.js';
export { chromiumArgs } from './client.js';
export { chatIdForUser, toInbound, userIdForChat } from './messages.js';
export type { PacingOptions, Timers } from './pacer.js';

/** The operator's QR code for linking the phone, behind the admin token. */
export const QR_PATH = '/api/v1/admin/whatsapp/qr';
export const STATUS_PATH = '/api/v1/admin/whatsapp/status';

export type WhatsAppWebState = 'starting' | 'qr' | 'ready' | 'disconnected' | 'stopped';

export interface WhatsAppWebStatus extends Record<string, unknown> {
  state: WhatsAppWebState;
  /** Set while a QR is waiting to be scanned. */
  qrAt?: string;
  readyAt?: string;
  /** Why the session was last lost (a WhatsApp state such as CONFLICT, or LOGOUT). */
  lastDisconnect?: { reason: string; at: string };
  /** What the last start failure points at: the network or Chromium. */
  hint?: string;
  /** When the next reconnection attempt is due, while disconnected. */
  reconnectAt?: string;
  reconnectAttempts: number;
}

export interface WhatsAppWebChannel extends ChannelAdapter {
  readonly name: 'whatsapp-web';
  status(): WhatsAppWebStatus;
  /** The QR waiting to be scanned, as WhatsApp encodes it; undefined unless the state is "qr". */
  currentQr(): string | undefined;
  /** Resolves when every inbound message received so far has been handled. */
  idle(): Promise<void>;
}

export interface WhatsAppWebOptions {
  /** Builds the whatsapp-web.js client; tests pass a fake. Default: the real Client with LocalAuth and Chromium. */
  clientFactory?: WebClientFactory;
  timers?: Timers;
  /** Shows a QR to the operator at the terminal. Default: qrcode-terminal on stdout. */
  printQr?: (qr: string) => void;
  pacing?: Partial<PacingOptions>;
  /** Reconnection backoff: base × 2^attempt, at most max. */
  reconnect?: { baseMs: number; maxMs: number };
  /** After a LOGOUT, rebuild the client if WhatsApp Web shows no new QR within this time. */
  logoutQrWaitMs?: number;
}

const DEFAULT_RECONNECT = { baseMs: 2_000, maxMs: 5 * 60_000 };
/** Retry a reply after this long when the phone is not linked. */
const NOT_READY_RETRY_MS = 30_000;
/** How many inbound message ids to remember for dropping re-emitted messages. */
const RECENT_IDS = 2_000;

function printToTerminal(qr: string): void {
  // On stderr when stdout carries JSON log lines, so the drawing does not break them.
  const out = process.stdout.isTTY ? process.stdout : process.stderr;
  qrcodeTerminal.generate(qr, { small: true }, (drawing) => {
    out.write(`\nScan this QR with WhatsApp on the collection phone (Linked devices → Link a device):\n${drawing}\n`);
  });
}

/**
 * A linked phone through whatsapp-web.js. The session (LocalAuth under
 * DATA_DIR/whatsapp) survives restarts; until the phone is linked the QR is printed
 * in the terminal and served as a PNG at GET /api/v1/admin/whatsapp/qr. A lost
 * connection is rebuilt with backoff; a LOGOUT goes back to the QR.
 *
 * Only one-to-one chats reach the engine. Buttons go out as a numbered list (WhatsApp
 * Web cannot show buttons); the engine reads "1", "2" or the option's text back.
 * Replies are paced like a person typing, within a maximum rate for the number.
 */
export function createWhatsAppWebChannel(ports: ChannelPorts, options: WhatsAppWebOptions = {}): WhatsAppWebChannel {
  const log = ports.log.child({ channel: 'whatsapp-web' });
  const timers = options.timers ?? realTimers;
  const printQr = options.printQr ?? printToTerminal;
  const backoff = options.reconnect ?? DEFAULT_RECONNECT;
  const logoutQrWaitMs = options.logoutQrWaitMs ?? 60_000;
  const pacer = new Pacer(
    {
      msPerChar: ports.config.WHATSAPP_WEB_TYPING_MS_PER_CHAR,
      maxTypingMs: ports.config.WHATSAPP_WEB_TYPING_MAX_MS,
      maxPerMinute: ports.config.WHATSAPP_WEB_MAX_PER_MINUTE,
      maxQueueMs: 20_000,
      ...options.pacing,
    },
    timers,
  );
  const sleeper = new Sleeper(timers);

  let factory = options.clientFactory;
  let client: WebClient | undefined;
  let qr: string | undefined;
  let stopped = false;
  let reconnectTimer: unknown;
  let logoutTimer: unknown;
  const status: WhatsAppWebStatus = { state: 'stopped', reconnectAttempts: 0 };
  const recentIds = new Set<string>();
  /** A chat's turns run one after another, in order. */
  const chats = new KeyedSerialQueue();

  function setState(state: WhatsAppWebState): void {
    status.state = state;
    if (state !== 'qr') {
      qr = undefined;
      delete status.qrAt;
    }
    if (state !== 'disconnected') delete status.reconnectAt;
  }

  function clearTimer(handle: unknown): undefined {
    if (handle !== undefined) timers.clearTimeout(handle);
    return undefined;
  }

  async function resolveFactory(): Promise<WebClientFactory> {
    factory ??= await webJsClientFactory({
      dataPath: path.join(ports.config.dataDir, 'whatsapp'),
      chromiumPath: ports.config.CHROMIUM_PATH,
      runningAsRoot: process.getuid?.() === 0,
    });
    return factory;
  }

  function connect(make: WebClientFactory): void {
    const c = make();
    client = c;
    setState('starting');
    c.on('qr', (code) => {
      if (client !== c) return;
      logoutTimer = clearTimer(logoutTimer);
      const first = qr === undefined;
      setState('qr');
      qr = code;
      status.qrAt = ports.clock.now().toISOString();
      if (first) log.info(`WhatsApp Web is waiting to be linked: scan the QR in the terminal or at ${QR_PATH}`);
      printQr(code);
    });
    c.on('authenticated', () => {
      if (client !== c) return;
      logoutTimer = clearTimer(logoutTimer);
      setState('starting');
      log.info('WhatsApp Web authenticated; loading chats');
    });
    c.on('ready', () => {
      if (client !== c) return;
      logoutTimer = clearTimer(logoutTimer);
      setState('ready');
      status.readyAt = ports.clock.now().toISOString();
      status.reconnectAttempts = 0;
      log.info('WhatsApp Web is ready');
    });
    c.on('auth_failure', (message) => {
      if (client !== c) return;
      log.warn({ reason: message }, 'WhatsApp Web could not restore the session');
      lost('AUTH_FAILURE');
    });
    c.on('disconnected', (reason) => {
      if (client !== c || stopped) return;
      if (reason === 'LOGOUT') {
        status.lastDisconnect = { reason, at: ports.clock.now().toISOString() };
        // The phone unlinked us. whatsapp-web.js clears the session and shows a new QR;
        // if none comes, the client is rebuilt, which starts from the QR as well.
        log.warn('WhatsApp Web was logged out from the phone; link it again with the new QR');
        setState('qr');
        logoutTimer = clearTimer(logoutTimer);
        logoutTimer = timers.setTimeout(() => {
          logoutTimer = undefined;
          if (!stopped && client === c && status.state === 'qr' && !qr) void restart();
        }, logoutQrWaitMs);
        return;
      }
      log.warn({ reason }, 'WhatsApp Web disconnected; reconnecting');
      lost(String(reason));
    });
    c.on('message', (message) => {
      if (client === c) receive(message);
    });
    c.initialize().catch((err: unknown) => {
      if (client !== c || stopped) return;
      // The hint names what failed: the network (WhatsApp's servers unreachable) or the browser.
      const { reason, hint } = startFailureHint(err);
      status.hint = hint;
      log.error({ err }, hint);
      lost(reason);
    });
  }

  function lost(reason: string): void {
    if (stopped) return;
    status.lastDisconnect = { reason, at: ports.clock.now().toISOString() };
    setState('disconnected');
    if (reconnectTimer !== undefined) return;
    const delay = Math.min(backoff.maxMs, backoff.baseMs * 2 ** status.reconnectAttempts);
    status.reconnectAttempts++;
    status.reconnectAt = new Date(ports.clock.now().getTime() + delay).toISOString();
    reconnectTimer = timers.setTimeout(() => {
      reconnectTimer = undefined;
      void restart();
    }, delay);
  }

  /** Tears the current client down (its browser too) and starts a fresh one. */
  async function restart(): Promise<void> {
    const old = client;
    client = undefined;
    if (old) {
      old.removeAllListeners();
      await old.destroy().catch((err: unknown) => log.debug({ err }, 'closing the old WhatsApp Web client failed'));
    }
    if (stopped) return;
    try {
      connect(await resolveFactory());
    } catch (err) {
      log.error({ err }, 'WhatsApp Web client could not be created');
      lost('CREATE_FAILED');
    }
  }

  /**
   * One person writes from "57300…@c.us" or from a linked id "…@lid" depending on the
   * device and WhatsApp's privacy rollout: WhatsApp's own lid→phone mapping makes both
   * the same channel user (the phone's digits), so one debtor has one conversation.
   * Without a mapping (older library, number hidden) the linked id stays the user.
   */
  const phoneOfLid = new Map<string, string>();
  async function sameUser(inbound: InboundMessage, c: WebClient | undefined): Promise<InboundMessage> {
    if (!LID_CHAT.test(inbound.from) || !c?.getContactLidAndPhone) return inbound;
    let phone = phoneOfLid.get(inbound.from);
    if (phone === undefined) {
      const [entry] = await c.getContactLidAndPhone([inbound.from]).catch((err: unknown) => {
        log.debug({ err }, 'WhatsApp Web could not map a linked id to its number');
        return [];
      });
      phone = entry?.pn ? userIdForChat(entry.pn) : '';
      if (phone && !/^\d+$/.test(phone)) phone = '';
      if (phoneOfLid.size >= RECENT_IDS) phoneOfLid.delete(phoneOfLid.keys().next().value as string);
      phoneOfLid.set(inbound.from, phone);
    }
    return phone ? { ...inbound, from: phone } : inbound;
  }

  function receive(message: WebMessage): void {
    const inbound = toInbound(message, ports.clock.now());
    if (!inbound) return;
    // whatsapp-web.js can emit a message again (e.g. after a reconnect); the engine also drops repeats.
    if (recentIds.has(inbound.messageId)) return;
    recentIds.add(inbound.messageId);
    if (recentIds.size > RECENT_IDS) recentIds.delete(recentIds.values().next().value as string);
    // In arrival order per chat; a linked id is mapped to its number inside the queue.
    const c = client;
    const mapped = LID_CHAT.test(inbound.from) && c?.getContactLidAndPhone !== undefined;
    void chats.run(inbound.from, mapped ? async () => handle(await sameUser(inbound, c)) : () => handle(inbound));
  }

  async function handle(inbound: InboundMessage): Promise<void> {
    try {
      const turn = await ports.engine.handle(inbound);
      if (turn.duplicate) log.debug({ messageId: inbound.messageId }, 'repeated WhatsApp Web message dropped');
    } catch (err) {
      // Forget the id so that a re-emitted copy gets another chance.
      recentIds.delete(inbound.messageId);
      log.error({ err, messageId: inbound.messageId }, 'WhatsApp Web message could not be handled');
    }
  }

  const outbound: OutboundChannel = {
    name: 'whatsapp-web',
    async send(to: string, replies: Reply[]) {
      const c = client;
      if (!c || status.state !== 'ready') {
        throw new ChannelApiError(`WhatsApp Web is not ready (state: ${status.state})`, 'whatsapp-web', {
          retryable: true,
          retryAfterMs: NOT_READY_RETRY_MS,
        });
      }
      const chatId = chatIdForUser(to);
      const rendered = replies.map(renderNumberedOptions);
      // Which reply each message is; replies that render to nothing are skipped.
      const replyOf = rendered.flatMap((t, i) => (t.trim().length > 0 ? [i] : []));
      const texts = replyOf.map((i) => rendered[i]!);
      const reserved = pacer.reserve(texts);
      if ('waitMs' in reserved) {
        throw new ChannelApiError('WhatsApp Web sending is paced; this reply waits for its turn', 'whatsapp-web', {
          retryable: true,
          retryAfterMs: reserved.waitMs,
        });
      }
      const externalIds: string[] = [];
      let sent = 0;
      try {
        for (const [i, text] of texts.entries()) {
          const slot = reserved.slots[i]!;
          await sleeper.until(slot.typingAt);
          if (slot.sendAt > slot.typingAt) {
            const chat = await c.getChatById(chatId).catch(() => undefined);
            await chat?.sendStateTyping().catch(() => undefined);
          }
          await sleeper.until(slot.sendAt);
          if (client !== c || status.state !== 'ready') {
            throw new ChannelApiError('WhatsApp Web disconnected while sending', 'whatsapp-web', { retryable: true, retryAfterMs: NOT_READY_RETRY_MS });
          }
          try {
            externalIds.push((await c.sendMessage(chatId, text)).id._serialized);
            sent++;
          } catch (cause) {
            throw new ChannelApiError('WhatsApp Web could not send the message', 'whatsapp-web', { retryable: true, cause });
          }
        }
      } catch (err) {
        // Every reply before the first unsent message went out (empty ones need nothing).
        throw withSendProgress(err, 'whatsapp-web', replyOf[sent] ?? replies.length, externalIds);
      }
      const externalId = externalIds.at(-1);
      return externalId ? { externalId, externalIds } : undefined;
    },
  };

  const adapter: WhatsAppWebChannel = {
    name: 'whatsapp-web',
    outbound,
    mount(app: Express) {
      const admin = ports.adminGuard;
      app.get(QR_PATH, admin, async (_req, res) => {
        res.set('Cache-Control', 'no-store');
        if (status.state !== 'qr' || !qr) {
          res.status(409).json({ error: 'no_qr', details: `WhatsApp Web is ${status.state}; a QR is shown only while waiting to be linked`, status: adapter.status() });
          return;
        }
        const png = await QRCode.toBuffer(qr, { type: 'png', width: 384, margin: 2, errorCorrectionLevel: 'M' });
        res.status(200).type('image/png').send(png);
      });
      app.get(STATUS_PATH, admin, (_req, res) => {
        res.set('Cache-Control', 'no-store').json(adapter.status());
      });
    },
    async start() {
      stopped = false;
      await restart();
    },
    async stop() {
      stopped = true;
      reconnectTimer = clearTimer(reconnectTimer);
      logoutTimer = clearTimer(logoutTimer);
      sleeper.cancelAll(new ChannelApiError('WhatsApp Web is stopping', 'whatsapp-web', { retryable: true }));
      await adapter.idle();
      const old = client;
      client = undefined;
      setState('stopped');
      if (old) {
        old.removeAllListeners();
        await old.destroy().catch((err: unknown) => log.warn({ err }, 'closing WhatsApp Web failed'));
      }
    },
    status: () => ({ ...status, ...(status.lastDisconnect ? { lastDisconnect: { ...status.lastDisconnect } } : {}) }),
    currentQr: () => (status.state === 'qr' ? qr : undefined),
    idle: () => chats.idle(),
  };
  return adapter;
}
