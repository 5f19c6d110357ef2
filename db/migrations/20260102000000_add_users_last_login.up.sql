-- A later change, made in db/schema/ too: `confiture migrate up` brings
-- databases made earlier up to date. Each migration runs in one transaction
-- with its ledger row. The timeouts make it give up, rather
-- than queue every query on users behind its lock (confiture lint asks).
SET lock_timeout = '5s';
SET statement_timeout = '1min';
ALTER TABLE users ADD COLUMN last_login_at timestamptz;
