/**
 * The understanding layer's public surface: what the engine, the channels and the CLI
 * may use. Everything else in src/nlu is internal.
 */
export * from './types.js';
export { detectCedula } from './cedula.js';
export { extractEntities } from './entities.js';
export { cleanText } from './normalize.js';
export { detectThirdParty, type ThirdPartyStatement } from './third-party.js';
export {
  createUnderstander,
  NluPipeline,
  type CreateUnderstanderOptions,
} from './understander.js';
export {
  DEFAULT_MODEL_PATH,
  IntentModel,
  loadIntentModel,
  NluModelError,
  parseIntentModel,
  saveIntentModel,
  trainIntentModel,
  type IntentPrediction,
  type LabelledText,
} from './model.js';
export { CircuitBreaker, DEFAULT_BUDGET_MS, estimateCostUsd, maskForExternal, type MaskOptions, type OpenAiOptions } from './openai.js';
export { createKnexLlmCallRecorder } from './recorder.js';
export {
  CorpusError,
  evaluateUnderstander,
  HELDOUT_CORPUS,
  readLabelledTsv,
  TRAIN_CORPUS,
  type EvaluationReport,
} from './evaluate.js';
export { crossValidate, formatReport, parseLabelledTsv } from './evaluate.js';
export { chatWords } from './normalize.js';
export { INTENTS, type Intent, type LlmCallRecorder, type NluResult, type NluSettings, type Understander } from './types.js';
