-- COUNT(*), COUNT(x) (non-null only), COUNT(DISTINCT x), AVG of BIGINT (truncates, as in
-- Flink), MIN/MAX of strings, HAVING and LIMIT, as a bounded run (final rows only).
-- end: 1000
SELECT k, COUNT(*) AS all_rows, COUNT(v) AS with_v, COUNT(DISTINCT v) AS distinct_v,
       AVG(v) AS avg_v, MIN(s) AS first_s, MAX(s) AS last_s
FROM t
GROUP BY k
HAVING COUNT(*) > 1
LIMIT 2;
