-- JSON values of another kind than the declared type, as Flink's json format reads them:
-- numbers in strings, a whole float for a BIGINT, booleans in strings, numbers for STRING.
CREATE TABLE t (id STRING, total DOUBLE, qty BIGINT, flag BOOLEAN, label STRING)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id, total, qty, flag, label FROM t;
