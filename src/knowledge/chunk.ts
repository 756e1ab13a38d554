/**
 * Splits a document's text into chunks that respect its structure: a chunk never spans
 * two sections (a heading starts a new one), and paragraphs are packed whole up to a
 * size; only a paragraph longer than that is cut, at sentence ends. Each chunk keeps the
 * heading it sits under, so a passage like "Lunes a viernes de 7 a 5" still says it is
 * about the Bogotá office's hours.
 */

export interface Chunk {
  heading: string;
  text: string;
}

/** Characters a chunk aims at: a passage a debtor can read in a chat bubble. */
export const CHUNK_TARGET_CHARS = 500;

/** A Markdown heading, or a short title-like line standing alone (PDF, TXT and DOCX titles). */
function headingOf(paragraph: string): string | undefined {
  const md = /^#{1,6}\s+(.+)$/.exec(paragraph);
  if (md) return md[1]!.trim();
  if (paragraph.includes('\n') || paragraph.length > 70) return undefined;
  // A title: no sentence punctuation at its end, starts with a capital or a number ("2. Horarios").
  if (/[.,;:!?)]$/.test(paragraph)) return undefined;
  if (!/^(?:\d+(?:\.\d+)*[.)]?\s+)?[\p{Lu}¿¡]/u.test(paragraph)) return undefined;
  return paragraph.replace(/^\d+(?:\.\d+)*[.)]?\s+/, '').trim();
}

function sentences(paragraph: string): string[] {
  return paragraph.split(/(?<=[.!?])\s+(?=[\p{Lu}¿¡\d"«(])/u).filter((s) => s.trim());
}

/** Cuts a paragraph longer than the target at sentence ends (a sentence longer than twice the target at a space). */
function cutLong(paragraph: string, target: number): string[] {
  if (paragraph.length <= target * 1.3) return [paragraph];
  const out: string[] = [];
  let current = '';
  for (const s of sentences(paragraph)) {
    const pieces = s.length > target * 2 ? s.match(new RegExp(`.{1,${target}}(?:\\s|$)`, 'gs')) ?? [s] : [s];
    for (const piece of pieces) {
      if (current && current.length + piece.length + 1 > target) {
        out.push(current.trim());
        current = '';
      }
      current += (current ? ' ' : '') + piece.trim();
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/**
 * The text's paragraphs and headings, in order. Blank lines separate paragraphs; inside a
 * block, a title-like line after a sentence's end is a heading too (PDF text has no blank
 * lines), a line ending a sentence ends a paragraph, and other line breaks are wrapping.
 */
function blocks(text: string): { heading?: string; paragraph?: string }[] {
  const out: { heading?: string; paragraph?: string }[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    let current = '';
    let afterBreak = true;
    const end = () => {
      if (current.trim()) out.push({ paragraph: current.replace(/[ \t]+/g, ' ').trim() });
      current = '';
    };
    for (const raw of block.split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      const title = afterBreak ? headingOf(line) : undefined;
      if (title !== undefined) {
        end();
        out.push({ heading: title });
        afterBreak = true;
        continue;
      }
      if (/^(?:[-*•]|\d+[.)])\s/.test(line)) end();
      current += (current ? ' ' : '') + line;
      afterBreak = /[.!?:;]$/.test(line);
      if (afterBreak) end();
    }
    end();
  }
  return out;
}

/** The chunks of a document's text, in order. */
export function chunkText(text: string, target = CHUNK_TARGET_CHARS): Chunk[] {
  const chunks: Chunk[] = [];
  let heading = '';
  let current: string[] = [];
  const flush = () => {
    const body = current.join('\n\n').trim();
    if (body) chunks.push({ heading, text: body });
    current = [];
  };
  for (const item of blocks(text)) {
    if (item.heading !== undefined) {
      flush();
      heading = item.heading;
      continue;
    }
    for (const piece of cutLong(item.paragraph ?? '', target)) {
      const size = current.reduce((n, p) => n + p.length + 2, 0);
      if (current.length && size + piece.length > target) flush();
      current.push(piece);
    }
  }
  flush();
  return chunks;
}
