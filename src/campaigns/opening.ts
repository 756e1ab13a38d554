import type { CampaignDebtor } from './campaigns.js';
import { DEFAULT_OPENING_MESSAGE, DEFAULT_OPENING_TEXT } from './content.js';

/** The text a text-channel campaign sends for a flow message name, or undefined when there is none. */
export function openingText(name: string): ((debtor: CampaignDebtor) => string) | undefined {
  if (name === DEFAULT_OPENING_MESSAGE) return () => DEFAULT_OPENING_TEXT;
  return undefined;
}
