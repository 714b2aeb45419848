-- filter: None
-- order_by: None
-- params: ["1", "2", "active"]
-- description: []
SELECT r.run_id
FROM runs AS r
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
ORDER BY r.start_time DESC, r.run_id ASC
