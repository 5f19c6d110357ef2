-- confiture:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS posts_status_idx;
