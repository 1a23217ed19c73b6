-- input: join_interval
-- LEFT interval join: unmatched orders are emitted with NULL shipment columns once no shipment can match.
CREATE TABLE orders (id STRING, total DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
CREATE TABLE shipments (order_id STRING, carrier STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'kappa', 'topic' = 'shipments', 'format' = 'json');
SELECT o.id, o.total, s.carrier, o.ts AS ordered, CAST(s.ts AS TIMESTAMP(3)) AS shipped
FROM orders o LEFT JOIN shipments s
  ON o.id = s.order_id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '4' HOUR
WHERE o.total > 1;
