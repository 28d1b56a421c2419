import { Migration } from '@offramp/kit';

/**
 * `ledger_apply` (migration 0003) with plans that stay good as the ledger grows. Postgres keeps the
 * plans of a function's statements per session; a plan chosen while a table was small (the first
 * batches of a young ledger) is a sequential scan or a join that reads a whole index, and it is
 * kept while the table grows, until autovacuum happens to invalidate it: measured on a fresh
 * schema, a batch of 16 holds went from 8 to 15 ms within seconds, then back to 3 ms after an
 * autovacuum. Planning every call instead costs 1 to 2 ms per batch. So every lookup here is an
 * index lookup per row that no plan can turn into a scan (a lateral subquery by key, limit 1; one
 * update per touched slot by its key), and the function runs with `enable_seqscan = off` so that
 * even a plan made on an empty table reads by index. Same inputs, outcomes and writes as 0003.
 */
export class LedgerApplyBatchPlans extends Migration {
  override up(): void {
    this.addSql(applyFunction);
  }
}

const applyFunction = `
create or replace function ledger_apply(p_ops jsonb, p_events jsonb)
returns table (idx int, outcome text, transfer jsonb)
language plpgsql
set enable_seqscan = off
as $fn$
#variable_conflict use_column
declare
  n int;
  -- The operations, by position: what was asked, with its accounts resolved.
  o_kind text[]; o_id uuid[]; o_hold uuid[]; o_amount numeric[]; o_meta jsonb[];
  o_dcur text[]; o_ccur text[]; o_downer text[]; o_cowner text[];
  o_did bigint[]; o_cid bigint[]; o_dslots int[]; o_cslots int[]; o_dneg boolean[];
  o_eid uuid[]; o_corr text[]; o_caus text[]; o_trace text[];
  -- The locked balance slots, by key (account id * 64 + slot), in lock order; changed in memory.
  b_key bigint[]; b_aid bigint[]; b_slot int[]; b_dp numeric[]; b_cp numeric[]; b_dpend numeric[]; b_cpend numeric[];
  b_dirty boolean[];
  -- The transfers known to the batch: those already stored that it names, then those it stores.
  t_id uuid[]; t_kind text[]; t_did bigint[]; t_cid bigint[]; t_dslots int[]; t_cslots int[]; t_amount numeric[];
  t_hold uuid[]; t_meta jsonb[]; t_created timestamptz[]; t_downer text[]; t_cowner text[]; t_cur text[];
  tn int; t_stored int;
  -- The answers: outcome, the transfer (index into t_*) and, for a hold, its status at that point.
  r_outcome text[]; r_t int[]; r_status text[];
  -- The transfers this batch stores (index into t_*) and the operation that stores each.
  w_t int[]; w_op int[]; wn int := 0;
  k text; j int; r int; mine int; di int; ci int; amt numeric;
begin
  select count(*)::int,
         array_agg(e.o->>'kind' order by e.i), array_agg((e.o->>'id')::uuid order by e.i),
         array_agg((e.o->>'holdId')::uuid order by e.i), array_agg((e.o->>'amount')::numeric order by e.i),
         array_agg(coalesce(e.o->'metadata', '{}'::jsonb) order by e.i),
         array_agg(e.o->>'debitCurrency' order by e.i), array_agg(e.o->>'creditCurrency' order by e.i),
         array_agg(e.o->>'debitOwner' order by e.i), array_agg(e.o->>'creditOwner' order by e.i),
         array_agg(d.id order by e.i), array_agg(c.id order by e.i),
         array_agg(d.slots::int order by e.i), array_agg(c.slots::int order by e.i), array_agg(d.allow_negative order by e.i),
         array_agg((e.o->>'eventId')::uuid order by e.i), array_agg(e.o->>'correlationId' order by e.i),
         array_agg(e.o->>'causationId' order by e.i), array_agg(e.o->>'traceId' order by e.i)
    into n, o_kind, o_id, o_hold, o_amount, o_meta, o_dcur, o_ccur, o_downer, o_cowner,
         o_did, o_cid, o_dslots, o_cslots, o_dneg, o_eid, o_corr, o_caus, o_trace
    from jsonb_array_elements(p_ops) with ordinality as e(o, i)
    left join lateral (
      select a.id, a.slots, a.allow_negative from accounts a
       where e.o->>'kind' in ('transfer', 'hold') and a.owner = e.o->>'debitOwner' and a.currency = e.o->>'debitCurrency' limit 1
    ) d on true
    left join lateral (
      select a.id, a.slots from accounts a
       where e.o->>'kind' in ('transfer', 'hold') and a.owner = e.o->>'creditOwner' and a.currency = e.o->>'creditCurrency' limit 1
    ) c on true;
  if n = 0 then return; end if;

  -- Lock every slot the batch may touch, once, in (account, slot) order. A post or void touches
  -- its hold's slots: those of a hold already stored are read here (a hold row never changes);
  -- those of a hold placed earlier in this batch are among its own operations' slots.
  with wanted as (
    select o.did as aid, ledger_slot(o.dslots, o.id) as slot
      from unnest(o_did, o_dslots, o_id) as o(did, dslots, id) where o.did is not null
    union
    select o.cid, ledger_slot(o.cslots, o.id)
      from unnest(o_cid, o_cslots, o_id) as o(cid, cslots, id) where o.cid is not null
    union
    select v.aid, ledger_slot((select a.slots from accounts a where a.id = v.aid)::int, h.id)
      from transfers h cross join lateral (values (h.debit_account_id), (h.credit_account_id)) as v(aid)
     where h.id = any(o_hold) and h.kind = 'hold'
  )
  select array_agg(w.aid * 64 + w.slot order by w.aid, w.slot),
         array_agg(w.aid order by w.aid, w.slot), array_agg(w.slot order by w.aid, w.slot),
         array_agg(s.debits_posted order by w.aid, w.slot), array_agg(s.credits_posted order by w.aid, w.slot),
         array_agg(s.debits_pending order by w.aid, w.slot), array_agg(s.credits_pending order by w.aid, w.slot),
         array_agg(false)
    into b_key, b_aid, b_slot, b_dp, b_cp, b_dpend, b_cpend, b_dirty
    from (select aid, slot from wanted order by aid, slot) w
    -- One slot at a time, in the order above: each locked by its own index lookup.
    cross join lateral (
      select b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending
        from balances b where b.account_id = w.aid and b.slot = w.slot
         for update
    ) s;

  -- With the slots locked, what is stored about the transfers the batch names is settled: a
  -- resolution of any of these holds, or a retry on these accounts, needs a slot this batch holds.
  select array_agg(t.id), array_agg(t.kind), array_agg(t.debit_account_id), array_agg(t.credit_account_id),
         array_agg(d.slots::int), array_agg(c.slots::int), array_agg(t.amount), array_agg(t.hold_id), array_agg(t.metadata),
         array_agg(t.created_at), array_agg(d.owner), array_agg(c.owner), array_agg(d.currency)
    into t_id, t_kind, t_did, t_cid, t_dslots, t_cslots, t_amount, t_hold, t_meta, t_created, t_downer, t_cowner, t_cur
    from transfers t
    cross join lateral (select a.slots, a.owner, a.currency from accounts a where a.id = t.debit_account_id limit 1) d
    cross join lateral (select a.slots, a.owner from accounts a where a.id = t.credit_account_id limit 1) c
   where t.id = any(o_id || o_hold) or t.hold_id = any(o_id || o_hold);
  tn := coalesce(array_length(t_id, 1), 0);
  t_stored := tn;

  for i in 1..n loop
    k := o_kind[i];
    if k = 'transfer' or k = 'hold' then
      if o_dcur[i] <> o_ccur[i] then
        r_outcome[i] := 'currency_mismatch';
        continue;
      end if;
      if o_did[i] is null or o_cid[i] is null then
        r_outcome[i] := 'account_not_found';
        continue;
      end if;
      j := array_position(t_id, o_id[i]);
      if j is not null then
        -- A retry (or a twin) of a stored transfer, or another transfer under the same id.
        r_outcome[i] := case when t_kind[j] = k and t_did[j] = o_did[i] and t_cid[j] = o_cid[i]
                                  and t_amount[j] = o_amount[i] and t_meta[j] = o_meta[i]
                             then 'exists' else 'exists_with_different_fields' end;
        r_t[i] := j;
        if t_kind[j] = 'hold' then
          r := array_position(t_hold, t_id[j]);
          r_status[i] := case when r is null then 'pending' when t_kind[r] = 'post' then 'posted' else 'voided' end;
        end if;
        continue;
      end if;
      di := array_position(b_key, o_did[i] * 64 + ledger_slot(o_dslots[i], o_id[i]));
      ci := array_position(b_key, o_cid[i] * 64 + ledger_slot(o_cslots[i], o_id[i]));
      if di is null or ci is null then
        raise exception 'ledger_apply: balance slot missing for account % or %', o_did[i], o_cid[i];
      end if;
      amt := o_amount[i];
      if not o_dneg[i] and b_cp[di] - b_dp[di] - b_dpend[di] < amt then
        r_outcome[i] := 'insufficient_funds';
        continue;
      end if;
      if k = 'transfer' then
        b_dp[di] := b_dp[di] + amt;
        b_cp[ci] := b_cp[ci] + amt;
      else
        b_dpend[di] := b_dpend[di] + amt;
        b_cpend[ci] := b_cpend[ci] + amt;
      end if;
      b_dirty[di] := true;
      b_dirty[ci] := true;
      tn := tn + 1;
      t_id[tn] := o_id[i]; t_kind[tn] := k; t_did[tn] := o_did[i]; t_cid[tn] := o_cid[i];
      t_dslots[tn] := o_dslots[i]; t_cslots[tn] := o_cslots[i]; t_amount[tn] := amt; t_hold[tn] := null;
      t_meta[tn] := o_meta[i]; t_created[tn] := now(); t_downer[tn] := o_downer[i]; t_cowner[tn] := o_cowner[i];
      t_cur[tn] := o_dcur[i];
      wn := wn + 1; w_t[wn] := tn; w_op[wn] := i;
      r_outcome[i] := 'ok';
      r_t[i] := tn;
      if k = 'hold' then r_status[i] := 'pending'; end if;
    else
      j := array_position(t_id, o_hold[i]);
      if j is null or t_kind[j] <> 'hold' then
        r_outcome[i] := 'hold_not_found';
        continue;
      end if;
      r := array_position(t_hold, o_hold[i]);
      mine := array_position(t_id, o_id[i]);
      if mine is not null then
        -- Our own earlier answer (a retry), or the id names another transfer.
        r_outcome[i] := case when t_kind[mine] = k and t_hold[mine] = o_hold[i] then 'exists' else 'exists_with_different_fields' end;
        r_t[i] := mine;
        if t_kind[mine] = 'hold' then
          r := array_position(t_hold, t_id[mine]);
          r_status[i] := case when r is null then 'pending' when t_kind[r] = 'post' then 'posted' else 'voided' end;
        end if;
        continue;
      end if;
      if r is not null then
        r_outcome[i] := case when t_kind[r] = 'post' then 'hold_already_posted' else 'hold_already_voided' end;
        r_t[i] := r;
        continue;
      end if;
      di := array_position(b_key, t_did[j] * 64 + ledger_slot(t_dslots[j], o_hold[i]));
      ci := array_position(b_key, t_cid[j] * 64 + ledger_slot(t_cslots[j], o_hold[i]));
      if di is null or ci is null then
        raise exception using errcode = '40001',
          message = format('ledger_apply: hold %s was placed after the batch locked its slots; retry the batch', o_hold[i]);
      end if;
      amt := t_amount[j];
      if k = 'post' then
        b_dpend[di] := b_dpend[di] - amt;
        b_dp[di] := b_dp[di] + amt;
        b_cpend[ci] := b_cpend[ci] - amt;
        b_cp[ci] := b_cp[ci] + amt;
      else
        b_dpend[di] := b_dpend[di] - amt;
        b_cpend[ci] := b_cpend[ci] - amt;
      end if;
      b_dirty[di] := true;
      b_dirty[ci] := true;
      tn := tn + 1;
      t_id[tn] := o_id[i]; t_kind[tn] := k; t_did[tn] := t_did[j]; t_cid[tn] := t_cid[j];
      t_dslots[tn] := t_dslots[j]; t_cslots[tn] := t_cslots[j]; t_amount[tn] := amt; t_hold[tn] := o_hold[i];
      t_meta[tn] := t_meta[j]; t_created[tn] := now(); t_downer[tn] := t_downer[j]; t_cowner[tn] := t_cowner[j];
      t_cur[tn] := t_cur[j];
      wn := wn + 1; w_t[wn] := tn; w_op[wn] := i;
      r_outcome[i] := 'ok';
      r_t[i] := tn;
    end if;
  end loop;

  if wn > 0 then
    -- No "on conflict": an id stored meanwhile by a batch on other slots fails this one (23505), to be retried.
    insert into transfers (id, kind, debit_account_id, credit_account_id, amount, hold_id, metadata)
    select t_id[w.t], t_kind[w.t], t_did[w.t], t_cid[w.t], t_amount[w.t], t_hold[w.t], t_meta[w.t]
      from unnest(w_t) with ordinality as w(t, ord)
     order by w.ord;

    -- One update per touched slot (each an index lookup of a row this batch holds locked).
    for s in 1..coalesce(array_length(b_key, 1), 0) loop
      if b_dirty[s] then
        update balances
           set debits_posted = b_dp[s], credits_posted = b_cp[s], debits_pending = b_dpend[s], credits_pending = b_cpend[s]
         where account_id = b_aid[s] and slot = b_slot[s];
      end if;
    end loop;

    insert into outbox (id, subject, envelope)
    select o_eid[w.op], p_events->t_kind[w.t]->>'subject',
           jsonb_build_object(
             'id', o_eid[w.op], 'type', p_events->t_kind[w.t]->>'type', 'version', p_events->t_kind[w.t]->'version',
             'occurredAt', to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'correlationId', o_corr[w.op], 'causationId', o_caus[w.op], 'traceId', o_trace[w.op],
             'payload', ledger_transfer_view(t_id[w.t], t_kind[w.t], t_downer[w.t], t_cowner[w.t], t_cur[w.t], t_amount[w.t],
                                             t_hold[w.t], case when t_kind[w.t] = 'hold' then 'pending' end, t_meta[w.t], t_created[w.t]))
      from unnest(w_t, w_op) with ordinality as w(t, op, ord)
     order by w.ord;
  end if;

  return query
    select i, r_outcome[i],
           case when r_t[i] is null then null
                else ledger_transfer_view(t_id[r_t[i]], t_kind[r_t[i]], t_downer[r_t[i]], t_cowner[r_t[i]], t_cur[r_t[i]],
                                          t_amount[r_t[i]], t_hold[r_t[i]], r_status[i], t_meta[r_t[i]], t_created[r_t[i]]) end
      from generate_series(1, n) as i;
end
$fn$`;
