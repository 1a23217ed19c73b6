-- DATE_FORMAT, TO_TIMESTAMP (default and explicit pattern), EXTRACT, FLOOR/CEIL(ts TO unit),
-- TIMESTAMPDIFF, all in UTC.
CREATE TABLE t (id STRING, ts TIMESTAMP(3), t2 TIMESTAMP(3), s STRING, d STRING)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id, DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss') AS f1, DATE_FORMAT(ts, 'dd/MM/yy HH.mm.ss.SSS') AS f2,
       TO_TIMESTAMP(s) AS p1, TO_TIMESTAMP(d, 'dd.MM.yyyy HH:mm') AS p2,
       EXTRACT(YEAR FROM ts) AS y, EXTRACT(QUARTER FROM ts) AS q, EXTRACT(MONTH FROM ts) AS mo,
       EXTRACT(WEEK FROM ts) AS wk, EXTRACT(DAY FROM ts) AS dd, EXTRACT(DOW FROM ts) AS weekday,
       EXTRACT(DOY FROM ts) AS yearday, EXTRACT(HOUR FROM ts) AS h, EXTRACT(MINUTE FROM ts) AS mi,
       EXTRACT(SECOND FROM ts) AS secs, FLOOR(ts TO HOUR) AS fh, FLOOR(ts TO MONTH) AS fm,
       CEIL(ts TO DAY) AS cd, CEIL(ts TO MINUTE) AS cm,
       TIMESTAMPDIFF(SECOND, ts, t2) AS dsec, TIMESTAMPDIFF(DAY, ts, t2) AS dday,
       TIMESTAMPDIFF(MONTH, ts, t2) AS dmon, TIMESTAMPDIFF(YEAR, ts, t2) AS dyear
FROM t;
