-- Flink's scalar functions (issue 14): CASE, IF, NULLIF, GREATEST/LEAST, string, time and JSON
-- functions, each as Flink writes it.
CREATE TABLE events (
  id BIGINT, name STRING, amount DOUBLE, qty BIGINT, tags STRING, payload STRING, ts TIMESTAMP(3)
) WITH ('connector' = 'kappa', 'topic' = 'events', 'format' = 'json');
SELECT id,
       CASE WHEN amount >= 100 THEN 'big' WHEN amount >= 10 THEN 'medium' ELSE 'small' END AS size,
       CASE qty WHEN 1 THEN 'one' WHEN 2 THEN 'two' END AS qty_word,
       IF(qty > 1, amount * qty, amount) AS line_total,
       NULLIF(name, '') AS name_or_null,
       GREATEST(qty, amount, 5) AS g,
       LEAST(name, 'm') AS l,
       CONCAT(name, '#', CAST(id AS STRING)) AS label,
       SUBSTRING(name FROM 2 FOR 3) AS sub1,
       SUBSTRING(name, -2) AS sub2,
       TRIM(BOTH 'x' FROM tags) AS trimmed,
       TRIM(name) AS trimmed_name,
       REPLACE(tags, ',', ';') AS replaced,
       SPLIT_INDEX(tags, ',', 1) AS second_tag,
       REGEXP_EXTRACT(tags, '([a-z]+)([0-9]+)', 2) AS digits,
       DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm') AS minute_text,
       EXTRACT(HOUR FROM ts) AS hour_of_day,
       EXTRACT(DOW FROM ts) AS dow,
       FLOOR(ts TO HOUR) AS hour_start,
       CEIL(ts TO DAY) AS next_day,
       TIMESTAMPDIFF(MINUTE, TO_TIMESTAMP('2026-03-25 00:00:00'), ts) AS minutes_into_day,
       TO_TIMESTAMP('25/03/2026 08:00', 'dd/MM/yyyy HH:mm') AS parsed,
       JSON_VALUE(payload, '$.customer.city') AS city,
       JSON_VALUE(payload, '$.items[1]') AS second_item
FROM events;
