-- filter: "name ILIKE 'a%' AND tags.team IS NOT NULL OR experiment_id IN ('1', '2')"
-- order_by: ['name']
-- params: ["active", "a%", "team", "1", "2"]
-- description: ["(name matches (any case) 'a%' and tag team is set) or experiment_id is one of '1', '2'"]
SELECT e.experiment_id
FROM experiments AS e
WHERE e.lifecycle_stage IN (?)
  AND ((e.name ILIKE ? AND e.experiment_id IN (SELECT t.experiment_id FROM experiment_tags AS t WHERE t.key = ?)) OR e.experiment_id IN (?, ?))
ORDER BY e.name ASC NULLS LAST, TRY_CAST(e.experiment_id AS BIGINT) DESC NULLS LAST, e.experiment_id DESC
