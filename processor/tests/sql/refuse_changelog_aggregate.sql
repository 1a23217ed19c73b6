CREATE TABLE rates (currency STRING, rate DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts,
  PRIMARY KEY (currency) NOT ENFORCED) WITH ('topic' = 'rates');
SELECT currency, COUNT(*) AS n FROM rates GROUP BY currency;
