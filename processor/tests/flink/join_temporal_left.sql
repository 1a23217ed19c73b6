-- input: join_temporal
-- LEFT temporal join: as join_temporal, and an order without a version gets NULL rate columns.
CREATE TABLE orders (order_id STRING, currency STRING, amount DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
CREATE TABLE rates (currency STRING, rate DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts, PRIMARY KEY (currency) NOT ENFORCED)
  WITH ('connector' = 'kappa', 'topic' = 'rates', 'format' = 'json');
SELECT o.order_id, o.currency, o.amount * r.rate AS converted, r.rate, o.ts
FROM orders AS o
LEFT JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.currency = r.currency;
