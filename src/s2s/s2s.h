/*
 * s2s.h -- internals of the schema-to-schema medium (confiture s2s).
 *
 * Layout of the medium:
 *   run.c      one run of a step: resolving --source/--target, connections,
 *              hooks, the lock, results
 *   mapping.c  the mapping file (YAML) with the position of every value
 *   catalog.c  what the source, the staging schema and the target hold
 *   table.c    a mapping entry checked against the catalogs, and the SQL
 *              statements built from it (copy, upsert, checksums)
 *   plan.c     cutting a table into key ranges
 *   setup.c    setup and cleanup
 *   analyze.c  analyze
 *   migrate.c  migrate: progress tables, workers, ranges
 *   verify.c   verify: checksums on both sides, the first differing range
 */
#ifndef CF_S2S_H
#define CF_S2S_H

#include "confiture.h"
#include "buf.h"
#include "config.h"
#include "dbref.h"
#include "error.h"
#include "pg.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- mapping.c ------------------------------------------------------------ */

typedef struct s2s_pos {
	int line, col; /* 1-based; 0 when unknown */
} s2s_pos;

/* One "a: b" pair of columns, expressions or defaults. */
typedef struct s2s_pair {
	char *key;         /* columns: source column; expressions/defaults: target column */
	char *value;       /* columns: target column; expressions: SQL; defaults: value
	                      (NULL for a YAML null) */
	s2s_pos at_key;
	s2s_pos at_value;  /* where the text of VALUE starts (inside quotes) */
} s2s_pair;

typedef struct s2s_entry {
	char *name;
	s2s_pos at;
	char *source_table;         /* as written: name or schema.name */
	s2s_pos at_source;
	char *target_table;
	s2s_pos at_target;
	s2s_pair *columns;
	size_t n_columns;
	s2s_pair *exprs;
	size_t n_exprs;
	s2s_pair *defaults;
	size_t n_defaults;
	char *where;                /* SQL over source columns, or NULL */
	s2s_pos at_where;
	char *key;                  /* source column to cut ranges on, or NULL (the PK) */
	s2s_pos at_key;
	long batch_size;            /* 0: not set */
} s2s_entry;

typedef struct s2s_mapping {
	char *file;                 /* as given, for messages */
	s2s_entry *v;
	size_t n;
} s2s_mapping;

/* Loads FILE. CF_ERR_CONFIG (file:line) on any problem. */
cf_status s2s_mapping_load(cf_ctx *ctx, const char *file, s2s_mapping *out);
/* Parses TEXT (for tests); NAME names it in messages. */
cf_status s2s_mapping_parse(cf_ctx *ctx, const char *name, const char *text, s2s_mapping *out);
void s2s_mapping_release(s2s_mapping *m);
/* Records a CF_ERR_CONFIG at POS of the mapping file; returns CF_ERR_CONFIG. */
cf_status s2s_mapping_error(cf_ctx *ctx, const s2s_mapping *m, s2s_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- catalog.c ---------------------------------------------------------- */

typedef struct s2s_col {
	char *name;
	char *type;          /* format_type() with search_path = pg_catalog */
	bool is_notnull;
	bool has_default;    /* a default, identity or generated value */
	char identity;       /* 'a', 'd' or 0 */
	bool is_generated;
	char *sequence;      /* owned sequence (serial, identity), quoted qualified, or NULL */
} s2s_col;

typedef struct s2s_rel {
	unsigned int oid;
	char *schema, *name; /* unquoted */
	char *qual;          /* "schema"."name", quoted */
	char *display;       /* schema.name */
	char relkind;
	s2s_col *cols;
	size_t n_cols;
	/* the foreign table's remote relation (staging tables only) */
	char *remote_schema, *remote_name;
} s2s_rel;

/* Runs a catalog query with search_path = pg_catalog (then restores it), so
 * that format_type qualifies every type outside pg_catalog. */
cf_status s2s_query_catalog(cf_pg *pg, const char *sql, int n, const char *const *params,
                            cf_pgres **out);

void s2s_rel_release(s2s_rel *r);
const s2s_col *s2s_rel_col(const s2s_rel *r, const char *name);
/* The column of R closest in spelling to NAME, for a hint, or NULL. */
const char *s2s_rel_closest(const s2s_rel *r, const char *name);

/* Reads the columns of relation OID into R (name, qualified names, kind). */
cf_status s2s_rel_load(cf_pg *pg, unsigned int oid, s2s_rel *r);
/* Finds relation NAME ("name" or "schema.name", as written: no case folding),
 * an unqualified name along SCHEMAS (N of them), or the session's
 * search_path when N is 0. *OID is 0 when absent. */
cf_status s2s_find_rel(cf_pg *pg, const char *name, const char *const *schemas, size_t n,
                       unsigned int *oid);

/* Finds the staging foreign table for source table NAME (name or schema.name),
 * by the remote schema_name/table_name options. *OID 0 when absent; *AMBIGUOUS
 * set when NAME is unqualified and several schemas have it. */
cf_status s2s_staging_find(cf_pg *pg, const char *staging, const char *name, unsigned int *oid,
                           bool *ambiguous);

/* Source-side facts, read on a direct connection to the source. */
typedef struct s2s_src_info {
	bool exists;
	char relkind;
	double reltuples;          /* -1 when never analyzed */
	long long size_bytes;      /* heap and TOAST, or -1 */
	cf_strv pk;                /* primary key columns, in key order */
} s2s_src_info;

cf_status s2s_src_info_load(cf_pg *src, const char *schema, const char *name, s2s_src_info *out);
void s2s_src_info_release(s2s_src_info *i);

/*
 * The hash functions of TYPE on PG that take a value of TYPE directly: the
 * 64-bit (extended) one in *FN64 and the 32-bit one in *FN32 (both NULL when
 * there is none; caller frees), and whether TYPE can be hashed at all
 * (through hash_array) in *IS_HASHABLE.
 */
cf_status s2s_type_hash_fn(cf_pg *pg, const char *type, char **fn64, char **fn32,
                           bool *is_hashable);

typedef enum s2s_cast {
	S2S_CAST_NONE,        /* same type */
	S2S_CAST_ASSIGNMENT,  /* INSERT converts by itself */
	S2S_CAST_EXPLICIT,    /* needs CAST(... AS type) */
	S2S_CAST_IMPOSSIBLE
} s2s_cast;

const char *s2s_cast_name(s2s_cast c);
/*
 * How a value of SRC_TYPE goes into column COL of table TGT_QUAL on PG (the
 * target), found by asking the server (EXPLAIN of an INSERT, then a cast).
 * Must run inside a transaction; uses savepoints. *DETAIL gets the server's
 * reason when impossible (caller frees).
 */
cf_status s2s_cast_probe(cf_pg *pg, const char *tgt_qual, const char *col, const char *src_type,
                         const char *tgt_type, s2s_cast *out, char **detail);

/* ---- run.c ---------------------------------------------------------------- */

typedef struct s2s_run {
	cf_ctx *ctx;
	const cf_s2s_opts *opts;
	cf_s2s_result *res;
	const char *step;
	cf_dbref src_ref, tgt_ref;
	bool has_src_ref, has_tgt_ref;
	cf_pg *src;                 /* direct connection to the source, or NULL */
	cf_pg *tgt;                 /* the coordinating target connection */
	char *staging;
	char *server;
	double t0;
	pthread_mutex_t mu;         /* results, hooks and the work queue */
	bool is_step_open;          /* before_s2s_step fired */
} s2s_run;

/*
 * Starts a step: a new result, --source/--target resolved, the target (and
 * with NEED_SOURCE, the source) connected, before_s2s_step fired. On failure
 * the result holds the error; call s2s_run_finish either way.
 */
cf_status s2s_run_start(s2s_run *run, cf_ctx *ctx, const cf_s2s_opts *opts, const char *step,
                        bool need_source, cf_s2s_result **out);
/* Ends the step with ST: after_s2s_step (and on_error on failure), the
 * result's success, message (when none), duration and errors. Returns ST. */
cf_status s2s_run_finish(s2s_run *run, cf_status st);

/* Fires before/after_s2s_step for one table on PG (may be NULL). */
cf_status s2s_table_hook(s2s_run *run, cf_pg *pg, const char *event, const char *table,
                         long long rows, int success, double elapsed_s, const char *error);

/* Connects another session to the target (workers). */
cf_status s2s_connect_target(s2s_run *run, cf_pg **out);

/* CF_ERR_USAGE with a hint when setup has not run (staging schema or server missing). */
cf_status s2s_require_setup(s2s_run *run);
/*
 * Checks that the target server reaches the source through the foreign
 * server (an IMPORT FOREIGN SCHEMA that imports nothing). On failure:
 * CF_ERR_CONNECT with the FDW's error and a hint.
 */
cf_status s2s_probe_source(s2s_run *run, cf_pg *pg);
/* Turns an FDW connection error recorded on the context into CF_ERR_CONNECT
 * with a hint; returns the (possibly new) status. */
cf_status s2s_fdw_error(s2s_run *run, cf_status st);

/* The session advisory lock that keeps two setup/migrate/cleanup runs apart. */
cf_status s2s_lock(s2s_run *run);

cf_s2s_table *s2s_result_table(s2s_run *run, const char *entry);
void s2s_result_action(s2s_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void s2s_result_hint(s2s_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void s2s_result_message(s2s_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The text[] literal of V, for a $n parameter. Caller frees. */
char *s2s_text_array(const char *const *v, size_t n);

/* Runs SQL that is expected to fail sometimes: on failure, returns the
 * status and moves the error into *MSG and *SQLSTATE (caller frees) instead of
 * leaving it on the context. Only for single-threaded phases. */
cf_status s2s_try(cf_pg *pg, const char *sql, int nparams, const char *const *params,
                  char **msg, char **sqlstate);

/* Replaces the recorded error's message with "PREFIX: original" keeping its
 * detail, hint and sqlstate, with code ST and location FILE:POS. */
void s2s_error_rewrite(cf_ctx *ctx, cf_status st, const char *file, s2s_pos pos,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- table.c -------------------------------------------------------------- */

/* A piece of generated SQL that came from the mapping file. */
typedef struct s2s_frag {
	size_t start, end;   /* byte offsets in the statement */
	s2s_pos at;          /* where its text starts in the mapping file */
	bool is_user_sql;    /* the text is the user's (expression, where) */
} s2s_frag;

typedef struct s2s_table {
	const s2s_entry *e;
	size_t index;
	s2s_rel ft;                  /* the staging foreign table */
	s2s_rel tgt;                 /* the target table */
	s2s_src_info src;            /* facts from the source */
	char *key;                   /* source column ranges are cut on, or NULL */
	char *key_type;              /* its type on the target side */
	char *tgt_key;               /* target column the key is copied into, or NULL */
	cf_strv tgt_pk;              /* target primary key (upsert), in key order */
	bool is_overriding;          /* OVERRIDING SYSTEM VALUE */
	cf_strv insert_cols;         /* target columns, quoted, in order */
	cf_strv select_items;        /* matching SQL over the source alias s */
	s2s_frag *frags;             /* per select item (same order), then where */
	size_t n_frags;
	cf_strv params;              /* default values ($1..$n; NULL items are NULL) */
	bool *param_null;
	cf_strv seq_cols;            /* target columns with owned sequences that get values */
	cf_strv seq_names;
	char *plan_hash;             /* sha256 hex of what decides the copied data */
	/* verify */
	char *src_hash;              /* row hash over the checked columns, source side (s.) */
	char *tgt_hash;              /* same, target side (t.) */
	char *tgt_key_expr;          /* target key cast to the source key type (t.) */
	cf_strv checked, unchecked;
	/* scheduling */
	size_t *deps;                /* indices of tables this one references (FKs) */
	size_t n_deps;
	cf_s2s_table *out;           /* the result entry */
} s2s_table;

/*
 * Resolves entry E against the staging schema and the target on PG (inside
 * a transaction), and the source on run->src (when connected: source facts).
 * Checks tables, columns, casts and keys, builds the statements and
 * PREPAREs the copy statement (UPSERT: its ON CONFLICT form) so that every
 * name, expression and cast is checked before any row moves; with
 * CHECKSUMS, also builds verify's row hashes. Errors are CF_ERR_CONFIG at
 * the mapping file's line.
 */
cf_status s2s_table_resolve(s2s_run *run, cf_pg *pg, const s2s_mapping *m, const s2s_entry *e,
                            bool upsert, bool checksums, s2s_table *t);
void s2s_table_release(s2s_table *t);

/* The copy statement: bounds are $N+1 (LO) and $N+2 (or $N+1 without LO),
 * after the N default parameters. Caller frees. FRAGS_OUT may be NULL. */
char *s2s_copy_sql(cf_pg *pg, const s2s_table *t, const char *staging, bool has_lo, bool has_hi,
                   bool upsert, s2s_frag **frags_out, size_t *n_frags_out);

/*
 * Loads the mapping file (--mapping) and resolves its entries (those named
 * by --table, else all) in one rolled-back transaction on the target, plus
 * their FK dependencies. *OUT (N tables) is freed with s2s_tables_free, also
 * on failure; M with s2s_mapping_release.
 */
cf_status s2s_tables_load(s2s_run *run, bool upsert, bool checksums, s2s_mapping *m,
                          s2s_table **out, size_t *n);
void s2s_tables_free(s2s_table *v, size_t n);

/* Fills the FK dependencies between the tables of V. */
cf_status s2s_tables_deps(cf_pg *pg, s2s_table *v, size_t n);

/* ---- plan.c ---------------------------------------------------------------- */

/* Rows per range recommended for a table of ROWS rows taking BYTES bytes. */
long s2s_recommend_batch(double rows, long long bytes, bool has_key);

/*
 * Cuts T into ranges of about BATCH rows: the inner bounds (sorted, distinct,
 * as text) go into BOUNDS; n bounds make n+1 ranges, the first and last open.
 * Uses the source's statistics when it has them, else min/max (integer keys)
 * or one ordered pass over the key (other types). SRC is the source.
 */
cf_status s2s_plan_bounds(cf_pg *src, const s2s_table *t, long batch, cf_strv *bounds);

#endif
