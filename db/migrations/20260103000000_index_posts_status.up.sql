-- confiture:no-transaction
-- Posts are listed by status (published first). CONCURRENTLY builds the
-- index without blocking writes to posts, which no transaction allows:
-- hence the line above. confiture lint explains both.
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_status_idx ON posts (status);
