/*
 * sync.h -- internals of `confiture sync` (src/sync).
 *
 *   values.c    value codecs: COPY text escaping, binary <-> text for the
 *               types a masked column may have, dates, numerics, addresses
 *   textpat.c   hand-written matchers for emails, phones, cards, SSNs, IBANs
 *   names.c     the embedded first and last name lists
 *   strategy.c  the anonymization strategies and their parameters
 *   jsonmask.c  masking keys and paths inside json/jsonb text
 *   rules.c     the rules file and the key
 *   catalog.c   tables, columns, keys and foreign keys of a database
 *   plan.c      table selection, load order, column comparison, subsets,
 *               primary-key ranges
 *   stream.c    rewriting a COPY stream (text or binary) row by row
 *   copy.c      copying one table or range in one target transaction
 *   run.c       cf_sync: connections, snapshot, workers, resume, history
 *   verify.c    --verify
 *   pii.c       dry-run warnings about columns that look like PII
 *   history.c   `sync history`
 */
#ifndef CF_SYNC_H
#define CF_SYNC_H

#include "confiture.h"
#include "buf.h"
#include "config.h"
#include "hash.h"
#include "pg.h"
#include "secret.h"

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Value types (values.c) ------------------------------------------------ */

/* What a column holds, as far as masking needs to know. */
typedef enum vtype {
	VT_TEXT,        /* text, varchar, name, citext, ... (category S) */
	VT_BPCHAR,      /* char(n): trailing blanks are not significant */
	VT_INT2, VT_INT4, VT_INT8,
	VT_FLOAT4, VT_FLOAT8,
	VT_NUMERIC,
	VT_DATE, VT_TIMESTAMP, VT_TIMESTAMPTZ,
	VT_UUID,
	VT_INET, VT_CIDR,
	VT_JSON, VT_JSONB,
	VT_BOOL,
	VT_OTHER        /* no binary codec: tables masking it use text COPY */
} vtype;

/* The vtype of a base type name ("int4", "timestamptz", ...). */
vtype vtype_of(const char *base_typname, char typcategory);
bool vtype_is_textlike(vtype t);
/* True when binary COPY values of T can be turned into text and back. */
bool vtype_has_codec(vtype t);

/* Binary COPY value -> text form (appended to OUT). False when malformed. */
bool value_bin_to_text(vtype t, const char *in, size_t n, cf_buf *out);
/* Text form -> binary COPY value (appended to OUT). False when it does not parse. */
bool value_text_to_bin(vtype t, const char *in, size_t n, cf_buf *out);

/* COPY text format: unescapes one field (not "\N"), or escapes a value. */
void copy_text_unescape(const char *in, size_t n, cf_buf *out);
void copy_text_escape(const char *in, size_t n, cf_buf *out);

/* Dates and timestamps, as PostgreSQL prints them with DateStyle ISO. */
typedef struct dt_val {
	int64_t days;          /* since 1970-01-01 */
	int64_t usec;          /* time of day, microseconds */
	bool has_time;
	int frac_digits;       /* fraction digits written in the input */
	char suffix[16];       /* zone offset as written ("+00", "Z", "+05:30"), or "" */
	bool is_special;       /* infinity, -infinity */
	bool has_t;            /* "T" between date and time */
} dt_val;

bool dt_parse(const char *s, size_t n, dt_val *v);
void dt_format(const dt_val *v, cf_buf *out);
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Addresses: FAMILY 4 or 6, BYTES 4 or 16, BITS the mask length. */
typedef struct ip_val {
	int family;
	unsigned char addr[16];
	int bits;
	bool has_bits;         /* "/n" written */
} ip_val;
bool ip_parse(const char *s, size_t n, ip_val *v);
void ip_format(const ip_val *v, bool show_bits, cf_buf *out);

bool uuid_parse(const char *s, size_t n, unsigned char out[16]);
void uuid_format(const unsigned char b[16], cf_buf *out);

/* ---- Text patterns (textpat.c) --------------------------------------------- */

typedef enum pat_kind {
	PAT_CARD, PAT_IBAN, PAT_SSN, PAT_EMAIL, PAT_PHONE, PAT_IP, PAT_N
} pat_kind;

/* Name of a pattern kind ("email"), and the kind of a name (-1 when unknown). */
const char *pat_name(pat_kind k);
int pat_from_name(const char *name);
/* Finds the first match of a kind in MASK (a bit per kind) in S[0..N) at or
 * after FROM: its kind, start and end. False when none. */
bool pat_find(unsigned mask, const char *s, size_t n, size_t from, pat_kind *kind, size_t *start,
              size_t *end);
/* True when the whole of S (trimmed) is a match of kind K. */
bool pat_whole(pat_kind k, const char *s, size_t n);
bool luhn_valid(const char *digits, size_t n);

/* ---- Names (names.c) ------------------------------------------------------- */

extern const char *const cf_first_names[];
extern const size_t cf_n_first_names;
extern const char *const cf_last_names[];
extern const size_t cf_n_last_names;

/* ---- Strategies (strategy.c) ------------------------------------------------- */

typedef enum strat_kind {
	ST_EMAIL, ST_PHONE, ST_NAME, ST_HASH, ST_REDACT, ST_NULL, ST_CONSTANT, ST_PARTIAL,
	ST_DATE, ST_TIMESTAMP, ST_NUMERIC, ST_IP, ST_CARD, ST_UUID, ST_TEXT_REDACT, ST_JSON,
	ST_SQL, ST_PLUGIN,
	ST_KEEP                  /* not masked: copied as it is, on purpose (needs a reason) */
} strat_kind;

typedef struct mask_rule mask_rule;

struct mask_rule {
	char *column;            /* NULL for a rule nested in json's with: */
	char *strategy;          /* as written, e.g. "email" or "plugin:iban" */
	int line, col;           /* where the rule is in the rules file */
	strat_kind kind;
	char *seed;              /* optional: a separate output domain */

	/* parameters (each strategy reads its own) */
	bool keep_domain;        /* email */
	char *domain;            /* email */
	char *prefix;            /* email, hash */
	long length;             /* email, hash: hex characters */
	long keep_first;         /* phone, partial, credit_card */
	long keep_last;          /* partial, credit_card */
	int part;                /* name: 0 full, 1 first, 2 last */
	char *replacement;       /* redact, text_redact (NULL: masked lookalikes) */
	char *value;             /* constant */
	char *mask_char;         /* partial (one UTF-8 character) */
	long max_days;           /* date, timestamp */
	bool keep_year, keep_month;
	double percent;          /* numeric */
	long prefix_v4, prefix_v6; /* ip: bits kept */
	unsigned patterns;       /* text_redact: bit per pat_kind */
	regex_t *custom;         /* text_redact: extra POSIX regexes */
	size_t n_custom;
	char **keys;             /* json: keys matched at any depth */
	size_t n_keys;
	char ***paths;           /* json: paths, each a NULL-terminated list of steps */
	size_t n_paths;
	mask_rule *inner;        /* json: what matched values get */
	char *expression;        /* sql */
	char *reason;            /* keep: why the column holds no personal data */
	const cf_plugin_strategy *plugin;
	void *plugin_state;
	mask_rule *sub[PAT_N];   /* text_redact: lookalike makers per kind */

	/* the key, once set (strat_prime) */
	bool is_primed;
	unsigned char rule_key[32]; /* keyed BLAKE2b of the domain under the master key */
	cf_hmac_key hk;          /* rule_key's HMAC pads: values are hashed with it */
};

/* Parses the strategy and parameters of a rule from a YAML map (every key but
 * those in SKIP is a parameter). Errors are CF_ERR_CONFIG at the offending
 * line of DOC. */
cf_status strat_parse(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *map,
                      const char *const *skip, size_t n_skip, mask_rule *r);
/* Same, from a strategy name alone with default parameters. */
cf_status strat_default(cf_ctx *ctx, const char *strategy, mask_rule *r);
void strat_release(mask_rule *r);
/* Derives the rule's keyed state from the 32-byte MASTER key. */
void strat_prime(mask_rule *r, const unsigned char master[32]);
/* Known strategy names, NULL-terminated (for hints and docs). */
const char *const *strat_names(void);

/* True when the strategy can mask a column of type T (with SQL type name
 * TYPNAME for messages). */
bool strat_accepts(const mask_rule *r, vtype t);
/* True when the strategy is applied in the source query, not in the stream. */
bool strat_is_pushdown(const mask_rule *r);
/* Distinct outputs the strategy can give a column, as bits (log2), or a
 * negative value when it cannot be told (sql, plugins, text_redact, json,
 * keep) or does not matter (null). */
double strat_output_bits(const mask_rule *r);
/* Whether verify can expect "no source value kept": 's' the whole column holds
 * none of the sampled values, 'r' each sampled row changed, 0 not checkable. */
char strat_verify_mode(const mask_rule *r);

typedef enum mask_rc { MASK_OK, MASK_NULL, MASK_FAIL } mask_rc;

/* A masked column's type: numeric(p,s) bounds the noise it can take. */
typedef struct vcol {
	vtype vt;
	int precision, scale;    /* numeric(p,s), or -1 */
} vcol;
#define VCOL_TEXT ((vcol){VT_TEXT, -1, -1})

/*
 * Masks one non-NULL value, given in its text form (IN[0..N), any bytes, not
 * NUL-terminated) from a column of type C. Appends the masked text form to
 * OUT, or returns MASK_NULL. On MASK_FAIL *WHY says why, without the value.
 * Thread-safe: R is only read.
 */
mask_rc strat_mask(const mask_rule *r, vcol c, const char *in, size_t n, cf_buf *out,
                   const char **why);

/* ---- JSON (jsonmask.c) ------------------------------------------------------- */

/* Masks the keys/paths of R inside the JSON text IN. */
mask_rc json_mask(const mask_rule *r, const char *in, size_t n, cf_buf *out, const char **why);

/* ---- Rules (rules.c) --------------------------------------------------------- */

typedef struct table_rules {
	char *name;              /* as written: "users" or "sales.orders" */
	char sha256[65];         /* of the entry's canonical text: its rules' fingerprint */
	int line, col;
	char *where;             /* subset predicate, or NULL */
	int where_line;
	mask_rule *rules;
	size_t n_rules;
} table_rules;

typedef struct sync_rules {
	char *shown;             /* the file as named in messages */
	char sha256[65];         /* of the file, recorded with a run for --resume */
	char *key_env;           /* from the file, or NULL */
	int key_env_line;
	table_rules *tables;
	size_t n_tables;
	bool has_key;
	bool is_random;          /* --allow-random without a key */
	unsigned char master[32];
	char key_fingerprint[33]; /* a keyed hash of a constant: tells keys apart */
} sync_rules;

/* Reads and checks the rules file PATH (shown as SHOWN). Plugin strategies
 * load the config's plugins. CF_ERR_CONFIG at file:line on any problem. */
cf_status rules_load(cf_ctx *ctx, const char *path, const char *shown, sync_rules **out);
/*
 * Takes the key from the variable named by the rules file's key_env, else
 * DEFAULT_ENV; registers it as a secret, derives the master key, wipes the
 * copy. No key: CF_ERR_CONFIG unless ALLOW_RANDOM (a random master key).
 */
cf_status rules_set_key(cf_ctx *ctx, sync_rules *r, const char *default_env, bool allow_random);
void rules_free(sync_rules *r);

/* ---- Catalog (catalog.c) ----------------------------------------------------- */

typedef struct col_info {
	char *name;
	char *type;              /* format_type with the modifier: "character varying(20)" */
	char *base;              /* base type name: "varchar", "int4" */
	char *base_full;         /* base type as format_type names it (qualified) */
	char category;           /* pg_type.typcategory of the base type */
	vtype vt;
	bool is_notnull;
	bool has_default;
	bool is_generated;
	bool is_bin_ok;          /* binary COPY carries no database-specific OIDs */
	char *seq;               /* owned sequence (quoted, qualified), or NULL */
	int pk_pos;              /* 1-based position in the primary key, 0 when not */
	char *uniq;              /* unique index (or constraint) keyed on this column alone */
	int precision, scale;    /* numeric(p,s), or -1 */
} col_info;

typedef struct table_info {
	char *schema, *name;
	char *qname;             /* schema.name, for display and globs */
	char *quoted;            /* "schema"."name" */
	long long est_rows;      /* pg_class.reltuples (-1 never analyzed) */
	long long pages;
	bool is_partition;
	col_info *cols;
	size_t n_cols;
	int *pk;                 /* column indexes in key order */
	size_t n_pk;
	/* The key an incremental sync matches rows by (sql/sync_keys.sql): the
	 * primary key, else a unique index on NOT NULL columns. */
	int *ukey;               /* column indexes in key order */
	size_t n_ukey;
	char *ukey_name;         /* its index, or NULL when the table has none */
	bool is_ukey_nullable;   /* the only unique key allows NULLs */
	char *relid;             /* "oid/filenode": changes when rewritten or replaced */
} table_info;

typedef struct fk_info {
	char *name;
	int child, parent;       /* table indexes in the catalog, -1 when not a table */
	char *child_q, *parent_q; /* "schema"."table" of each side */
	char **child_cols, **parent_cols;
	size_t n_cols;
	char *def;               /* pg_get_constraintdef */
	bool is_valid;
} fk_info;

typedef struct catalog {
	table_info *tables;
	size_t n_tables;
	fk_info *fks;
	size_t n_fks;
} catalog;

cf_status catalog_load(cf_ctx *ctx, cf_pg *pg, catalog **out);
void catalog_free(catalog *c);
/* Index of schema.name, or -1. */
int catalog_find(const catalog *c, const char *schema, const char *name);
/* Index of a column, or -1. */
int table_col(const table_info *t, const char *name);
/* Parses a text[] literal ("{a,\"b c\"}") into SV. */
void parse_text_array(const char *lit, cf_strv *sv);

/* ---- Plan (plan.c) ------------------------------------------------------------ */

typedef struct plan_col {
	const col_info *sc, *dc; /* source and target column */
	const mask_rule *rule;   /* NULL: copied verbatim */
	const mask_rule *kept;   /* a keep rule: copied verbatim on purpose */
	bool in_stream;          /* masked in the COPY stream (else in the source query) */
	vtype vt;                /* type the masked value is written in */
} plan_col;

typedef struct plan_table {
	int si, di;              /* source and target catalog indexes */
	const table_info *st, *dt;
	plan_col *cols;
	size_t n_cols;
	bool is_binary;
	bool has_stream_masks;
	bool has_pushdown;
	const table_rules *tr;
	char *pred;              /* subset predicate on the source, or NULL */
	bool is_subset;
	char **bounds;           /* n_ranges - 1 PK boundaries, as text */
	int n_ranges;
	int range_col;           /* source column index of the range key */
	long long est_rows;
	char *type_note;         /* why text format, for the plan */
	/* results */
	long long rows, bytes;
	double duration_s;
	bool is_skipped;
	int ranges_done;
	int verified;
	int retries;             /* transient failures retried */
	bool is_failed;          /* given up on (--continue-on-error) */
	char *error;             /* why, when is_failed */
	/* --incremental and the dry run's diff (delta.c, merge.c, diff.c) */
	int mode;                /* TM_FULL or TM_INCREMENTAL */
	char *mode_reason;       /* why a full copy, when incremental was asked */
	char *shape;             /* what is copied and how (a hash) */
	char *source_id;         /* cluster/database/oid/filenode of the source table */
	char *changed_pred;      /* source rows changed since the last sync */
	long long src_deletes;   /* the source's count of deleted rows (statistics), -1 */
	bool no_deletes_seen;    /* the same count as at the last sync: a hint only */
	bool has_diff;           /* the counts below are known */
	long long added, updated, deleted, unchanged, failed_rows;
	long long src_count, dst_count; /* dry run: rows on each side */
} plan_table;

enum { TM_FULL, TM_INCREMENTAL };

typedef struct plan {
	plan_table *tables;      /* load order: parents first */
	size_t n;
	const catalog *src, *dst;
	cf_sync_issue *issues;   /* column mismatches found */
	size_t n_issues;
	cf_strv warnings;
} plan;

typedef struct plan_opts {
	const cf_sync_opts *o;
	const sync_rules *rules; /* NULL without --anonymize */
	long jobs;
	long long split_rows;
	const char *ledger;      /* migration tracking table, left out */
} plan_opts;

/*
 * Builds the plan: selects tables, checks rules against the source catalog,
 * compares columns with the target (mismatches become issues and
 * CF_ERR_VALIDATION), orders tables by foreign keys and computes subset
 * predicates. Ranges are added later by plan_split (needs the source).
 */
cf_status plan_build(cf_ctx *ctx, cf_pg *src_pg, const catalog *src, const catalog *dst,
                     const plan_opts *po, plan **out);
/* Splits large tables into PK ranges (jobs > 1), querying SRC. */
cf_status plan_split(cf_ctx *ctx, cf_pg *src, plan *p, long jobs, long long split_rows);
void plan_free(plan *p);
void plan_issue(plan *p, const char *table, const char *column, const char *kind,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Source query for a table or range (RANGE -1 = all): COPY ... TO STDOUT. */
char *plan_copy_out_sql(cf_pg *src, const plan_table *t, int range);
/* Target COPY ... FROM STDIN. FREEZE when the table was truncated in the
 * same transaction. */
char *plan_copy_in_sql(cf_pg *dst, const plan_table *t, bool freeze);
/* The SELECT list/FROM/WHERE of the table as the source sends it (for
 * verify and the plan), without COPY. */
char *plan_select_sql(cf_pg *src, const plan_table *t, int range, const char *select_list);
/* Item key in the progress table: "schema.table" or "schema.table#N". */
char *plan_item_key(const plan_table *t, int range);

/* ---- Stream (stream.c) -------------------------------------------------------- */

typedef struct stream {
	const plan_table *t;
	cf_buf out;              /* rewritten data not yet sent */
	cf_buf carry;            /* a partial binary tuple between chunks */
	cf_buf val, masked, bin; /* scratch */
	bool header_done;
	bool trailer_seen;
	long long rows;
	int fail_col;            /* column index of a failure */
	const char *fail_why;
} stream;

void stream_init(stream *s, const plan_table *t);
void stream_release(stream *s);
/* Rewrites one COPY data chunk into s->out. False on a value that cannot be
 * masked or a malformed stream (fail_col/fail_why set). */
bool stream_feed(stream *s, const char *data, size_t n);

/* ---- PII (pii.c) --------------------------------------------------------------- */

/* The reason a column name looks like PII ("email"), or NULL. */
const char *pii_name_reason(const char *column);

/* ---- Run (run.c, copy.c, verify.c, pii.c) --------------------------------------- */

#include "dbref.h"
#include "hooks.h"
#include "progress.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct runner runner;

typedef struct work_item {
	plan_table *t;
	int range;               /* -1: the whole table */
	bool is_done;            /* done by the run being resumed */
} work_item;

typedef struct worker {
	runner *R;
	int id;
	cf_ctx *ctx;             /* the worker's own: its errors, its cancellation */
	cf_pg *src, *dst;        /* guarded by R->mu while they change */
	pthread_t thread;
	atomic_bool is_done;
	cf_status status;
} worker;

struct runner {
	cf_ctx *ctx;
	const cf_sync_opts *o;
	cf_sync_result *res;
	cf_dbref from, to;
	bool has_from, has_to;
	sync_rules *rules;
	bool anonymize;
	long jobs;
	long long split_rows;
	long retries;            /* sync.retries */
	cf_pg *src, *dst;        /* coordinator connections */
	char *snapshot;          /* exported by the coordinator (jobs > 1) */
	char *encoding;          /* the source's server encoding */
	catalog *scat, *dcat;
	plan *p;
	char run_id[37];
	char *resumed_from;
	bool has_lock;
	bool history_started;
	work_item *items;
	size_t n_items, next_item;
	pthread_mutex_t mu;      /* items, per-table counters, hooks, worker connections */
	pthread_cond_t worker_done; /* signalled (under mu) as each worker ends */
	atomic_bool stop;
	worker *workers;
	atomic_long tables_done;
	cf_prog *prog;           /* progress: totals, phases, ETA (core/progress.c) */
	double t0;
	cf_strv warnings;
	cf_strv unmasked;        /* schema.table.column accepted by --allow-unmasked */
	bool is_policy_ok;       /* the rules mask what they must (policy.c) */
	int guard_fd;            /* the guard's pipe (guard.c), or -1 */
	char *src_ident;         /* the source cluster and database (delta.c) */
	char *src_snapshot;      /* the run's source snapshot, txid_current_snapshot() */
	bool is_disabled;        /* the target's constraints were taken away */
	bool is_restored;        /* and put back */
};

/* The target's records (record.c): the one-sync-at-a-time lock, the history
 * row and the progress items that --resume reads. */
cf_status sync_take_lock(runner *R);
/* The latest run into this target, when it did not finish and copied from
 * the same source with the same rules; NULL in *RUN_ID when there is none. */
cf_status sync_find_resumable(runner *R, char **run_id);
cf_status sync_history_start(runner *R);
/* Closes the history row with the run's outcome (also after a Ctrl-C). */
cf_status sync_history_finish(runner *R, cf_status st);
cf_status sync_items_insert(runner *R);
/* Resuming: the ranges of run OLD, and its items copied into this run. */
cf_status sync_adopt_ranges(runner *R, const char *old);
cf_status sync_copy_old_items(runner *R, const char *old);
/* Items of this run already done (copied from the resumed run). */
cf_status sync_load_done(runner *R, cf_strv *done);
/* "schema.table#truncate": the item of a split table's truncation. */
char *sync_truncate_key(const plan_table *t);
/* Streams rows from w->src (OUT_SQL, a COPY TO) into w->dst (IN_SQL, a COPY
 * FROM), masking T's columns in the stream; EST rows expected (large masked
 * streams are masked on several threads). Errors in the worker's context. */
cf_status sync_stream(worker *w, plan_table *t, const char *out_sql, const char *in_sql,
                      long long est, const char *key, long long *rows, long long *bytes);

/* ---- Incremental (delta.c, merge.c, diff.c) ---- */

/* The source's identity and the run's snapshot (coordinator, after BEGIN). */
cf_status delta_source_identity(runner *R);
/* Shapes and source ids of the plan's tables; with --incremental or a dry
 * run, each table's mode (TM_INCREMENTAL when the target's record allows it,
 * else TM_FULL with a reason). */
cf_status delta_plan(runner *R);
/* Records (in DST's transaction) that T holds the source's rows as of this
 * run's snapshot; COMPLETE false while a split table is being loaded. Tables
 * without a usable key get no record. */
cf_status delta_state_save(runner *R, cf_pg *dst, const plan_table *t, bool complete);
cf_status delta_state_complete(cf_pg *dst, const plan_table *t);
/* The SQL predicate of the rows SNAPSHOT could not see, or NULL. */
char *delta_changed_pred(const char *snapshot);
/* SQL: the key of T as text (one column, or a JSON array), and its bucket. */
void delta_key_text(cf_pg *pg, const table_info *t, const char *alias, cf_buf *b);
typedef struct delta_buckets {
	int n;                   /* buckets, numbered 0..n-1 */
	bool is_range;           /* an integer key: ranges of values (its index serves) */
	long long *bounds;       /* is_range: n-1 ascending bounds from a sample of keys */
	size_t n_bounds;
	char *bounds_sql;        /* the same as a bigint[] literal */
} delta_buckets;
void delta_buckets_release(delta_buckets *B);
/* "count,sum,sum" of T's integer keys on PG: the source's (through its
 * subset predicate), the target table's, or those of pg_temp.confiture_in
 * the target lacks. The source's equal the target's plus the new ones when
 * no key went or is missing. NULL for other keys. */
typedef enum key_side { KEYS_SOURCE, KEYS_TARGET, KEYS_NEW } key_side;
cf_status delta_key_sums(cf_pg *pg, const plan_table *t, key_side side, char **out);
/* Adds the sums MORE to *ACC; false (and *ACC as it was) when either is
 * missing or unreadable. */
bool delta_sums_add(char **acc, const char *more);

/* How T's keys are bucketed in this run (one query on SRC for an integer key). */
cf_status delta_buckets_plan(cf_pg *src, const plan_table *t, delta_buckets *B);
void delta_bucket(cf_pg *pg, const table_info *t, const char *alias, const delta_buckets *B,
                  cf_buf *b);
/* " FROM ... t WHERE ...": TI's rows (alias t) in the listed BUCKETS ("{1,5}"),
 * with PRED when given. */
void delta_rows_in(cf_pg *pg, const table_info *ti, const char *pred, const delta_buckets *B,
                   const char *buckets, cf_buf *b);
/* "k1, k2": the key's columns (with ALIAS. when given). */
void delta_key_cols(cf_pg *pg, const table_info *t, const char *alias, cf_buf *b);
/* Per-bucket counts into COUNTS; with SUMS (range buckets: 2 per bucket,
 * modulo 2^64), the sums of the keys and of their hashint8 too. */
cf_status delta_bucket_counts(cf_pg *pg, const plan_table *t, bool is_source,
                              const delta_buckets *B, long long *counts, uint64_t *sums);
/* SQL ", sum(key), sum(hashint8(key))" of T's integer key. */
void delta_bucket_sums_sql(cf_pg *pg, const table_info *t, const char *alias, cf_buf *b);
/* Runs SQL (rows of bucket, count[, key sum, hash sum]) and adds each count
 * to COUNTS[bucket], and the sums to SUMS[2 * bucket] when SUMS is given. */
cf_status delta_add_counts(cf_pg *pg, const char *sql, const delta_buckets *B, long long *counts,
                           uint64_t *sums);
/* The key values of range bucket K, both ends included (false: no range). */
bool delta_bucket_range(const delta_buckets *B, int k, long long *lo, long long *hi);
char *delta_bucket_list(const long long *diff, int n_buckets);
char *delta_keys_copy_sql(cf_pg *pg, const plan_table *t, bool is_source,
                          const delta_buckets *B, const char *buckets);
/* ---- Both sides' keys, counted alongside the changed rows (sides.c) ---- */
/* Per bucket: the source's counts and sums, and the target's (with the new
 * changed rows) minus them. */
typedef struct cells {
	int n;
	long long *src, *diff;
	uint64_t *ssum, *dsum;   /* 2 per bucket: key sum, hash sum (modulo 2^64) */
} cells;
void cells_init(cells *c, int n);
void cells_release(cells *c);
/* One side of the comparison: sides[0] the source, sides[1] the target. */
typedef struct side {
	worker *w;
	const plan_table *t;
	bool is_source;
	cf_ctx *ctx;             /* the side's own errors, cancelled with the worker's */
	cf_pg *pg;               /* its own connection, or NULL: the worker's, in turn */
	const delta_buckets *B;  /* NULL: key sums */
	long long *counts;       /* with B: per bucket, */
	uint64_t *bucket_sums;   /* and their key and hash sums */
	char *sums;              /* without B */
	/* The source's side can plan the buckets first, then start PARTNER's
	 * counts and count its own: the sample is off the worker's path too. */
	delta_buckets *plan_B;
	cells *plan_c;
	struct side *partner;
	cf_status st;
	pthread_t th;
	bool wants_conn;         /* a connection of its own, on its own thread */
	bool is_running, is_done;
} side;
/* Decides, for T, which sides get connections of their own (from 50,000
 * rows, and the target's only without a before_sync_table hook). */
void sides_open(side *sides, worker *w, const plan_table *t);
/* Starts both sides' counts: bucket counts into C over B, else (B NULL)
 * key sums into sides[i].sums. Sides without a connection of their own
 * count at sides_wait, on the worker's connections. */
void sides_start(side *sides, const delta_buckets *B, cells *c);
/* Plans B (a sample of the source's keys), sizes C, and starts both sides'
 * bucket counts: all of it on the sides' threads when both have one. */
cf_status sides_start_buckets(side *sides, delta_buckets *B, cells *c);
/* Both sides' counts, done (both waited for, whatever fails); a side's
 * error becomes the worker's. */
cf_status sides_wait(side *sides);
/* Waits for what still runs, closes the sides' connections. */
void sides_close(side *sides);
/* Buckets of C that differ by exactly one integer key: that key, confirmed
 * by its hash, goes into GONE (bigint[] literal; the target has it, the
 * source not) or MISSING (text[] literal; the other way round), and its
 * bucket's difference is cleared. */
cf_status sides_decode_single(worker *w, const delta_buckets *B, cells *c, char **gone,
                              char **missing);

/* Applies the changes of an incremental table in one target transaction
 * (merge.c); a table whose merge hits a unique conflict is copied in full. */
cf_status merge_item(worker *w, work_item *it);
/* The dry run's diff of every table (diff.c): counts on both sides and, for
 * tables that can be compared, exactly what an incremental run would add,
 * update and delete. */
cf_status sync_dry_diff(runner *R);
/* True in *IN_LINE when T's columns are not masked and both sides hold the
 * same rows (counts and checksums), with their number in *ROWS (diff.c). */
cf_status sync_in_line(cf_pg *src, cf_pg *dst, const plan_table *t, long long *rows,
                       bool *in_line);

/* Backups (backup.c): the schema of run RUN_ID's backup. */
char *sync_backup_schema(const char *run_id);
/* Before anything changes: the backup's record (and with --backup-dir, the
 * dump of every table). */
cf_status sync_backup_begin(runner *R);
/* --backup: T's rows copied into the backup schema, in DST's transaction,
 * before they are replaced. */
cf_status sync_backup_table(runner *R, cf_pg *dst, const plan_table *t);
/* pg_dump and pg_restore: run from the server binaries' directory, the
 * password of CONNINFO (if any) in their environment, never on argv. */
cf_status sync_run_tool(cf_ctx *ctx, const char *name, const char **argv, const char *conninfo);

/* CF_ERR_VALIDATION ("refusing to WHAT protected environment ...") when REF
 * is a protected database, decided as for a sync (run.c). */
cf_status sync_refuse_protected(cf_ctx *ctx, const cf_dbref *ref, const char *what);
/* Connects to TARGET (ENV or URL; NULL: the loaded environment), for
 * reading its records (history.c). *DISPLAY: its name, password masked. */
cf_status sync_connect_target(cf_ctx *ctx, const char *target, cf_pg **pg, char **display);

/* Runs the workers over R->items (workers.c). */
cf_status sync_run_workers(runner *R);
/* Fills R->res from the run (result.c). */
void sync_fill_result(runner *R, cf_status st);
/* The target's foreign keys and triggers during the load (constraints.c):
 * dropped and disabled, recorded in confiture.sync_restore, in one
 * transaction. */
cf_status sync_constraints_disable(runner *R);
/* The same for the tables of DCAT marked in COPIED, recorded under RUN_ID. */
cf_status sync_constraints_take(cf_ctx *ctx, cf_pg *dst, const catalog *dcat, const bool *copied,
                                const char *run_id);
/* Puts back everything recorded in confiture.sync_restore (by this run or
 * an earlier one): triggers enabled, foreign keys added back NOT VALID then
 * validated one by one. Those that do not validate stay NOT VALID and
 * recorded, with a line each in FAILED. Errors only for the first step.
 * PROG (may be NULL) shows the validation phase. */
cf_status sync_constraints_restore(cf_ctx *ctx, cf_pg *dst, cf_prog *prog, cf_strv *failed);
/* The same on a fresh connection to CONNINFO (a run's own may be broken or
 * cancelled); on failure, *WHY (to free) says why. */
cf_status sync_constraints_restore_anew(const char *conninfo, cf_strv *failed, char **why);
/* The guard process (guard.c): started before anything is dropped, it puts
 * the constraints back if the run dies without doing it. Release with
 * RESTORED true when the run put everything back itself. */
cf_status sync_guard_start(runner *R);
void sync_guard_release(runner *R, bool restored);
/* The same for any writer of TARGET (sync restore): *FD is the pipe. */
cf_status sync_guard_spawn(cf_ctx *ctx, const char *target, const char *run_id, int *fd);
void sync_guard_done(int *fd, bool restored);

/* Session settings both sides use, so that text forms agree. */
cf_status sync_session_setup(runner *R, cf_pg *pg, bool is_source);
/* After an item's COMMIT (copy.c): counts, progress, ANALYZE (when ANALYZE
 * and the table is complete), after_sync_table hooks. */
cf_status sync_item_finished(worker *w, work_item *it, long long rows, long long bytes,
                             double dur, bool analyze);
/* Copies one work item in one target transaction (copy.c). */
cf_status copy_item(worker *w, work_item *it);
/* Fires a table hook under R->mu: PART says which hooks (SQL ones run in the
 * table's transaction, shell hooks and callbacks outside it). */
cf_status sync_fire_table_hook(runner *R, const char *event, cf_hook_part part,
                               const plan_table *t, cf_pg *pg, long long rows, int success,
                               long long elapsed_ms);
/* Replaces the recorded server error with one that cannot quote data. */
void sync_scrub_error(cf_ctx *ctx);
/* An order-independent checksum of T's unmasked columns, as an SQL
 * aggregate over its rows (on the source: cast to the target's types), or
 * NULL when every column is masked (verify.c). */
char *sync_checksum_expr(cf_pg *pg, const plan_table *t, bool source);
/* --verify (verify.c): issues go to the plan; CF_ERR_CHECK when any. */
cf_status sync_verify(runner *R);
/* The parallel masking pipeline (pipe.c) for large masked tables. */
typedef struct pipe_fail {
	int col;                 /* column that could not be masked, or -1 */
	const char *why;
	long long row;
	bool source_failed;      /* the source's COPY failed on its own (error recorded) */
	bool reader_done;        /* the source's COPY was read to its end */
} pipe_fail;
/* Records that column COL of T could not be masked at ROW (no value shown). */
cf_status sync_mask_error(cf_ctx *ctx, const plan_table *t, int col, const char *why,
                          long long row);
/* Masker threads to use per worker. */
int pipe_maskers(long jobs);
/* Streams T from SRC into DST (both COPYs started) with MASKERS threads;
 * errors go to CTX (the worker's). */
cf_status pipe_copy(runner *R, cf_ctx *ctx, cf_pg *src, cf_pg *dst, const plan_table *t,
                    const char *key, int maskers, long long *bytes, pipe_fail *fail);
/* PII findings (pii.c): columns without a rule that look personal, by name
 * and by sampled values; each becomes an issue with the rule to add. */
cf_status sync_pii_scan(runner *R);
/* What an anonymized run must satisfy before any data moves (policy.c). */
cf_status sync_policy_check(runner *R);

#endif
