-- Aggregates over NULLs: SUM/AVG/MIN/MAX of only NULLs are NULL, COUNT(x) and COUNT(DISTINCT x)
-- skip NULLs, a NULL group key is a group; in a tumbling window.
CREATE TABLE t (k STRING, v BIGINT, d DOUBLE, s STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT k, TUMBLE_START(ts, INTERVAL '1' MINUTE) AS w, COUNT(*) AS n, COUNT(v) AS nv,
       COUNT(DISTINCT s) AS ds, SUM(v) AS sv, AVG(d) AS ad, MIN(s) AS mins, MAX(d) AS maxd,
       SUM(d) AS sd
FROM t
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), k;
