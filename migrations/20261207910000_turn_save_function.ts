import type { Knex } from 'knex';

/**
 * acuerdo_save_turn(turn jsonb): one turn's whole write as ONE statement with ONE bound
 * parameter, so a turn computed from a known conversation is saved in one round trip
 * without hand-escaped SQL. In its own (implicit) transaction, or inside the caller's:
 *
 * 1. takes the channel user's advisory lock (the same key as lockChannelUser);
 * 2. inserts the conversation, or updates it only if it still has `expectedVersion`
 *    (else raises 40001: the caller reloads under the lock and computes again);
 * 3. inserts the turn's messages in order, stamped with the turn's `now` (the service's
 *    clock); an inbound message also keeps `sent_at`, the platform's own time for it;
 * 4. inserts the outbox row for the replies, if any;
 * 5. applies the effect rows (agreements, installments, opt-outs, events, disputes,
 *    identity attempts…): an insert, an insert whose `parent` agreement is looked up by
 *    reference, or an update of the rows matching `where`. Tables are a fixed list.
 *
 * A repeated inbound message id, or a second live conversation for one channel user,
 * fail on their unique indexes and abort the whole statement.
 */
const EFFECT_TABLES = [
  'agreements',
  'agreement_installments',
  'opt_outs',
  'conversation_events',
  'disputes',
  'identity_attempts',
  'third_party_contacts',
  'channel_contacts',
];

export async function up(knex: Knex): Promise<void> {
  // When the platform says the debtor wrote (InboundMessage.at), beside created_at (when
  // the service took the turn, by its clock): late deliveries and the WhatsApp 24-hour
  // customer-service window are measured from the debtor's own time.
  await knex.schema.alterTable('messages', (t) => {
    t.timestamp('sent_at', { useTz: true });
  });
  await knex.raw(`
    create or replace function acuerdo_save_turn(turn jsonb) returns table (outbox_id bigint, version integer)
    language plpgsql as $fn$
    declare
      c conversations%rowtype := jsonb_populate_record(null::conversations, turn->'conversation');
      at_ timestamptz := (turn->>'now')::timestamptz;
      expected integer := (turn->>'expectedVersion')::integer;
      saved integer;
      box bigint;
      o jsonb := turn->'outbox';
      r jsonb;
      tbl text;
      cols text;
      src_cols text;
      sets text;
      conds text;
    begin
      perform pg_advisory_xact_lock(hashtextextended(c.channel || ':' || c.user_id, 0));
      if not coalesce((turn->>'durable')::boolean, true) then
        -- A turn without legal or business facts need not wait for the disk.
        perform set_config('synchronous_commit', 'off', true);
      end if;

      if (turn->>'isNew')::boolean then
        insert into conversations (id, channel, user_id, debtor_id, portfolio_id, flow, state, context, status, tier,
                                   message_count, fallback_count, handoff_reason, close_reason, channel_ref,
                                   opened_at, last_activity_at, handoff_at, closed_at)
        values (c.id, c.channel, c.user_id, c.debtor_id, c.portfolio_id, c.flow, c.state, c.context, c.status, c.tier,
                c.message_count, c.fallback_count, c.handoff_reason, c.close_reason, c.channel_ref,
                c.opened_at, c.last_activity_at, c.handoff_at, c.closed_at)
        returning conversations.version into saved;
      else
        update conversations v
           set debtor_id = c.debtor_id, portfolio_id = c.portfolio_id, flow = c.flow, state = c.state, context = c.context,
               status = c.status, tier = c.tier, message_count = c.message_count, fallback_count = c.fallback_count,
               handoff_reason = c.handoff_reason, close_reason = c.close_reason, channel_ref = c.channel_ref,
               last_activity_at = c.last_activity_at, handoff_at = c.handoff_at, closed_at = c.closed_at
         where v.id = c.id and (expected is null or v.version = expected)
        returning v.version into saved;
        if saved is null then
          raise exception 'conversation % changed since the turn read it', c.id using errcode = '40001';
        end if;
      end if;

      insert into messages (conversation_id, direction, author, channel, external_id, text, button_id, buttons, media_kind,
                            intent, confidence, nlu_source, entities, previous_state, next_state, created_at, sent_at)
      select c.id, m.direction, m.author, c.channel, m.external_id, m.text, m.button_id, m.buttons, m.media_kind,
             m.intent, m.confidence, m.nlu_source, m.entities, turn->>'previousState', c.state, at_, m.sent_at
        from jsonb_array_elements(turn->'messages') with ordinality as e(value, ord),
             jsonb_to_record(e.value) as m(direction text, author text, external_id text, text text, button_id text,
                                           buttons jsonb, media_kind text, intent text, confidence real, nlu_source text,
                                           entities jsonb, sent_at timestamptz)
       order by e.ord;

      if jsonb_typeof(o) = 'object' then
        insert into outbox (conversation_id, channel, recipient, kind, payload, status, next_attempt_at, created_at, updated_at, sent_at)
        values (c.id, c.channel, o->>'recipient', o->>'kind', o->'replies', o->>'status', at_, at_, at_,
                case when o->>'status' = 'sent' then at_ end)
        returning id into box;
      end if;

      for r in select value from jsonb_array_elements(coalesce(turn->'rows', '[]'::jsonb)) loop
        tbl := r->>'table';
        if not tbl = any(array[${EFFECT_TABLES.map((t) => `'${t}'`).join(', ')}]) then
          raise exception 'a turn cannot write to table %', tbl using errcode = '22023';
        end if;
        if r->'where' is not null then
          select string_agg(format('%I = src.%I', k, k), ', ') into sets from jsonb_object_keys(r->'values') k;
          if r->'parent' is not null then
            sets := concat_ws(', ', sets, format('%I = (select a.id from agreements a where a.reference = $3)', r->'parent'->>'column'));
          end if;
          select string_agg(format('t.%I = w.%I', k, k), ' and ') into conds from jsonb_object_keys(r->'where') k;
          execute format('update %I t set %s from jsonb_populate_record(null::%I, $1) src, jsonb_populate_record(null::%I, $2) w where %s',
                         tbl, sets, tbl, tbl, conds)
            using r->'values', r->'where', r->'parent'->>'reference';
        else
          select string_agg(format('%I', k), ', '), string_agg(format('src.%I', k), ', ') into cols, src_cols from jsonb_object_keys(r->'values') k;
          if r->'parent' is not null then
            execute format('insert into %I (%I, %s) select a.id, %s from agreements a, jsonb_populate_record(null::%I, $1) src where a.reference = $2',
                           tbl, r->'parent'->>'column', cols, src_cols, tbl)
              using r->'values', r->'parent'->>'reference';
          else
            execute format('insert into %I (%s) select %s from jsonb_populate_record(null::%I, $1) src', tbl, cols, src_cols, tbl)
              using r->'values';
          end if;
        end if;
      end loop;

      return query select box, saved;
    end
    $fn$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists acuerdo_save_turn(jsonb)');
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('sent_at');
  });
}
