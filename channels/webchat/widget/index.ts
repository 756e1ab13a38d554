/**
 * acuerdo's web chat widget. An agency adds one tag to any page:
 *
 *   <script src="https://HOST/widget.js" data-title="…" data-color="#…" data-greeting="…" async></script>
 *
 * and gets a chat bubble whose panel talks to the service at HOST. No framework, no
 * globals besides a guard against loading twice; styles live in a shadow root.
 */
import { ChatClient } from './client.js';
import { Panel, TEXT } from './panel.js';
import { createStorage } from './storage.js';

const DEFAULTS = {
  title: 'Chatea con nosotros',
  color: '#0b6e4f',
  greeting: '¡Hola! Soy el asistente virtual. Escríbame y le ayudo a ponerse al día con su obligación.',
};
const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

function findScript(): HTMLScriptElement | undefined {
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement) return current;
  const scripts = document.querySelectorAll<HTMLScriptElement>('script[src*="widget.js"]');
  return scripts[scripts.length - 1];
}

function boot(script: HTMLScriptElement | undefined): void {
  const data = script?.dataset ?? {};
  const server = new URL(script?.src || location.href).origin;
  const color = data.color && COLOR.test(data.color.trim()) ? data.color.trim() : DEFAULTS.color;
  const options = {
    title: data.title?.trim().slice(0, 80) || DEFAULTS.title,
    color,
    greeting: data.greeting?.trim().slice(0, 500) ?? DEFAULTS.greeting,
  };

  const storage = createStorage(server);
  const host = document.createElement('div');
  host.id = 'acuerdo-webchat';
  document.body.append(host);

  // Created before the panel so its callbacks can reach it; it starts after.
  let client: ChatClient | undefined;
  const panel = new Panel(host, options, {
    send: (text, buttonId) => client?.send(text, buttonId),
    changed(open, lastRead) {
      storage.setOpen(open);
      storage.setLastRead(lastRead);
    },
  });
  panel.setLastRead(storage.lastRead());
  client = new ChatClient(server, storage, {
    messages: (messages) => panel.addMessages(messages),
    reset: () => {
      storage.setLastRead(0);
      panel.reset();
    },
    typing: (on) => panel.setTyping(on),
    status: (status) => {
      panel.setMaxChars(client?.limits.maxChars ?? 1000);
      panel.setStatus(status);
    },
    queueChanged: () => panel.setPending(storage.queue()),
    failed: (message, code) => panel.addFailed(message, code),
    throttled: (ms) => panel.notice(TEXT.throttled, ms),
  });
  panel.setPending(storage.queue());
  if (storage.isOpen()) panel.open(false);
  client.start();
}

declare global {
  interface Window {
    __acuerdoWebchat?: boolean;
  }
}

if (!window.__acuerdoWebchat) {
  window.__acuerdoWebchat = true;
  const script = findScript();
  if (document.body) boot(script);
  else document.addEventListener('DOMContentLoaded', () => boot(script), { once: true });
}
