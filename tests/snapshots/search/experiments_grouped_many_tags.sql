-- filter: "tags.k0 = 'v0' AND tags.k1 = 'v1' AND tags.k2 = 'v2' AND tags.k3 = 'v3' AND tags.k4 = 'v4' AND tags.k5 = 'v5' AND tags.k6 = 'v6' AND tags.k7 = 'v7' AND tags.gone IS NULL AND name LIKE 'a%'"
-- order_by: None
-- params: ["k0", "v0", "k1", "v1", "k2", "v2", "k3", "v3", "k4", "v4", "k5", "v5", "k6", "v6", "k7", "v7", "gone", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "gone", "active", "a%"]
-- description: ["tag k0 is 'v0'", "tag k1 is 'v1'", "tag k2 is 'v2'", "tag k3 is 'v3'", "tag k4 is 'v4'", "tag k5 is 'v5'", "tag k6 is 'v6'", "tag k7 is 'v7'", "tag gone is not set", "name matches 'a%'"]
SELECT e.experiment_id
FROM experiments AS e
LEFT JOIN (SELECT t.experiment_id, bool_or(t.key = ? AND t.value = ?) AS c0, bool_or(t.key = ? AND t.value = ?) AS c1, bool_or(t.key = ? AND t.value = ?) AS c2, bool_or(t.key = ? AND t.value = ?) AS c3, bool_or(t.key = ? AND t.value = ?) AS c4, bool_or(t.key = ? AND t.value = ?) AS c5, bool_or(t.key = ? AND t.value = ?) AS c6, bool_or(t.key = ? AND t.value = ?) AS c7, bool_or(t.key = ?) AS c8 FROM experiment_tags AS t WHERE t.key IN (?, ?, ?, ?, ?, ?, ?, ?, ?) GROUP BY t.experiment_id) AS gt ON gt.experiment_id = e.experiment_id
WHERE e.lifecycle_stage IN (?)
  AND COALESCE(gt.c0, FALSE)
  AND COALESCE(gt.c1, FALSE)
  AND COALESCE(gt.c2, FALSE)
  AND COALESCE(gt.c3, FALSE)
  AND COALESCE(gt.c4, FALSE)
  AND COALESCE(gt.c5, FALSE)
  AND COALESCE(gt.c6, FALSE)
  AND COALESCE(gt.c7, FALSE)
  AND NOT COALESCE(gt.c8, FALSE)
  AND e.name LIKE ?
ORDER BY e.creation_time DESC NULLS LAST, TRY_CAST(e.experiment_id AS BIGINT) ASC NULLS LAST, e.experiment_id ASC
