#!/usr/bin/env bash
# s2s on real-world DDL: the pagila schema (enums, domains, arrays, tsvector,
# a partitioned table, views, triggers) as the source, and a hand-made new
# schema as the target that lacks pagila's types. Setup imports every
# relation (columns of unknown types as text), migrate reshapes three tables
# (one with a composite key) in parallel, verify proves it and catches a
# change.
. "$(dirname "$0")/../lib.sh"

PAGILA=$SHARED/data/pagila/pagila-schema.sql
if [ ! -f "$PAGILA" ]; then
	skip "pagila schema not found at $PAGILA"
	done_testing
	exit 0
fi

SRC=$(newdb src)
TGT=$(newdb tgt)
SU=$(dburl "$SRC")
TU=$(dburl "$TGT")
psql -XAtq -v ON_ERROR_STOP=1 -d "$SRC" -f "$PAGILA" >/dev/null 2>"$TMP/load.err" || {
	_fail "load pagila" "$(head -n 5 "$TMP/load.err")"
	done_testing
	exit 1
}
q "$SRC" "
INSERT INTO language (language_id, name) VALUES (1, 'English'), (2, 'Français');
INSERT INTO film (film_id, title, description, release_year, language_id, rental_duration,
                  rental_rate, length, replacement_cost, rating, special_features)
SELECT g, 'FILM ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'A tale of ' || g || ' things' END,
       1990 + g % 30, 1 + g % 2, 3 + g % 5, 0.99 + g % 5, 60 + g % 120, 9.99 + g % 20,
       (ARRAY['G', 'PG', 'PG-13', 'R', 'NC-17'])[1 + g % 5]::mpaa_rating,
       CASE WHEN g % 3 = 0 THEN NULL ELSE ARRAY['Trailers', 'Deleted Scenes'] END
  FROM generate_series(1, 1000) g;
INSERT INTO actor (actor_id, first_name, last_name)
SELECT g, 'FIRST' || g, 'LAST' || g FROM generate_series(1, 200) g;
INSERT INTO film_actor (actor_id, film_id)
SELECT 1 + (g * 7) % 200, 1 + g % 1000 FROM generate_series(1, 3000) g ON CONFLICT DO NOTHING;
ANALYZE;" || exit 1

# The new schema: none of pagila's types, renamed and reshaped tables.
q "$TGT" "
CREATE TABLE people (id int PRIMARY KEY, full_name text NOT NULL, updated timestamptz);
CREATE TABLE movies (id int PRIMARY KEY, title text NOT NULL, blurb text, year int, rating text,
                     minutes int, price numeric(6,2), features text[], words int);
CREATE TABLE castings (person_id int REFERENCES people, movie_id int REFERENCES movies,
                       PRIMARY KEY (person_id, movie_id));" || exit 1
cd "$TMP" || exit 1
cat >map.yaml <<'EOF'
# pagila -> v2
castings:                    # first, but it waits for people and movies (FKs)
  source_table: film_actor
  columns: {actor_id: person_id, film_id: movie_id}
  where: "film_id IN (SELECT film_id FROM confiture_src.film WHERE rating <> 'NC-17')"
people:
  source_table: actor
  columns: {actor_id: id, last_update: updated}
  expressions:
    full_name: "first_name || ' ' || last_name"
movies:
  source_table: film
  columns:
    film_id: id
    title: title
    description: blurb
    release_year: year
    rating: rating
    length: minutes
    rental_rate: price
    special_features: features
  expressions:
    words: "length(fulltext)"
  where: "rating <> 'NC-17'"
EOF

run cf s2s setup --source "$SU" --target "$TU" -f json
expect_rc 0 "setup imports the pagila schema"
expect_json '.hints[] | select(startswith("Column \"rating\" of public.film ")) | test("public.mpaa_rating")' true \
	"an enum the target lacks is imported as text, with a hint"
n=$(q "$TGT" "SELECT count(*) FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'confiture_src'")
m=$(q "$SRC" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE nspname = 'public' AND relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT relispartition")
expect_eq "$n" "$m" "every table, view and materialized view is imported (partitions through their parent)"
expect_eq "$(q "$TGT" "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                       WHERE attrelid = 'confiture_src.film'::regclass AND attname = 'release_year'")" \
	"text" "a domain the target lacks is imported as text"
run cf s2s setup --source "$SU" --target "$TU" -f json
expect_json .changes_detected false "setup again changes nothing, text columns included"

run cf s2s analyze --source "$SU" --target "$TU" --mapping map.yaml -f json
expect_json '.tables[] | select(.entry == "movies") | .columns[] | select(.source == "release_year") | .cast' \
	"explicit" "analyze: the domain year (text on the target) needs an explicit cast to int"

run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml -j 3 --batch-size 300 -f json
expect_rc 0 "migrate of pagila with 3 jobs exits 0"
expect_eq "$(q "$TGT" "SELECT count(*) FROM movies")" "$(q "$SRC" "SELECT count(*) FROM film WHERE rating <> 'NC-17'")" \
	"movies: the where clause on an enum column"
expect_eq "$(q "$TGT" "SELECT title, year, rating, features, words > 0 FROM movies WHERE id = 13")" \
	"FILM 13|2003|R|{Trailers,\"Deleted Scenes\"}|t" "domain, enum, array and tsvector values arrive"
expect_eq "$(q "$TGT" "SELECT full_name FROM people WHERE id = 5")" "FIRST5 LAST5" "an expression over two columns"
expect_eq "$(q "$TGT" "SELECT count(*) FROM castings")" \
	"$(q "$SRC" "SELECT count(*) FROM film_actor fa JOIN film f USING (film_id) WHERE f.rating <> 'NC-17'")" \
	"castings: a composite key cut on its first column, filtered by a subquery"
expect_json '.tables[0].key_column' actor_id "the ranges of castings are cut on actor_id"

run cf s2s verify --source "$SU" --target "$TU" --mapping map.yaml --table people --table movies -f json
expect_rc 0 "verify of pagila exits 0"
q "$TGT" "UPDATE movies SET features = ARRAY['Trailers'] WHERE id = 501"
run cf s2s verify --source "$SU" --target "$TU" --mapping map.yaml --table movies -f json
expect_rc 1 "verify catches one changed array"
expect_json '.tables[0].first_diff_key' 501 "at its key"

run cf s2s cleanup --target "$TU"
expect_rc 0 "cleanup exits 0"
expect_eq "$(q "$TGT" "SELECT count(*) FROM pg_class WHERE relkind = 'f'")" 0 "no foreign table left"

done_testing
