/** The folder's public surface: what other folders of src/ may use. */
export { createKnex, migrateLatest, migrateRollback, migrationStatus, openDatabase, pingDatabase, type Database, type Knex, type SupervisionOptions } from './db.js';
export type { DatabaseState, Supervisor } from './supervisor.js';
export { markReachability, unreachableReason } from './reachability.js';
export { loadDemoDataIfEmpty } from './demo.js';
export { importPortfolio } from './import.js';
export { readMessages, type StoredMessageRow } from './transcripts.js';
export { issueDatesIn, lastDigits } from './identity-columns.js';
export { decodeSpreadsheet, detectDelimiter, normalizeCedula, parseAmount, type DebtorColumns } from './import.js';
export { AGENCY_SETTING, agencyRouter, APP_ROLE, currentAgency, DEFAULT_AGENCY_ID, runInAgency } from './agency.js';
