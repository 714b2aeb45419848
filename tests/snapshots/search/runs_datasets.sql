-- filter: "datasets.name = 'iris' AND dataset.context = 'train'"
-- order_by: None
-- params: ["1", "2", "active", "iris", "train"]
-- description: ["dataset name is 'iris'", "dataset context is 'train'"]
SELECT r.run_id
FROM runs AS r
WHERE r.experiment_id IN (?, ?) AND r.lifecycle_stage IN (?)
  AND r.run_id IN (SELECT i.run_id FROM inputs AS i WHERE i.dataset_name = ?)
  AND r.run_id IN (SELECT i.run_id FROM inputs AS i WHERE i.context = ?)
ORDER BY r.start_time DESC, r.run_id ASC
