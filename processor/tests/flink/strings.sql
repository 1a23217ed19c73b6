-- CONCAT, SUBSTRING (both forms, negative start), TRIM (both, leading chars, trailing),
-- REPLACE, SPLIT_INDEX (0-based, past the end), REGEXP_EXTRACT, with NULLs and non-ASCII text.
CREATE TABLE t (id STRING, s STRING, csv STRING)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id, CONCAT(s, '-', id) AS c, SUBSTRING(s FROM 2 FOR 3) AS sub1, SUBSTRING(s, 3) AS sub2,
       SUBSTRING(s, -3, 2) AS sub3, TRIM(s) AS t1, TRIM(LEADING 'x' FROM s) AS t2,
       TRIM(TRAILING ' ' FROM s) AS t3, REPLACE(s, 'a', 'AA') AS r, SPLIT_INDEX(csv, ',', 1) AS f1,
       SPLIT_INDEX(csv, ',', 5) AS f5, REGEXP_EXTRACT(csv, '([a-z]+)=(\d+)', 2) AS num,
       REGEXP_EXTRACT(csv, '[a-z]+=\d+') AS pair, UPPER(SUBSTRING(s, 1, 1)) AS first_letter
FROM t;
