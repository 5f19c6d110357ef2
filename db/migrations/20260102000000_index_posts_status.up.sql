-- Posts are listed by status (published first).
CREATE INDEX posts_status_idx ON posts (status);
