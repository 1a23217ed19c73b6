-- Allowed lateness on hopping windows: a late event joins those of its windows still within
-- the lateness.
-- flink-config: table.exec.emit.allow-lateness = 15 s
-- flink-config: table.exec.emit.late-fire.enabled = true
-- flink-config: table.exec.emit.late-fire.delay = 0 s
CREATE TABLE events (v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'kappa', 'topic' = 'events', 'format' = 'json', 'allowed-lateness' = '15 s');
SELECT HOP_START(ts, INTERVAL '20' SECOND, INTERVAL '40' SECOND) AS ws, COUNT(*) AS n, SUM(v) AS total
FROM events
GROUP BY HOP(ts, INTERVAL '20' SECOND, INTERVAL '40' SECOND);
