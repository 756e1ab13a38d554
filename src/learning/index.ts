/**
 * The learning loop: ratings, the review inbox, model versions behind a gate, the
 * semantic dictionary, fine-tuning exports and jobs, and the links from all of it to the
 * debt it is about. The service wires withLearning() around the engine and the
 * LearningUnderstander in place of the plain NLU pipeline; the HTTP layer and the CLI
 * use the rest.
 */
export { withLearning, type LearningHooksOptions } from './hooks.js';
export { LearningUnderstander, type LearningUnderstanderOptions } from './understander.js';
export { maskPersonalData } from './mask.js';
export { readState, type LearningState } from './state.js';
export {
  compileDictionary,
  createDictionaryEntry,
  deleteDictionaryEntry,
  DICTIONARY_CATEGORIES,
  dictionaryEntryInput,
  dictionaryHistory,
  DictionaryError,
  dictionarySnapshot,
  listDictionary,
  updateDictionaryEntry,
  type DictionaryEntry,
  type DictionarySnapshot,
} from './dictionary.js';
export { listInbox, recordForReview, REVIEW_REASONS, reviewDecision, ReviewError, reviewItem, reviewReasons, type InboxItem, type ReviewDecision } from './review.js';
export { RATING_QUESTION, ratingFrom, ratingReport, type RatingReport } from './ratings.js';
export {
  activateVersion,
  DEFAULT_TOLERANCE,
  GATE_FILES,
  GateError,
  listVersions,
  readGateSets,
  reviewedExamples,
  rollbackVersion,
  TrainingError,
  trainVersion,
  type ModelVersionRow,
  type TrainVersionOptions,
  type TrainVersionResult,
} from './models.js';
export {
  clearFallbackModel,
  createFineTuningClient,
  DEFAULT_BASE_MODEL,
  exportFilters,
  exportFineTuning,
  FineTuneError,
  listFineTuningJobs,
  pollFineTuningJobs,
  startFineTuningJob,
  startJobInput,
  SYSTEM_PROMPT,
  useFineTunedModel,
  type ExportReport,
  type FineTuningJobRow,
} from './finetune.js';
export { debtView, type DebtView } from './links.js';
export { fineTuningPollJob } from './jobs.js';
