-- Undoes the .up.sql: `confiture migrate down`.
DROP VIEW author_stats;
DROP TABLE posts, users;
DROP FUNCTION touch_updated_at();
DROP TYPE post_status;
DROP DOMAIN email_address;
