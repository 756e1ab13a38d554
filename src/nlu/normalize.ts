/**
 * Text preparation shared by every layer of the understanding pipeline:
 * cleaning what arrives from a channel, folding it for pattern matching, and turning
 * it into the tokens the intent model sees.
 */

/** Control, zero-width and bidirectional-override characters: never meaningful in a chat message. */
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/g;
const WHITESPACE = /[\s\u00A0\u2000-\u200A\u2028\u2029\u3000]+/g;

/** A raw message longer than this many times the maximum is cut before any regex runs over it. */
const RAW_CUT_FACTOR = 4;

/**
 * The text as understood: invisible characters removed, whitespace collapsed, trimmed,
 * cut to `maxChars` without splitting a surrogate pair.
 */
export function cleanText(raw: string, maxChars: number): string {
  let text = raw.length > maxChars * RAW_CUT_FACTOR ? raw.slice(0, maxChars * RAW_CUT_FACTOR) : raw;
  text = text.replace(INVISIBLE, '').replace(WHITESPACE, ' ').trim();
  if (text.length > maxChars) {
    let end = maxChars;
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end -= 1; // do not keep half of an emoji
    text = text.slice(0, end).trimEnd();
  }
  return text;
}

const FOLD: Record<string, string> = {
  á: 'a', à: 'a', ä: 'a', â: 'a', ã: 'a',
  é: 'e', è: 'e', ë: 'e', ê: 'e',
  í: 'i', ì: 'i', ï: 'i', î: 'i',
  ó: 'o', ò: 'o', ö: 'o', ô: 'o', õ: 'o',
  ú: 'u', ù: 'u', ü: 'u', û: 'u',
  ñ: 'n', ç: 'c',
};
const FOLDABLE = /[áàäâãéèëêíìïîóòöôõúùüûñç]/g;

/**
 * Lowercase with accents folded (ñ → n), character for character: the result has the
 * same length as the input, so positions found in it point into the original text.
 */
export function foldSameLength(text: string): string {
  const lower = text.toLowerCase();
  if (lower.length !== text.length) return text.replace(/[^]/g, (c) => foldChar(c.toLowerCase()));
  return lower.replace(FOLDABLE, (c) => FOLD[c] ?? c);
}

function foldChar(c: string): string {
  if (c.length !== 1) return c.charAt(0);
  return FOLD[c] ?? c;
}

/**
 * Emojis that carry meaning in a negotiation, turned into marker words the model learns.
 * Every other emoji is dropped.
 */
const EMOJI_WORDS: [RegExp, string][] = [
  [/[\u{1F44D}\u{1F44C}\u{2705}\u{2714}\u{1F197}\u{1F91D}]/gu, ' xemojisi '],
  [/[\u{1F44E}\u{274C}\u{2716}\u{1F6AB}\u{26D4}\u{1F645}]/gu, ' xemojino '],
  [/[\u{1F621}\u{1F620}\u{1F92C}\u{1F624}\u{1F595}\u{1F4A2}]/gu, ' xemojirabia '],
  [/[\u{1F622}\u{1F62D}\u{1F614}\u{1F61E}\u{1F625}\u{1F613}\u{1F97A}\u{1F629}]/gu, ' xemojitriste '],
  [/[\u{1F44B}]/gu, ' xemojimano '],
  [/[\u{1F64F}]/gu, ' xemojiporfa '],
  [/[\u{1F4B5}\u{1F4B0}\u{1F4B8}\u{1F911}\u{1F4B3}]/gu, ' xemojiplata '],
];
const ANY_PICTOGRAPH = /\p{Extended_Pictographic}/u;

/** Chat spellings and abbreviations, after folding, mapped to the word they stand for. */
const ABBREVIATIONS: Record<string, string> = {
  q: 'que', k: 'que', ke: 'que', qe: 'que',
  xq: 'porque', pq: 'porque', porq: 'porque', xk: 'porque', pk: 'porque', xque: 'porque', porke: 'porque',
  pa: 'para', pal: 'para', pra: 'para',
  tb: 'tambien', tmb: 'tambien', tbn: 'tambien', tambn: 'tambien',
  dnd: 'donde', dond: 'donde',
  x: 'por', xfa: 'por favor', xfavor: 'por favor', porfa: 'por favor', porfis: 'por favor', plis: 'por favor',
  pls: 'por favor', plz: 'por favor', porfavor: 'por favor',
  d: 'de', toy: 'estoy', tamos: 'estamos', ta: 'esta', tons: 'entonces', entons: 'entonces',
  bn: 'bien', msj: 'mensaje', msjs: 'mensajes', cel: 'celular', ud: 'usted', uds: 'ustedes',
  ok: 'ok', okey: 'ok', okay: 'ok', oki: 'ok', okis: 'ok', oka: 'ok', okk: 'ok', oks: 'ok', okei: 'ok', oqui: 'ok',
  sip: 'si', sep: 'si', sisas: 'si', simon: 'si', zi: 'si',
  nop: 'no', nopo: 'no', nel: 'no', nones: 'no', nou: 'no', nah: 'no', na: 'no',
  grax: 'gracias', grs: 'gracias', grcs: 'gracias', gracia: 'gracias', graciass: 'gracias', thx: 'gracias',
  bno: 'bueno', wenas: 'buenas', wena: 'buena', buenass: 'buenas', bnas: 'buenas', bns: 'buenas',
  salu: 'saludos', slds: 'saludos', nd: 'nada', nda: 'nada', vdd: 'verdad', aki: 'aqui',
  tngo: 'tengo', tgo: 'tengo', tenog: 'tengo', cmo: 'como', kmo: 'como',
  cuant: 'cuanto', kuanto: 'cuanto', qto: 'cuanto', cto: 'cuanto',
  mk: 'marica', hpta: 'hijueputa', hp: 'hijueputa', jueputa: 'hijueputa',
  jajaja: 'jaja', jajaj: 'jaja', jeje: 'jaja', jsjs: 'jaja', jajsj: 'jaja', lol: 'jaja',
  wsp: 'whatsapp', wpp: 'whatsapp', wasap: 'whatsapp', guasap: 'whatsapp',
  info: 'informacion', tel: 'telefono', num: 'numero', nro: 'numero', cc: 'cedula', ced: 'cedula',
  efecti: 'efecty',
  asesora: 'asesor', asesores: 'asesor', hablr: 'hablar', kiero: 'quiero', qiero: 'quiero', kero: 'quiero',
  quero: 'quiero', qero: 'quiero', kien: 'quien', qien: 'quien', aver: 'a ver',
};

/**
 * Lowercase, accents folded, emojis turned into marker words, chat abbreviations expanded,
 * letters repeated for emphasis collapsed ("siiii" → "si", "holaaa" → "hola"), digits
 * replaced by a number marker. Returns the words, in order.
 */
export function chatWords(text: string): readonly string[] {
  // The pipeline asks for the same message's words twice (model, then rules): remember one.
  if (text === lastText) return lastWords;
  const words = Object.freeze(computeChatWords(text));
  lastText = text;
  lastWords = words;
  return words;
}

let lastText: string | undefined;
let lastWords: readonly string[] = [];

function computeChatWords(text: string): string[] {
  let t = text;
  if (ANY_PICTOGRAPH.test(t)) {
    for (const [re, word] of EMOJI_WORDS) t = t.replace(re, word);
  }
  t = foldSameLength(t);
  const raw = t.split(/[^a-z0-9]+/);
  const words: string[] = [];
  for (const piece of raw) {
    if (piece === '') continue;
    if (/\d/.test(piece)) {
      if (words[words.length - 1] !== 'xnum') words.push('xnum');
      // Letters glued to digits are units ("150k", "200mil"), not chat abbreviations.
      const letters = piece.replace(/\d+/g, ' ').trim();
      if (letters) for (const w of letters.split(' ')) words.push(collapseRepeats(w));
      continue;
    }
    pushWord(words, piece);
  }
  return words;
}

function pushWord(words: string[], piece: string): void {
  let w = collapseRepeats(piece);
  const expanded = ABBREVIATIONS[w] ?? ABBREVIATIONS[piece];
  if (expanded !== undefined) {
    if (expanded.includes(' ')) {
      for (const part of expanded.split(' ')) words.push(part);
      return;
    }
    w = expanded;
  } else if (w.length > 2 && w.charCodeAt(0) === 107 /* k */ && /^k[ei]/.test(w)) {
    w = 'qu' + w.slice(1); // "kiero", "keda" → "quiero", "queda"
  }
  words.push(w);
}

/**
 * "siiiii" → "si", "holaa" → "hola", "buenasss" → "buenas". Doubles that Spanish spells
 * (ll, rr, cc, ee: "llamar", "ahorra", "accion", "cree") are kept.
 */
export function collapseRepeats(word: string): string {
  if (!/([a-z])\1/.test(word)) return word;
  return word.replace(/([a-z])\1{2,}/g, '$1').replace(/([abdfghijkmnopqstuvwxyz])\1/g, '$1');
}
