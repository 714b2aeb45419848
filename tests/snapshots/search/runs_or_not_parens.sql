-- filter: "(metrics.acc > 0.9 OR params.model = 'rf') AND NOT tags.team = 'nlp'"
-- order_by: None
-- params: ["1", "2", "active", "acc", 0.9, "model", "rf", "team", "nlp"]
-- description: ["acc > 0.9 or param model is 'rf'", "not tag team is 'nlp'"]
SELECT r.run_id
FROM runs AS r
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND (r.run_id IN (SELECT m.run_id FROM latest_metrics AS m WHERE m.key = ? AND (m.value > ? AND NOT isnan(m.value))) OR r.run_id IN (SELECT p.run_id FROM params AS p WHERE p.key = ? AND p.value = ?))
  AND NOT COALESCE(r.run_id IN (SELECT t.run_id FROM tags AS t WHERE t.key = ? AND t.value = ?), FALSE)
ORDER BY r.start_time DESC, r.run_id ASC
