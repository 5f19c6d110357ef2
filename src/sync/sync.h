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
	ST_SQL, ST_PLUGIN
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
} plan_table;

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
	cf_pg *src, *dst;        /* guarded by R->mu while they change */
	bool owns_conns;         /* jobs > 1: its own connections */
	pthread_t thread;
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
	atomic_bool stop;
	worker *workers;
	atomic_long tables_done;
	cf_prog *prog;           /* progress: totals, phases, ETA (core/progress.c) */
	double t0;
	cf_strv warnings;
};

/* Session settings both sides use, so that text forms agree. */
cf_status sync_session_setup(runner *R, cf_pg *pg, bool is_source);
/* Copies one work item in one target transaction (copy.c). */
cf_status copy_item(worker *w, work_item *it);
/* Fires a table hook under R->mu: PART says which hooks (SQL ones run in the
 * table's transaction, shell hooks and callbacks outside it). */
cf_status sync_fire_table_hook(runner *R, const char *event, cf_hook_part part,
                               const plan_table *t, cf_pg *pg, long long rows, int success,
                               long long elapsed_ms);
/* Replaces the recorded server error with one that cannot quote data. */
void sync_scrub_error(cf_ctx *ctx);
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
/* Streams T from SRC into DST (both COPYs started) with MASKERS threads. */
cf_status pipe_copy(runner *R, cf_pg *src, cf_pg *dst, const plan_table *t, const char *key,
                    int maskers, long long *bytes, pipe_fail *fail);
/* Dry-run PII warnings (pii.c): by name, and by sampled values. */
cf_status sync_pii_scan(runner *R);

#endif
