-- CASE (searched and simple), IF, NULLIF, GREATEST/LEAST (NULL when an argument is NULL),
-- with branches of different types and string literals of different lengths.
CREATE TABLE t (id STRING, a BIGINT, b BIGINT, x DOUBLE, s STRING)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id,
       CASE WHEN a > 10 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END AS size,
       CASE s WHEN 'x' THEN 1 WHEN 'y' THEN 2 END AS code,
       CASE WHEN x IS NULL THEN 0 ELSE x END AS x0,
       IF(a > b, a, b) AS hi, IF(s = 'x', 'yes', 'no') AS is_x, NULLIF(a, b) AS a_unless_b,
       GREATEST(a, b, 5) AS g, LEAST(a, x) AS l, COALESCE(NULLIF(s, ''), 'empty') AS s2
FROM t;
