-- filter: None
-- order_by: ['metrics.acc DESC', 'params.lr', 'tags.team ASC', 'status']
-- params: ["acc", "lr", "team", "1", "2", "active"]
-- description: []
SELECT r.run_id
FROM runs AS r
LEFT JOIN latest_metrics AS o0 ON o0.run_id = r.run_id AND o0.key = ?
LEFT JOIN params AS o1 ON o1.run_id = r.run_id AND o1.key = ?
LEFT JOIN tags AS o2 ON o2.run_id = r.run_id AND o2.key = ?
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
ORDER BY CASE WHEN o0.value IS NULL THEN 2 WHEN isnan(o0.value) THEN 1 ELSE 0 END, o0.value DESC, o1.value ASC NULLS LAST, o2.value ASC NULLS LAST, r.status ASC NULLS LAST, r.start_time DESC, r.run_id ASC
