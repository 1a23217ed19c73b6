-- Top-N with a column list and without rn in the outer SELECT, `rn < N`, ascending with the
-- NULL first, and a second sort key (issue 14).
-- input: top_n
CREATE TABLE orders (
  order_id STRING, category STRING, total DOUBLE, status STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');

SELECT category, order_id, total FROM (
  SELECT category, order_id, total,
         ROW_NUMBER() OVER (PARTITION BY category ORDER BY total ASC, ts DESC) AS row_num
  FROM orders
) WHERE row_num < 3;
