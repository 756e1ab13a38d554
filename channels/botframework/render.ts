/**
 * The engine's replies as Bot Framework activities. Buttons are suggested actions
 * (imBack: the tap comes back as the button's text, which the engine matches), except
 * on Teams, which does not show suggested actions: there they are a HeroCard.
 */
import { CardFactory, type Activity, type CardAction } from 'botbuilder';
import type { Reply } from '../../src/core/index.js';

export const TEAMS = 'msteams';

/** Renders one reply for a conversation on `channelId`; `userId` is who the buttons are shown to. */
export function renderReply(reply: Reply, channelId: string, userId?: string): Partial<Activity> {
  const buttons = reply.buttons ?? [];
  if (!buttons.length) return { type: 'message', text: reply.text, textFormat: 'plain' };
  const actions: CardAction[] = buttons.map((b) => ({ type: 'imBack', title: b.text, value: b.text }));
  if (channelId === TEAMS) {
    return { type: 'message', attachments: [CardFactory.heroCard('', reply.text, undefined, actions)] };
  }
  return { type: 'message', text: reply.text, textFormat: 'plain', suggestedActions: { actions, to: userId ? [userId] : [] } };
}
