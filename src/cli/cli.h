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

/*
 * Output formats. A new format is a value here, a row in main.c's FORMATS
 * (its -f name) and a bit in the "formats" of the commands that write it.
 */
typedef enum cli_format {
	CLI_TEXT,
	CLI_JSON,
	CLI_CSV,
	CLI_SARIF,  /* findings as SARIF 2.1.0 (lint, check) */
	CLI_GITHUB, /* findings as GitHub workflow annotations (lint, check) */
	CLI_SQL,    /* a SQL script (diff) */
	CLI_JUNIT   /* JUnit XML (check) */
} cli_format;

/* A set of formats, for the command table. */
#define CLI_FMT(f) (1u << (f))
#define CLI_FMTS_DOC (CLI_FMT(CLI_TEXT) | CLI_FMT(CLI_JSON))   /* every command */
#define CLI_FMTS_TABLE (CLI_FMTS_DOC | CLI_FMT(CLI_CSV))       /* the output is a table */

typedef struct cli_format_name {
	const char *name;        /* as given to -f */
	cli_format format;
} cli_format_name;

/* The -f names (main.c), for the parser and for completion. */
const cli_format_name *cli_format_names(size_t *n);

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
	const char *action;      /* e.g. "up"; NULL for commands without actions */
	const char *format_name; /* the -f value as given */
	/* The database the command writes to, for the envelope's "target" and the
	 * "target:" line; set with cli_set_target, which copies. */
	char *target_url;        /* user@host:port/db, never a password */
	char *target_env;
	bool target_protected;
	/* The JSON document, kept until main() knows the exit code (output.c). */
	double started_at;       /* cf_now() when the command started */
	cf_buf doc;              /* the command's own members */
	cf_buf doc_errors;       /* error objects given with cli_json_errors */
	bool has_doc_errors;
	cf_strv warnings;        /* warnings logged or reported during the command */
	const char *events_target;   /* --events FILE|-|fd:N */
	struct cli_events *events;   /* the event stream (events.c), or NULL */
	struct cli_bars *bars;       /* progress shown on stderr (progress.c), or NULL */
} cli;

typedef cf_status (*cli_fn)(cli *c, int argc, char **argv);

/* A command's options: the getopt tables its parser uses (and completion). */
typedef struct cli_opts {
	const char *shortopts;   /* getopt's, without the leading "+:" */
	const struct option *longopts;
} cli_opts;

/* What an operand or an option's value is, for completion. */
typedef enum cli_value {
	CLI_V_NONE,              /* free text: nothing to offer */
	CLI_V_FILE,
	CLI_V_DIR,
	CLI_V_ENV,               /* an environment of db/environments/ (or a URL) */
	CLI_V_VERSION,           /* a migration version of db/migrations/ */
	CLI_V_EVENT,             /* a hook event */
	CLI_V_COMMAND,           /* a command name */
	CLI_V_FORMAT,            /* an -f name */
} cli_value;

typedef struct cli_action {
	const char *name;
	const char *flags;       /* the long options it takes, space separated; NULL: all */
	cli_value operand;       /* its operands, if any */
	unsigned formats;        /* 0: the command's */
	const cli_opts *opts;    /* its own options, when not the command's */
} cli_action;

/* What an option's value is, per command (NULL: any command), for completion. */
typedef struct cli_option_value {
	const char *command;
	const char *option;      /* long name */
	cli_value value;
} cli_option_value;

typedef struct cli_command {
	const char *name;
	cli_fn fn;
	const char *summary;
	const char *help;        /* usage and options, printed by `help NAME` */
	unsigned formats;        /* CLI_FMT bits it writes (an action may narrow them) */
	const cli_opts *opts;    /* the options its parser takes */
	const cli_action *actions; /* ends with {0}; NULL: none */
	bool is_action_optional; /* it also runs without an action (sync) */
	cli_value operand;       /* operands of the command itself */
} cli_command;

/* The command table (main.c). */
const cli_command *cli_commands(size_t *n);
const cli_command *cli_find_command(const char *name);
/* The action NAME of CMD, or NULL. */
const cli_action *cli_find_action(const cli_command *cmd, const char *name);
/* Whether action A takes the long option OPT (every option when A is NULL or
 * declares no flags). */
bool cli_action_takes(const cli_action *a, const char *opt);
/* The global options (main.c): as getopt options, and their short letters. */
const cli_opts *cli_global_opts(void);
/* The value kinds of options that take one (main.c). */
const cli_option_value *cli_option_values(size_t *n);

/* Records the target of the command (copies the strings). */
void cli_set_target(cli *c, const char *url, const char *env, bool is_protected);

/* Loads the project config according to the global options. */
cf_status cli_load(cli *c);

/*
 * A command that writes to a database calls this first, once the project is
 * loaded: it prints "target: user@host:port/db (env NAME, protected)" on
 * stderr (not with -q, nor with -f json, whose envelope carries it) and
 * records it with cli_set_target. REF is the
 * ENV|URL the command writes to, or NULL for the selected environment.
 */
cf_status cli_target(cli *c, const char *ref);

/*
 * getopt_long wrapper: returns the option character, -1 at the first operand
 * or the end, or '?' after recording a usage error (unknown option, missing
 * argument) with a hint. OPTS must include {"help", no_argument, 0, 'h'}
 * (returned as 'h'). It stops at the first operand, so that a subcommand's
 * options are its own; to accept options after operands, take argv[optind],
 * increment optind and call again (see cmd_init.c).
 */
int cli_getopt(cli *c, int argc, char **argv, const char *shortopts, const struct option *opts);
/* Records the usage error of "-h NEXT" (help is not a host); CF_ERR_USAGE. */
cf_status cli_help_host(cli *c, const char *next);
/* Records a usage error with the one-line hint; returns CF_ERR_USAGE. */
cf_status cli_usage(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the help of the current command to stdout; returns CF_OK. */
cf_status cli_help(cli *c);
/* Parses a non-negative integer option value or records a usage error. */
cf_status cli_parse_long(cli *c, const char *opt, const char *text, long *out);

/* ---- Output (output.c) ---------------------------------------------------- */

void cli_logger(void *ud, cf_log_level level, const char *msg);

/* ---- Progress (progress.c) and events (events.c) ------------------------------ */

/* The progress callback: bars or plain lines on stderr, and --events. */
void cli_progress(void *ud, const cf_progress *p);
/* Shows progress on stderr from now on (not with -q). */
void cli_progress_setup(cli *c);
/* Clears the bars from the terminal, if drawn. */
void cli_progress_clear(cli *c);
void cli_progress_release(cli *c);

typedef struct cli_events cli_events;
/* Opens the --events target ("-", "fd:N" or a file) and starts its writer.
 * "-" with -f json is a usage error. Sets c->events even on failure. */
cf_status cli_events_open(cli *c, const char *target);
/* Writes one report as a JSON line (called by cli_progress). */
void cli_events_progress(cli *c, const cf_progress *p);
/* Writes "error" (when ST fails) and "done", waits a bounded time for the
 * reader, and closes the stream. */
void cli_events_finish(cli *c, cf_status st);
/* True when the command must build its JSON document: -f json or --events. */
bool cli_wants_json(const cli *c);
/* The JSON envelope of the command (what -f json prints) into OUT, which the
 * caller initializes and releases: the "done" event's result. */
void cli_json_envelope(cli *c, cf_status st, cf_buf *out);
/* The recorded error (or ST's name) as one object, as in the envelope. */
void cli_json_error_value(cli *c, cf_json *j, cf_status st);
/* Prints the context's error: text on stderr, or the JSON envelope on stdout. */
void cli_print_error(cli *c, cf_status st);

/*
 * JSON documents. A command writes its own members between cli_json_begin and
 * cli_json_end; main() prints the document once the exit code is known,
 * inside the envelope every command shares (docs/output.md):
 *   {command, action, success, ok, exit_code, duration_s, target,
 *    <the command's members>, error, errors[], warnings[]}
 * A command never writes those names itself: it sets c->action, calls
 * cli_set_target, cli_json_errors and cli_json_warnings. The error of a
 * failing command is added by main(). OK is not used (success and ok come
 * from the exit code); it stays so that callers need not change.
 */
void cli_json_begin(cli *c, cf_json *j, cf_buf *b, bool ok);
void cli_json_end(cli *c, cf_json *j, cf_buf *b);
/* Kept for callers: the envelope carries the error of every failure. */
void cli_json_error_member(cli *c, cf_json *j, cf_status st);
/* A result's error list: the envelope's "errors" (objects like "error"). */
void cli_json_errors(cf_json *j, const cf_error_item *v, size_t n);
/* Errors that belong to a part of the result (a step of check): a member KEY
 * of the document, an array of objects like the envelope's "error". */
void cli_json_error_items(cf_json *j, const char *key, const cf_error_item *v, size_t n);
/* A result's warnings: added to the envelope's "warnings" (logged warnings
 * are there already; a message is listed once). */
void cli_json_warnings(cf_json *j, char *const *v, size_t n);
/* Prints the document, or on failure the bare envelope, once (main.c). */
void cli_json_emit(cli *c, cf_status st);

/* A change list as a "changes" member (diff, check's drift, generate). */
void cli_json_changes(cf_json *j, const cf_schema_change *v, size_t n);

/* A CSV field, quoted when needed. */
void cli_csv_field(FILE *f, const char *s, bool last);

/* Colors for stderr/stdout text when enabled. */
const char *cli_color(const cli *c, const char *what); /* "error", "warn", "ok", "dim", "reset" */

/* The exit code of a status (main.c). */
int cli_exit_code(cf_status st);

/* Commands, with the options and actions the command table points at. */
extern const cli_opts cli_init_opts, cli_doctor_opts, cli_embedded_opts, cli_hooks_opts,
	cli_validate_config_opts, cli_build_opts, cli_seed_opts, cli_migrate_opts,
	cli_verify_checksums_opts, cli_sync_opts, cli_sync_history_opts, cli_s2s_opts,
	cli_lint_opts, cli_diff_opts, cli_check_opts;
extern const cli_action cli_embedded_actions[], cli_hooks_actions[], cli_seed_actions[],
	cli_migrate_actions[], cli_sync_actions[], cli_s2s_actions[], cli_completion_actions[];
cf_status cmd_completion(cli *c, int argc, char **argv);
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
/* lint (src/lint) */
cf_status cmd_lint(cli *c, int argc, char **argv);
/* Lints the pending migrations for migrate up --dry-run and preflight:
 * prints the findings as warnings, and returns BLOCKED when lint.block_on
 * says they stop migrate (CF_OK otherwise). */
cf_status cli_lint_gate(cli *c, cf_status blocked);
/* A lint result's findings in the shared model (findings.h), for -f sarif or
 * github in other commands (check); strings are borrowed from R; free() the
 * array. */
struct cli_finding *cli_lint_findings(const cf_lint_result *r);
/* Every lint rule as SARIF's tool.driver.rules lists it; free() the array. */
struct cli_rule_info *cli_lint_rule_infos(size_t *n);
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
