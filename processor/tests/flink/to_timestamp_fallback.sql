-- TO_TIMESTAMP(s[, pattern]) (default pattern 'yyyy-MM-dd HH:mm:ss'): when the pattern does
-- not match, Flink falls back to java.sql.Timestamp.valueOf ('yyyy-[M]M-[d]d HH:mm:ss[.f]')
-- or, without a space, java.sql.Date.valueOf ('yyyy-[M]M-[d]d') before giving NULL.
CREATE TABLE t (id STRING, d STRING)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id, TO_TIMESTAMP(d, 'dd.MM.yyyy HH:mm') AS p, TO_TIMESTAMP(d) AS p_default
FROM t;
