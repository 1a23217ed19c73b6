-- CUMULATE with Flink's named arguments: the running revenue of each 3-minute period, at every
-- minute; window_end and window_time select the window's end and last millisecond.
CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');

SELECT window_start, window_end, window_time, SUM(total) AS revenue, COUNT(*) AS n
FROM TABLE(CUMULATE(DATA => TABLE orders, TIMECOL => DESCRIPTOR(ts),
                    STEP => INTERVAL '1' MINUTE, SIZE => INTERVAL '3' MINUTE))
GROUP BY window_start, window_end;
