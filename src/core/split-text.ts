/**
 * Cuts a text into pieces of at most `max` characters (UTF-16 units, which is never less
 * than what the platforms count) for channels that refuse longer messages. Each cut is
 * made at the best boundary in the second half of the window: a paragraph break, then the
 * end of a sentence (. ? ! … followed by a space, after any closing quote or bracket), then
 * a line break, then a space; a single word longer than `max` is cut where it must, never
 * inside a surrogate pair (an emoji).
 */
const SENTENCE_END = /[.!?…]["'»”)\]]*(?=\s)/g;

function lastSentenceEnd(window: string, min: number, max: number): number {
  let best = -1;
  for (const m of window.matchAll(SENTENCE_END)) {
    const end = m.index + m[0].length;
    if (end > min && end <= max) best = end;
  }
  return best;
}

export function splitAtSentences(text: string, max: number): string[] {
  if (max < 2) throw new RangeError('max must be at least 2');
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    // One more character than fits: a boundary right after the last that fits counts.
    const window = rest.slice(0, max + 1);
    const min = Math.floor(max / 2);
    let cut = window.lastIndexOf('\n\n');
    if (cut <= min) cut = lastSentenceEnd(window, min, max);
    if (cut <= min) cut = window.lastIndexOf('\n');
    if (cut <= min) cut = window.lastIndexOf(' ');
    if (cut <= min) {
      cut = max;
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    }
    const head = rest.slice(0, cut).trimEnd();
    if (head) parts.push(head);
    rest = rest.slice(cut).trimStart();
  }
  if (rest || parts.length === 0) parts.push(rest);
  return parts;
}
