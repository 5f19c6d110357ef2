-- Seed data runs after the schema; `confiture build --schema-only` leaves it out.
INSERT INTO users (email, full_name, phone) VALUES
    ('ada@example.com', 'Ada Lovelace', '+44 20 7946 0018'),
    ('alan@example.com', 'Alan Turing', '+44 20 7946 0912'),
    ('grace@example.com', 'Grace Hopper', '+1 202 555 0147');
