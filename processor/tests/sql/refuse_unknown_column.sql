CREATE TABLE t (a STRING, b DOUBLE) WITH ('connector' = 'kappa', 'topic' = 't');
SELECT a, nope FROM t;
