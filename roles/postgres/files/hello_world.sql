-- Schema and data of the benchmark database (docs/test-types.md §1 "Data").
-- Run as the database owner inside `hello_world`. Idempotent: tables are created if missing and filled
-- only while empty, so a re-run never reshuffles World.

CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

CREATE TABLE IF NOT EXISTS world (
    id integer PRIMARY KEY,
    randomnumber integer NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS fortune (
    id integer PRIMARY KEY,
    message varchar(2048) NOT NULL
);
-- TFB's update check reads the quoted, case-sensitive copies too.
CREATE TABLE IF NOT EXISTS "World" (
    id integer PRIMARY KEY,
    randomnumber integer NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS "Fortune" (
    id integer PRIMARY KEY,
    message varchar(2048) NOT NULL
);

INSERT INTO world (id, randomnumber)
SELECT g, floor(random() * 10000)::integer + 1 FROM generate_series(1, 10000) AS g
WHERE NOT EXISTS (SELECT 1 FROM world);

INSERT INTO "World" (id, randomnumber)
SELECT id, randomnumber FROM world
WHERE NOT EXISTS (SELECT 1 FROM "World");

INSERT INTO fortune (id, message)
SELECT v.id, v.message FROM (VALUES
    (1, 'fortune: No such file or directory'),
    (2, 'A computer scientist is someone who fixes things that aren''t broken.'),
    (3, 'After enough decimal places, nobody gives a damn.'),
    (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),
    (5, 'A computer program does what you tell it to do, not what you want it to do.'),
    (6, 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen'),
    (7, 'Any program that runs right is obsolete.'),
    (8, 'A list is only as strong as its weakest link. — Donald Knuth'),
    (9, 'Feature: A bug with seniority.'),
    (10, 'Computers make very fast, very accurate mistakes.'),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, 'フレームワークのベンチマーク')
) AS v (id, message)
WHERE NOT EXISTS (SELECT 1 FROM fortune);

INSERT INTO "Fortune" (id, message)
SELECT id, message FROM fortune
WHERE NOT EXISTS (SELECT 1 FROM "Fortune");

ANALYZE world;
ANALYZE fortune;
