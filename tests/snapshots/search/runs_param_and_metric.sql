-- filter: "params.model = 'rf' and metrics.loss <= 0.2"
-- order_by: None
-- params: ["1", "2", "active", "model", "rf", "loss", 0.2]
-- description: ["param model is 'rf'", "loss <= 0.2"]
SELECT r.run_id
FROM runs AS r
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND r.run_id IN (SELECT p.run_id FROM params AS p WHERE p.key = ? AND p.value = ?)
  AND r.run_id IN (SELECT m.run_id FROM latest_metrics AS m WHERE m.key = ? AND m.value <= ?)
ORDER BY r.start_time DESC, r.run_id ASC
