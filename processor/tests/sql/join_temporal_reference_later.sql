-- The versioned table is loaded after the orders (in log time). The orders wait: the join's
-- watermark holds until both tables have had a row, so each order still meets the version
-- valid at its time (and no version is pruned by the orders' progress alone).
CREATE TABLE orders (order_id STRING, currency STRING, amount DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
CREATE TABLE rates (currency STRING, rate DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts, PRIMARY KEY (currency) NOT ENFORCED)
  WITH ('connector' = 'kappa', 'topic' = 'rates', 'format' = 'json');
SELECT o.order_id, o.amount * r.rate AS converted, r.rate, o.ts
FROM orders AS o
JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.currency = r.currency;
