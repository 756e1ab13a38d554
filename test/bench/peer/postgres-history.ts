/**
 * BuilderBot's conversation history in PostgreSQL, doing what its
 * @builderbot/database-postgres adapter does: one client taken from a pool at start and
 * used for every call (so the history's statements queue on that one connection),
 * the tables `contact` and `history`, and each save through a PL/pgSQL function that
 * finds or creates the contact, touches it and inserts the history row. The last entry of
 * a number is read with `order by created_at desc limit 1`.
 *
 * For the benchmark only, `afterSave` is told of every entry saved (the harness answers
 * its HTTP request once the bot's turn is saved).
 */
import pg from 'pg';

export interface HistoryEntry {
  ref: string;
  keyword?: string;
  answer: string;
  refSerialize: string;
  from: string;
  phone?: string;
  options?: unknown;
}

const SCHEMA = [
  `create table if not exists contact (
     id serial primary key,
     phone varchar(255) not null,
     created_at timestamp default current_timestamp,
     updated_in timestamp,
     last_interaction timestamp,
     values jsonb)`,
  `create table if not exists history (
     id serial primary key,
     ref varchar(255) not null,
     keyword varchar(255),
     answer text not null,
     refserialize text not null,
     phone varchar(255) not null,
     options jsonb,
     created_at timestamp default current_timestamp,
     updated_in timestamp,
     contact_id integer references contact(id))`,
  `create or replace function save_or_update_history_and_contact(
     in_ref varchar(255), in_keyword varchar(255), in_answer text, in_refserialize text, in_phone varchar(255), in_options jsonb)
   returns void as $$
   declare
     found_contact int;
   begin
     select id into found_contact from contact where phone = in_phone;
     if found_contact is null then
       insert into contact (phone) values (in_phone) returning id into found_contact;
     else
       update contact set last_interaction = current_timestamp where id = found_contact;
     end if;
     insert into history (ref, keyword, answer, refserialize, phone, options, contact_id, created_at)
     values (in_ref, in_keyword, in_answer, in_refserialize, in_phone, in_options, found_contact, current_timestamp);
   end;
   $$ language plpgsql`,
];

export class PostgresHistory {
  /** BuilderBot's MemoryDB keeps this too; the adapter appends every saved entry. */
  listHistory: HistoryEntry[] = [];
  readonly ready: Promise<void>;
  private readonly pool: pg.Pool;
  private readonly afterSave: (entry: HistoryEntry) => void;
  private client?: pg.PoolClient;

  constructor(config: pg.PoolConfig, afterSave: (entry: HistoryEntry) => void) {
    this.afterSave = afterSave;
    const pool = new pg.Pool(config);
    this.pool = pool;
    this.ready = (async () => {
      const client = await pool.connect();
      for (const sql of SCHEMA) await client.query(sql);
      this.client = client;
    })();
  }

  private get db(): pg.PoolClient {
    if (!this.client) throw new Error('the history is not connected yet');
    return this.client;
  }

  async getPrevByNumber(from: string): Promise<(HistoryEntry & { refserialize?: string }) | undefined> {
    const { rows } = await this.db.query<HistoryEntry & { refserialize?: string }>('select * from history where phone = $1 order by created_at desc limit 1', [from]);
    const row = rows[0];
    if (row) {
      row.refSerialize = row.refserialize as string;
      delete row.refserialize;
    }
    return row;
  }

  async save(ctx: HistoryEntry): Promise<void> {
    await this.db.query('select save_or_update_history_and_contact($1, $2, $3, $4, $5, $6)', [ctx.ref, ctx.keyword, ctx.answer, ctx.refSerialize, ctx.from, JSON.stringify(ctx.options)]);
    this.listHistory.push(ctx);
    // The full list grows without bound in the adapter; the benchmark keeps the last few.
    if (this.listHistory.length > 1000) this.listHistory.splice(0, 500);
    this.afterSave(ctx);
  }

  async close(): Promise<void> {
    this.client?.release();
    await this.pool.end();
  }
}
