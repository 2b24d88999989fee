-- A re-import updates every membership of the list it names (custom fields merged). V4 left
-- 30 % of each memberships page free, room for about half of a page's rows to be updated in
-- place (HOT: no new index entry, no row lock record, a smaller WAL record); the others moved
-- to another page, with an index entry and a lock record each. With half of each page free,
-- every row of a page can take its update in place: measured on the load suite's re-import,
-- WAL per batch of 1000 from 231 to 108 kB and PostgreSQL's CPU about 15 % lower, for a
-- memberships heap about 1.4 times as large (BENCHMARKS.md, issue 21). Applies to the pages
-- written from now on; `VACUUM FULL memberships` rewrites the existing ones.
ALTER TABLE memberships SET (fillfactor = 50);
