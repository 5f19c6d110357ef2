COPY a (id, note) FROM stdin;
COPY a FROM '/tmp/x.csv' WITH (FORMAT csv);
COPY (SELECT 1) TO STDOUT;
/* a /* nested */ comment */ SELECT 'it''s', E'\n', U&'\0041', "Quoted ""id""";
