-- The cumulating window table function (a 1-minute window growing by 20 s), as a dashboard
-- writes it; late and out-of-order events.
CREATE TABLE orders (total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT window_start, window_end, category, SUM(total) AS revenue, COUNT(*) AS n
FROM TABLE(CUMULATE(TABLE orders, DESCRIPTOR(ts), INTERVAL '20' SECOND, INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, category;
