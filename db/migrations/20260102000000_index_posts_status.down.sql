DROP INDEX posts_status_idx;
