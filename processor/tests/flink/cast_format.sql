-- CAST to STRING of doubles, booleans and timestamps; CAST of strings to numbers and booleans;
-- ROUND with negative digits and of integers; || with NULL; string comparison.
CREATE TABLE t (id STRING, x DOUBLE, n BIGINT, b BOOLEAN, s STRING, flag STRING, ts TIMESTAMP(3))
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id, CAST(x AS STRING) AS x_s, CAST(b AS STRING) AS b_s, CAST(ts AS STRING) AS ts_s,
       CAST(n AS DOUBLE) AS n_d, CAST(flag AS BOOLEAN) AS flag_b, ROUND(n, -1) AS n_r,
       ROUND(x, -2) AS x_r, s || id AS joined, s > 'm' AS after_m, CAST(x AS BIGINT) AS x_i
FROM t;
