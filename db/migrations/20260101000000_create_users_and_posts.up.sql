-- The first migration creates what db/schema/ held when the project began.
-- Migrations replay from an empty database to the schema that db/schema/
-- describes now: `confiture check` proves it, and `confiture migrate
-- generate NAME --from-diff` writes the next one after an edit there.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

-- A domain's CHECK is re-checked on every column of that type when it
-- changes: fine for one column, on a new database.
-- confiture:lint-ignore ban-create-domain-with-constraint
CREATE DOMAIN email_address AS text
    CHECK (VALUE ~ '^[^@[:space:]]+@[^@[:space:]]+$');
COMMENT ON DOMAIN email_address IS 'An e-mail address: something@somewhere.';
CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived');
COMMENT ON TYPE post_status IS 'Where a post is in its life.';

CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       email_address NOT NULL UNIQUE,
    full_name   text NOT NULL,
    phone       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'People who can sign in.';

CREATE TABLE posts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text NOT NULL,
    body        text NOT NULL DEFAULT '',
    status      post_status NOT NULL DEFAULT 'draft',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE posts IS 'What users write.';
CREATE INDEX posts_author_id_idx ON posts (author_id);

CREATE VIEW author_stats AS
SELECT u.id AS user_id,
       u.full_name,
       count(p.id) FILTER (WHERE p.status = 'published') AS published_posts,
       max(p.created_at) AS last_post_at
FROM users u
LEFT JOIN posts p ON p.author_id = u.id
GROUP BY u.id, u.full_name;
COMMENT ON VIEW author_stats IS 'Per user: published posts and the latest one.';

CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION touch_updated_at() IS 'Trigger: sets updated_at on UPDATE.';
CREATE TRIGGER users_touch_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER posts_touch_updated_at
    BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
