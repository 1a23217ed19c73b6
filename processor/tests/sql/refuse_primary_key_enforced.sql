-- PRIMARY KEY needs NOT ENFORCED, as in Flink.
CREATE TABLE rates (currency STRING, rate DOUBLE, PRIMARY KEY (currency)) WITH ('topic' = 'rates');
SELECT currency FROM rates;
