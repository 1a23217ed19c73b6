-- Session windows with a 10 s gap per user; ts is epoch millis.
SELECT user_id, SESSION_START(ts, INTERVAL '10' SECOND) AS s, SESSION_END(ts, INTERVAL '10' SECOND) AS e,
       COUNT(*) AS clicks
FROM clicks
GROUP BY SESSION(ts, INTERVAL '10' SECOND), user_id;
