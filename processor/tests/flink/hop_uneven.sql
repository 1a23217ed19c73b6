-- A hopping window whose size is not a multiple of its slide (50 s every 20 s).
CREATE TABLE events (v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '3' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'events', 'format' = 'json');
SELECT HOP_START(ts, INTERVAL '20' SECOND, INTERVAL '50' SECOND) AS ws,
       HOP_END(ts, INTERVAL '20' SECOND, INTERVAL '50' SECOND) AS we, COUNT(*) AS n, SUM(v) AS total
FROM events
GROUP BY HOP(ts, INTERVAL '20' SECOND, INTERVAL '50' SECOND);
