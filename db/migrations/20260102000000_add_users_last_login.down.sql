-- Undoes the .up.sql: `confiture migrate down`.
ALTER TABLE users DROP COLUMN last_login_at;
