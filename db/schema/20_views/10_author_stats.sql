CREATE VIEW author_stats AS
SELECT u.id AS user_id,
       u.full_name,
       count(p.id) FILTER (WHERE p.status = 'published') AS published_posts,
       max(p.created_at) AS last_post_at
FROM users u
LEFT JOIN posts p ON p.author_id = u.id
GROUP BY u.id, u.full_name;
COMMENT ON VIEW author_stats IS 'Per user: published posts and the latest one.';
