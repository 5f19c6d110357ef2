SELECT 1;
CREATE TABLE b (
    id int,,
    name text
);
