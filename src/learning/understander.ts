/**
 * The understander the service runs: the NLU pipeline with the active model version and
 * its dictionary, swapped in place when learning_state's revision moves — on this instance
 * at once (after an activation here), on every other one at its next poll. Until a
 * version is activated it is the shipped model file, as before, with no dictionary.
 */
import type { Logger } from '../log.js';
import { createUnderstander, parseIntentModel, type CreateUnderstanderOptions, type NluPipeline, type NluResult, type Understander, type UnderstandOptions } from '../nlu/index.js';
import type { Knex } from '../store/index.js';
import { compileDictionary, type DictionarySnapshot } from './dictionary.js';
import { readState } from './state.js';

export interface LearningUnderstanderOptions {
  knex: Knex;
  log: Logger;
  /** What the pipeline is built from; `model` is the shipped model, used while no version is active. */
  base: CreateUnderstanderOptions;
  /** How often the revision is read (ms); 0: only on refresh(). Default 2000. */
  pollMs?: number;
}

interface Current {
  pipeline: NluPipeline;
  rewrite: (text: string) => string;
  modelVersion: number | null;
  fallbackModel: string | null;
}

export class LearningUnderstander implements Understander {
  private current: Current;
  private revision = '';
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  private constructor(
    private readonly options: LearningUnderstanderOptions,
    initial: Current,
  ) {
    this.current = initial;
  }

  static async create(options: LearningUnderstanderOptions): Promise<LearningUnderstander> {
    const pipeline = await createUnderstander(options.base);
    const u = new LearningUnderstander(options, { pipeline, rewrite: (t) => t, modelVersion: null, fallbackModel: null });
    await u.refresh();
    const every = options.pollMs ?? 2000;
    if (every > 0) {
      u.timer = setInterval(() => {
        u.refresh().catch((err: unknown) => options.log.warn({ err }, 'could not reload the active NLU model version'));
      }, every);
      u.timer.unref();
    }
    return u;
  }

  /** The active version's number (null: the shipped model file) and the fallback's model override. */
  get active(): { modelVersion: number | null; fallbackModel: string | null; revision: string } {
    return { modelVersion: this.current.modelVersion, fallbackModel: this.current.fallbackModel, revision: this.revision };
  }

  understand(text: string, options: UnderstandOptions): Promise<NluResult> {
    const { pipeline, rewrite } = this.current;
    return pipeline.understand(typeof text === 'string' ? rewrite(text) : text, options);
  }

  /** Reads the revision; when it moved, loads the active version and swaps the pipeline. */
  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async load(): Promise<void> {
    const { knex, base, log } = this.options;
    const state = await readState(knex);
    if (state.revision === this.revision) return;
    let next: Current = this.current;
    const row =
      state.active_model_id === null
        ? undefined
        : ((await knex('nlu_models').where({ id: state.active_model_id }).first('version', 'model', 'metrics')) as
            | { version: number; model: unknown; metrics: { dictionary?: DictionarySnapshot } | null }
            | undefined);
    if (row?.version !== this.current.modelVersion || state.fallback_model !== this.current.fallbackModel) {
      const model = row ? parseIntentModel(row.model) : base.model;
      const openai = base.openai && state.fallback_model ? { ...base.openai, model: state.fallback_model } : base.openai;
      const pipeline = model === base.model && openai === base.openai && this.current.modelVersion === null && this.current.fallbackModel === null
        ? this.current.pipeline
        : await createUnderstander({ ...base, model, openai });
      next = { pipeline, rewrite: compileDictionary(row?.metrics?.dictionary), modelVersion: row?.version ?? null, fallbackModel: state.fallback_model };
      log.info({ modelVersion: next.modelVersion, fallbackModel: next.fallbackModel, revision: state.revision }, 'NLU model version in use');
    }
    this.current = next;
    this.revision = state.revision;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
