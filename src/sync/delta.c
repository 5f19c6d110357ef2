/*
 * delta.c -- what changed in a table since the last sync, for --incremental
 * and for the dry run's diff.
 *
 * Rows are matched by key (the primary key, else a unique index on NOT NULL
 * columns) and told apart by row version: every INSERT or UPDATE gives a row
 * a new xmin, so the rows changed since the last sync are those whose xmin
 * its snapshot could not see. The source finds them in SQL, in one scan,
 * without reading, hashing or sending the others: only changed rows cross
 * the wire, and are masked in the stream like any other (masking is a
 * function of the key and the value, so an unchanged row needs nothing).
 * Why not a digest of each row? Hashing every row on both sides
 * (hash_record_extended) costs about a microsecond per row and side, more
 * than half of what copying the row costs; the row version costs nothing.
 *
 * Rows written in the target since the last sync by anyone else are found
 * the same way, on the target (target_edits), and their keys join the
 * changed rows: the target is not trusted to hold what the sync wrote.
 *
 * Keys that disappeared are found by counting: keys fall into buckets
 * (ranges of an integer key, else the md5 of the key's text, so both servers
 * agree), and only the buckets whose counts differ between the source and
 * the target are looked at: one that differs by a single integer key names
 * it by its sums, the others are compared key by key.
 *
 * A table is compared this way only when the target records (in
 * confiture.sync_table_state) that it holds the same source table (cluster,
 * database, oid and file node: a rewritten or replaced table is copied in
 * full), copied the same way (columns, key, subset and rules: the "shape"),
 * as of a known snapshot. Otherwise it is copied in full, and says why.
 */
#include "sync.h"
#include "error.h"
#include "hash.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Beyond this many transactions since the last sync, 32-bit row versions
 * could wrap around: the table is copied in full. */
#define MAX_XID_AGE 1500000000LL

/* ---- Run-wide identity ------------------------------------------------------------------ */

/*
 * A snapshot of this transaction, with its lower bound raised past the
 * transactions that it saw in progress in other databases of the cluster:
 * they write no row here, and a long one (another application's, or a test's
 * next door) would otherwise have every row written since it began sent
 * again at the next sync. A transaction is left in (and the bound stays low)
 * unless it is seen still running elsewhere: one that ended since cannot be
 * placed. A snapshot's own xmin is its oldest transaction in progress
 * anywhere, or its xmax. SQL_HERE_MIN is that bound; the statement that
 * follows SQL_HERE reads s and here.
 */
#define SQL_HERE                                                                     \
	"WITH s AS (SELECT txid_current_snapshot() AS s), "                             \
	"elsewhere AS (SELECT backend_xid::text::bigint AS x FROM pg_stat_activity "    \
	"  WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database() " \
	"  UNION ALL SELECT transaction::text::bigint FROM pg_prepared_xacts "           \
	"  WHERE database <> current_database()), "                                     \
	"here AS (SELECT x FROM s, txid_snapshot_xip(s.s) AS x "                         \
	"  WHERE x % 4294967296 NOT IN (SELECT x FROM elsewhere)) "
#define SQL_HERE_MIN                                                                 \
	"coalesce((SELECT min(x) FROM here), (SELECT txid_snapshot_xmax(s) FROM s))"

/* The run's source snapshot, as "xmin:xmax:xip", xmin raised (SQL_HERE). */
static const char SQL_IDENT[] =
	SQL_HERE
	"SELECT coalesce(CASE WHEN has_function_privilege('pg_control_system()', 'execute') "
	"THEN (SELECT system_identifier::text FROM pg_control_system()) END, '?') || '/' || "
	"(SELECT oid FROM pg_database WHERE datname = current_database())::text, "
	SQL_HERE_MIN " || ':' || txid_snapshot_xmax(s) "
	"|| ':' || coalesce((SELECT string_agg(x::text, ',' ORDER BY x) FROM here), '') FROM s";

cf_status delta_source_identity(runner *R)
{
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(R->src, SQL_IDENT, 0, NULL, &r);
	if (!st) {
		R->src_ident = cf_strdup(cf_pgres_get(r, 0, 0));
		R->src_snapshot = cf_strdup(cf_pgres_get(r, 0, 1));
	}
	cf_pgres_free(r);
	return st;
}

/* ---- Keys and snapshots in SQL ------------------------------------------------------------ */

void delta_key_text(cf_pg *pg, const table_info *t, const char *alias, cf_buf *b)
{
	const char *a = alias ? alias : "", *dot = alias ? "." : "";
	if (t->n_ukey == 1) {
		cf_sql_appendf(pg, b, "%s%s%I::text", a, dot, t->cols[t->ukey[0]].name);
		return;
	}
	cf_buf_puts(b, "json_build_array(");
	for (size_t k = 0; k < t->n_ukey; k++)
		cf_sql_appendf(pg, b, "%s%s%s%I", k ? ", " : "", a, dot, t->cols[t->ukey[k]].name);
	cf_buf_puts(b, ")::text");
}

typedef struct snap {
	int64_t xmin, xmax;
	int64_t *xip;
	size_t n_xip;
} snap;

static bool snap_parse(const char *s, snap *out)
{
	memset(out, 0, sizeof(*out));
	char *end;
	out->xmin = strtoll(s, &end, 10);
	if (*end != ':')
		return false;
	out->xmax = strtoll(end + 1, &end, 10);
	if (*end != ':')
		return false;
	for (const char *p = end + 1; *p;) {
		int64_t v = strtoll(p, &end, 10);
		if (end == p)
			return false;
		out->xip = cf_realloc(out->xip, (out->n_xip + 1) * sizeof(int64_t));
		out->xip[out->n_xip++] = v;
		p = *end == ',' ? end + 1 : end;
	}
	return out->xmax >= out->xmin;
}

/*
 * The rows a snapshot may not have seen: their xmin is at or past the
 * snapshot's xmin, in the circular order of transaction ids (age() is the
 * distance back from the current one, without the text round trip a 32-bit
 * comparison would need). Not its xmax plus its list of transactions in
 * progress: that list names top-level transactions only, and a row written
 * under a savepoint carries its subtransaction's id, which can be below the
 * xmax and in no list. Every transaction in progress, and each of its
 * subtransactions, has an id at or past the snapshot's xmin (raised past
 * other databases' transactions, SQL_IDENT); the rows of the transactions
 * between xmin and xmax that had committed are sent again, which the merge
 * makes harmless. A frozen row keeps its xmin (PostgreSQL
 * 9.4 and later); the special ids age as "infinitely old".
 */
char *delta_changed_pred(const char *snapshot)
{
	snap s;
	if (!snap_parse(snapshot, &s))
		return NULL;
	free(s.xip);
	return cf_asprintf("(age(xmin) <= age('%lld'::xid))", (long long)(s.xmin & 0xffffffffLL));
}

char *delta_edits_pred(cf_pg *src, const plan_table *t, const char *edits, bool or_changed)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_putc(&b, '(');
	if (or_changed)
		cf_buf_printf(&b, "%s OR ", t->changed_pred);
	delta_key_text(src, t->st, NULL, &b);
	cf_sql_appendf(src, &b, " = ANY(%L::text[])", edits);
	if (!or_changed)
		cf_buf_printf(&b, " AND NOT %s", t->changed_pred);
	cf_buf_putc(&b, ')');
	return b.data;
}

/* ---- The table's shape and state ---------------------------------------------------------- */

/* What was copied and how: another shape means another target content. */
static char *shape_of(const runner *R, const plan_table *t)
{
	cf_buf b;
	cf_buf_init(&b);
	/* The table's own rules and the key: another rules entry elsewhere in
	 * the file changes nothing here. */
	bool masked = t->has_stream_masks || t->has_pushdown;
	cf_buf_printf(&b, "rules=%s\nkey=%s\npred=%s\nukey=", t->tr ? t->tr->sha256 : "",
	              masked && R->rules ? R->rules->key_fingerprint : "", t->pred ? t->pred : "");
	for (size_t k = 0; k < t->st->n_ukey; k++)
		cf_buf_printf(&b, "%s,", t->st->cols[t->st->ukey[k]].name);
	for (size_t i = 0; i < t->n_cols; i++)
		cf_buf_printf(&b, "\ncol=%s:%s:%s", t->cols[i].sc->name, t->cols[i].dc->type,
		              t->cols[i].rule ? t->cols[i].rule->strategy : "");
	char hex[CF_SHA256_HEX_LEN + 1];
	cf_sha256_hex(b.data, b.len, hex);
	cf_buf_release(&b);
	return cf_strdup(hex);
}

/* Why T cannot be matched by key, or NULL when it can. */
static const char *keyless_reason(const plan_table *t, char *buf, size_t n)
{
	const table_info *st = t->st;
	if (!st->ukey_name) {
		return "it has no primary key or unique key on NOT NULL columns";
	}
	if (st->is_ukey_nullable) {
		snprintf(buf, n, "its only unique key \"%s\" allows NULLs", st->ukey_name);
		return buf;
	}
	for (size_t k = 0; k < st->n_ukey; k++) {
		const col_info *kc = &st->cols[st->ukey[k]];
		const plan_col *pc = NULL;
		for (size_t i = 0; i < t->n_cols; i++)
			if (t->cols[i].sc == kc)
				pc = &t->cols[i];
		if (!pc) {
			snprintf(buf, n, "its key column \"%s\" is not copied", kc->name);
			return buf;
		}
		if (pc->rule) {
			snprintf(buf, n, "its key column \"%s\" is masked", kc->name);
			return buf;
		}
		if (strcmp(pc->sc->base_full, pc->dc->base_full) != 0) {
			snprintf(buf, n, "its key column \"%s\" has another type in the target", kc->name);
			return buf;
		}
	}
	/* Both sides must match rows by the same columns. */
	const table_info *dt = t->dt;
	bool same = dt->ukey_name && !dt->is_ukey_nullable && dt->n_ukey == st->n_ukey;
	for (size_t k = 0; same && k < st->n_ukey; k++)
		same = strcmp(dt->cols[dt->ukey[k]].name, st->cols[st->ukey[k]].name) == 0;
	if (!same) {
		snprintf(buf, n, "the target's table has no unique key on the same columns as \"%s\"",
		         st->ukey_name);
		return buf;
	}
	return NULL;
}

static const char SQL_STATE[] =
	"SELECT table_name, source_id, shape, snapshot, is_complete, source_deletes, target_bound "
	"FROM confiture.sync_table_state";

/* Beyond this many rows written in the target since the last sync, the
 * table is copied in full rather than taken again key by key. */
#define MAX_TARGET_EDITS 10000

/*
 * Rows of T written in the target by someone else since the last sync
 * (BOUND, "L:X", SQL_TARGET_BOUND), as a text[] literal of their keys in
 * *KEYS (NULL: none); *WHY says instead why the table must be copied in
 * full. Frozen rows keep their xmin, and the special ids age as "infinitely
 * old", as on the source.
 */
static const char NO_BOUND[] = "the target's record of its own row versions is missing";

/* BOUND's "L:X", or false. */
static bool bound_parse(const char *bound, long long *lo, long long *x)
{
	return bound && sscanf(bound, "%lld:%lld", lo, x) == 2;
}

cf_status delta_target_edits(cf_pg *pg, const plan_table *t, const char *bound, char **keys,
                            const char **why)
{
	*keys = NULL;
	long long lo, x;
	if (!bound_parse(bound, &lo, &x)) {
		*why = NO_BOUND;
		return CF_OK;
	}
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "SELECT age('%lld'::xid) > %lld, count(*), array_agg(k) FROM (SELECT ",
	              lo & 0xffffffffLL, MAX_XID_AGE);
	delta_key_text(pg, t->dt, NULL, &b);
	cf_sql_appendf(pg, &b, " AS k FROM ONLY %s WHERE xmin <> '%lld'::xid AND age(xmin) <= "
	               "age('%lld'::xid) LIMIT %d) e", t->dt->quoted, x & 0xffffffffLL,
	               lo & 0xffffffffLL, MAX_TARGET_EDITS + 1);
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(pg, b.data, 0, NULL, &r);
	cf_buf_release(&b);
	if (st)
		return st;
	if (strcmp(cf_pgres_get(r, 0, 0), "t") == 0)
		*why = "too many transactions in the target since the last sync to compare row versions";
	else if (atoll(cf_pgres_get(r, 0, 1)) > MAX_TARGET_EDITS)
		*why = "more than 10000 of its rows were written in the target since the last sync";
	else if (!cf_pgres_isnull(r, 0, 2))
		*keys = cf_strdup(cf_pgres_get(r, 0, 2));
	cf_pgres_free(r);
	return CF_OK;
}

/* Transactions from SNAPSHOT's xmin (the oldest row version it may not
 * have seen) to NOW's xmax. */
static int64_t xid_age(const char *snapshot, const char *now)
{
	snap a, b;
	bool ok = snap_parse(snapshot, &a) && snap_parse(now, &b);
	int64_t age = ok ? b.xmax - a.xmin : -1;
	free(a.xip);
	free(b.xip);
	return age;
}

static cf_status decide(runner *R, plan_table *t, const cf_pgres *state)
{
	char buf[160];
	const char *why = keyless_reason(t, buf, sizeof(buf));
	int row = -1;
	for (int i = 0; !why && i < cf_pgres_nrows(state); i++)
		if (strcmp(cf_pgres_get(state, i, 0), t->st->qname) == 0)
			row = i;
	if (!why && row < 0)
		why = "no earlier sync of this table is recorded in the target";
	else if (!why && strcmp(cf_pgres_get(state, row, 4), "t") != 0)
		why = "its last load did not finish";
	else if (!why && strcmp(cf_pgres_get(state, row, 1), t->source_id) != 0)
		why = "the target holds another source table (or it was rewritten since)";
	else if (!why && strcmp(cf_pgres_get(state, row, 2), t->shape) != 0)
		why = "the columns, subset, masking rules or key changed since the last sync";
	int64_t age = why ? 0 : xid_age(cf_pgres_get(state, row, 3), R->src_snapshot);
	if (!why && (age < 0 || age > MAX_XID_AGE))
		why = "too many transactions since the last sync to compare row versions";
	/* The rows written in the target since: a real run looks for them on
	 * the target's side of the merge, overlapped with the source's scan
	 * (sides.c); a dry run, here. */
	const char *bound = cf_pgres_isnull(state, row, 6) ? NULL : cf_pgres_get(state, row, 6);
	long long lo, x;
	if (!why && !bound_parse(bound, &lo, &x))
		why = NO_BOUND;
	char *edits = NULL;
	cf_status st = CF_OK;
	if (!why && R->o->dry_run)
		st = delta_target_edits(R->dst, t, bound, &edits, &why);
	else if (!why)
		t->target_bound = cf_strdup(bound);
	if (!st && !why) {
		t->changed_pred = delta_changed_pred(cf_pgres_get(state, row, 3));
		if (!t->changed_pred)
			why = "the recorded snapshot cannot be read";
	}
	if (st || why) {
		t->mode = TM_FULL;
		t->mode_reason = why ? cf_strdup(why) : NULL;
		free(t->target_bound);
		t->target_bound = NULL;
		free(edits);
		return st;
	}
	t->mode = TM_INCREMENTAL;
	const char *dels = cf_pgres_get(state, row, 5);
	t->no_deletes_seen = dels && t->src_deletes >= 0 && atoll(dels) == t->src_deletes;
	if (edits) { /* and the rows written in the target since, taken again */
		char *pred = delta_edits_pred(R->src, t, edits, true);
		free(t->changed_pred);
		t->changed_pred = pred;
		free(edits);
	}
	return CF_OK;
}

/* Each source table's statistics count of deleted rows (n_tup_del). */
static cf_status read_deletes(runner *R)
{
	cf_buf oids;
	cf_buf_init(&oids);
	for (size_t i = 0; i < R->p->n; i++) {
		plan_table *t = &R->p->tables[i];
		t->src_deletes = -1;
		if (t->st->relid)
			cf_buf_printf(&oids, "%s%lld", oids.len ? "," : "{", atoll(t->st->relid));
	}
	if (!oids.len) {
		cf_buf_release(&oids);
		return CF_OK;
	}
	cf_buf_putc(&oids, '}');
	const char *params[] = {oids.data};
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(R->src, "SELECT relid::text, n_tup_del FROM pg_stat_all_tables "
	                           "WHERE relid = ANY($1::oid[])", 1, params, &r);
	for (int k = 0; !st && k < cf_pgres_nrows(r); k++)
		for (size_t i = 0; i < R->p->n; i++) {
			plan_table *t = &R->p->tables[i];
			if (t->st->relid && atoll(t->st->relid) == atoll(cf_pgres_get(r, k, 0)))
				t->src_deletes = atoll(cf_pgres_get(r, k, 1));
		}
	cf_pgres_free(r);
	cf_buf_release(&oids);
	return st;
}

cf_status delta_plan(runner *R)
{
	for (size_t i = 0; i < R->p->n; i++) {
		plan_table *t = &R->p->tables[i];
		t->shape = shape_of(R, t);
		t->source_id = cf_asprintf("%s/%s", R->src_ident, t->st->relid ? t->st->relid : "?");
	}
	cf_status st = read_deletes(R);
	if (st || (!R->o->incremental && !R->o->dry_run))
		return st;
	char *exists = NULL;
	cf_pgres *state = NULL;
	st = cf_pg_query_value(R->dst, "SELECT to_regclass('confiture.sync_table_state') "
	                                 "IS NOT NULL", 0, NULL, &exists);
	if (!st && exists && strcmp(exists, "t") == 0)
		st = cf_pg_query(R->dst, SQL_STATE, 0, NULL, &state);
	free(exists);
	for (size_t i = 0; !st && i < R->p->n; i++)
		st = decide(R, &R->p->tables[i], state);
	cf_pgres_free(state);
	return st;
}

/*
 * The target's side of the record, "L:X": X is the transaction that writes
 * the table's rows and this record (so the rows it wrote carry it), L the
 * raised lower bound of its snapshot (SQL_HERE). A row of the target with
 * another xmin at or past L was written by someone else since: the next
 * incremental sync takes its key from the source again (target_edits).
 */
#define SQL_TARGET_BOUND SQL_HERE_MIN " || ':' || txid_current()"

static const char SQL_SAVE[] =
	SQL_HERE
	"INSERT INTO confiture.sync_table_state (table_name, source_id, shape, snapshot, is_complete, "
	"run_id, source_deletes, target_bound, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
	SQL_TARGET_BOUND ", now()) "
	"ON CONFLICT (table_name) DO UPDATE SET source_id = EXCLUDED.source_id, shape = "
	"EXCLUDED.shape, snapshot = EXCLUDED.snapshot, is_complete = EXCLUDED.is_complete, run_id = "
	"EXCLUDED.run_id, source_deletes = EXCLUDED.source_deletes, target_bound = "
	"EXCLUDED.target_bound, updated_at = now()";

cf_status delta_state_save(runner *R, cf_pg *dst, const plan_table *t, bool complete)
{
	char buf[160];
	if (keyless_reason(t, buf, sizeof(buf))) {
		const char *params[] = {t->st->qname};
		return cf_pg_exec_params(dst, "DELETE FROM confiture.sync_table_state WHERE table_name = "
		                         "$1", 1, params);
	}
	char dels[32];
	snprintf(dels, sizeof(dels), "%lld", t->src_deletes);
	const char *params[] = {t->st->qname, t->source_id, t->shape, R->src_snapshot,
	                        complete ? "true" : "false", R->run_id,
	                        t->src_deletes >= 0 ? dels : NULL};
	return cf_pg_exec_params(dst, SQL_SAVE, 7, params);
}

cf_status delta_state_complete(cf_pg *dst, const plan_table *t)
{
	const char *params[] = {t->st->qname};
	/* The ranges came in earlier transactions, committed by now: the bound
	 * of this one's snapshot is past them. */
	return cf_pg_exec_params(dst, SQL_HERE "UPDATE confiture.sync_table_state SET is_complete = "
	                         "true, target_bound = " SQL_TARGET_BOUND ", updated_at = now() "
	                         "WHERE table_name = $1", 1, params);
}

/* ---- Buckets ---------------------------------------------------------------------------------
 *
 * Keys are counted per bucket on both sides; the buckets whose counts differ
 * are compared key by key. Buckets must agree between the two servers,
 * whatever their machines: an integer key falls into ranges of its values
 * (width_bucket over the source's min and max, plus one bucket below and one
 * above), so that the keys of a few buckets are read with the key's index;
 * any other key goes by the leading bits of the md5 of its text (the
 * servers' own hash functions would be cheaper, but depend on the machine's
 * byte order).
 */

static bool int_key(const table_info *t)
{
	if (t->n_ukey != 1)
		return false;
	vtype vt = t->cols[t->ukey[0]].vt;
	return vt == VT_INT2 || vt == VT_INT4 || vt == VT_INT8;
}

/* The boundaries of about N ranges holding as many keys each, from a sample
 * of the source's keys, as a bigint[] literal (NULL when too few keys). The
 * sample takes rows, not pages (SYSTEM): the keys of a sampled page lie next
 * to each other, and bounds drawn from them came in clusters, leaving a few
 * huge ranges that any scattered delete would send to be compared whole. */
static cf_status sample_bounds(cf_pg *src, const plan_table *t, int n, char **out)
{
	long long rows = t->est_rows > 0 ? t->est_rows : 0;
	const char *key = t->st->cols[t->st->ukey[0]].name;
	char sample[64] = "";
	if (rows > 4LL * n && rows > 50000)
		snprintf(sample, sizeof(sample), " TABLESAMPLE BERNOULLI (%.4f)",
		         100.0 * 4.0 * n / (double)rows);
	cf_buf b;
	cf_buf_init(&b);
	cf_sql_appendf(src, &b, "SELECT array_agg(k ORDER BY k)::text FROM (SELECT k, row_number() "
	               "OVER (ORDER BY k) AS rn, count(*) OVER () AS c FROM (SELECT %I::bigint AS k "
	               "FROM ONLY %s%s", key, t->st->quoted, sample);
	if (t->pred)
		cf_buf_printf(&b, " WHERE (%s)", t->pred);
	cf_buf_printf(&b, ") s) q WHERE rn %% greatest(1, c / %d) = 0", n);
	cf_status st = cf_pg_query_value(src, b.data, 0, NULL, out);
	cf_buf_release(&b);
	return st;
}

cf_status delta_buckets_plan(cf_pg *src, const plan_table *t, delta_buckets *B)
{
	long long rows = t->est_rows > 0 ? t->est_rows : 0;
	/* About 64 keys a bucket, up to 16384: a few deleted keys send few keys
	 * to compare, and counting per bucket stays one cheap aggregate. */
	int n = 16;
	while (n < 16384 && (long long)n * 64 < rows)
		n *= 2;
	*B = (delta_buckets){.n = n};
	if (!int_key(t->st))
		return CF_OK;
	char *bounds = NULL;
	cf_status st = sample_bounds(src, t, n, &bounds);
	if (!st && bounds) {
		cf_strv v;
		cf_strv_init(&v);
		parse_text_array(bounds, &v);
		if (v.n) {
			B->is_range = true;
			B->bounds = cf_calloc(v.n, sizeof(long long));
			for (size_t i = 0; i < v.n; i++)
				B->bounds[B->n_bounds++] = atoll(v.v[i]);
			B->n = (int)v.n + 1;
			B->bounds_sql = bounds;
			bounds = NULL;
		}
		cf_strv_release(&v);
	}
	free(bounds);
	return st;
}

/* Before any bucket is counted, one aggregate per side tells whether the
 * key sets can differ at all: the number of keys and two independent sums
 * of their hashes (hashint8 and hashint8extended compute on the integer's
 * value, not its bytes: the same on every machine). The target's table and
 * the changed rows that are new to it (KEYS_NEW, in the merge's session) are
 * summed apart, so that the table's side can run on a connection of its own
 * while the changed rows are still coming; equal sums mean no key went and
 * none is missing (a table only updated and appended to, the common case),
 * and the buckets are never counted. */
cf_status delta_key_sums(cf_pg *pg, const plan_table *t, key_side side, char **out)
{
	*out = NULL;
	const table_info *ti = side == KEYS_SOURCE ? t->st : t->dt;
	if (!int_key(ti))
		return CF_OK;
	const char *key = ti->cols[ti->ukey[0]].name;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "SELECT count(*) || ',' || coalesce(sum(hashint8(k)), 0) || ',' || "
	            "coalesce(sum(hashint8extended(k, 1) >> 33), 0) FROM (");
	if (side == KEYS_NEW)
		cf_sql_appendf(pg, &b, "SELECT s.%I::bigint AS k FROM pg_temp.confiture_in s WHERE NOT "
		               "EXISTS (SELECT 1 FROM ONLY %s t WHERE t.%I = s.%I)", key, ti->quoted, key,
		               key);
	else
		cf_sql_appendf(pg, &b, "SELECT %I::bigint AS k FROM ONLY %s", key, ti->quoted);
	if (side == KEYS_SOURCE && t->pred)
		cf_buf_printf(&b, " WHERE (%s)", t->pred);
	cf_buf_puts(&b, ") x");
	cf_status st = cf_pg_query_value(pg, b.data, 0, NULL, out);
	cf_buf_release(&b);
	return st;
}

bool delta_sums_add(char **acc, const char *more)
{
	long long a[3], m[3];
	if (!*acc || !more || sscanf(*acc, "%lld,%lld,%lld", &a[0], &a[1], &a[2]) != 3 ||
	    sscanf(more, "%lld,%lld,%lld", &m[0], &m[1], &m[2]) != 3)
		return false;
	free(*acc);
	*acc = cf_asprintf("%lld,%lld,%lld", a[0] + m[0], a[1] + m[1], a[2] + m[2]);
	return true;
}

void delta_buckets_release(delta_buckets *B)
{
	free(B->bounds);
	free(B->bounds_sql);
	memset(B, 0, sizeof(*B));
}

void delta_bucket(cf_pg *pg, const table_info *t, const char *alias, const delta_buckets *B,
                  cf_buf *b)
{
	const char *a = alias ? alias : "", *dot = alias ? "." : "";
	if (B->is_range) {
		/* 0 below the first bound, n-1 from the last on. */
		cf_sql_appendf(pg, b, "width_bucket(%s%s%I::bigint, %L::bigint[])", a, dot,
		               t->cols[t->ukey[0]].name, B->bounds_sql);
		return;
	}
	cf_buf_puts(b, "(('x' || substr(md5(");
	delta_key_text(pg, t, alias, b);
	cf_buf_printf(b, "), 1, 4))::bit(16)::int & %d)", B->n - 1);
}

/* The key values of range bucket K, both ends included. */
static void range_of(const delta_buckets *B, int k, long long *lo, long long *hi)
{
	*lo = k <= 0 ? (-9223372036854775807LL - 1) : B->bounds[k - 1];
	*hi = k >= (int)B->n_bounds ? 9223372036854775807LL : B->bounds[k] - 1;
}

/* FROM and WHERE selecting T's rows (alias t) in the listed BUCKETS (an
 * array literal), through the key's index for ranges. */
void delta_rows_in(cf_pg *pg, const table_info *ti, const char *pred, const delta_buckets *B,
                   const char *buckets, cf_buf *b)
{
	if (!B->is_range) {
		cf_sql_appendf(pg, b, " FROM ONLY %s t WHERE ", ti->quoted);
		if (pred)
			cf_buf_printf(b, "(%s) AND ", pred);
		delta_bucket(pg, ti, "t", B, b);
		cf_sql_appendf(pg, b, " = ANY(%L::int[])", buckets);
		return;
	}
	cf_buf los, his;
	cf_buf_init(&los);
	cf_buf_init(&his);
	for (const char *p = buckets + 1; *p && *p != '}';) {
		char *end;
		long k = strtol(p, &end, 10);
		long long lo, hi;
		range_of(B, (int)k, &lo, &hi);
		cf_buf_printf(&los, "%s%lld", los.len ? "," : "", lo);
		cf_buf_printf(&his, "%s%lld", his.len ? "," : "", hi);
		p = *end == ',' ? end + 1 : end;
	}
	const char *key = ti->cols[ti->ukey[0]].name;
	/* Ranges are disjoint: each row comes once, through the key's index. */
	cf_sql_appendf(pg, b, " FROM unnest('{%s}'::bigint[], '{%s}'::bigint[]) AS r(lo, hi) JOIN "
	               "ONLY %s t ON t.%I BETWEEN r.lo AND r.hi", los.data, his.data, ti->quoted, key);
	if (pred)
		cf_buf_printf(b, " WHERE (%s)", pred);
	cf_buf_release(&los);
	cf_buf_release(&his);
}

/* ", sum(k), sum(hashint8(k))" of the integer key (alias A when given):
 * with the count, a bucket whose sides differ by one key names that key. */
void delta_bucket_sums_sql(cf_pg *pg, const table_info *t, const char *alias, cf_buf *b)
{
	const char *a = alias ? alias : "", *dot = alias ? "." : "";
	const char *key = t->cols[t->ukey[0]].name;
	cf_sql_appendf(pg, b, ", sum(%s%s%I::bigint), sum(hashint8(%s%s%I::bigint))", a, dot, key, a,
	               dot, key);
}

/* Per-bucket counts of T's rows on PG (the source through the subset
 * predicate when IS_SOURCE), added to COUNTS[B->n]; with SUMS (range
 * buckets only), their key sums and hash sums added to SUMS[2 * B->n]. */
cf_status delta_bucket_counts(cf_pg *pg, const plan_table *t, bool is_source,
                              const delta_buckets *B, long long *counts, uint64_t *sums)
{
	const table_info *ti = is_source ? t->st : t->dt;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "SELECT ");
	delta_bucket(pg, ti, NULL, B, &b);
	cf_buf_puts(&b, ", count(*)");
	if (sums && B->is_range)
		delta_bucket_sums_sql(pg, ti, NULL, &b);
	cf_sql_appendf(pg, &b, " FROM ONLY %s", ti->quoted);
	if (is_source && t->pred)
		cf_buf_printf(&b, " WHERE (%s)", t->pred);
	cf_buf_puts(&b, " GROUP BY 1");
	cf_status st = delta_add_counts(pg, b.data, B, counts, B->is_range ? sums : NULL);
	cf_buf_release(&b);
	return st;
}

/* A decimal integer of any size, modulo 2^64: sums of keys are compared by
 * their differences, which wrap back to the exact key. */
static uint64_t parse_mod64(const char *s)
{
	bool neg = *s == '-';
	uint64_t v = 0;
	for (const char *p = s + neg; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return neg ? (uint64_t)0 - v : v;
}

cf_status delta_add_counts(cf_pg *pg, const char *sql, const delta_buckets *B, long long *counts,
                           uint64_t *sums)
{
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(pg, sql, 0, NULL, &r);
	for (int i = 0; !st && i < cf_pgres_nrows(r); i++) {
		int k = atoi(cf_pgres_get(r, i, 0));
		if (k < 0 || k >= B->n)
			continue;
		counts[k] += atoll(cf_pgres_get(r, i, 1));
		if (sums && cf_pgres_ncols(r) >= 4) {
			sums[2 * k] += parse_mod64(cf_pgres_get(r, i, 2));
			sums[2 * k + 1] += parse_mod64(cf_pgres_get(r, i, 3));
		}
	}
	cf_pgres_free(r);
	return st;
}

bool delta_bucket_range(const delta_buckets *B, int k, long long *lo, long long *hi)
{
	if (!B->is_range || k < 0 || k >= B->n)
		return false;
	range_of(B, k, lo, hi);
	return true;
}

/* "{1,5,9}": the buckets whose DIFF is not zero, or NULL when none. */
char *delta_bucket_list(const long long *diff, int n_buckets)
{
	cf_buf b;
	cf_buf_init(&b);
	for (int k = 0; k < n_buckets; k++)
		if (diff[k])
			cf_buf_printf(&b, "%s%d", b.len ? "," : "{", k);
	if (!b.len) {
		cf_buf_release(&b);
		return NULL;
	}
	cf_buf_putc(&b, '}');
	return b.data;
}

void delta_key_cols(cf_pg *pg, const table_info *t, const char *alias, cf_buf *b)
{
	for (size_t k = 0; k < t->n_ukey; k++)
		cf_sql_appendf(pg, b, "%s%s%s%I", k ? ", " : "", alias ? alias : "", alias ? "." : "",
		               t->cols[t->ukey[k]].name);
}

/* COPY of the sorted key texts of T in BUCKETS (the source through its
 * subset predicate). */
char *delta_keys_copy_sql(cf_pg *pg, const plan_table *t, bool is_source,
                          const delta_buckets *B, const char *buckets)
{
	const table_info *ti = is_source ? t->st : t->dt;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "COPY (SELECT k FROM (SELECT ");
	delta_key_text(pg, ti, "t", &b);
	cf_buf_puts(&b, " AS k");
	delta_rows_in(pg, ti, is_source ? t->pred : NULL, B, buckets, &b);
	cf_buf_puts(&b, ") s ORDER BY k COLLATE \"C\") TO STDOUT");
	return b.data;
}
