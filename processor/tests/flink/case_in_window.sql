-- A fraud rule as the seed writes them: CASE inside aggregates over a tumbling window.
CREATE TABLE payments (card STRING, amount DOUBLE, country STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'payments', 'format' = 'json');
SELECT card, TUMBLE_START(ts, INTERVAL '1' MINUTE) AS w, COUNT(*) AS n,
       SUM(CASE WHEN amount > 100 THEN 1 ELSE 0 END) AS big_ones,
       COUNT(DISTINCT country) AS countries,
       CASE WHEN COUNT(DISTINCT country) > 1 OR SUM(amount) > 500 THEN 'review' ELSE 'ok' END
         AS verdict,
       MAX(IF(country = 'NO', amount, 0)) AS max_domestic
FROM payments
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), card;
