-- kappa's 'allowed-lateness' keeps a window 10 s past its end and emits it once; Flink says
-- it with table.exec.emit.allow-lateness and late firing (its final table is compared).
-- flink-config: table.exec.emit.allow-lateness = 10 s
-- flink-config: table.exec.emit.late-fire.enabled = true
-- flink-config: table.exec.emit.late-fire.delay = 0 s
CREATE TABLE t (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'ev', 'format' = 'json', 'allowed-lateness' = '10 s');
SELECT k, TUMBLE_START(ts, INTERVAL '1' MINUTE) AS w, COUNT(*) AS n, SUM(v) AS total
FROM t GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), k;
