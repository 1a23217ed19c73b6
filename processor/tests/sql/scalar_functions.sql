-- Nested fields, COALESCE, LOWER, CAST, ROUND (half away from zero), DATE(), LIKE, IS [NOT] NULL.
SELECT id, customer.address.city AS city, COALESCE(nickname, LOWER(name), 'anon') AS who,
       CAST(amount AS DOUBLE) AS amount_d, CAST(qty AS STRING) AS qty_s, ROUND(price, 1) AS price_r,
       DATE(created_at) AS day, name LIKE 'A%' AS starts_a, note IS NULL AS no_note
FROM people
WHERE id IS NOT NULL AND id NOT LIKE 'x_';
