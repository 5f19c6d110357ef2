CREATE TYPE mood AS ENUM ('sad');
ALTER TYPE mood ADD VALUE 'happy';
UPDATE person SET m = 'happy';
ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'sad';
