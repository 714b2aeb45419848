-- filter: "metrics.m0 > 0 AND metrics.m1 > 1 AND metrics.m2 > 2 AND metrics.m3 > 3 AND metrics.m4 > 4 AND params.model != 'x' AND tags.t IS NULL AND NOT tags.u LIKE 'a%' AND datasets.name = 'iris' AND (params.lr = '0.1' OR status = 'FINISHED')"
-- order_by: ['metrics.m0 DESC']
-- params: ["m0", "m0", 0.0, "m1", 1.0, "m2", 2.0, "m3", 3.0, "m4", 4.0, "m0", "m1", "m2", "m3", "m4", "model", "x", "lr", "0.1", "model", "lr", "t", "u", "a%", "t", "u", "iris", "1", "2", "active", "FINISHED"]
-- description: ["m0 > 0", "m1 > 1", "m2 > 2", "m3 > 3", "m4 > 4", "param model is not 'x'", "tag t is not set", "not tag u matches 'a%'", "dataset name is 'iris'", "param lr is '0.1' or status is 'FINISHED'"]
SELECT r.run_id
FROM runs AS r
LEFT JOIN latest_metrics AS o0 ON o0.run_id = r.run_id AND o0.key = ?
LEFT JOIN (SELECT m.run_id, bool_or(m.key = ? AND (m.value > ? AND NOT isnan(m.value))) AS c0, bool_or(m.key = ? AND (m.value > ? AND NOT isnan(m.value))) AS c1, bool_or(m.key = ? AND (m.value > ? AND NOT isnan(m.value))) AS c2, bool_or(m.key = ? AND (m.value > ? AND NOT isnan(m.value))) AS c3, bool_or(m.key = ? AND (m.value > ? AND NOT isnan(m.value))) AS c4 FROM latest_metrics AS m WHERE m.key IN (?, ?, ?, ?, ?) GROUP BY m.run_id) AS gm ON gm.run_id = r.run_id
LEFT JOIN (SELECT p.run_id, bool_or(p.key = ? AND p.value != ?) AS c0, bool_or(p.key = ? AND p.value = ?) AS c1 FROM params AS p WHERE p.key IN (?, ?) GROUP BY p.run_id) AS gp ON gp.run_id = r.run_id
LEFT JOIN (SELECT t.run_id, bool_or(t.key = ?) AS c0, bool_or(t.key = ? AND t.value LIKE ?) AS c1 FROM tags AS t WHERE t.key IN (?, ?) GROUP BY t.run_id) AS gt ON gt.run_id = r.run_id
LEFT JOIN (SELECT i.run_id, bool_or(i.dataset_name = ?) AS c0 FROM inputs AS i GROUP BY i.run_id) AS gi ON gi.run_id = r.run_id
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND COALESCE(gm.c0, FALSE)
  AND COALESCE(gm.c1, FALSE)
  AND COALESCE(gm.c2, FALSE)
  AND COALESCE(gm.c3, FALSE)
  AND COALESCE(gm.c4, FALSE)
  AND COALESCE(gp.c0, FALSE)
  AND NOT COALESCE(gt.c0, FALSE)
  AND NOT COALESCE(COALESCE(gt.c1, FALSE), FALSE)
  AND COALESCE(gi.c0, FALSE)
  AND (COALESCE(gp.c1, FALSE) OR r.status = ?)
ORDER BY CASE WHEN o0.value IS NULL THEN 2 WHEN isnan(o0.value) THEN 1 ELSE 0 END, o0.value DESC, r.start_time DESC, r.run_id ASC
