-- Session windows with a 10 s gap per user: touching sessions merge, late events dropped.
CREATE TABLE clicks (user_id STRING, page STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'clicks', 'format' = 'json');
SELECT user_id, SESSION_START(ts, INTERVAL '10' SECOND) AS s,
       SESSION_END(ts, INTERVAL '10' SECOND) AS e, COUNT(*) AS clicks,
       COUNT(DISTINCT page) AS pages
FROM clicks
GROUP BY SESSION(ts, INTERVAL '10' SECOND), user_id;
