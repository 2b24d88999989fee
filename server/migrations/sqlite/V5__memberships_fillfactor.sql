-- PostgreSQL's V5 sets the fill factor of `memberships` (a storage parameter, not part of the
-- logical schema). SQLite has no such parameter: nothing changes here, and both stores stay
-- at the same migration version.
SELECT 1;
