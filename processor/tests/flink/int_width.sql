-- INT is 32 bits in Flink: INT arithmetic wraps and CAST to INT saturates (Java's rules);
-- kappa reads INT as BIGINT (64 bits). A known difference.
CREATE TABLE t (id STRING, a INT, x DOUBLE)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id, a * a AS sq, a + 1 AS plus_one, CAST(x AS INT) AS x_int
FROM t;
