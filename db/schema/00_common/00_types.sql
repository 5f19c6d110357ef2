-- Shared types. Files run in path order, compared folder by folder:
-- 00_common first, then 10_tables, 20_views, 30_functions.
CREATE DOMAIN email_address AS text
    CHECK (VALUE ~ '^[^@[:space:]]+@[^@[:space:]]+$');
COMMENT ON DOMAIN email_address IS 'An e-mail address: something@somewhere.';

CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived');
COMMENT ON TYPE post_status IS 'Where a post is in its life.';
