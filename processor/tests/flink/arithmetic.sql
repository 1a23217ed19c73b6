-- Arithmetic with Flink's integer division and remainder (truncating), CAST, ROUND (half up
-- on the decimal value), ABS, CHAR_LENGTH, ||, LOWER/UPPER/COALESCE.
CREATE TABLE t (id STRING, a BIGINT, b BIGINT, x DOUBLE, name STRING, nick STRING, s STRING)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id, a / b AS quot, a % b AS rem, a * b - 1 AS prod, a + x AS mixed, x / 4 AS xq,
       CAST(a AS DOUBLE) / b AS real_div, CAST(x AS BIGINT) AS x_int, CAST(a AS STRING) AS a_s,
       CAST(s AS BIGINT) AS s_int, CAST(s AS DOUBLE) AS s_dbl,
       ROUND(x, 2) AS x2, ROUND(x) AS x0, ROUND(x, 1) AS x1, ABS(a - 10) AS dist,
       CHAR_LENGTH(name) AS len, UPPER(name) || '-' || LOWER(name) AS cased,
       COALESCE(nick, LOWER(name), 'anon') AS who
FROM t;
