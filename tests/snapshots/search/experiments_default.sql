-- filter: None
-- order_by: None
-- params: ["active"]
-- description: []
SELECT e.experiment_id
FROM experiments AS e
WHERE e.lifecycle_stage IN (?)
ORDER BY e.creation_time DESC NULLS LAST, TRY_CAST(e.experiment_id AS BIGINT) ASC NULLS LAST, e.experiment_id ASC
