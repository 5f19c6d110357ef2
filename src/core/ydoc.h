/*
 * ydoc.h -- the YAML reader shared by the config, rules and mapping loaders.
 */
#ifndef CF_YDOC_H
#define CF_YDOC_H

#include "confiture.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum cf_ykind { CF_Y_NULL, CF_Y_SCALAR, CF_Y_MAP, CF_Y_SEQ } cf_ykind;

/* A YAML node with its position. Maps keep keys in k[] and values in v[]. */
typedef struct cf_ynode {
	cf_ykind kind;
	int line, column;      /* 1-based */
	char *str;             /* scalar text (CF_Y_SCALAR) */
	bool is_quoted;        /* scalar was quoted: never null/bool by spelling */
	char *raw;             /* with CF_YAML_EXPAND_VARS: the text as written, when it has a "$" */
	char *missing;         /* with CF_YAML_DEFER_MISSING: the unset variable (str is raw) */
	size_t n;
	struct cf_ynode **k;   /* map keys (scalars) */
	struct cf_ynode **v;   /* map values or sequence items */
} cf_ynode;

typedef struct cf_ydoc {
	char *file;            /* path as given, for messages */
	cf_ynode *root;        /* NULL for an empty document */
} cf_ydoc;

enum {
	CF_YAML_EXPAND_VARS = 1,
	/* A missing variable is no parse error: the scalar keeps its text and
	 * names the variable in "missing", for the reader to decide (hook
	 * commands are never expanded; see config.c). */
	CF_YAML_DEFER_MISSING = 2,
};

/*
 * Limits on every YAML file confiture reads (documented in
 * docs/configuration.md): cf_yaml_load reads regular files only, of at
 * most CF_YAML_MAX_FILE bytes; mappings and lists nest at most
 * CF_YAML_MAX_DEPTH deep, and aliases and "<<" merge keys add at most
 * CF_YAML_MAX_ALIAS_NODES nodes and CF_YAML_MAX_ALIAS_BYTES bytes of scalar
 * text to one document.
 */
#define CF_YAML_MAX_FILE (64 << 20)  /* bytes read from one file (cf_yaml_load) */
#define CF_YAML_MAX_DEPTH 64
#define CF_YAML_MAX_ALIAS_NODES 100000
#define CF_YAML_MAX_ALIAS_BYTES (10 << 20)

/*
 * Reads and parses a YAML file; SHOWN (or PATH when NULL) names it in
 * messages. With CF_YAML_EXPAND_VARS, ${VAR} and
 * ${VAR:-default} are expanded in every scalar; a missing variable is an
 * error at its line. Errors: CF_ERR_IO (unreadable), CF_ERR_CONFIG (syntax,
 * duplicate key, missing variable, a limit above exceeded), each with file
 * and line.
 * *OUT is freed with cf_ydoc_free.
 */
cf_status cf_yaml_load(cf_ctx *ctx, const char *path, const char *shown, int flags,
                       cf_ydoc **out);
/* Same, from a string; NAME is used in messages. */
cf_status cf_yaml_parse(cf_ctx *ctx, const char *name, const char *text, size_t len, int flags,
                        cf_ydoc **out);
void cf_ydoc_free(cf_ydoc *doc);

/* The value for KEY in a map node, or NULL. */
cf_ynode *cf_ynode_get(const cf_ynode *map, const char *key);
/* Scalar helpers; each records a CF_ERR_CONFIG at the node on a bad type. */
cf_status cf_ynode_str(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                       char **out);
cf_status cf_ynode_bool(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                        bool *out);
cf_status cf_ynode_long(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                        long *out);
/* Records "KEY in FILE must be WHAT" at the node. Returns CF_ERR_CONFIG. */
cf_status cf_ynode_type_error(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                              const char *what);
/* Records "environment variable ... is not set" for N (which has "missing"). */
cf_status cf_ynode_missing_error(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n);
/* Records an unknown key error with a "did you mean" hint among KNOWN. */
cf_status cf_ynode_unknown_key(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *keynode,
                               const char *where, const char *const *known, size_t n_known);
/* Parses true/false/yes/no/on/off/1/0: 1, 0, or -1 when not a boolean. */
int cf_parse_bool(const char *s);
/* Parses a base-10 integer with nothing after it: 0, or -1. */
int cf_parse_long(const char *s, long *out);
/* Expands ${VAR} and ${VAR:-default} in S. Missing variable: NULL and *MISSING set. */
char *cf_expand_vars(const char *s, char **missing);
/*
 * A scalar's text as written, for values a variable must never reach: SQL
 * and shell commands (hooks' run: and sql:, s2s mappings' expressions and
 * where). ${VAR} is kept as it is; "$${" is written "${", as expansion would
 * have written it. The caller frees the result.
 */
char *cf_ynode_as_written(const cf_ynode *n);

#endif
