-- reads: core.dim_agency
-- writes: views mart.agency_ancestor, mart.agency_final_successor
-- The agency hierarchy (MaDonViCha) and the reorganizations (MaDonViKeThua) as lookup views.

-- Every agency with itself and each of its ancestors (depth 0 = itself). The depth bound only
-- guards against a cycle in bad reference data.
CREATE OR REPLACE VIEW mart.agency_ancestor AS
WITH RECURSIVE up(agency_code, ancestor_code, depth) AS (
    SELECT agency_code, agency_code, 0 FROM core.dim_agency
    UNION ALL
    SELECT up.agency_code, a.parent_code, up.depth + 1
    FROM up
    JOIN core.dim_agency AS a ON a.agency_code = up.ancestor_code
    WHERE a.parent_code IS NOT NULL AND a.parent_code <> a.agency_code AND up.depth < 32
)
SELECT DISTINCT agency_code, ancestor_code, depth FROM up;

-- Every agency with the agency that finally carries its work after reorganizations: the end of
-- its successor_code chain (itself when it never merged). A successor missing from /donvi still
-- ends the chain under its code.
CREATE OR REPLACE VIEW mart.agency_final_successor AS
WITH RECURSIVE chain(agency_code, successor_code, hops) AS (
    SELECT agency_code, agency_code, 0 FROM core.dim_agency
    UNION ALL
    SELECT chain.agency_code, a.successor_code, chain.hops + 1
    FROM chain
    JOIN core.dim_agency AS a ON a.agency_code = chain.successor_code
    WHERE a.successor_code IS NOT NULL AND a.successor_code <> a.agency_code AND chain.hops < 32
)
SELECT agency_code, arg_max(successor_code, hops) AS successor_code, max(hops) AS hops
FROM chain
GROUP BY agency_code;
