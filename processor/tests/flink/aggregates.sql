-- COUNT(*), COUNT(x) (non-null only), COUNT(DISTINCT x), SUM, AVG of BIGINT (truncates, as
-- in Flink) and of DOUBLE, MIN/MAX of numbers and strings, HAVING, in a tumbling window.
CREATE TABLE t (k STRING, v BIGINT, d DOUBLE, s STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT k, TUMBLE_END(ts, INTERVAL '10' SECOND) AS w_end, COUNT(*) AS all_rows,
       COUNT(v) AS with_v, COUNT(DISTINCT v) AS distinct_v, SUM(v) AS sum_v, AVG(v) AS avg_v,
       AVG(d) AS avg_d, MIN(s) AS first_s, MAX(s) AS last_s, MIN(d) AS lo, MAX(v) AS hi
FROM t
GROUP BY k, TUMBLE(ts, INTERVAL '10' SECOND)
HAVING COUNT(*) > 1;
