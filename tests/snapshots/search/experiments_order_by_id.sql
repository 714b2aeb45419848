-- filter: 'creation_time >= 0'
-- order_by: ['experiment_id DESC']
-- params: ["active", 0]
-- description: ["creation_time >= 0"]
SELECT e.experiment_id
FROM experiments AS e
WHERE e.lifecycle_stage IN (?)
  AND e.creation_time >= ?
ORDER BY TRY_CAST(e.experiment_id AS BIGINT) DESC NULLS LAST, e.experiment_id DESC
