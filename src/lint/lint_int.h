/*
 * lint_int.h -- the lint layer's internal API.
 *
 *   rules.c      the rule table: names, families, severities, defaults
 *   engine.c     one file: ignores, transaction state, findings
 *   tree.c       helpers over libpg_query's protobuf nodes
 *   r_*.c        the rules, by theme
 *   scope.c      which files: pending migrations, all, schema, paths
 *   context.c    pg version, session timeouts, selection and severities
 *   lint.c       cf_lint, the public entry point
 *
 * Rules read the protobuf parse tree that src/core/sqlparse.c produces (the
 * only libpg_query user); they never look at SQL text, except to quote the
 * offending statement.
 */
#ifndef CF_LINT_INT_H
#define CF_LINT_INT_H

#include "confiture.h"
#include "buf.h"
#include "sqlparse.h"

#include <pg_query/pg_query.pb-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lint_file lint_file;
typedef struct lint_run lint_run;

/* ---- rules.c -------------------------------------------------------------- */

typedef void (*lint_rule_fn)(lint_file *f);

typedef struct lint_rule {
	const char *name;        /* "ban-drop-column" */
	const char *family;      /* "squawk", "context", "data-loss", "naming", ... */
	bool is_squawk;          /* Squawk has a rule of this name and meaning */
	const char *alias;       /* another accepted name, or NULL */
	cf_lint_severity severity;
	bool is_default;
	const char *summary;
	lint_rule_fn fn;         /* NULL: reported by another rule's function */
} lint_rule;

const lint_rule *lint_rules(size_t *n);
/* The rule named NAME (or its alias), or NULL. */
const lint_rule *lint_rule_find(const char *name);
size_t lint_rule_index(const lint_rule *r);

/* ---- The run and its settings ------------------------------------------- */

/* One table column as a migration set declares it (for type narrowing). */
typedef struct lint_column {
	char *table;             /* relname, lowercase as parsed */
	char *column;
	char *type;              /* canonical type name, e.g. "int4", "varchar" */
	int typmod[2];           /* -1 when absent: varchar(N), numeric(P,S) */
	uint64_t key;            /* col_key(table, column): compared before the names */
} lint_column;

struct lint_run {
	cf_ctx *ctx;
	int pg_version;          /* e.g. 130000 */
	cf_lint_severity *severity; /* per rule (index of lint_rules), CF_LINT_OFF = not run */
	bool session_lock_timeout;  /* the migrations' session has a lock_timeout set */
	bool session_statement_timeout;
	cf_strv pending_tables;  /* tables created by earlier files of this run (new, empty) */
	lint_column *columns;    /* the schema model of the files seen so far */
	size_t cap_columns;
	size_t n_columns;
	cf_lint_finding *findings;
	size_t n_findings, cap_findings;
	size_t n_statements;
};

void lint_run_release(lint_run *run);

/* ---- engine.c --------------------------------------------------------------- */

typedef enum lint_kind {
	LINT_PLAIN,              /* a .sql file: Squawk's view of it */
	LINT_MIGRATION,          /* a pending (or, with --all, any) migration of the project */
	LINT_SCHEMA              /* a db/schema file: the build of a fresh database */
} lint_kind;

typedef struct lint_ignore {
	size_t stmt;             /* the statement it applies to; SIZE_MAX: the whole file */
	cf_strv rules;           /* empty: every rule */
} lint_ignore;

struct lint_file {
	lint_run *run;
	const char *path;        /* as shown */
	const cf_sqltree *t;
	lint_kind kind;
	bool runs_in_tx;         /* the file as a whole runs inside one transaction */
	bool *in_tx;             /* per statement: inside a transaction block when it runs */
	bool has_explicit_tx;    /* a BEGIN appears in the file */
	lint_ignore *ignores;
	size_t n_ignores;
	size_t cur;              /* statement being examined (for lint_report) */
};

/* The node of statement I (never NULL: an empty statement is a NULL node case). */
const PgQuery__Node *lint_stmt(const lint_file *f, size_t i);

/* One file to lint, and how it will run. */
typedef struct lint_input {
	const char *file;        /* as shown */
	const char *text;
	size_t len;
	lint_kind kind;
	bool runs_in_tx;         /* the file as a whole runs inside one transaction */
	const char *refused;     /* why migrate up would refuse it, or NULL */
	int refused_line, refused_column;
	/* Parsed ahead (batch.c): the tree (the batch frees it), or NULL with
	 * the parse's error in PARSE_ERR. */
	bool is_parsed;
	cf_sqltree *tree;
	cf_ctx *parse_err;
} lint_input;

/* Lints one file; findings are appended to RUN. A syntax error is a
 * "syntax-error" finding, not a failure. */
void lint_file_run(lint_run *run, const lint_input *in);

/*
 * The files of one lint, in order (batch.c). Each is parsed on a second
 * thread, a few files ahead of the rules, which run in order on the calling
 * thread: they model what earlier files created. A job without a kind
 * (MODEL_ONLY) only feeds the column model (an applied migration).
 */
typedef struct lint_job {
	lint_input in;           /* file, text and refused are the job's own */
	bool is_model_only;
} lint_job;
typedef struct lint_batch {
	lint_job *jobs;
	size_t n, cap;
} lint_batch;
/* Adds a job; takes FILE (as shown), TEXT and REFUSED. */
lint_job *lint_batch_add(lint_batch *b, char *file, char *text, size_t len);
/* Lints every job in order. */
void lint_batch_run(lint_run *run, lint_batch *b);
void lint_batch_release(lint_batch *b);

/* Only updates RUN's column model with the file (an applied migration). */
void lint_model_file(lint_run *run, const char *file, const char *text, size_t len);

/* Reports migrate's refusal of the file at LINE:COLUMN (r_txn.c). */
void lint_migration_refused(lint_file *f, const char *message, int line, int column);

/* Is table NAME (relname) new in this run: created by an earlier pending
 * migration, or in this file (for a plain file, inside a transaction, as
 * Squawk has it)? */
bool lint_table_is_new(const lint_file *f, const char *name);

/* Is RULE on for this run? */
bool lint_on(const lint_file *f, const char *rule);

/*
 * Reports RULE on statement F->cur at byte LOCATION (-1: the statement's
 * start), with a printf-style message. HELP may be NULL. Honors ignores
 * and severities. Returns the finding (to add objects), or NULL when
 * ignored or off.
 */
cf_lint_finding *lint_report(lint_file *f, const char *rule, int location, const char *help,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Adds an object name to a finding (NULL F is a no-op). */
void lint_finding_object(cf_lint_finding *fi, const char *object);

/* ---- tree.c ----------------------------------------------------------------- */

/* "schema.name" or "name" of a RangeVar (caller frees). */
char *lint_rangevar_name(const PgQuery__RangeVar *rv);
/* The last String of a List of names, or NULL. */
const char *lint_last_name(PgQuery__Node *const *items, size_t n);
/* Names of a List joined with ".", caller frees. */
char *lint_join_names(PgQuery__Node *const *items, size_t n);
/* The type's last name ("int4" for pg_catalog.int4), or NULL. */
const char *lint_type_name(const PgQuery__TypeName *t);
/* Was the type written with a pg_catalog qualification by the parser or the user? */
bool lint_type_is_catalog(const PgQuery__TypeName *t);
/* Integer typmod K of T, or -1. */
int lint_typmod(const PgQuery__TypeName *t, size_t k);
/* A constraint node's Constraint, or NULL. */
const PgQuery__Constraint *lint_constraint(const PgQuery__Node *n);
/* Is E an expression whose value never changes (literals, casts of them,
 * immutable or stable zero-argument calls such as now())? */
bool lint_is_constant_expr(const PgQuery__Node *e);
/* Is NAME a built-in function that is not volatile? */
bool lint_is_nonvolatile_func(const char *name);

/* ---- context.c ---------------------------------------------------------------- */

/* Reads selection and severities (opts, then config) into RUN. CF_ERR_USAGE or
 * CF_ERR_CONFIG on an unknown rule name. */
cf_status lint_settings(cf_ctx *ctx, const cf_lint_opts *opts, lint_run *run);
/* Parses "13", "15.4", "150004" into a server_version_num; 0 when invalid. */
int lint_parse_pg_version(const char *text);

#endif
