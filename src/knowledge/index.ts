/**
 * The agency's own documents: upload and extraction, chunks and their full-text and
 * embedding indexes, retrieval, answers to a debtor's general questions with their
 * source, the retrieval evaluation and the dashboard's statistics.
 */
export { createKnowledge, trimPassage, MIN_COVERAGE, MIN_COSINE, NO_INFORMATION, SENSITIVE_REPLY, type Knowledge, type KnowledgeDeps, type KnowledgeQuestion, type KnowledgeReply } from './answer.js';
export { chunkText, type Chunk } from './chunk.js';
export { classifyQuestion, type DetectorInput, type QuestionKind } from './detect.js';
export { DEMO_DOCUMENT, loadDemoDocumentIfEmpty } from './demo.js';
export {
  addDocument,
  deleteDocument,
  DocumentNotFoundError,
  UnknownPortfolioError,
  embeddingColumnKind,
  ensureEmbeddings,
  getDocument,
  listDocuments,
  setDocumentActive,
  type AddDocumentInput,
  type DocumentRow,
} from './documents.js';
export { evaluateRetrieval, formatRetrievalReport, parseQuestionSet, QuestionSetError, type EvalQuestion, type RetrievalReport } from './eval.js';
export { DOCUMENT_TYPES, DocumentReadError, documentTypeOf, extractText, MAX_DOCUMENT_BYTES, type DocumentType } from './extract.js';
export { createOpenAiAnswerWriter, createOpenAiEmbedder, DEFAULT_EMBEDDING_MODEL, type AnswerWriter, type Embedder, type GeneratedAnswer, type OpenAiConnection, type Passage } from './openai.js';
export { queryWords, searchChunks, type SearchHit, type SearchOptions } from './search.js';
export { documentQuestionStats, type AskedQuestion, type DocumentQuestionStats } from './stats.js';
