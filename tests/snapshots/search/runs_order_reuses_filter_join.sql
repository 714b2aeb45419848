-- filter: 'metrics.acc > 0.5'
-- order_by: ['metrics.acc DESC']
-- params: ["acc", "1", "2", "active", 0.5]
-- description: ["acc > 0.5"]
SELECT r.run_id
FROM runs AS r
LEFT JOIN latest_metrics AS o0 ON o0.run_id = r.run_id AND o0.key = ?
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND (o0.value > ? AND NOT isnan(o0.value))
ORDER BY CASE WHEN o0.value IS NULL THEN 2 WHEN isnan(o0.value) THEN 1 ELSE 0 END, o0.value DESC, r.start_time DESC, r.run_id ASC
