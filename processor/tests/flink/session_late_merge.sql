-- Session windows: an out-of-order event that bridges two open sessions merges them; an event
-- whose own window [t, t + gap) is still open but which overlaps a session already emitted.
CREATE TABLE clicks (user_id STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'clicks', 'format' = 'json');
SELECT user_id, SESSION_START(ts, INTERVAL '10' SECOND) AS s,
       SESSION_END(ts, INTERVAL '10' SECOND) AS e, COUNT(*) AS n
FROM clicks
GROUP BY SESSION(ts, INTERVAL '10' SECOND), user_id;
