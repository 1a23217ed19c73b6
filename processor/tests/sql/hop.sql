-- Hopping windows of 1 minute every 30 s over an inferred table (ts becomes event time).
SELECT HOP_START(ts, INTERVAL '30' SECOND, INTERVAL '1' MINUTE) AS ws,
       HOP_END(ts, INTERVAL '30' SECOND, INTERVAL '1' MINUTE) AS we,
       COUNT(*) AS n, SUM(v) AS total
FROM events
GROUP BY HOP(ts, INTERVAL '30' SECOND, INTERVAL '1' MINUTE);
