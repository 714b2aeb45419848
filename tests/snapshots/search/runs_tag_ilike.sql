-- filter: "tags.team ILIKE 'vis%'"
-- order_by: None
-- params: ["1", "2", "active", "team", "vis%"]
-- description: ["tag team matches (any case) 'vis%'"]
SELECT r.run_id
FROM runs AS r
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND r.run_id IN (SELECT t.run_id FROM tags AS t WHERE t.key = ? AND t.value ILIKE ?)
ORDER BY r.start_time DESC, r.run_id ASC
