import type { ChatMessage, ErrorCode } from '../protocol.js';
import type { ConnectionStatus } from './client.js';
import { renderRichText } from './rich-text.js';
import type { QueuedMessage } from './storage.js';
import { STYLES } from './styles.js';

/** Everything the debtor reads in the widget (Colombian Spanish). */
export const TEXT = {
  open: (title: string) => `Abrir el chat: ${title}`,
  unread: (n: number) => (n === 1 ? '1 mensaje sin leer' : `${n} mensajes sin leer`),
  close: 'Cerrar el chat',
  log: 'Mensajes de la conversación',
  input: 'Escriba su mensaje',
  placeholder: 'Escriba su mensaje…',
  send: 'Enviar mensaje',
  options: 'Opciones de respuesta',
  typing: 'Escribiendo…',
  you: 'Usted',
  bot: 'Asistente',
  agent: 'Asesor',
  sending: 'Enviando…',
  queued: 'Sin conexión: se enviará al reconectar',
  status: {
    connecting: 'Conectando…',
    online: 'En línea',
    offline: 'Sin conexión. Sus mensajes se enviarán al reconectar.',
  } satisfies Record<ConnectionStatus, string>,
  failed: {
    too_long: 'No se envió: el mensaje es demasiado largo.',
    invalid: 'No se envió: el mensaje no es válido.',
    bad_signature: 'No se envió.',
    rate_limited: 'No se envió.',
    unavailable: 'No se envió.',
  } satisfies Record<ErrorCode, string>,
  throttled: 'Está enviando mensajes muy rápido. Enviaremos el suyo en un momento.',
};

export interface PanelOptions {
  title: string;
  color: string;
  greeting: string;
}

export interface PanelActions {
  send(text: string, buttonId?: string): void;
  /** The panel was opened or closed, and what has been read. */
  changed(open: boolean, lastRead: number): void;
}

const ICON_CHAT =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2zm3 6v2h10V9H7zm0-3v2h10V6H7zm0 6v2h7v-2H7z"/></svg>';
const ICON_SEND = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M3 20.5 21 12 3 3.5l.01 6.6L15 12 3.01 13.9z"/></svg>';

const timeFormat = new Intl.DateTimeFormat('es-CO', { hour: 'numeric', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat('es-CO', { day: 'numeric', month: 'short' });

function formatTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay ? timeFormat.format(date) : `${dayFormat.format(date)}, ${timeFormat.format(date)}`;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** An element from one of the widget's own constant SVG icons (never from outside text). */
function icon(svg: string): Element {
  const template = document.createElement('template');
  template.innerHTML = svg;
  return template.content.firstElementChild!;
}

/**
 * The widget's DOM, in a shadow root: the launcher bubble with its unread badge and the
 * chat panel (header, message log, typing indicator, button chips, composer).
 * It renders what it is told; the ChatClient decides what is true.
 */
export class Panel {
  private readonly root: HTMLDivElement;
  private readonly launcher: HTMLButtonElement;
  private readonly badge: HTMLSpanElement;
  private readonly panel: HTMLElement;
  private readonly status: HTMLParagraphElement;
  private readonly log: HTMLDivElement;
  private readonly pendingBox: HTMLDivElement;
  private readonly typing: HTMLDivElement;
  private readonly chips: HTMLDivElement;
  private readonly input: HTMLTextAreaElement;
  private readonly messages = new Map<number, ChatMessage>();
  private readonly failed: { message: QueuedMessage; code: ErrorCode }[] = [];
  private lastRead = 0;
  private unread = 0;
  private statusNow: ConnectionStatus = 'connecting';
  private pending: QueuedMessage[] = [];
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    host: HTMLElement,
    private readonly options: PanelOptions,
    private readonly actions: PanelActions,
  ) {
    const shadow = host.attachShadow({ mode: 'open' });
    if ('adoptedStyleSheets' in shadow && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
      // A constructed sheet works under host pages whose CSP forbids inline <style>.
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLES);
      shadow.adoptedStyleSheets = [sheet];
    } else {
      shadow.append(el('style', {}, STYLES));
    }

    this.root = el('div', { class: 'root' });
    this.root.style.setProperty('--ac', options.color);

    this.launcher = el('button', { class: 'launcher', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'acuerdo-panel' });
    this.launcher.append(icon(ICON_CHAT));
    this.badge = el('span', { class: 'badge', 'aria-hidden': 'true' });
    this.badge.hidden = true;
    this.launcher.append(this.badge);

    this.panel = el('section', { class: 'panel', id: 'acuerdo-panel', role: 'dialog', 'aria-labelledby': 'acuerdo-title' });
    this.panel.hidden = true;
    const header = el('header');
    const titles = el('div', { class: 't' });
    titles.append(el('h2', { id: 'acuerdo-title' }, options.title));
    this.status = el('p', { class: 'status', role: 'status' }, TEXT.status.connecting);
    titles.append(this.status);
    const close = el('button', { class: 'close', type: 'button', 'aria-label': TEXT.close }, '×');
    header.append(titles, close);

    this.log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': TEXT.log, tabindex: '0' });
    this.pendingBox = el('div', { class: 'pending-box' });
    this.typing = el('div', { class: 'typing', role: 'status' });
    for (let i = 0; i < 3; i++) this.typing.append(el('i', { 'aria-hidden': 'true' }));
    this.typing.append(el('span', { class: 'sr' }, TEXT.typing));
    this.typing.hidden = true;
    this.chips = el('div', { class: 'chips', role: 'group', 'aria-label': TEXT.options });
    this.chips.hidden = true;

    const form = el('form');
    const label = el('label', { class: 'sr', for: 'acuerdo-input' }, TEXT.input);
    this.input = el('textarea', { id: 'acuerdo-input', rows: '1', placeholder: TEXT.placeholder, autocomplete: 'off' });
    const send = el('button', { class: 'send', type: 'submit', 'aria-label': TEXT.send });
    send.append(icon(ICON_SEND));
    form.append(label, this.input, send);

    this.panel.append(header, this.log, this.typing, this.chips, form);
    this.root.append(this.launcher, this.panel);
    shadow.append(this.root);

    this.renderLog();
    this.updateLauncher();

    this.launcher.addEventListener('click', () => (this.isOpen ? this.close() : this.open()));
    close.addEventListener('click', () => this.close());
    this.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this.close();
      }
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => this.autosize());
  }

  get isOpen(): boolean {
    return !this.panel.hidden;
  }

  open(focus = true): void {
    this.panel.hidden = false;
    this.root.classList.add('open');
    this.launcher.setAttribute('aria-expanded', 'true');
    this.markRead();
    this.scrollToEnd();
    if (focus) this.input.focus();
    this.actions.changed(true, this.lastRead);
  }

  close(): void {
    this.panel.hidden = true;
    this.root.classList.remove('open');
    this.launcher.setAttribute('aria-expanded', 'false');
    this.launcher.focus();
    this.actions.changed(false, this.lastRead);
  }

  setMaxChars(maxChars: number): void {
    this.input.maxLength = maxChars;
  }

  setLastRead(id: number): void {
    this.lastRead = id;
    this.countUnread();
  }

  get readUpTo(): number {
    return this.lastRead;
  }

  /**
   * Adds messages (already shown ones are ignored). New ones are appended, so the log's
   * live region announces only them.
   */
  addMessages(messages: ChatMessage[]): void {
    const shownMax = Math.max(0, ...this.messages.keys());
    const fresh = messages.filter((m) => !this.messages.has(m.id)).sort((a, b) => a.id - b.id);
    if (!fresh.length) return;
    for (const m of fresh) this.messages.set(m.id, m);
    if (fresh[0]!.id < shownMax) this.renderLog();
    else {
      for (const m of fresh) this.log.insertBefore(this.messageRow(m), this.pendingBox);
      this.renderPending();
      this.renderChips(fresh[fresh.length - 1]);
      this.scrollToEnd();
    }
    if (this.isOpen) {
      this.markRead();
      this.actions.changed(true, this.lastRead);
    }
    this.countUnread();
  }

  reset(): void {
    this.messages.clear();
    this.failed.length = 0;
    this.lastRead = 0;
    this.countUnread();
    this.renderLog();
  }

  setPending(queue: QueuedMessage[]): void {
    this.pending = queue.filter((q) => ![...this.messages.values()].some((m) => m.clientId === q.clientId));
    this.renderPending();
    this.scrollToEnd();
  }

  addFailed(message: QueuedMessage, code: ErrorCode): void {
    this.failed.push({ message, code });
    this.renderPending();
  }

  setTyping(on: boolean): void {
    this.typing.hidden = !on;
    if (on) this.scrollToEnd();
  }

  setStatus(status: ConnectionStatus): void {
    this.statusNow = status;
    clearTimeout(this.noticeTimer);
    this.status.textContent = TEXT.status[status];
    this.renderPending();
  }

  notice(text: string, ms: number): void {
    this.status.textContent = text;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => this.setStatus(this.statusNow), ms);
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = '';
    this.autosize();
    this.actions.send(text);
  }

  private autosize(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 120)}px`;
  }

  private markRead(): void {
    const max = Math.max(this.lastRead, ...this.messages.keys());
    if (max !== this.lastRead) this.lastRead = max;
    this.countUnread();
  }

  private countUnread(): void {
    let n = 0;
    for (const m of this.messages.values()) if (m.from !== 'visitor' && m.id > this.lastRead) n++;
    this.unread = this.isOpen ? 0 : n;
    this.updateLauncher();
  }

  private updateLauncher(): void {
    const label = TEXT.open(this.options.title);
    this.launcher.setAttribute('aria-label', this.unread ? `${label} (${TEXT.unread(this.unread)})` : label);
    this.badge.textContent = this.unread > 99 ? '99+' : String(this.unread);
    this.badge.hidden = this.unread === 0;
  }

  private bubble(kind: string, text: string, meta: string, speaker: string): HTMLDivElement {
    const row = el('div', { class: `msg ${kind}` });
    const bubble = el('div', { class: 'bubble' });
    bubble.append(el('span', { class: 'sr' }, `${speaker}: `), renderRichText(text));
    row.append(bubble);
    if (meta) row.append(el('span', { class: 'meta' }, meta));
    return row;
  }

  private renderLog(): void {
    const sorted = [...this.messages.values()].sort((a, b) => a.id - b.id);
    const nodes: Node[] = [];
    if (this.options.greeting) nodes.push(this.bubble('intro', this.options.greeting, '', TEXT.bot));
    for (const m of sorted) nodes.push(this.messageRow(m));
    this.log.replaceChildren(...nodes, this.pendingBox);
    this.renderPending();
    this.renderChips(sorted[sorted.length - 1]);
    this.scrollToEnd();
  }

  private messageRow(m: ChatMessage): HTMLDivElement {
    const speaker = m.from === 'visitor' ? TEXT.you : m.from === 'agent' ? TEXT.agent : TEXT.bot;
    const row = this.bubble(m.from, m.text, '', speaker);
    row.dataset.id = String(m.id);
    row.append(el('time', { class: 'meta', datetime: m.at }, formatTime(m.at)));
    return row;
  }

  private renderPending(): void {
    const rows: Node[] = [];
    for (const { message, code } of this.failed) rows.push(this.bubble('visitor failed', message.text, TEXT.failed[code], TEXT.you));
    const shown = new Set([...this.messages.values()].map((m) => m.clientId));
    for (const q of this.pending) {
      if (shown.has(q.clientId)) continue;
      const row = this.bubble('visitor pending', q.text, this.statusNow === 'online' ? TEXT.sending : TEXT.queued, TEXT.you);
      row.dataset.clientId = q.clientId;
      rows.push(row);
    }
    this.pendingBox.replaceChildren(...rows);
  }

  private renderChips(last: ChatMessage | undefined): void {
    const buttons = last && last.from !== 'visitor' ? last.buttons ?? [] : [];
    this.chips.replaceChildren(
      ...buttons.map((b) => {
        const chip = el('button', { class: 'chip', type: 'button' }, b.text);
        chip.addEventListener('click', () => {
          this.chips.hidden = true;
          this.actions.send(b.text, b.id);
          this.input.focus();
        });
        return chip;
      }),
    );
    this.chips.hidden = buttons.length === 0;
  }

  private scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
