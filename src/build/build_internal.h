/*
 * build_internal.h -- the parts of `confiture build` and `seed apply`.
 *
 *   discover.c   include_dirs -> the ordered list of files (schema, then seeds)
 *   load.c       reading and parsing the files (in parallel, as psql reads them:
 *                psqlscript.c), the schema hash
 *   output.c     the generated SQL file: header, separators, up-to-date check
 *   cache.c      .confiture/build/cache: files known to parse, the last output
 *   apply.c      running the files on a database: pipeline, nontx, seeds
 *   dbadmin.c    --recreate and --template: dropping, creating, cloning
 *   build.c      cf_build and cf_seed_apply: phases, hooks, progress, results
 */
#ifndef CF_BUILD_INTERNAL_H
#define CF_BUILD_INTERNAL_H

#include "confiture.h"
#include "buf.h"
#include "error.h"
#include "hash.h"
#include "pg.h"
#include "progress.h"
#include "psqlscript.h"
#include "sqlparse.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct bcache bcache;

/*
 * Keys of the build cache: a 128-bit FNV-1a, not a cryptographic hash (the
 * cache only ever compares keys it computed itself), which spares an
 * unchanged build the start-up of OpenSSL.
 */
#define BKEY_HEX_LEN 32
typedef struct bkey {
	unsigned __int128 h;
} bkey;
void bkey_init(bkey *k);
void bkey_add(bkey *k, const void *data, size_t n);
void bkey_hex(const bkey *k, char out[BKEY_HEX_LEN + 1]);

/* One SQL file of the build. */
typedef struct bfile {
	char *abs;           /* lexically normalized absolute path: what is read */
	char *path;          /* for messages: relative to the working directory when inside it */
	char *relpath;       /* relative to the common parent of the include dirs: separators, hash */
	char *inrel;         /* relative to its include dir: the sort key */
	size_t dir;          /* index of its include dir in the config */
	long dir_rank;       /* position of that dir after sorting by order */
	bool is_seed;

	/* Identity for the parse cache. */
	unsigned long long dev, ino, size, mtime_ns, ctime_ns;

	char *text;          /* content, NUL-terminated (owned) */
	size_t len;
	cf_script *script;   /* NULL until parsed, or when the cache vouches for it */
	cf_copyblk *copies;  /* COPY ... FROM stdin blocks, in order */
	size_t n_copies;
	bool is_cached;      /* known to parse (cache), so not parsed this time */
	bool is_scs_off;     /* parsed with standard_conforming_strings off from its start */
	size_t n_stmts;      /* statements (from the parse or the cache) */
	cf_error_item err;   /* a read or parse error of this file (message NULL: none) */
} bfile;

/* The files of a build, in build order: schema files, then seed files. */
typedef struct bset {
	bfile *v;
	size_t n, cap;
	size_t n_seeds;
	char *base;          /* common parent of the include dirs (absolute) */
	cf_strv searched;    /* include dirs looked at, for messages */
} bset;

void bset_release(bset *s);

/* ---- discover.c ---------------------------------------------------------- */

/*
 * Finds the files of ctx's environment (include_dirs, exclude_dirs, globs,
 * seeds, sort_mode). Errors (CF_ERR_SCHEMA): an explicitly configured include
 * dir that is missing, a file reached twice, no files at all. With
 * SCHEMA_ONLY the seed files are left out; with SEEDS_ONLY only they stay.
 * SKIP (absolute, may be NULL) is never a file of the build: the output.
 */
cf_status bdiscover(cf_ctx *ctx, bool schema_only, bool seeds_only, const char *skip, bset *out);

/* Is a path component (a file name without its extension) a seed marker? */
bool bseed_component(const char *comp, size_t n);
/* Compares two relative paths with hexadecimal prefixes ("0A_x") as numbers. */
int bhex_path_cmp(const char *a, const char *b);
/* "a/./b/../c" -> "a/c"; "/" separated, keeps a leading "/". Caller frees. */
char *bpath_normalize(const char *path);

/* ---- load.c ----------------------------------------------------------------- */

/*
 * Reads every file and parses those that need it (all of them when
 * NEED_SCRIPTS, else the ones CACHE, which may be NULL, does not vouch for),
 * on several threads. On a read or parse error, the error of the first such
 * file in build order is recorded on ctx and every file's own error is kept
 * in its err field.
 */
cf_status bload(cf_ctx *ctx, bset *s, bool need_scripts, const bcache *cache,
                cf_prog *prog);

/* The schema hash: SHA-256 over relpath NUL content NUL per file, in order. */
void bhash(const bset *s, char out[CF_SHA256_HEX_LEN + 1]);

/* ---- output.c ------------------------------------------------------------------ */

/* The separator text written before the file RELPATH, per build.separators. */
void bseparator(const cf_ctx *ctx, const char *relpath, cf_buf *out);
/* The whole generated file. TIMESTAMP is the Generated: value. */
void boutput_render(const cf_ctx *ctx, const bset *s, const char *hash, const char *timestamp,
                    cf_buf *out);
/* A key for everything the output depends on besides the timestamp. */
void boutput_key(const cf_ctx *ctx, const bset *s, const char *hash, char out[BKEY_HEX_LEN + 1]);
/* The local time as Python's datetime.now().isoformat() writes it. */
void btimestamp(char *out, size_t n);

/* ---- cache.c --------------------------------------------------------------------- */

/* Loads PROJECT_DIR/.confiture/build/cache; never fails (empty when absent). */
bcache *bcache_load(cf_ctx *ctx);
/* Does the cache know F (as read: its identity from fstat) to parse? */
bool bcache_lookup(const bcache *c, const bfile *f, size_t *n_stmts);
/* Is OUTPUT (absolute) the file the cache recorded, unchanged, with KEY? */
bool bcache_output_fresh(const bcache *c, const char *output, const char *key);
/* When every file of S is known unchanged (identities from discovery) and
 * the set was built before: its schema hash, and files marked is_cached. */
bool bcache_known_hash(const bcache *c, bset *s, char out[CF_SHA256_HEX_LEN + 1]);
/* Records the parsed files, the set's HASH and the output (OUTPUT/KEY may be
 * NULL); writes the cache when it changed. Failures are logged, never
 * returned: the cache is only an accelerator. */
void bcache_save(cf_ctx *ctx, bcache *c, const bset *s, const char *hash, const char *output,
                 const char *key);
void bcache_free(bcache *c);

/* ---- apply.c ---------------------------------------------------------------------- */

typedef struct bapply_stats {
	size_t n_statements;  /* statements run */
	size_t n_nontx;       /* of which after the transaction */
	size_t n_skipped;     /* BEGIN/COMMIT left out */
	double apply_s, seeds_s;
	/* seed files: results per file in sequential mode */
	size_t n_seed_applied, n_seed_failed;
	bool *seed_failed;    /* per file index in the set (NULL when no seeds ran) */
	cf_errlist seed_errors;
} bapply_stats;

void bapply_stats_release(bapply_stats *st);

typedef struct bapply_opts {
	bool is_transaction;      /* one transaction around everything (build.transaction) */
	bool is_sequential;       /* seeds: one savepoint (or transaction) per file */
	bool is_continue;         /* seeds: report a failing file and go on */
	bool is_seed_tx_per_file; /* seeds, sequential: a transaction per file (seed apply) */
	cf_status sql_error;      /* what a server error in a file becomes */
	const char *phase_schema; /* progress phase names */
	const char *phase_seeds;
	cf_prog *prog;            /* progress: files are items, statements units; or NULL */
} bapply_opts;

/*
 * Runs the files of S (parsed) on PG. Transactional statements first (schema
 * files, then seeds), in pipelines; then the statements that cannot run in a
 * transaction block, one at a time. A server error is recorded at the file's
 * line and column, as CF_ERR_SCHEMA; the transaction is rolled back.
 */
cf_status bapply(cf_ctx *ctx, cf_pg *pg, const bset *s, const bapply_opts *o, bapply_stats *st);

/* ---- dbadmin.c ---------------------------------------------------------------------- */

/* Refuses (CF_ERR_VALIDATION) when the environment is protected by its
 * configuration: before anything connects. WHAT names the operation. */
cf_status bcheck_protected(cf_ctx *ctx, const char *what);

typedef struct btarget {
	char *conninfo;       /* the environment's database (a secret) */
	char *dbname;
	char *admin;          /* the same server's maintenance database (a secret) */
} btarget;

/* Refuses (CF_ERR_VALIDATION) when T's database is a protected environment's
 * by the servers' identity (cf_protect_check); ADMIN is connected to T's
 * server. Before anything is dropped. */
cf_status bcheck_protected_server(cf_ctx *ctx, const btarget *t, cf_pg *admin, const char *what);

cf_status btarget_init(cf_ctx *ctx, btarget *t);
void btarget_release(btarget *t);

/* DROP DATABASE IF EXISTS + CREATE DATABASE [TEMPLATE], on the admin connection. */
cf_status bdb_recreate(cf_ctx *ctx, cf_pg *admin, const char *dbname, const char *template);
/* The template database name for HASH and the database TARGET. */
char *btemplate_name(const char *hash, const char *target);
/* Is NAME a complete template (marked by a finished build)? */
cf_status btemplate_valid(cf_ctx *ctx, cf_pg *admin, const char *name, bool *out);
/* Marks NAME as the finished template of TARGET. */
cf_status btemplate_seal(cf_ctx *ctx, cf_pg *admin, const char *name, const char *target);
/* Drops the templates of TARGET other than KEEP; counts them in *N. */
cf_status btemplate_drop_stale(cf_ctx *ctx, cf_pg *admin, const char *target, const char *keep,
                               size_t *n);
/* Drops database NAME (a template or not) if it exists. */
cf_status bdb_drop(cf_ctx *ctx, cf_pg *admin, const char *name);

#endif
