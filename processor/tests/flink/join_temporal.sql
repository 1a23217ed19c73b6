-- Event-time temporal join: each order meets the rate of its currency valid at the order's time,
-- once the watermark (the minimum of both tables') passes it. A key without a version (JPY) or
-- deleted gives no row (this input has no deletion: a file source cannot carry one).
CREATE TABLE orders (order_id STRING, currency STRING, amount DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
CREATE TABLE rates (currency STRING, rate DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts, PRIMARY KEY (currency) NOT ENFORCED)
  WITH ('connector' = 'kappa', 'topic' = 'rates', 'format' = 'json');
SELECT o.order_id, o.currency, o.amount * r.rate AS converted, r.rate, o.ts
FROM orders AS o
JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.currency = r.currency;
