-- Shared types. Files run in path order, compared folder by folder:
-- 00_common first, then 10_tables, 20_views, 30_functions.
CREATE DOMAIN email_address AS text
    CHECK (VALUE ~ '^[^@[:space:]]+@[^@[:space:]]+$');

CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived');
