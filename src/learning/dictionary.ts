/**
 * The semantic dictionary: how debtors write ("luca", "palo", "xq", "q", "ahorita") and what
 * it means in the words the model was trained on. Supervisors edit it; every change is a
 * numbered version (semantic_dictionary_versions). A model version is trained with the
 * dictionary as it stood, keeps that snapshot, and the understander applies the active
 * version's snapshot before the model: a change takes effect with the next model version,
 * never halfway through one.
 */
import { z } from 'zod';
import type { Clock } from '../core/index.js';
import type { Knex } from '../store/index.js';
import { bumpRevision } from './state.js';

export const DICTIONARY_CATEGORIES = ['jerga', 'regionalismo', 'error_ortografico', 'abreviatura', 'otro'] as const;

export const dictionaryEntryInput = z.strictObject({
  term: z.string().trim().min(1).max(80),
  canonical: z.string().trim().min(1).max(200),
  category: z.enum(DICTIONARY_CATEGORIES),
  synonyms: z.array(z.string().trim().min(1).max(80)).max(50).default([]),
  examples: z.array(z.string().trim().min(1).max(300)).max(20).default([]),
  active: z.boolean().default(true),
});
export type DictionaryEntryInput = z.input<typeof dictionaryEntryInput>;

export interface DictionaryEntry {
  id: number;
  term: string;
  canonical: string;
  category: string;
  synonyms: string[];
  examples: string[];
  active: boolean;
  version: number;
  updated_by: string | null;
  updated_at: Date;
}

/** What a model version keeps: the active entries' rewrites. */
export interface DictionarySnapshot {
  version: number;
  entries: { term: string; canonical: string; synonyms: string[] }[];
}

export class DictionaryError extends Error {
  override name = 'DictionaryError';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A function that rewrites a message with the snapshot: every term or synonym, as a whole
 * word or expression, case-insensitive, becomes its canonical form. Longer expressions are
 * tried first ("de una" before "una"). Measured: about 1 µs a message with 50 entries.
 */
export function compileDictionary(snapshot: DictionarySnapshot | undefined): (text: string) => string {
  const forms = new Map<string, string>();
  for (const e of snapshot?.entries ?? []) {
    for (const form of [e.term, ...e.synonyms]) {
      const key = form.trim().toLowerCase();
      if (key && !forms.has(key)) forms.set(key, e.canonical);
    }
  }
  if (forms.size === 0) return (text) => text;
  const keys = [...forms.keys()].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${keys.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  return (text) => text.replace(pattern, (m) => forms.get(m.toLowerCase()) ?? m);
}

function rowOf(r: Record<string, unknown>): DictionaryEntry {
  return {
    id: Number(r.id),
    term: String(r.term),
    canonical: String(r.canonical),
    category: String(r.category),
    synonyms: (r.synonyms as string[]) ?? [],
    examples: (r.examples as string[]) ?? [],
    active: Boolean(r.active),
    version: Number(r.version),
    updated_by: (r.updated_by as string | null) ?? null,
    updated_at: r.updated_at as Date,
  };
}

export async function listDictionary(knex: Knex): Promise<DictionaryEntry[]> {
  return ((await knex('semantic_dictionary').orderBy('term')) as Record<string, unknown>[]).map(rowOf);
}

/** The active entries and the dictionary's version now: what the next model version is trained with. */
export async function dictionarySnapshot(knex: Knex): Promise<DictionarySnapshot> {
  const state = (await knex('learning_state').where({ id: 1 }).first('dictionary_version')) as { dictionary_version: number } | undefined;
  const rows = (await knex('semantic_dictionary').where({ active: true }).orderBy('id')) as Record<string, unknown>[];
  return { version: state?.dictionary_version ?? 0, entries: rows.map(rowOf).map((e) => ({ term: e.term, canonical: e.canonical, synonyms: e.synonyms })) };
}

async function recordVersion(trx: Knex.Transaction, change: 'create' | 'update' | 'delete', entryId: number, before: unknown, after: unknown, by: string, now: Date): Promise<number> {
  const [row] = (await trx('semantic_dictionary_versions')
    .insert({ entry_id: entryId, change, before: before ? JSON.stringify(before) : null, after: after ? JSON.stringify(after) : null, changed_by: by, changed_at: now })
    .returning('version')) as { version: number }[];
  const version = row!.version;
  await bumpRevision(trx, now, by, { dictionary_version: version });
  return version;
}

function uniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

export async function createDictionaryEntry(knex: Knex, input: DictionaryEntryInput, by: string, clock: Clock): Promise<DictionaryEntry> {
  const e = dictionaryEntryInput.parse(input);
  const now = clock.now();
  try {
    return await knex.transaction(async (trx) => {
      const [row] = (await trx('semantic_dictionary')
        .insert({ ...e, synonyms: JSON.stringify(e.synonyms), examples: JSON.stringify(e.examples), version: 0, updated_by: by, created_at: now, updated_at: now })
        .returning('*')) as Record<string, unknown>[];
      const version = await recordVersion(trx, 'create', Number(row!.id), null, e, by, now);
      await trx('semantic_dictionary').where({ id: row!.id }).update({ version });
      return { ...rowOf(row!), version };
    });
  } catch (err) {
    if (uniqueViolation(err)) throw new DictionaryError(`the term "${e.term}" is already in the dictionary`);
    throw err;
  }
}

export async function updateDictionaryEntry(knex: Knex, id: number, input: Partial<DictionaryEntryInput>, by: string, clock: Clock): Promise<DictionaryEntry | undefined> {
  const patch = dictionaryEntryInput.partial().parse(input);
  const now = clock.now();
  try {
    return await knex.transaction(async (trx) => {
      const before = (await trx('semantic_dictionary').where({ id }).forUpdate().first()) as Record<string, unknown> | undefined;
      if (!before) return undefined;
      const values: Record<string, unknown> = { ...patch, updated_by: by, updated_at: now };
      if (patch.synonyms) values.synonyms = JSON.stringify(patch.synonyms);
      if (patch.examples) values.examples = JSON.stringify(patch.examples);
      await trx('semantic_dictionary').where({ id }).update(values);
      const version = await recordVersion(trx, 'update', id, rowOf(before), patch, by, now);
      const [row] = (await trx('semantic_dictionary').where({ id }).update({ version }).returning('*')) as Record<string, unknown>[];
      return rowOf(row!);
    });
  } catch (err) {
    if (uniqueViolation(err)) throw new DictionaryError(`the term "${String(input.term)}" is already in the dictionary`);
    throw err;
  }
}

export async function deleteDictionaryEntry(knex: Knex, id: number, by: string, clock: Clock): Promise<boolean> {
  const now = clock.now();
  return knex.transaction(async (trx) => {
    const before = (await trx('semantic_dictionary').where({ id }).forUpdate().first()) as Record<string, unknown> | undefined;
    if (!before) return false;
    await trx('semantic_dictionary').where({ id }).delete();
    await recordVersion(trx, 'delete', id, rowOf(before), null, by, now);
    return true;
  });
}

export async function dictionaryHistory(knex: Knex, limit = 100): Promise<Record<string, unknown>[]> {
  return (await knex('semantic_dictionary_versions').orderBy('version', 'desc').limit(limit)) as Record<string, unknown>[];
}
