# dump_norm.awk -- `pg_dump -s --no-owner` output as one line per object
# (its "-- Name:" header and statements, joined by \037), so that two dumps
# can be sorted and compared whatever order pg_dump chose. The columns of a
# CREATE TABLE, and the GRANTs of an ACL entry, are sorted: column order
# inside a table is not compared (a diff cannot change it without a rewrite).
# psql meta-commands (\restrict has a random key), SET lines and comments go.
function sort_range(a, lo, hi,   i, j, t) {
	for (i = lo + 1; i <= hi; i++) {
		t = a[i]
		for (j = i - 1; j >= lo && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
}
function flush(   i, j, n, body, is_acl) {
	if (nl == 0)
		return
	is_acl = key ~ /Type: (ACL|DEFAULT ACL)/
	if (is_acl)
		sort_range(lines, 1, nl)
	body = ""
	for (i = 1; i <= nl; i++) {
		body = body lines[i] "\037"
		if (lines[i] ~ /^CREATE (UNLOGGED )?TABLE .*\($/) {
			n = 0
			for (j = i + 1; j <= nl && lines[j] !~ /^\)/; j++) {
				cols[++n] = lines[j]
				sub(/,$/, "", cols[n])
			}
			sort_range(cols, 1, n)
			for (k = 1; k <= n; k++)
				body = body cols[k] "\037"
			i = j - 1
		}
	}
	print key "\037" body
	nl = 0
}
/^-- Name: / { flush(); key = $0; sub(/; Owner: .*/, "", key); next }
/^--/ { next }
/^\\/ { next }
/^SET / { next }
/^SELECT pg_catalog.set_config/ { next }
/^$/ { next }
{ lines[++nl] = $0 }
END { flush() }
