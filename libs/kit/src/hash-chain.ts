import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { EntityManager } from './database.ts';
import { queryRow, queryRows } from './sql.ts';

/**
 * A tamper-evident audit table: every row carries `chain_seq` (1, 2, 3, … with no gaps), the
 * `prev_hash` of the row before it and its own `hash` = SHA-256 (hex) over a canonical encoding of
 * (chain_seq, the content columns in order, prev_hash). A `before insert` trigger fills the three
 * under the row lock of a one-row head table (its last seq and hash), so concurrent appending
 * transactions take turns and cannot fork the chain; a rolled-back append gives its seq back.
 * `verifyChain` recomputes every hash in Node from the stored columns, so an edited, deleted or
 * inserted-around-the-trigger row is found, named by its seq and id.
 *
 * Canonical encoding: each field as `<UTF-8 byte length>:<text>` (a null as `~`), joined by `|`.
 */
export interface HashChain {
  /** A name for the output (`sessions.withdrawal_timeline`). */
  name: string;
  /** The chained table. */
  table: string;
  /** Its primary key column, named in a failure. */
  id: string;
  /** The one-row head table this chain creates. */
  head: string;
  /** What orders the rows already there when the chain is created (they are chained in this order). */
  existingOrder: string;
  /** The hashed content: SQL expressions over the row `r` that give text or null, in order; a timestamp formatted in UTC. */
  content: readonly string[];
}

/** The `prev_hash` of the first entry. */
export const genesisHash = '0'.repeat(64);

/** The canonical encoding of one entry's fields (see HashChain). */
export function canonicalEntry(fields: readonly (string | null)[]): string {
  return fields.map((f) => (f === null ? '~' : `${Buffer.byteLength(f, 'utf8')}:${f}`)).join('|');
}

export function entryHash(fields: readonly (string | null)[]): string {
  return createHash('sha256').update(canonicalEntry(fields), 'utf8').digest('hex');
}

/** A timestamptz column as the chains hash it: ISO 8601 in UTC with microseconds, whatever the session's time zone. */
export const utcText = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The migration statements that make `chain.table` a hash chain: the columns, the SQL twin of
 * `entryHash` (`<table>_entry_hash(r)`), the head table, the trigger, and the rows already there
 * chained in `existingOrder` (with `immutableTrigger`, the table's append-only trigger, disabled
 * meanwhile). No `?` in them: the migrator would read it as a parameter.
 */
export function hashChainMigration(chain: HashChain, immutableTrigger: string): string[] {
  const { table, head, id } = chain;
  const field = (expr: string) => `${table}_field(${expr})`;
  const canonical = [field('r.chain_seq::text'), ...chain.content.map(field), field('r.prev_hash')].join(`, `);
  return [
    `alter table ${table} add column chain_seq bigint, add column prev_hash text, add column hash text`,
    `create function ${table}_field(x text) returns text language sql immutable as $$
      select case when x is null then '~' else octet_length(x)::text || ':' || x end $$`,
    `create function ${table}_entry_hash(r ${table}) returns text language sql stable as $$
      select encode(sha256(convert_to(concat_ws('|', ${canonical}), 'UTF8')), 'hex') $$`,
    `create table ${head} (
      one boolean primary key default true check (one),
      seq bigint not null,
      hash text not null
    )`,
    `alter table ${table} disable trigger ${immutableTrigger}`,
    `do $$
      declare
        r ${table};
        n bigint := 0;
        h text := '${genesisHash}';
      begin
        for r in select * from ${table} order by ${chain.existingOrder} loop
          n := n + 1;
          r.chain_seq := n;
          r.prev_hash := h;
          r.hash := ${table}_entry_hash(r);
          update ${table} set chain_seq = r.chain_seq, prev_hash = r.prev_hash, hash = r.hash where ${id} = r.${id};
          h := r.hash;
        end loop;
        insert into ${head} (seq, hash) values (n, h);
      end $$`,
    `alter table ${table} enable trigger ${immutableTrigger}`,
    `alter table ${table} alter column chain_seq set not null, alter column prev_hash set not null, alter column hash set not null`,
    `create unique index ${table}_chain_seq on ${table} (chain_seq)`,
    hashChainTrigger(chain),
    `create trigger ${table}_chain before insert on ${table} for each row execute function ${table}_chain()`,
  ];
}

/**
 * The trigger function that chains a new row: the head row's lock is the chain's, so appends take
 * turns there until their transaction ends. `lockFirst` (plpgsql over `new`) runs before it: the
 * row locks the insert will need anyway (a foreign key's `for key share` on the parent) are taken
 * while the head is not yet held, so a transaction holding the parent `for update` and waiting for
 * the head can never deadlock with one holding the head and waiting for the parent.
 */
export function hashChainTrigger(chain: HashChain, lockFirst = ''): string {
  const { table, head } = chain;
  return `create or replace function ${table}_chain() returns trigger language plpgsql as $$
      declare
        last_seq bigint;
        last_hash text;
      begin
        ${lockFirst}
        select seq, hash into last_seq, last_hash from ${head} for update;
        new.chain_seq := last_seq + 1;
        new.prev_hash := last_hash;
        new.hash := ${table}_entry_hash(new);
        update ${head} set seq = new.chain_seq, hash = new.hash;
        return new;
      end $$`;
}

/**
 * The migration statements that move an existing chain's linking to commit time: the `before
 * insert` trigger (which held the head's lock from the insert to the end of the transaction, so
 * every appending transaction waited for the whole of the one before it) is replaced by a deferred
 * constraint trigger that links each new row when its transaction commits, in the order the rows
 * were inserted. The head is then held only from the commit's start to its end, and a committed
 * row is never seen unlinked. The chain columns take null until then, and the table's append-only
 * trigger (`immutable.fn`, bound to `before update or delete`) lets through exactly that one
 * update: chain fields filled where they were null, nothing else changed.
 */
export function hashChainAtCommit(chain: HashChain, immutable: { fn: string; message: string }): string[] {
  const { table, head, id } = chain;
  const blank = (r: string) => `${r}.chain_seq := null; ${r}.prev_hash := null; ${r}.hash := null;`;
  return [
    `drop trigger ${table}_chain on ${table}`,
    `alter table ${table} alter column chain_seq drop not null, alter column prev_hash drop not null, alter column hash drop not null`,
    `create or replace function ${immutable.fn}() returns trigger language plpgsql as $$
      declare
        before_row ${table};
        after_row ${table};
      begin
        if tg_op = 'UPDATE' and old.chain_seq is null and new.chain_seq is not null then
          before_row := old;
          after_row := new;
          ${blank('before_row')}
          ${blank('after_row')}
          if before_row is not distinct from after_row then return new; end if;
        end if;
        raise exception '${immutable.message.replaceAll("'", "''")}';
      end $$`,
    `create function ${table}_chain_at_commit() returns trigger language plpgsql as $$
      declare
        r ${table};
        last_seq bigint;
        last_hash text;
      begin
        select seq, hash into last_seq, last_hash from ${head} for update;
        r := new;
        r.chain_seq := last_seq + 1;
        r.prev_hash := last_hash;
        r.hash := ${table}_entry_hash(r);
        update ${table} set chain_seq = r.chain_seq, prev_hash = r.prev_hash, hash = r.hash where ${id} = new.${id};
        update ${head} set seq = r.chain_seq, hash = r.hash;
        return null;
      end $$`,
    `create constraint trigger ${table}_chain after insert on ${table}
      deferrable initially deferred for each row execute function ${table}_chain_at_commit()`,
  ];
}

export type ChainProblem =
  /** The row's content no longer gives its hash (a column was edited, or the hash itself). */
  | 'edited_content'
  /** Rows before this one are gone (a delete): its chain_seq skips. */
  | 'missing_predecessor'
  /** Its prev_hash is not the hash of the row before it. */
  | 'wrong_prev_link'
  /** The head says the chain is longer than the rows there (the last rows were deleted). */
  | 'missing_tail'
  /** The head's hash is not the last row's, or rows run past the head. */
  | 'head_mismatch'
  /** A committed row that is on no chain (inserted with the chain's trigger disabled). */
  | 'unlinked_entry';

export interface ChainBreak {
  /** The chain_seq of the first broken entry (for missing_tail, the first missing one). */
  seq: string;
  /** Its primary key, null when the row is gone. */
  id: string | null;
  problem: ChainProblem;
  detail: string;
}

export interface ChainVerdict {
  chain: string;
  ok: boolean;
  entriesChecked: number;
  /** The head's last seq and hash: an operator may keep them outside the database to catch a rewritten chain. */
  head: { seq: string; hash: string } | null;
  firstBroken: ChainBreak | null;
}

const headRow = z.object({ seq: z.string(), hash: z.string() });

/** Recomputes every entry of the chain in order; stops at the first broken one. Read-only. */
export async function verifyChain(em: EntityManager, chain: HashChain, pageSize = 2_000): Promise<ChainVerdict> {
  const entryRow = z.object({
    seq: z.string(),
    id: z.string(),
    prev_hash: z.string(),
    hash: z.string(),
    ...Object.fromEntries(chain.content.map((_, i) => [`f${i}`, z.string().nullable()])),
  });
  const fields = chain.content.map((expr, i) => `${expr} as f${i}`).join(', ');
  const head = await queryRow(em, headRow, `select seq::text as seq, hash from ${chain.head}`);
  let checked = 0;
  let prevSeq = 0n;
  let prevHash = genesisHash;
  const verdict = (firstBroken: ChainBreak | null): ChainVerdict => ({
    chain: chain.name,
    ok: firstBroken === null,
    entriesChecked: checked,
    head,
    firstBroken,
  });
  for (;;) {
    const page = await queryRows(
      em,
      entryRow,
      `select r.chain_seq::text as seq, r.${chain.id}::text as id, r.prev_hash, r.hash, ${fields}
       from ${chain.table} r where r.chain_seq > ? order by r.chain_seq limit ?`,
      [prevSeq.toString(), pageSize],
    );
    for (const row of page) {
      const seq = BigInt(row.seq);
      const at = { seq: row.seq, id: row.id };
      if (seq !== prevSeq + 1n) {
        const gone = seq - 1n === prevSeq + 1n ? `entry ${prevSeq + 1n}` : `entries ${prevSeq + 1n}..${seq - 1n}`;
        return verdict({ ...at, problem: 'missing_predecessor', detail: `${gone} before it missing (deleted)` });
      }
      if (row.prev_hash !== prevHash)
        return verdict({
          ...at,
          problem: 'wrong_prev_link',
          detail: `prev_hash ${row.prev_hash} is not the hash of entry ${prevSeq} (${prevHash})`,
        });
      const content = chain.content.map((_, i) => (row as Record<string, string | null>)[`f${i}`] ?? null);
      const recomputed = entryHash([row.seq, ...content, row.prev_hash]);
      if (recomputed !== row.hash)
        return verdict({
          ...at,
          problem: 'edited_content',
          detail: `stored hash ${row.hash}, its content hashes to ${recomputed}: the row was edited`,
        });
      checked += 1;
      prevSeq = seq;
      prevHash = row.hash;
    }
    if (page.length < pageSize) break;
  }
  if (!head) return verdict({ seq: '0', id: null, problem: 'head_mismatch', detail: `${chain.head} has no row` });
  // Rows are linked when their transaction commits: a committed row without a link was slipped in
  // around the trigger.
  const unlinked = await queryRow(
    em,
    z.object({ id: z.string() }),
    `select r.${chain.id}::text as id from ${chain.table} r where r.chain_seq is null order by r.${chain.id} limit 1`,
  );
  if (unlinked)
    return verdict({
      seq: (prevSeq + 1n).toString(),
      id: unlinked.id,
      problem: 'unlinked_entry',
      detail: `entry ${unlinked.id} is on no chain (inserted around the chain's trigger)`,
    });
  const headSeq = BigInt(head.seq);
  if (headSeq > prevSeq)
    return verdict({
      seq: (prevSeq + 1n).toString(),
      id: null,
      problem: 'missing_tail',
      detail: `the head is at entry ${head.seq}, the last entry there is ${prevSeq}: entries after it missing (deleted)`,
    });
  if (headSeq !== prevSeq || head.hash !== prevHash)
    return verdict({
      seq: prevSeq.toString(),
      id: null,
      problem: 'head_mismatch',
      detail: `the head (entry ${head.seq}, ${head.hash}) is not the last entry (${prevSeq}, ${prevHash})`,
    });
  return verdict(null);
}

/** One line for a person: what was checked, or the first broken entry. */
export function describeVerdict(v: ChainVerdict): string {
  if (v.ok) return `${v.chain}: chain intact, ${v.entriesChecked} entries checked, head ${v.head?.seq ?? '-'} ${v.head?.hash ?? ''}`.trim();
  const b = v.firstBroken!;
  return `${v.chain}: CHAIN BROKEN at entry ${b.seq}${b.id === null ? '' : ` (id ${b.id})`}: ${b.problem}: ${b.detail} (${v.entriesChecked} entries before it verified)`;
}
