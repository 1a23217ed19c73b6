-- Hopping windows of 1 minute every 30 s; an event joins its windows still open and is late
-- only when all of them are complete.
CREATE TABLE events (v BIGINT, k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'kappa', 'topic' = 'events', 'format' = 'json');
SELECT k, HOP_START(ts, INTERVAL '30' SECOND, INTERVAL '1' MINUTE) AS ws,
       HOP_END(ts, INTERVAL '30' SECOND, INTERVAL '1' MINUTE) AS we,
       COUNT(*) AS n, SUM(v) AS total, MAX(v) AS hi
FROM events
GROUP BY HOP(ts, INTERVAL '30' SECOND, INTERVAL '1' MINUTE), k;
