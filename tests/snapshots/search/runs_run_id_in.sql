-- filter: "attributes.run_id IN ('a1', 'b2')"
-- order_by: None
-- params: ["1", "2", "active", "a1", "b2"]
-- description: ["run_id is one of 'a1', 'b2'"]
SELECT r.run_id
FROM runs AS r
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND r.run_id IN (?, ?)
ORDER BY r.start_time DESC, r.run_id ASC
