-- TO_TIMESTAMP(s, pattern): when the pattern does not match, Flink falls back to parsing
-- 'yyyy-[M]M-[d]d[ HH:mm:ss[.fff]]' (java.sql.Timestamp/Date.valueOf) before giving NULL.
CREATE TABLE t (id STRING, d STRING)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id, TO_TIMESTAMP(d, 'dd.MM.yyyy HH:mm') AS p
FROM t;
