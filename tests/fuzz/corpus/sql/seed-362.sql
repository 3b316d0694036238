WITH cpu_avg AS (SELECT date_bin(INTERVAL '1 hour', time) AS hour, host, avg(v) AS mean_v FROM cpu GROUP BY 1, 2)
SELECT hour, host, mean_v FROM cpu_avg ORDER BY hour, host