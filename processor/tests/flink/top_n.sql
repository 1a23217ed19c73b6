-- Top-N as Flink writes it: the 3 largest orders per category, rn selected (issue 14). An
-- updating table: kappa's upsert stream, applied by key, must give Flink's final table.
CREATE TABLE orders (
  order_id STRING, category STRING, total DOUBLE, status STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');

SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY category ORDER BY total DESC) AS rn
  FROM orders WHERE status <> 'cancelled'
) WHERE rn <= 3;
