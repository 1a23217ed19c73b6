-- A GROUP BY without a window keeps a table and emits an upsert per change, keyed by the group.
SELECT category, COUNT(*) AS n, SUM(total) AS revenue, MIN(total) AS lo, MAX(total) AS hi
FROM orders GROUP BY category;
