/**
 * Buttons for channels that cannot show them (WhatsApp Web, SMS-like transports):
 * rendered as a numbered list by core's renderNumberedOptions; read back here ("1",
 * "la 2", or the button's text).
 */
import { foldText } from '../flows/index.js';
import type { Button, Reply } from '../core/index.js';

export { renderNumberedOptions } from '../core/index.js';

const NUMBER_CHOICE = /^(?:(?:la|el|opcion|opción|numero|número|#)\s*)*(\d{1,2})$/;

/** "la primera", "el segundo", "la última opción": a position in the list. */
const ORDINAL_CHOICE =
  /^(?:(?:no|mejor|mas bien|mejor dicho|ay|ah|pues|entonces|bueno|ok|listo|dale|si|quiero|prefiero|me quedo con|escojo|elijo|tomo|deme|dame|la|el|lo|opcion|de|las|los)\s+)*(primer|primera|primero|segunda|segundo|tercera|tercero|cuarta|cuarto|quinta|quinto|ultima|ultimo)(?:\s+(?:opcion|opción|plan|de todas|porfa|por favor|pues|entonces))*$/;
const ORDINALS: Record<string, number> = {
  primer: 1, primera: 1, primero: 1, segunda: 2, segundo: 2, tercera: 3, tercero: 3, cuarta: 4, cuarto: 4, quinta: 5, quinto: 5,
};

/** Words that carry no choice in a short answer ("el de contado", "quiero la de 6 cuotas"). */
const FILLER = new Set(
  'a al con de del el en es esa ese eso esta este la las lo los me mejor mi opcion pago plan por porfa favor prefiero pues que quiero sirve tomo un una y ya'.split(' '),
);

const SPELLED: Record<string, string> = {
  uno: '1', una: '1', dos: '2', tres: '3', cuatro: '4', cinco: '5', seis: '6',
  siete: '7', ocho: '8', nueve: '9', diez: '10', once: '11', doce: '12',
};

/** The meaningful words of a short text, numbers as digits ("$98.765" → "98765", "seis" → "6"). */
function choiceWords(text: string): string[] {
  // Thousands separators go before folding turns them into spaces ("$20.000" is 20000, not "20 000").
  return foldText(text.replace(/(\d)[.,'](?=\d{3}\b)/g, '$1'))
    .split(/[^a-z0-9]+/)
    .filter((w) => w && !FILLER.has(w))
    .map((w) => SPELLED[w] ?? w);
}

/** At most this many meaningful words make a short answer that can name a button. */
const MAX_CHOICE_WORDS = 4;

/**
 * The button the debtor meant by typing `text`: its number in the list ("1", "la 2",
 * "opción 3", "2."), its text or id — ignoring case, accents and punctuation — or a
 * short answer whose meaningful words all appear in exactly one button's text ("de
 * contado", "el de seis cuotas", "asesor"). Undefined when the text is anything else
 * or could mean more than one button, so the understanding layer reads it instead.
 */
export function matchButton(text: string | undefined, buttons: readonly Button[] | undefined): Button | undefined {
  if (!text || !buttons?.length) return undefined;
  const folded = foldText(text);
  if (!folded) return undefined;
  const num = NUMBER_CHOICE.exec(folded);
  if (num) {
    const byPosition = buttons[Number(num[1]) - 1];
    if (byPosition) return byPosition;
  }
  const ordinal = ORDINAL_CHOICE.exec(folded);
  if (ordinal) {
    const word = ordinal[1] as string;
    const byOrder = word.startsWith('ultim') ? buttons.at(-1) : buttons[(ORDINALS[word] ?? 0) - 1];
    if (byOrder) return byOrder;
  }
  // Compared without spaces, so "$98.765" and "98765" read the same.
  const compact = folded.replace(/ /g, '');
  const same = (s: string) => foldText(s).replace(/ /g, '') === compact;
  const exact = buttons.find((b) => same(b.text)) ?? buttons.find((b) => same(b.id));
  if (exact) return exact;

  const words = choiceWords(text);
  if (words.length === 0 || words.length > MAX_CHOICE_WORDS) return undefined;
  const candidates = buttons.filter((b) => {
    const label = new Set(choiceWords(b.text));
    return words.every((w) => label.has(w));
  });
  return candidates.length === 1 ? candidates[0] : undefined;
}
