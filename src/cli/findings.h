/*
 * findings.h -- a generic finding model and its writers: text, JSON, SARIF
 * 2.1.0 and GitHub workflow annotations.
 *
 * A finding is something a check found at a place in a file: `confiture lint`
 * makes them from its rules, `confiture check` from its own steps. Both print
 * them with the same writers, so that the formats stay one contract.
 */
#ifndef CF_CLI_FINDINGS_H
#define CF_CLI_FINDINGS_H

#include "json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum cli_severity {
	CLI_SEV_ERROR,   /* fails the check (exit 1) */
	CLI_SEV_WARNING,
	CLI_SEV_INFO     /* SARIF "note", GitHub "notice" */
} cli_severity;

/* One finding. Every string is borrowed from the caller. */
typedef struct cli_finding {
	const char *file;          /* as shown to the user (relative), or NULL */
	int line, column;          /* 1-based; 0 when unknown */
	int end_line, end_column;  /* 1-based, end column exclusive; 0 when unknown */
	cli_severity severity;
	const char *rule;          /* stable id, e.g. "ban-drop-column" */
	const char *message;       /* one sentence or line */
	const char *help;          /* how to fix it, or NULL */
	const char *statement;     /* the offending statement's text, or NULL */
	const char *const *objects;/* what it is about, e.g. "public.users.email"; may be NULL */
	size_t n_objects;
} cli_finding;

/* A rule as SARIF's tool.driver.rules lists it. Strings are borrowed. */
typedef struct cli_rule_info {
	const char *id;
	const char *summary;       /* shortDescription */
	const char *help_uri;      /* or NULL */
	cli_severity severity;     /* default level */
} cli_rule_info;

/* The tool that produced the findings (SARIF's tool.driver). */
typedef struct cli_tool_info {
	const char *name;          /* "confiture" */
	const char *version;
	const char *info_uri;      /* or NULL */
	const cli_rule_info *rules;
	size_t n_rules;
} cli_tool_info;

/* "error", "warning" or "info". */
const char *cli_severity_name(cli_severity s);
/* Parses "error", "warning" or "info" ("note" and "notice" too); false when unknown. */
bool cli_severity_parse(const char *text, cli_severity *out);

/*
 * Text: for each finding "FILE:LINE:COL: SEVERITY RULE: MESSAGE", then
 * "  help: HELP" and the statement's lines numbered as in the file. COLOR
 * adds ANSI colors to the severity.
 */
void cli_findings_text(FILE *out, const cli_finding *v, size_t n, bool color);

/* JSON: an array of finding objects, written as the value of the current key. */
void cli_findings_json(cf_json *j, const cli_finding *v, size_t n);

/* SARIF 2.1.0: one log with one run; the document and a newline go to OUT. */
void cli_findings_sarif(FILE *out, const cli_tool_info *tool, const cli_finding *v, size_t n);

/* GitHub Actions workflow commands: one "::error file=...::message" line each. */
void cli_findings_github(FILE *out, const cli_finding *v, size_t n);

#endif
