/**
 * What the widget keeps in the host page's localStorage, under keys scoped to the chat
 * server: the signed visitor token, the messages typed but not yet taken by the server
 * (so nothing typed is lost when offline or on reload), and the last message read.
 * Works, forgetting on reload, where storage is blocked (some private modes).
 */

export interface QueuedMessage {
  clientId: string;
  text: string;
  buttonId?: string;
  /** ISO 8601, when it was typed. */
  at: string;
}

export interface WidgetStorage {
  token(): string | undefined;
  setToken(token: string | undefined): void;
  queue(): QueuedMessage[];
  enqueue(message: QueuedMessage): void;
  dequeue(clientIds: readonly string[]): void;
  lastRead(): number;
  setLastRead(id: number): void;
  isOpen(): boolean;
  setOpen(open: boolean): void;
  /** Calls back when another tab changed the queue. */
  onQueueChanged(callback: () => void): void;
}

function safeStorage(kind: 'localStorage' | 'sessionStorage'): Storage | undefined {
  try {
    const storage = window[kind];
    const probe = '__acuerdo_probe__';
    storage.setItem(probe, '1');
    storage.removeItem(probe);
    return storage;
  } catch {
    return undefined;
  }
}

export function createStorage(server: string): WidgetStorage {
  const local = safeStorage('localStorage');
  const session = safeStorage('sessionStorage');
  const memory = new Map<string, string>();
  const key = (name: string) => `acuerdo-webchat:${server}:${name}`;
  const get = (name: string, store = local) => (store ? store.getItem(key(name)) : memory.get(key(name))) ?? undefined;
  const set = (name: string, value: string | undefined, store = local) => {
    try {
      if (value === undefined) store ? store.removeItem(key(name)) : memory.delete(key(name));
      else store ? store.setItem(key(name), value) : memory.set(key(name), value);
    } catch {
      memory.set(key(name), value ?? '');
    }
  };
  const readQueue = (): QueuedMessage[] => {
    try {
      const parsed = JSON.parse(get('queue') ?? '[]') as unknown;
      return Array.isArray(parsed) ? (parsed as QueuedMessage[]).filter((m) => m && typeof m.clientId === 'string') : [];
    } catch {
      return [];
    }
  };
  return {
    token: () => get('token'),
    setToken: (token) => set('token', token),
    queue: readQueue,
    enqueue(message) {
      set('queue', JSON.stringify([...readQueue(), message]));
    },
    dequeue(clientIds) {
      const queue = readQueue();
      const rest = queue.filter((m) => !clientIds.includes(m.clientId));
      if (rest.length !== queue.length) set('queue', JSON.stringify(rest));
    },
    lastRead: () => Number(get('read')) || 0,
    setLastRead: (id) => set('read', String(id)),
    isOpen: () => get('open', session) === '1',
    setOpen: (open) => set('open', open ? '1' : undefined, session),
    onQueueChanged(callback) {
      window.addEventListener('storage', (event) => {
        if (event.key === key('queue')) callback();
      });
    },
  };
}
