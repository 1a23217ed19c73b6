CREATE TABLE t (a STRING, b DOUBLE) WITH ('connector' = 'kappa', 'topic' = 't');
SELECT a, SUM(a) AS s FROM t GROUP BY a;
