-- Top-N, live (issue 14): the best 2 orders per category. Every rank whose row changed is
-- written again under (category, rank); ties keep arrival order; a NULL total ranks last.
CREATE TABLE orders (order_id STRING, category STRING, total DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY category ORDER BY total DESC) AS rn FROM orders
) WHERE rn <= 2;
