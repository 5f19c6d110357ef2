INSERT INTO posts (author_id, title, body, status)
SELECT id, 'Hello from ' || full_name, 'First post.', 'published'
FROM users;
