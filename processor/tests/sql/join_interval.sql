-- Interval join: an order meets the shipments of its id within four hours after it. Each pair is
-- emitted as soon as its second row arrives; rows are dropped once the watermark passes the
-- interval's end. A shipment 5 hours after its order does not match.
CREATE TABLE orders (id STRING, total DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
CREATE TABLE shipments (order_id STRING, carrier STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'kappa', 'topic' = 'shipments', 'format' = 'json');
SELECT o.id, o.total, s.carrier, o.ts AS ordered, CAST(s.ts AS TIMESTAMP(3)) AS shipped
FROM orders o JOIN shipments s
  ON o.id = s.order_id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '4' HOUR
WHERE o.total > 1;
