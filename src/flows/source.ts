/**
 * A parsed YAML file that remembers where everything was written, so that every
 * problem can be reported as file:line:column.
 */
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { FlowDefinitionError } from '../core/index.js';
import type { SourcePosition } from './types.js';

export type YamlPath = readonly (string | number)[];

interface Ranged {
  range?: [number, number, number] | null;
}

export class YamlSource {
  private constructor(
    readonly file: string,
    readonly text: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** Parses the text; YAML syntax errors come back as problems (and `value` is then undefined). */
  static parse(file: string, text: string): { source: YamlSource; value: unknown; problems: FlowDefinitionError[] } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    const source = new YamlSource(file, text, doc, lines);
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
      return new FlowDefinitionError(file, pos.line, pos.col, `YAML: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`);
    });
    return { source, value: problems.length ? undefined : doc.toJS(), problems };
  }

  private offsetPos(offset: number): SourcePosition {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  /** The YAML node at a path, or the closest ancestor that exists. */
  private nodeAt(path: YamlPath): { node: Ranged | undefined; exact: boolean } {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
      if (node && typeof node === 'object' && 'range' in node) return { node: node as Ranged, exact: n === path.length };
    }
    return { node: undefined, exact: false };
  }

  /**
   * Where the value at `path` is written. With `key`, where the key `key` of the map
   * at `path` is. With `needle`, where that text occurs inside the value (for a
   * variable inside a message).
   */
  at(path: YamlPath, options: { key?: string; needle?: string | RegExp } = {}): SourcePosition {
    if (options.key !== undefined) {
      const { node, exact } = this.nodeAt(path);
      if (exact && isMap(node)) {
        for (const pair of node.items) {
          if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === options.key && pair.key.range) {
            return this.offsetPos(pair.key.range[0]);
          }
        }
      }
    }
    const { node } = this.nodeAt(path);
    const range = node?.range;
    if (!range) return { file: this.file, line: 1, column: 1 };
    if (options.needle) {
      const slice = this.text.slice(range[0], range[1]);
      const idx = typeof options.needle === 'string' ? slice.indexOf(options.needle) : slice.search(options.needle);
      if (idx >= 0) return this.offsetPos(range[0] + idx);
    }
    return this.offsetPos(range[0]);
  }

  problem(path: YamlPath, reason: string, options: { key?: string; needle?: string | RegExp } = {}): FlowDefinitionError {
    const pos = this.at(path, options);
    return new FlowDefinitionError(this.file, pos.line, pos.column, reason);
  }
}

/** The closest known word, for "did you mean…" hints. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  // "saldo" → "saldo_total": a name that starts with what was written.
  const prefixed = list.filter((c) => word.length >= 4 && c.toLowerCase().startsWith(word.toLowerCase())).sort((a, b) => a.length - b.length)[0];
  if (prefixed) return prefixed;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of list) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

export function hint(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c ? ` (did you mean '${c}'?)` : '';
}
