-- filter: 'tags.`mlflow.note.content` IS NULL'
-- order_by: None
-- params: ["1", "2", "active", "mlflow.note.content"]
-- description: ["tag mlflow.note.content is not set"]
SELECT r.run_id
FROM runs AS r
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND r.run_id NOT IN (SELECT t.run_id FROM tags AS t WHERE t.key = ?)
ORDER BY r.start_time DESC, r.run_id ASC
