-- 'allowed-lateness' keeps a window open 10 s past its end; it is emitted once, then.
CREATE TABLE t (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'kappa', 'topic' = 'ev', 'format' = 'json', 'allowed-lateness' = '10 s');
SELECT k, TUMBLE_START(ts, INTERVAL '1' MINUTE) AS w, COUNT(*) AS n
FROM t GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), k;
