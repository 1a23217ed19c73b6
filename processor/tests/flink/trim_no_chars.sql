-- TRIM(LEADING|TRAILING FROM s) without the characters (spaces by default in Flink).
CREATE TABLE t (id STRING, s STRING)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id, TRIM(TRAILING FROM s) AS t1, TRIM(LEADING FROM s) AS t2, TRIM(BOTH FROM s) AS t3
FROM t;
