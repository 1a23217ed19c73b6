-- A non-windowed GROUP BY is an updating table (issue 14): when HAVING rejects a key it had
-- let through, the key's row is deleted with a tombstone (the key and an empty value).
SELECT category, SUM(total) AS revenue FROM orders GROUP BY category HAVING SUM(total) < 100;
