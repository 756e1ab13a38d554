import { EventEmitter } from 'node:events';
import type { ChannelName, OutboundChannel, Reply } from '../../src/core/index.js';

/** A channel that records what the outbox asks it to send, and emits 'sent'. */
export class RecordingChannel extends EventEmitter implements OutboundChannel {
  readonly sent: { to: string; replies: Reply[] }[] = [];
  constructor(readonly name: ChannelName) {
    super();
  }
  async send(to: string, replies: Reply[]): Promise<{ externalId: string }> {
    this.sent.push({ to, replies });
    this.emit('sent', to, replies);
    return { externalId: `ext-${this.sent.length}` };
  }
}
