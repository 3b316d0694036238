WITH a AS (SELECT host, v FROM cpu WHERE v > 1), b AS (SELECT host, max(v) AS m FROM a GROUP BY host)
SELECT host, m FROM b ORDER BY host