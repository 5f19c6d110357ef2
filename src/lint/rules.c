/*
 * rules.c -- the rule table.
 *
 * Squawk's rules keep Squawk's names where the meaning is the same, so that
 * ignore lists carry over; docs/lint.md lists where the behaviour differs on
 * purpose. The precursor's rules keep its codes as aliases (naming_001, ...).
 */
#include "lint_int.h"

#include <pthread.h>
#include <string.h>

/* r_alter.c */
void lint_adding_field_with_default(lint_file *f);
void lint_adding_foreign_key_constraint(lint_file *f);
void lint_adding_not_nullable_field(lint_file *f);
void lint_adding_serial_primary_key_field(lint_file *f);
void lint_adding_required_field(lint_file *f);
void lint_changing_column_type(lint_file *f);
void lint_constraint_missing_not_valid(lint_file *f);
void lint_disallowed_unique_constraint(lint_file *f);
void lint_renaming(lint_file *f);
void lint_ban_drop_column(lint_file *f);
void lint_ban_drop_not_null(lint_file *f);
void lint_domains(lint_file *f);
void lint_require_enum_value_ordering(lint_file *f);
/* r_index.c */
void lint_require_concurrent_index_creation(lint_file *f);
void lint_require_concurrent_index_deletion(lint_file *f);
void lint_ban_concurrent_index_creation_in_transaction(lint_file *f);
void lint_require_concurrent_reindex(lint_file *f);
void lint_require_concurrent_partition_detach(lint_file *f);
void lint_prefer_repack(lint_file *f);
void lint_prefer_robust_stmts(lint_file *f);
/* r_types.c */
void lint_column_types(lint_file *f);
/* r_drop.c */
void lint_drops(lint_file *f);
void lint_data_loss(lint_file *f);
/* r_txn.c */
void lint_transaction_nesting(lint_file *f);
void lint_ban_uncommitted_transaction(lint_file *f);
void lint_nontransactional_in_transaction(lint_file *f);
void lint_timeouts(lint_file *f);
/* r_misc.c */
void lint_identifier_too_long(lint_file *f);
void lint_ban_duplicate_column_assignments(lint_file *f);
void lint_require_table_schema(lint_file *f);
/* r_project.c */
void lint_naming(lint_file *f);
void lint_primary_key(lint_file *f);
void lint_documentation(lint_file *f);
void lint_security(lint_file *f);

#define E CF_LINT_ERROR
#define W CF_LINT_WARNING
#define I CF_LINT_INFO

/* name, family, is_squawk, alias, severity, is_default, summary, fn */
static const lint_rule RULES[] = {
	{"syntax-error", "squawk", true, NULL, E, true,
	 "The file does not parse with PostgreSQL's parser.", NULL},
	/* -- Squawk's default rules -- */
	{"adding-field-with-default", "squawk", true, NULL, W, true,
	 "Adding a column with a volatile default (any default before PostgreSQL 11) or a "
	 "stored generated column rewrites the table.", lint_adding_field_with_default},
	{"adding-foreign-key-constraint", "squawk", true, NULL, W, true,
	 "Adding a validated foreign key scans the table under a SHARE ROW EXCLUSIVE lock.",
	 lint_adding_foreign_key_constraint},
	{"adding-not-nullable-field", "squawk", true, NULL, W, true,
	 "SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock.",
	 lint_adding_not_nullable_field},
	{"adding-required-field", "squawk", true, NULL, W, true,
	 "A new NOT NULL column without a default breaks inserts that do not name it.",
	 lint_adding_required_field},
	{"adding-serial-primary-key-field", "squawk", true, NULL, W, true,
	 "Adding a primary key builds its index under an ACCESS EXCLUSIVE lock.",
	 lint_adding_serial_primary_key_field},
	{"ban-alter-domain-with-add-constraint", "squawk", true, NULL, W, true,
	 "Domain constraints are hard to change online.", lint_domains},
	{"ban-char-field", "squawk", true, NULL, W, true, "char(n) pads with blanks; use text.",
	 lint_column_types},
	{"ban-concurrent-index-creation-in-transaction", "squawk", true, NULL, E, true,
	 "CREATE INDEX CONCURRENTLY cannot run inside a transaction block.",
	 lint_ban_concurrent_index_creation_in_transaction},
	{"ban-create-domain-with-constraint", "squawk", true, NULL, W, true,
	 "Domain constraints are hard to change online.", NULL},
	{"ban-drop-column", "squawk", true, NULL, W, true, "Dropping a column may break clients.",
	 lint_ban_drop_column},
	{"ban-drop-database", "squawk", true, NULL, W, true, "Dropping a database.", lint_drops},
	{"ban-drop-not-null", "squawk", true, NULL, W, true,
	 "Dropping NOT NULL may break clients that rely on it.", lint_ban_drop_not_null},
	{"ban-drop-table", "squawk", true, NULL, W, true, "Dropping a table may break clients.",
	 NULL},
	{"ban-duplicate-column-assignments", "squawk", true, NULL, E, true,
	 "A column named twice in one statement: PostgreSQL rejects it.",
	 lint_ban_duplicate_column_assignments},
	{"ban-truncate-cascade", "squawk", true, NULL, W, true,
	 "TRUNCATE ... CASCADE empties every table that references these.", NULL},
	{"ban-uncommitted-transaction", "squawk", true, NULL, W, true,
	 "A BEGIN without COMMIT or ROLLBACK.", lint_ban_uncommitted_transaction},
	{"changing-column-type", "squawk", true, NULL, W, true,
	 "Changing a column's type rewrites the table under an ACCESS EXCLUSIVE lock.",
	 lint_changing_column_type},
	{"constraint-missing-not-valid", "squawk", true, NULL, W, true,
	 "A new constraint scans the table unless NOT VALID; NOT VALID then VALIDATE in "
	 "one transaction blocks as long.", lint_constraint_missing_not_valid},
	{"disallowed-unique-constraint", "squawk", true, NULL, W, true,
	 "A UNIQUE constraint builds its index under an ACCESS EXCLUSIVE lock.",
	 lint_disallowed_unique_constraint},
	{"identifier-too-long", "squawk", true, NULL, W, true,
	 "Identifiers over 63 bytes are silently truncated.", lint_identifier_too_long},
	{"prefer-bigint-over-int", "squawk", true, NULL, W, true,
	 "32-bit integer columns can run out.", NULL},
	{"prefer-bigint-over-smallint", "squawk", true, NULL, W, true,
	 "16-bit integer columns can run out.", NULL},
	{"prefer-identity", "squawk", true, NULL, W, true,
	 "serial types: prefer identity columns.", NULL},
	{"prefer-repack", "squawk", true, NULL, W, true,
	 "CLUSTER and VACUUM FULL lock the table; REPACK (PostgreSQL 19) does not.",
	 lint_prefer_repack},
	{"prefer-robust-stmts", "squawk", true, NULL, W, true,
	 "Outside a transaction, statements should be re-runnable (IF [NOT] EXISTS).",
	 lint_prefer_robust_stmts},
	{"prefer-text-field", "squawk", true, NULL, W, true,
	 "varchar(n): changing n later locks the table; prefer text with a CHECK.", NULL},
	{"prefer-timestamp-tz", "squawk", true, "prefer-timestamptz", W, true,
	 "timestamp without time zone drops the UTC offset.", NULL},
	{"renaming-column", "squawk", true, NULL, W, true, "Renaming a column may break clients.",
	 lint_renaming},
	{"renaming-table", "squawk", true, NULL, W, true, "Renaming a table may break clients.",
	 NULL},
	{"require-concurrent-index-creation", "squawk", true, NULL, W, true,
	 "CREATE INDEX without CONCURRENTLY blocks writes while it builds.",
	 lint_require_concurrent_index_creation},
	{"require-concurrent-index-deletion", "squawk", true, NULL, W, true,
	 "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock.",
	 lint_require_concurrent_index_deletion},
	{"require-concurrent-partition-detach", "squawk", true, NULL, W, true,
	 "DETACH PARTITION without CONCURRENTLY takes an ACCESS EXCLUSIVE lock (PostgreSQL 14+).",
	 lint_require_concurrent_partition_detach},
	{"require-concurrent-reindex", "squawk", true, NULL, W, true,
	 "REINDEX without CONCURRENTLY blocks reads and writes (PostgreSQL 12+).",
	 lint_require_concurrent_reindex},
	{"require-enum-value-ordering", "squawk", true, NULL, W, true,
	 "ADD VALUE without BEFORE or AFTER appends at the end.", lint_require_enum_value_ordering},
	{"require-lock-timeout", "timeout", true, NULL, W, true,
	 "A lock-taking statement with no lock_timeout can queue every query behind it.",
	 lint_timeouts},
	{"require-statement-timeout", "timeout", true, NULL, W, true,
	 "A slow statement with no statement_timeout can hold its locks for long.", NULL},
	{"transaction-nesting", "squawk", true, NULL, W, true,
	 "BEGIN inside a transaction, or COMMIT with none (or of the migration's own).",
	 lint_transaction_nesting},
	/* -- Squawk's opt-in rules -- */
	{"require-table-schema", "squawk", true, NULL, W, false,
	 "Table names should be schema-qualified.", lint_require_table_schema},
	/* -- Only confiture: the project around the file -- */
	{"nontransactional-in-transaction", "context", false, NULL, E, true,
	 "A statement that cannot run in a transaction block, in a file that runs in one.",
	 lint_nontransactional_in_transaction},
	{"migration-refused", "context", false, NULL, E, true,
	 "migrate up would refuse the file (transaction control in the middle, ...).", NULL},
	{"data-loss-drop-table", "data-loss", false, NULL, E, true,
	 "DROP TABLE deletes the table's rows.", lint_data_loss},
	{"data-loss-drop-column", "data-loss", false, NULL, E, true,
	 "DROP COLUMN deletes the column's values.", NULL},
	{"data-loss-truncate", "data-loss", false, NULL, E, true,
	 "TRUNCATE deletes every row.", NULL},
	{"data-loss-narrowing", "data-loss", false, NULL, E, true,
	 "A type change to a narrower type can truncate or reject values.", NULL},
	/* -- The precursor's schema rules -- */
	{"table-name-snake-case", "naming", false, "naming_001", W, true,
	 "Table names should be snake_case.", lint_naming},
	{"column-name-snake-case", "naming", false, "naming_002", W, true,
	 "Column names should be snake_case.", NULL},
	{"identifier-with-dot", "naming", false, "naming_003", E, true,
	 "An identifier holding a dot reads as schema.name.", NULL},
	{"identifier-needs-quotes", "naming", false, "naming_004", E, true,
	 "An identifier that needs quotes (capitals, spaces, reserved words).", NULL},
	{"table-missing-primary-key", "pk", false, "pk_001", W, true,
	 "Every table should have a primary key.", lint_primary_key},
	{"table-missing-comment", "doc", false, "doc_001", I, true,
	 "A new table should carry a COMMENT.", lint_documentation},
	{"function-missing-comment", "doc", false, "doc_002", I, true,
	 "A new function or procedure should carry a COMMENT.", NULL},
	{"view-missing-comment", "doc", false, "doc_003", I, true,
	 "A new view should carry a COMMENT.", NULL},
	{"type-missing-comment", "doc", false, "doc_004", I, true,
	 "A new type, enum or domain should carry a COMMENT.", NULL},
	{"secret-column-plain-text", "security", false, "sec_001", W, true,
	 "A column named like a secret (password, token, ...) stored as plain text.",
	 lint_security},
	{"security-definer-search-path", "security", false, "sec_002", E, true,
	 "SECURITY DEFINER without a pinned search_path runs other people's objects.", NULL},
	{"grant-to-public", "security", false, NULL, W, true,
	 "GRANT ... TO PUBLIC gives every role of the cluster access.", NULL},
	{"invalid-ignore", "squawk", false, NULL, W, true,
	 "A lint-ignore comment names no known rule.", NULL},
};

#undef E
#undef W
#undef I

#define N_RULES (sizeof(RULES) / sizeof(RULES[0]))

const lint_rule *lint_rules(size_t *n)
{
	*n = N_RULES;
	return RULES;
}

const lint_rule *lint_rule_find(const char *name)
{
	for (size_t i = 0; i < N_RULES; i++)
		if (strcmp(RULES[i].name, name) == 0 ||
		    (RULES[i].alias && strcmp(RULES[i].alias, name) == 0))
			return &RULES[i];
	return NULL;
}

size_t lint_rule_index(const lint_rule *r)
{
	return (size_t)(r - RULES);
}

/* The public view of the table, built once. */
static cf_lint_rule_info INFOS[N_RULES];
static pthread_once_t infos_once = PTHREAD_ONCE_INIT;

static void infos_fill(void)
{
	for (size_t i = 0; i < N_RULES; i++)
		INFOS[i] = (cf_lint_rule_info){RULES[i].name,     RULES[i].family,
		                               RULES[i].is_squawk, RULES[i].alias,
		                               RULES[i].severity, RULES[i].is_default,
		                               RULES[i].summary};
}

const cf_lint_rule_info *cf_lint_rules(size_t *n)
{
	pthread_once(&infos_once, infos_fill);
	*n = N_RULES;
	return INFOS;
}
