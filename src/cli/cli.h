/*
 * cli.h -- shared state and helpers of the confiture binary.
 *
 * Each command lives in cmd_<name>.c with an entry cmd_<name>() that parses
 * its options, makes one library call, renders the result and returns a
 * status. Only main.c turns a status into an exit code.
 */
#ifndef CF_CLI_H
#define CF_CLI_H

#include "confiture.h"
#include "buf.h"
#include "error.h"
#include "json.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

typedef enum cli_format { CLI_TEXT, CLI_JSON, CLI_CSV, CLI_SQL, CLI_JUNIT } cli_format;

typedef struct cli {
	cf_ctx *ctx;
	cli_format format;
	bool is_quiet;
	bool is_verbose;
	bool has_color;          /* color on stderr */
	bool is_tty;             /* stderr is a terminal: progress lines */
	bool has_output;         /* the command printed its JSON document */
	bool progress_open;      /* a transient progress line is on screen */
	const char *config_file;
	const char *env;
	const char *database_url;
	const char *project_dir;
	const char *command;     /* e.g. "migrate" */
} cli;

typedef cf_status (*cli_fn)(cli *c, int argc, char **argv);

typedef struct cli_command {
	const char *name;
	cli_fn fn;
	const char *summary;
	const char *help;        /* usage and options, printed by `help NAME` */
} cli_command;

/* The command table (main.c). */
const cli_command *cli_commands(size_t *n);
const cli_command *cli_find_command(const char *name);

/* Loads the project config according to the global options. */
cf_status cli_load(cli *c);

/*
 * getopt_long wrapper: returns the option character, -1 at the first operand
 * or the end, or '?' after recording a usage error (unknown option, missing
 * argument) with a hint. OPTS must include {"help", no_argument, 0, 'h'}
 * (returned as 'h'). It stops at the first operand, so that a subcommand's
 * options are its own; to accept options after operands, take argv[optind],
 * increment optind and call again (see cmd_init.c).
 */
int cli_getopt(cli *c, int argc, char **argv, const char *shortopts, const struct option *opts);
/* Records a usage error with the one-line hint; returns CF_ERR_USAGE. */
cf_status cli_usage(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the help of the current command to stdout; returns CF_OK. */
cf_status cli_help(cli *c);
/* Parses a non-negative integer option value or records a usage error. */
cf_status cli_parse_long(cli *c, const char *opt, const char *text, long *out);

/* ---- Output (output.c) ---------------------------------------------------- */

void cli_logger(void *ud, cf_log_level level, const char *msg);
void cli_progress(void *ud, const cf_progress *p);
/* Prints the context's error: text on stderr, or the JSON envelope on stdout. */
void cli_print_error(cli *c, cf_status st);

/* Starts a JSON document {"ok": OK, "command": ..., ...} in B/J. */
void cli_json_begin(cli *c, cf_json *j, cf_buf *b, bool ok);
/* Ends the document, prints it on stdout, marks output as written. */
void cli_json_end(cli *c, cf_json *j, cf_buf *b);
/* Writes the recorded error as an "error" member (for documents that carry
 * both a result and an error, like doctor's). */
void cli_json_error_member(cli *c, cf_json *j, cf_status st);

/* A result's error list as an "errors" member: objects like the envelope's error. */
void cli_json_errors(cf_json *j, const cf_error_item *v, size_t n);

/* A change list as a "changes" member (diff, check's drift, generate). */
void cli_json_changes(cf_json *j, const cf_schema_change *v, size_t n);

/* A CSV field, quoted when needed. */
void cli_csv_field(FILE *f, const char *s, bool last);

/* Colors for stderr/stdout text when enabled. */
const char *cli_color(const cli *c, const char *what); /* "error", "warn", "ok", "dim", "reset" */

/* The exit code of a status (main.c). */
int cli_exit_code(cf_status st);

/* Commands. */
cf_status cmd_init(cli *c, int argc, char **argv);
cf_status cmd_doctor(cli *c, int argc, char **argv);
cf_status cmd_embedded(cli *c, int argc, char **argv);
cf_status cmd_validate_config(cli *c, int argc, char **argv);
cf_status cmd_hooks(cli *c, int argc, char **argv);
/* medium 1: build */
cf_status cmd_build(cli *c, int argc, char **argv);
cf_status cmd_seed(cli *c, int argc, char **argv);
/* medium 2: migrate */
cf_status cmd_migrate(cli *c, int argc, char **argv);
cf_status cmd_verify_checksums(cli *c, int argc, char **argv);
/* Prints a migrate result (text, json, or csv for status), frees it, returns ST. */
cf_status cli_migrate_render(cli *c, cf_migrate_result *r, cf_status st);
/* migrate generate --from-diff (cmd_generate.c) */
typedef struct cli_from_diff {
	bool is_on;
	cf_generate_opts opts;
} cli_from_diff;
cf_status cli_generate_from_diff(cli *c, const cf_generate_opts *o);
/* medium 3: sync */
cf_status cmd_sync(cli *c, int argc, char **argv);
/* medium 4: s2s */
cf_status cmd_s2s(cli *c, int argc, char **argv);
/* schema diff and the CI gate */
cf_status cmd_diff(cli *c, int argc, char **argv);
cf_status cmd_check(cli *c, int argc, char **argv);

#endif
