/*
 * engine.c -- linting one file: parse, transaction state per statement,
 * inline ignores, the rules, and findings.
 */
#include "lint_int.h"
#include "error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const PgQuery__Node EMPTY = PG_QUERY__NODE__INIT;

const PgQuery__Node *lint_stmt(const lint_file *f, size_t i)
{
	const PgQuery__Node *n = f->t->pr->stmts[i]->stmt;
	return n ? n : &EMPTY;
}

/* ---- Findings -------------------------------------------------------------- */

static cf_lint_finding *finding_new(lint_run *run)
{
	if (run->n_findings == run->cap_findings) {
		run->cap_findings = run->cap_findings ? run->cap_findings * 2 : 16;
		run->findings = cf_realloc(run->findings, run->cap_findings * sizeof(cf_lint_finding));
	}
	cf_lint_finding *fi = &run->findings[run->n_findings++];
	memset(fi, 0, sizeof(*fi));
	return fi;
}

void lint_finding_object(cf_lint_finding *fi, const char *object)
{
	if (!fi || !object)
		return;
	for (size_t i = 0; i < fi->n_objects; i++)
		if (strcmp(fi->objects[i], object) == 0)
			return;
	fi->objects = cf_realloc(fi->objects, (fi->n_objects + 1) * sizeof(char *));
	fi->objects[fi->n_objects++] = cf_strdup(object);
}

/* Does the ignore list name RULE (by name, alias or family)? Empty: all. */
static bool names_rule(const cf_strv *names, const lint_rule *r)
{
	if (names->n == 0)
		return true;
	for (size_t i = 0; i < names->n; i++) {
		const char *n = names->v[i];
		if (strcmp(n, r->name) == 0 || strcmp(n, r->family) == 0 ||
		    (r->alias && strcmp(n, r->alias) == 0))
			return true;
		/* Squawk's alias for both timeout rules. */
		if (strcmp(n, "require-timeout-settings") == 0 && strcmp(r->family, "timeout") == 0)
			return true;
	}
	return false;
}

static bool is_ignored(const lint_file *f, const lint_rule *r, size_t stmt)
{
	for (size_t i = 0; i < f->n_ignores; i++) {
		const lint_ignore *ig = &f->ignores[i];
		if ((ig->stmt == SIZE_MAX || ig->stmt == stmt) && names_rule(&ig->rules, r))
			return true;
	}
	return false;
}

bool lint_on(const lint_file *f, const char *rule)
{
	const lint_rule *r = lint_rule_find(rule);
	return r && f->run->severity[lint_rule_index(r)] != CF_LINT_OFF;
}

static cf_lint_finding *report_at(lint_file *f, const lint_rule *r, size_t stmt, size_t loc,
                                  const char *help, char *msg)
{
	cf_lint_severity sev = f->run->severity[lint_rule_index(r)];
	if (sev == CF_LINT_OFF || is_ignored(f, r, stmt)) {
		free(msg);
		return NULL;
	}
	cf_lint_finding *fi = finding_new(f->run);
	fi->file = cf_strdup(f->path);
	fi->severity = sev;
	fi->rule = r->name;
	fi->message = msg;
	fi->help = help;
	cf_sqltree_linecol(f->t, loc, &fi->line, &fi->column);
	if (stmt < f->t->n_stmts) {
		const cf_stmt *s = &f->t->stmts[stmt];
		fi->statement = cf_strndup(f->t->text + s->offset, s->len);
		cf_sqltree_linecol(f->t, s->offset + s->len, &fi->end_line, &fi->end_column);
	}
	return fi;
}

cf_lint_finding *lint_report(lint_file *f, const char *rule, int location, const char *help,
                             const char *fmt, ...)
{
	const lint_rule *r = lint_rule_find(rule);
	if (!r)
		return NULL;
	const cf_stmt *s = &f->t->stmts[f->cur];
	size_t loc = s->offset;
	/* A node location outside the statement (a default) means "the statement". */
	if (location >= 0 && (size_t)location >= s->offset && (size_t)location <= s->offset + s->len)
		loc = (size_t)location;
	va_list ap;
	va_start(ap, fmt);
	char *msg = cf_vasprintf(fmt, ap);
	va_end(ap);
	return report_at(f, r, f->cur, loc, help, msg);
}

/* ---- Inline ignores ------------------------------------------------------------ */

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* Does BODY start with WORD followed by a blank or its end? */
static bool starts_word(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(end - p) >= n && strncmp(p, word, n) == 0 &&
	       (p + n == end || p[n] == ' ' || p[n] == '\t' || p[n] == ',' || p[n] == '\n' ||
	        p[n] == '\r');
}

/* The statement a comment at [START, END) speaks for: the one holding it,
 * else the next one. SIZE_MAX when none follows. */
static size_t stmt_for(const cf_sqltree *t, size_t start)
{
	for (size_t i = 0; i < t->n_stmts; i++)
		if (start < t->stmts[i].offset + t->stmts[i].len)
			return i;
	return SIZE_MAX;
}

/* Rule names after the keyword, up to the end or a trailing "--" remark. */
static void ignore_names(lint_file *f, const char *p, const char *end, size_t stmt,
                         cf_strv *out)
{
	for (const char *q = p; q + 1 < end; q++)
		if (q[0] == '-' && q[1] == '-') {
			end = q;
			break;
		}
	while (p < end) {
		p = skip_space(p, end);
		const char *w = p;
		while (p < end && *p != ',' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		if (p > w) {
			char *name = cf_strndup(w, (size_t)(p - w));
			if (lint_rule_find(name) || strcmp(name, "require-timeout-settings") == 0 ||
			    strcmp(name, "squawk") == 0 || strcmp(name, "context") == 0 ||
			    strcmp(name, "data-loss") == 0 || strcmp(name, "timeout") == 0 ||
			    strcmp(name, "naming") == 0 || strcmp(name, "pk") == 0 ||
			    strcmp(name, "doc") == 0 || strcmp(name, "security") == 0) {
				cf_strv_push_owned(out, name);
			} else {
				size_t at = (size_t)(w - f->t->text);
				report_at(f, lint_rule_find("invalid-ignore"), stmt, at,
				          "Use a rule name from `confiture lint --list-rules`.",
				          cf_asprintf("unknown rule \"%s\" in a lint-ignore comment", name));
				free(name);
			}
		}
		if (p < end && *p == ',')
			p++;
	}
}

static void comment_ignore(lint_file *f, const cf_sql_span *c)
{
	const char *p = f->t->text + c->start, *end = f->t->text + c->end;
	if (end - p >= 4 && p[0] == '/' && p[1] == '*') {
		p += 2;
		end -= 2;
	} else if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
		p += 2;
	} else {
		return;
	}
	p = skip_space(p, end);
	static const struct {
		const char *word;
		bool is_file;
	} KEYS[] = {{"confiture:lint-ignore-file", true},
	            {"confiture:lint-ignore", false},
	            {"squawk-ignore-file", true}, /* carried over from Squawk */
	            {"squawk-ignore", false}};
	for (size_t k = 0; k < sizeof(KEYS) / sizeof(*KEYS); k++) {
		if (!starts_word(p, end, KEYS[k].word))
			continue;
		size_t stmt = KEYS[k].is_file ? SIZE_MAX : stmt_for(f->t, c->start);
		size_t at_stmt = stmt == SIZE_MAX ? stmt_for(f->t, c->start) : stmt;
		if (at_stmt == SIZE_MAX)
			return; /* nothing follows */
		const char *names = p + strlen(KEYS[k].word);
		cf_strv rules;
		cf_strv_init(&rules);
		ignore_names(f, names, end, at_stmt, &rules);
		/* Only unknown names: ignore nothing rather than everything. */
		if (rules.n == 0 && skip_space(names, end) < end && *skip_space(names, end) != '-') {
			cf_strv_release(&rules);
			return;
		}
		f->ignores = cf_realloc(f->ignores, (f->n_ignores + 1) * sizeof(lint_ignore));
		f->ignores[f->n_ignores++] = (lint_ignore){stmt, rules};
		return;
	}
}

/* ---- Transaction state ------------------------------------------------------------ */

static void tx_state(lint_file *f)
{
	const cf_sqltree *t = f->t;
	f->in_tx = cf_calloc(t->n_stmts ? t->n_stmts : 1, sizeof(bool));
	bool in = f->runs_in_tx;
	for (size_t i = 0; i < t->n_stmts; i++) {
		cf_stmt_kind k = t->stmts[i].kind;
		if (k == CF_STMT_BEGIN) {
			f->has_explicit_tx = true;
			in = true;
		}
		f->in_tx[i] = in;
		/* A migration's own transaction outlives a stripped wrapper. */
		if ((k == CF_STMT_COMMIT || k == CF_STMT_ROLLBACK) && f->kind == LINT_PLAIN)
			in = false;
	}
}

/* ---- The file ------------------------------------------------------------------------ */

static void syntax_error(lint_run *run, const char *file)
{
	const cf_error_info *e = cf_last_error_info(run->ctx);
	cf_lint_finding *fi = finding_new(run);
	fi->file = cf_strdup(file);
	fi->line = e && e->line > 0 ? e->line : 1;
	fi->column = e && e->column > 0 ? e->column : 1;
	fi->severity = run->severity[lint_rule_index(lint_rule_find("syntax-error"))];
	if (fi->severity == CF_LINT_OFF)
		fi->severity = CF_LINT_ERROR; /* a file that does not parse is never clean */
	fi->rule = "syntax-error";
	fi->message = cf_strdup(e ? e->message : "syntax error");
	fi->help = "Fix the statement: PostgreSQL's own parser rejects it.";
	cf_ctx_clear_error(run->ctx);
}

static int finding_cmp(const void *a, const void *b)
{
	const cf_lint_finding *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return strcmp(x->rule, y->rule);
}

/* Tables this file creates join the run's new tables, for the files after it. */
static void remember_tables(lint_file *f)
{
	for (size_t i = 0; i < f->t->n_stmts; i++) {
		const PgQuery__Node *n = lint_stmt(f, i);
		const PgQuery__RangeVar *rv = NULL;
		if (n->node_case == PG_QUERY__NODE__NODE_CREATE_STMT)
			rv = n->create_stmt->relation;
		else if (n->node_case == PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT &&
		         n->create_table_as_stmt->into)
			rv = n->create_table_as_stmt->into->rel;
		if (rv && rv->relname && !cf_strv_contains(&f->run->pending_tables, rv->relname))
			cf_strv_push(&f->run->pending_tables, rv->relname);
	}
}

void lint_file_run(lint_run *run, const lint_input *in)
{
	cf_sqltree *t = in->tree;
	size_t first = run->n_findings;
	if (in->is_parsed && !t)
		cf_error_copy(run->ctx, in->parse_err);
	if (!t && (in->is_parsed ||
	           cf_sqltree_parse(run->ctx, in->file, in->text, in->len, &t) != CF_OK)) {
		syntax_error(run, in->file);
		return;
	}
	lint_file f = {.run = run, .path = in->file, .t = t, .kind = in->kind,
	               .runs_in_tx = in->runs_in_tx};
	tx_state(&f);
	for (size_t i = 0; i < t->n_comments; i++)
		comment_ignore(&f, &t->comments[i]);
	size_t n;
	const lint_rule *rules = lint_rules(&n);
	for (size_t i = 0; i < n; i++)
		if (rules[i].fn)
			rules[i].fn(&f);
	if (in->refused)
		lint_migration_refused(&f, in->refused, in->refused_line, in->refused_column);
	run->n_statements += t->n_stmts;
	if (in->kind != LINT_PLAIN)
		remember_tables(&f);
	if (run->n_findings > first)
		qsort(run->findings + first, run->n_findings - first, sizeof(cf_lint_finding),
		      finding_cmp);
	for (size_t i = 0; i < f.n_ignores; i++)
		cf_strv_release(&f.ignores[i].rules);
	free(f.ignores);
	free(f.in_tx);
	if (!in->is_parsed) /* a tree parsed ahead is its batch's to free */
		cf_sqltree_free(t);
}
