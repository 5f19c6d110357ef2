/*
 * ydoc.c -- the YAML reader: libyaml events into a tree of positioned nodes.
 *
 * The only user of libyaml. Anchors and aliases are resolved here (with "<<"
 * merge keys), ${VAR} expansion happens per scalar when asked, and every node
 * keeps its line and column so that config errors can point at them.
 */
#include "ydoc.h"
#include "error.h"
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct anchor {
	char *name;
	cf_ynode *node; /* not owned: points into the tree */
} anchor;

typedef struct ybuilder {
	cf_ctx *ctx;
	const char *file;
	yaml_parser_t parser;
	int flags;
	anchor *anchors;
	size_t n_anchors;
	int depth;              /* open mappings and sequences */
	size_t alias_nodes;     /* nodes and scalar bytes added by aliases and merges */
	size_t alias_bytes;
	cf_ynode **dead;        /* detached subtrees anchors may still point into */
	size_t n_dead;
} ybuilder;

static void ynode_free(cf_ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->k)
			ynode_free(n->k[i]);
		ynode_free(n->v[i]);
	}
	free(n->k);
	free(n->v);
	free(n->str);
	free(n->raw);
	free(n->missing);
	free(n);
}

void cf_ydoc_free(cf_ydoc *doc)
{
	if (!doc)
		return;
	ynode_free(doc->root);
	free(doc->file);
	free(doc);
}

static cf_ynode *ynode_copy(const cf_ynode *src)
{
	cf_ynode *n = cf_calloc(1, sizeof(*n));
	*n = *src;
	n->str = cf_strdup(src->str);
	n->raw = cf_strdup(src->raw);
	n->missing = cf_strdup(src->missing);
	if (src->n) {
		n->v = cf_calloc(src->n, sizeof(cf_ynode *));
		n->k = src->k ? cf_calloc(src->n, sizeof(cf_ynode *)) : NULL;
		for (size_t i = 0; i < src->n; i++) {
			n->v[i] = ynode_copy(src->v[i]);
			if (src->k)
				n->k[i] = ynode_copy(src->k[i]);
		}
	} else {
		n->k = src->kind == CF_Y_MAP ? cf_calloc(1, sizeof(cf_ynode *)) : NULL;
		n->v = NULL;
	}
	return n;
}

typedef struct weight {
	size_t nodes, bytes;
	int depth;              /* collection levels, counted from where the copy lands */
} weight;

static bool over_budget(const weight *w)
{
	return w->nodes > CF_YAML_MAX_ALIAS_NODES || w->bytes > CF_YAML_MAX_ALIAS_BYTES ||
	       w->depth > CF_YAML_MAX_DEPTH;
}

/* Adds the size of N (at collection level LEVEL) to W, stopping once over. */
static void ynode_weigh(const cf_ynode *n, int level, weight *w)
{
	if (over_budget(w))
		return;
	w->nodes++;
	w->bytes += (n->str ? strlen(n->str) : 0) + (n->raw ? strlen(n->raw) : 0);
	if (n->kind != CF_Y_MAP && n->kind != CF_Y_SEQ)
		return;
	if (++level > w->depth)
		w->depth = level;
	for (size_t i = 0; i < n->n; i++) {
		if (n->k)
			ynode_weigh(n->k[i], level, w);
		ynode_weigh(n->v[i], level, w);
	}
}

static cf_status too_deep(ybuilder *b, int line, int col);

/*
 * Copies SRC for an alias or a merge key at LINE:COL, within the document's
 * expansion budget: nine levels of nine aliases would otherwise build a
 * billion nodes from a few hundred bytes.
 */
static cf_status budget_copy(ybuilder *b, const cf_ynode *src, int line, int col, cf_ynode **out)
{
	weight w = {b->alias_nodes, b->alias_bytes, b->depth};
	ynode_weigh(src, b->depth, &w);
	if (w.depth > CF_YAML_MAX_DEPTH)
		return too_deep(b, line, col);
	if (over_budget(&w)) {
		cf_error_set(b->ctx, CF_ERR_CONFIG,
		             "could not parse YAML file \"%s\": aliases expand to too much data", b->file);
		cf_error_at(b->ctx, b->file, line, col);
		cf_error_detail(b->ctx, "Aliases and merge keys may add at most %d nodes and %d MB of "
		                "text to a document.", CF_YAML_MAX_ALIAS_NODES,
		                CF_YAML_MAX_ALIAS_BYTES >> 20);
		cf_error_hint(b->ctx, "Write the repeated part out, or use fewer levels of aliases.");
		return CF_ERR_CONFIG;
	}
	b->alias_nodes = w.nodes;
	b->alias_bytes = w.bytes;
	*out = ynode_copy(src);
	return CF_OK;
}

/* Keeps N alive until the parse ends: an anchor may point into it. */
static void ynode_retire(ybuilder *b, cf_ynode *n)
{
	if (!n)
		return;
	b->dead = cf_realloc(b->dead, (b->n_dead + 1) * sizeof(cf_ynode *));
	b->dead[b->n_dead++] = n;
}

static void ynode_add(cf_ynode *parent, cf_ynode *key, cf_ynode *val)
{
	parent->v = cf_realloc(parent->v, (parent->n + 1) * sizeof(cf_ynode *));
	if (key || parent->kind == CF_Y_MAP)
		parent->k = cf_realloc(parent->k, (parent->n + 1) * sizeof(cf_ynode *));
	if (parent->k)
		parent->k[parent->n] = key;
	parent->v[parent->n] = val;
	parent->n++;
}

cf_ynode *cf_ynode_get(const cf_ynode *map, const char *key)
{
	if (!map || map->kind != CF_Y_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (map->k[i]->str && strcmp(map->k[i]->str, key) == 0)
			return map->v[i];
	return NULL;
}

static cf_status syntax_error(ybuilder *b, const char *what, int line, int col)
{
	cf_error_set(b->ctx, CF_ERR_CONFIG, "could not parse YAML file \"%s\": %s", b->file, what);
	cf_error_at(b->ctx, b->file, line, col);
	cf_error_hint(b->ctx, "Check the indentation and quoting near that line.");
	return CF_ERR_CONFIG;
}

static cf_status next_event(ybuilder *b, yaml_event_t *ev)
{
	if (yaml_parser_parse(&b->parser, ev))
		return CF_OK;
	const char *problem = b->parser.problem ? b->parser.problem : "syntax error";
	char *msg = b->parser.context ? cf_asprintf("%s %s", problem, b->parser.context)
	                              : cf_strdup(problem);
	cf_status st = syntax_error(b, msg, (int)b->parser.problem_mark.line + 1,
	                            (int)b->parser.problem_mark.column + 1);
	free(msg);
	return st;
}

/* Plain scalars spelled null/~/empty are YAML nulls. */
static bool is_null_spelling(const char *s)
{
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

static cf_status missing_var_error(cf_ctx *ctx, const char *file, int line, int col,
                                   const char *var)
{
	cf_error_set(ctx, CF_ERR_CONFIG, "environment variable \"%s\" is not set", var);
	cf_error_at(ctx, file, line, col);
	cf_error_hint(ctx, "Export %s, or write ${%s:-default} to give a default.", var, var);
	return CF_ERR_CONFIG;
}

cf_status cf_ynode_missing_error(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n)
{
	return missing_var_error(ctx, doc->file, n->line, n->column, n->missing);
}

static cf_status scalar_node(ybuilder *b, yaml_event_t *ev, cf_ynode *n)
{
	const char *raw = (const char *)ev->data.scalar.value;
	n->is_quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
	               ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	if (!n->is_quoted && is_null_spelling(raw)) {
		n->kind = CF_Y_NULL;
		return CF_OK;
	}
	n->kind = CF_Y_SCALAR;
	if (!(b->flags & CF_YAML_EXPAND_VARS)) {
		n->str = cf_strdup(raw);
		return CF_OK;
	}
	char *missing = NULL;
	if (strchr(raw, '$'))
		n->raw = cf_strdup(raw);
	n->str = cf_expand_vars(raw, &missing);
	if (n->str)
		return CF_OK;
	if (b->flags & CF_YAML_DEFER_MISSING) {
		n->str = cf_strdup(raw);
		n->missing = missing;
		return CF_OK;
	}
	cf_status st = missing_var_error(b->ctx, b->file, n->line, n->column, missing);
	free(missing);
	return st;
}

static cf_status build_node(ybuilder *b, yaml_event_t *ev, cf_ynode **out);

static void remember_anchor(ybuilder *b, const yaml_char_t *name, cf_ynode *n)
{
	if (!name)
		return;
	b->anchors = cf_realloc(b->anchors, (b->n_anchors + 1) * sizeof(anchor));
	b->anchors[b->n_anchors].name = cf_strdup((const char *)name);
	b->anchors[b->n_anchors].node = n;
	b->n_anchors++;
}

/* "<<: *base" merges the keys of base that the map does not set itself. */
static cf_status merge_into(ybuilder *b, cf_ynode *map, const cf_ynode *src)
{
	cf_status st = CF_OK;
	if (src->kind == CF_Y_SEQ) {
		for (size_t i = 0; i < src->n && !st; i++)
			st = merge_into(b, map, src->v[i]);
		return st;
	}
	if (src->kind != CF_Y_MAP)
		return CF_OK;
	for (size_t i = 0; i < src->n && !st; i++) {
		if (cf_ynode_get(map, src->k[i]->str))
			continue;
		cf_ynode *k = NULL, *v = NULL;
		st = budget_copy(b, src->k[i], src->line, src->column, &k);
		if (!st)
			st = budget_copy(b, src->v[i], src->line, src->column, &v);
		if (st) {
			ynode_free(k);
			break;
		}
		ynode_add(map, k, v);
	}
	return st;
}

static cf_status build_map(ybuilder *b, cf_ynode *n)
{
	cf_ynode *merges = NULL;
	for (;;) {
		yaml_event_t ev;
		cf_status st = next_event(b, &ev);
		if (st)
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		cf_ynode *key = NULL, *val = NULL;
		st = build_node(b, &ev, &key);
		yaml_event_delete(&ev);
		if (st)
			goto fail;
		if (key->kind != CF_Y_SCALAR) {
			syntax_error(b, "mapping keys must be plain scalars", key->line, key->column);
			ynode_free(key);
			st = CF_ERR_CONFIG;
			goto fail;
		}
		if ((st = next_event(b, &ev)) == CF_OK) {
			st = build_node(b, &ev, &val);
			yaml_event_delete(&ev);
		}
		if (st) {
			ynode_free(key);
			goto fail;
		}
		if (strcmp(key->str, "<<") == 0 && !key->is_quoted) {
			ynode_retire(b, key);
			ynode_retire(b, merges);
			merges = val;
			continue;
		}
		if (cf_ynode_get(n, key->str)) {
			cf_error_set(b->ctx, CF_ERR_CONFIG, "duplicate key \"%s\" in \"%s\"", key->str,
			             b->file);
			cf_error_at(b->ctx, b->file, key->line, key->column);
			cf_error_hint(b->ctx, "Remove one of the two \"%s\" entries.", key->str);
			ynode_free(key);
			ynode_free(val);
			st = CF_ERR_CONFIG;
			goto fail;
		}
		ynode_add(n, key, val);
		continue;
	fail:
		ynode_retire(b, merges);
		return st;
	}
	cf_status st = merges ? merge_into(b, n, merges) : CF_OK;
	ynode_retire(b, merges);
	return st;
}

static cf_status build_seq(ybuilder *b, cf_ynode *n)
{
	for (;;) {
		yaml_event_t ev;
		cf_status st = next_event(b, &ev);
		if (st)
			return st;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return CF_OK;
		}
		cf_ynode *item = NULL;
		st = build_node(b, &ev, &item);
		yaml_event_delete(&ev);
		if (st)
			return st;
		ynode_add(n, NULL, item);
	}
}

/* Collections nest by recursion here and in every walk of the tree: the
 * depth cap keeps that far below the stack, aliases included. */
static cf_status too_deep(ybuilder *b, int line, int col)
{
	cf_error_set(b->ctx, CF_ERR_CONFIG,
	             "could not parse YAML file \"%s\": nested deeper than %d levels", b->file,
	             CF_YAML_MAX_DEPTH);
	cf_error_at(b->ctx, b->file, line, col);
	cf_error_hint(b->ctx, "confiture's files need a few levels of mappings and lists; check "
	                      "for unclosed brackets.");
	return CF_ERR_CONFIG;
}

static cf_status build_node(ybuilder *b, yaml_event_t *ev, cf_ynode **out)
{
	cf_ynode *n = cf_calloc(1, sizeof(*n));
	n->line = (int)ev->start_mark.line + 1;
	n->column = (int)ev->start_mark.column + 1;
	cf_status st = CF_OK;
	bool is_collection =
		ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT;
	if (is_collection && b->depth >= CF_YAML_MAX_DEPTH) {
		st = too_deep(b, n->line, n->column);
		ynode_free(n);
		return st;
	}
	b->depth += is_collection;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		st = scalar_node(b, ev, n);
		remember_anchor(b, ev->data.scalar.anchor, n);
		break;
	case YAML_MAPPING_START_EVENT:
		n->kind = CF_Y_MAP;
		n->k = cf_calloc(1, sizeof(cf_ynode *));
		remember_anchor(b, ev->data.mapping_start.anchor, n);
		st = build_map(b, n);
		break;
	case YAML_SEQUENCE_START_EVENT:
		n->kind = CF_Y_SEQ;
		remember_anchor(b, ev->data.sequence_start.anchor, n);
		st = build_seq(b, n);
		break;
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		const anchor *a = NULL;
		for (size_t i = b->n_anchors; i-- > 0;)
			if (strcmp(b->anchors[i].name, name) == 0) {
				a = &b->anchors[i];
				break;
			}
		if (!a) {
			char *msg = cf_asprintf("unknown alias \"*%s\"", name);
			st = syntax_error(b, msg, n->line, n->column);
			free(msg);
			break;
		}
		cf_ynode *copy = NULL;
		st = budget_copy(b, a->node, n->line, n->column, &copy);
		if (!st) {
			free(n);
			n = copy;
		}
		break;
	}
	default:
		st = syntax_error(b, "unexpected YAML event", n->line, n->column);
		break;
	}
	b->depth -= is_collection;
	if (st) {
		ynode_free(n);
		return st;
	}
	*out = n;
	return CF_OK;
}

cf_status cf_yaml_parse(cf_ctx *ctx, const char *name, const char *text, size_t len, int flags,
                        cf_ydoc **out)
{
	ybuilder b = {.ctx = ctx, .file = name, .flags = flags};
	cf_ydoc *doc = cf_calloc(1, sizeof(*doc));
	doc->file = cf_strdup(name);
	cf_status st = CF_OK;
	yaml_parser_initialize(&b.parser);
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
	for (;;) {
		yaml_event_t ev;
		if ((st = next_event(&b, &ev)))
			break;
		yaml_event_type_t type = ev.type;
		if (type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT ||
		    type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT) {
			if (doc->root) {
				st = syntax_error(&b, "more than one document", (int)ev.start_mark.line + 1,
				                  (int)ev.start_mark.column + 1);
				yaml_event_delete(&ev);
				break;
			}
			st = build_node(&b, &ev, &doc->root);
		}
		yaml_event_delete(&ev);
		if (st)
			break;
	}
	yaml_parser_delete(&b.parser);
	for (size_t i = 0; i < b.n_anchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	for (size_t i = 0; i < b.n_dead; i++)
		ynode_free(b.dead[i]);
	free(b.dead);
	if (st) {
		cf_ydoc_free(doc);
		return st;
	}
	if (doc->root && doc->root->kind == CF_Y_NULL) {
		ynode_free(doc->root);
		doc->root = NULL;
	}
	*out = doc;
	return CF_OK;
}

cf_status cf_yaml_load(cf_ctx *ctx, const char *path, const char *shown, int flags,
                       cf_ydoc **out)
{
	/* /dev/zero would be read forever, a FIFO without a writer waited on
	 * forever: only regular files are read (missing and unreadable ones get
	 * the system's reason below). */
	cf_ftype t = cf_ftype_at(AT_FDCWD, path, DT_UNKNOWN, NULL);
	if (t != CF_FT_REGULAR && t != CF_FT_MISSING && t != CF_FT_UNREADABLE) {
		cf_not_a_file_error(ctx, "YAML file", shown ? shown : path, t);
		cf_error_recode(ctx, CF_ERR_CONFIG);
		return CF_ERR_CONFIG;
	}
	char *text = NULL;
	size_t len = 0;
	cf_status st = cf_file_read_max(ctx, path, CF_YAML_MAX_FILE, &text, &len);
	if (st) {
		cf_error_recode(ctx, CF_ERR_CONFIG);
		return st == CF_ERR_IO ? CF_ERR_CONFIG : st;
	}
	st = cf_yaml_parse(ctx, shown ? shown : path, text, len, flags, out);
	free(text);
	return st;
}

char *cf_expand_vars(const char *s, char **missing)
{
	cf_buf b;
	cf_buf_init(&b);
	while (*s) {
		if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
			cf_buf_putc(&b, '$'); /* "$${" is a literal "${" */
			s += 2;
			continue;
		}
		const char *end = s[0] == '$' && s[1] == '{' ? strchr(s + 2, '}') : NULL;
		if (!end) {
			cf_buf_putc(&b, *s++);
			continue;
		}
		const char *name = s + 2;
		const char *dflt = strstr(name, ":-");
		if (dflt && dflt > end)
			dflt = NULL;
		char *var = cf_strndup(name, (size_t)((dflt ? dflt : end) - name));
		const char *val = getenv(var);
		if (val && (*val || !dflt))
			cf_buf_puts(&b, val);
		else if (dflt)
			cf_buf_append(&b, dflt + 2, (size_t)(end - dflt - 2));
		else {
			*missing = var;
			cf_buf_release(&b);
			return NULL;
		}
		free(var);
		s = end + 1;
	}
	return b.data;
}

cf_status cf_ynode_type_error(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                              const char *what)
{
	const char *got = n->kind == CF_Y_MAP ? "a mapping"
	                  : n->kind == CF_Y_SEQ ? "a list"
	                  : n->kind == CF_Y_NULL ? "nothing"
	                                         : NULL;
	if (got)
		cf_error_set(ctx, CF_ERR_CONFIG, "invalid value for \"%s\": expected %s, got %s", key,
		             what, got);
	else
		cf_error_set(ctx, CF_ERR_CONFIG, "invalid value for \"%s\": expected %s, got \"%s\"", key,
		             what, n->str);
	cf_error_at(ctx, doc->file, n->line, n->column);
	return CF_ERR_CONFIG;
}

cf_status cf_ynode_str(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                       char **out)
{
	if (n->kind != CF_Y_SCALAR)
		return cf_ynode_type_error(ctx, doc, n, key, "a string");
	cf_str_set(out, n->str);
	return CF_OK;
}

int cf_parse_bool(const char *s)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On", "1"};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off", "Off", "0"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		if (strcmp(s, yes[i]) == 0)
			return 1;
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

int cf_parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

cf_status cf_ynode_bool(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                        bool *out)
{
	int v = n->kind == CF_Y_SCALAR ? cf_parse_bool(n->str) : -1;
	if (v < 0)
		return cf_ynode_type_error(ctx, doc, n, key, "true or false");
	*out = v == 1;
	return CF_OK;
}

cf_status cf_ynode_long(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                        long *out)
{
	if (n->kind != CF_Y_SCALAR || cf_parse_long(n->str, out) != 0)
		return cf_ynode_type_error(ctx, doc, n, key, "an integer");
	return CF_OK;
}

cf_status cf_ynode_unknown_key(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *keynode,
                               const char *where, const char *const *known, size_t n_known)
{
	cf_error_set(ctx, CF_ERR_CONFIG, "unknown key \"%s\" in %s", keynode->str, where);
	cf_error_at(ctx, doc->file, keynode->line, keynode->column);
	const char *best = cf_closest(keynode->str, known, n_known);
	if (best) {
		cf_error_hint(ctx, "Did you mean \"%s\"?", best);
	} else {
		cf_buf b;
		cf_buf_init(&b);
		for (size_t i = 0; i < n_known; i++)
			cf_buf_printf(&b, "%s%s", i ? ", " : "", known[i]);
		cf_error_hint(ctx, "Known keys here: %s.", b.data);
		cf_buf_release(&b);
	}
	return CF_ERR_CONFIG;
}

char *cf_ynode_as_written(const cf_ynode *n)
{
	const char *s = n->raw ? n->raw : n->str;
	cf_buf b;
	cf_buf_init(&b);
	for (; *s; s++) {
		if (s[0] == '$' && s[1] == '$' && s[2] == '{')
			s++;
		cf_buf_putc(&b, *s);
	}
	return b.data;
}
