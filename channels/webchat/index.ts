import type http from 'node:http';
import type { Express } from 'express';
import type { OutboundChannel, Reply } from '../../src/core/index.js';
import type { ChannelAdapter, ChannelPorts } from '../types.js';
import { loadWidget, type WidgetBundle } from './build.js';
import { createVisitorIdentity, loadWebchatSecret, type VisitorIdentity } from './identity.js';
import { createOriginPolicy } from './origins.js';
import type { Limits } from './protocol.js';
import { createRateLimiter } from './rate-limit.js';
import { mountWebchatRoutes } from './routes.js';
import { SocketHub } from './socket-hub.js';

export { WEBCHAT_PATHS } from './protocol.js';

export interface WebchatOptions {
  /** The rate limiter's clock in ms (default: the service's clock). */
  now?: () => number;
  /** Where the bundle comes from (default: built from the source, or dist/widget.js). */
  widget?: () => Promise<WidgetBundle>;
}

export interface WebchatChannel extends ChannelAdapter {
  readonly name: 'webchat';
}

/**
 * The web chat: /widget.js, the demo page at /, a signed anonymous session and the
 * history over HTTP, and a WebSocket per open widget for everything live. Inbound
 * messages go through the engine; replies reach the visitor's open tabs when the
 * engine's outbox calls `outbound.send` (and right after the turn, from the stored rows).
 */
export function createWebchatChannel(ports: ChannelPorts, options: WebchatOptions = {}): WebchatChannel {
  const { config } = ports;
  const log = ports.log.child({ channel: 'webchat' });
  // The rate limiter's buckets refill by the service's clock (tests move it).
  const now = options.now ?? (() => ports.clock.now().getTime());
  const limits: Limits = { maxChars: config.WEBCHAT_MAX_MESSAGE_CHARS };
  const origins = createOriginPolicy(config.WEBCHAT_ALLOWED_ORIGINS, config.PUBLIC_URL);

  let identityReady: Promise<VisitorIdentity> | undefined;
  const identity = () =>
    (identityReady ??= loadWebchatSecret(ports.secrets, config.WEBCHAT_SECRET).then(
      ({ secret, source }) => {
        log.info({ secretFrom: source === 'config' ? 'WEBCHAT_SECRET' : 'settings table' }, 'web chat visitor signing ready');
        return createVisitorIdentity(secret);
      },
      (err: unknown) => {
        identityReady = undefined;
        throw err;
      },
    ));

  let widgetReady: Promise<WidgetBundle> | undefined;
  const widget = () =>
    (widgetReady ??= (options.widget ?? loadWidget)().then(
      (bundle) => {
        log.info({ source: bundle.source, gzipBytes: bundle.gzip.length }, 'web chat widget ready at /widget.js');
        return bundle;
      },
      (err: unknown) => {
        widgetReady = undefined;
        throw err;
      },
    ));

  const hub = new SocketHub({
    handler: ports.engine,
    history: ports.history,
    clock: ports.clock,
    log,
    identity,
    origins,
    limiter: createRateLimiter(config.WEBCHAT_RATE_PER_MINUTE, now),
    limits,
  });

  const outbound: OutboundChannel = {
    name: 'webchat',
    /**
     * The turn stored its replies before the outbox calls this; the visitor's open tabs
     * get them from those rows. A visitor with no tab open sees them in the history on
     * return, so there is nothing to retry.
     */
    async send(to: string, _replies: Reply[]) {
      await hub.sync(to);
    },
  };

  return {
    name: 'webchat',
    outbound,
    mount(app: Express) {
      mountWebchatRoutes(app, { history: ports.history, log, identity, origins, limits, widget, demoPage: config.WEBCHAT_DEMO_PAGE });
    },
    attachServer(server: http.Server) {
      hub.attach(server);
    },
    async start() {
      await identity();
      log.info({ allowedOrigins: origins.describe() }, 'web chat allowed origins');
      // Build now so the first visitor does not wait; a failure is logged and retried on request.
      void widget().catch((err: unknown) => log.error({ err }, 'the web chat widget could not be built'));
    },
    async stop() {
      await hub.close();
    },
    status() {
      return { state: 'ready', connections: hub.openConnections };
    },
  };
}
