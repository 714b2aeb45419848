-- filter: "params.model IN ('rf', 'svm')"
-- order_by: None
-- params: ["1", "2", "active", "model", "rf", "svm"]
-- description: ["param model is one of 'rf', 'svm'"]
SELECT r.run_id
FROM runs AS r
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND r.run_id IN (SELECT p.run_id FROM params AS p WHERE p.key = ? AND p.value IN (?, ?))
ORDER BY r.start_time DESC, r.run_id ASC
