-- filter: "status = 'FINISHED' AND `Run Name` LIKE 'a%' AND created > 1000"
-- order_by: None
-- params: ["1", "2", "active", "FINISHED", "a%", 1000]
-- description: ["status is 'FINISHED'", "run_name matches 'a%'", "start_time > 1000"]
SELECT r.run_id
FROM runs AS r
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND r.status = ?
  AND r.run_name LIKE ?
  AND r.start_time > ?
ORDER BY r.start_time DESC, r.run_id ASC
