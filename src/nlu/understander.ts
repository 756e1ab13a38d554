/**
 * The understanding pipeline, in the order the architecture fixes:
 * cédula detector → local naive-Bayes model → OpenAI (when the model is unsure) →
 * keyword rules (when OpenAI is not configured, switched off or failed).
 */
import { log as processLog, type Logger } from '../log.js';
import { extractEntities } from './entities.js';
import { loadIntentModel, type IntentModel } from './model.js';
import { cleanText } from './normalize.js';
import { OpenAiClassifier, type OpenAiOptions } from './openai.js';
import { applyRules } from './rules.js';
import type { LlmCallRecorder, NluResult, NluSettings, Understander, UnderstandOptions } from './types.js';

export interface CreateUnderstanderOptions {
  /** Read on every message, so an operator's change applies without a restart. */
  settings: () => NluSettings;
  /** The fallback; without an apiKey there is none. */
  openai?: OpenAiOptions;
  /** Where OpenAI calls are recorded (the llm_calls table); optional. */
  recorder?: LlmCallRecorder;
  log?: Logger;
  /** An already loaded model; otherwise the one at `modelPath` (default: src/nlu/model/intent-model.json). */
  model?: IntentModel;
  modelPath?: string;
}

/** How sure the cédula detector is: it is exact on 99%+ of the fixture cases (docs/nlu.md). */
const CEDULA_CONFIDENCE = 0.99;

export class NluPipeline implements Understander {
  constructor(
    readonly model: IntentModel,
    private readonly settings: () => NluSettings,
    /** Present only when an API key is configured. */
    readonly openai: OpenAiClassifier | undefined,
    private readonly logger: Logger,
  ) {}

  async understand(text: string, options: UnderstandOptions): Promise<NluResult> {
    const settings = this.settings();
    const clean = cleanText(typeof text === 'string' ? text : String(text ?? ''), settings.maxChars);
    if (clean === '') return { text: '', intent: 'fuera_de_tema', confidence: 0, source: 'rules', entities: {} };

    const entities = extractEntities(clean, options.now);
    if (entities.cedula) {
      return { text: clean, intent: 'identificacion', confidence: CEDULA_CONFIDENCE, source: 'cedula', entities };
    }

    const local = this.model.predict(clean);
    if (local.confidence >= settings.confidenceThreshold) {
      return { text: clean, intent: local.intent, confidence: local.confidence, source: 'model', entities };
    }

    if (!options.local && settings.openaiEnabled && this.openai) {
      const answer = await this.openai.classify(clean, options.conversationId, options.knownNames);
      if (answer) return { text: clean, intent: answer.intent, confidence: answer.confidence, source: 'openai', entities };
    }

    const rule = applyRules(clean);
    if (rule) return { text: clean, intent: rule.intent, confidence: rule.confidence, source: 'rules', entities };
    // No rule applies: the model's best guess, with its (low) confidence, is still the best answer.
    this.logger.debug({ intent: local.intent, confidence: local.confidence }, 'low-confidence intent with no rule');
    return { text: clean, intent: local.intent, confidence: local.confidence, source: 'model', entities };
  }
}

/** Loads the model (unless given) and builds the pipeline. */
export async function createUnderstander(options: CreateUnderstanderOptions): Promise<NluPipeline> {
  const logger = options.log ?? processLog;
  const model = options.model ?? (await loadIntentModel(options.modelPath));
  const openai =
    options.openai?.apiKey !== undefined && options.openai.apiKey !== ''
      ? new OpenAiClassifier({ ...options.openai, apiKey: options.openai.apiKey }, options.recorder, logger)
      : undefined;
  return new NluPipeline(model, options.settings, openai, logger);
}
