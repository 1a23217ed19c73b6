-- The hopping window table function with Flink's named arguments; an event joins its windows
-- still open.
CREATE TABLE events (v BIGINT, k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'kappa', 'topic' = 'events', 'format' = 'json');
SELECT window_start, window_end, k, COUNT(*) AS n, SUM(v) AS total
FROM TABLE(HOP(DATA => TABLE events, TIMECOL => DESCRIPTOR(ts), SLIDE => INTERVAL '30' SECOND,
               SIZE => INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, k;
