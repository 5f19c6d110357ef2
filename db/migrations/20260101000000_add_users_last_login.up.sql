-- A change that came after db/schema/ was written: `confiture migrate up`
-- brings databases built earlier up to date. Each migration runs in one
-- transaction with its ledger row.
ALTER TABLE users ADD COLUMN last_login_at timestamptz;
