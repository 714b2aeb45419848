-- filter: 'metrics.acc != 0.9'
-- order_by: None
-- params: ["1", "2", "active", "acc", 0.9]
-- description: ["acc != 0.9"]
SELECT r.run_id
FROM runs AS r
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND r.run_id IN (SELECT m.run_id FROM latest_metrics AS m WHERE m.key = ? AND m.value != ?)
ORDER BY r.start_time DESC, r.run_id ASC
