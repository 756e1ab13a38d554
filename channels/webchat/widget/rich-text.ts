/**
 * Untrusted text (the visitor's, a flow variable, a reply) as DOM nodes: text nodes
 * for everything, and <a> elements for http, https, mailto and tel links. Never
 * innerHTML: markup in the text stays text.
 */

const LINK = /\b(?:https?:\/\/|mailto:|tel:)[^\s<>"']+/gi;
const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:', 'tel:']);
/** Punctuation that ends a sentence rather than a URL: "visita https://x.co." */
const TRAILING = /[.,;:!?¡¿)\]}»"']+$/;

/** The href for a link written in a message, or undefined when it is not a safe one. */
export function safeHref(candidate: string): string | undefined {
  try {
    const url = new URL(candidate);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : undefined;
  } catch {
    return undefined;
  }
}

export function renderRichText(text: string, doc: Document = document): DocumentFragment {
  const fragment = doc.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    const start = match.index ?? 0;
    const raw = match[0];
    const trailing = TRAILING.exec(raw)?.[0] ?? '';
    const link = raw.slice(0, raw.length - trailing.length);
    const href = safeHref(link);
    if (!href) continue;
    if (start > last) fragment.append(doc.createTextNode(text.slice(last, start)));
    const a = doc.createElement('a');
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = link;
    fragment.append(a);
    last = start + link.length;
  }
  if (last < text.length) fragment.append(doc.createTextNode(text.slice(last)));
  return fragment;
}
