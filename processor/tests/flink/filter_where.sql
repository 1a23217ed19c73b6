-- A plain filter/map processor: comparisons, AND/OR/NOT, IN, LIKE (with _ and ESCAPE),
-- BETWEEN, IS [NOT] NULL, nested fields.
CREATE TABLE orders (
  order_id STRING, total DOUBLE, qty BIGINT, category STRING, note STRING,
  customer ROW<name STRING, address ROW<city STRING>>, ts TIMESTAMP(3)
) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
INSERT INTO big_orders
SELECT order_id, customer.address.city AS city, total, qty,
       category IN ('books', 'games') AS media, note IS NULL AS no_note,
       customer.name LIKE 'A%' AS a_name
FROM orders
WHERE (total BETWEEN 10 AND 100 OR qty >= 5)
  AND category NOT IN ('banned')
  AND NOT (order_id LIKE 'x_' OR order_id LIKE '%!_test' ESCAPE '!')
  AND (note IS NULL OR note <> 'skip');
