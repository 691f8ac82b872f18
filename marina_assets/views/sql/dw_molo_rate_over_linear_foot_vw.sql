-- DW_MOLO_RATE_OVER_LINEAR_FOOT_VW: rate per linear foot by marina, boat length band and rate
-- type, normalised to a nightly rate so daily, weekly, monthly, seasonal and annual contracts
-- compare; RATE_INDEX compares a group with its marina's average (1.00 = marina average).
-- Only reservations whose status counts as occupied (stays that earn revenue) are included.
WITH grp AS (
    SELECT
        MARINA_LOCATION_ID,
        LENGTH_BAND,
        RATE_TYPE,
        COUNT(*) AS RESERVATIONS,
        SUM(BOAT_LENGTH_FT) AS TOTAL_LINEAR_FT,
        SUM(TOTAL_AMOUNT) AS TOTAL_REVENUE,
        AVG(RATE / PERIOD_NIGHTS / BOAT_LENGTH_FT) AS NIGHTLY_RATE_PER_FOOT
    FROM DW_MOLO_RATE_OVER_LINEAR_FOOT
    WHERE COUNTS_AS_OCCUPIED = 1
    GROUP BY MARINA_LOCATION_ID, LENGTH_BAND, RATE_TYPE
)
SELECT
    g.MARINA_LOCATION_ID,
    g.LENGTH_BAND,
    g.RATE_TYPE,
    g.RESERVATIONS,
    g.TOTAL_LINEAR_FT,
    g.TOTAL_REVENUE,
    ROUND(g.TOTAL_REVENUE / g.TOTAL_LINEAR_FT, 4) AS REVENUE_PER_LINEAR_FOOT,
    ROUND(g.NIGHTLY_RATE_PER_FOOT, 4) AS NIGHTLY_RATE_PER_FOOT,
    ROUND(
        g.NIGHTLY_RATE_PER_FOOT
        / NULLIF(SUM(g.NIGHTLY_RATE_PER_FOOT * g.RESERVATIONS) OVER (PARTITION BY g.MARINA_LOCATION_ID)
            / SUM(g.RESERVATIONS) OVER (PARTITION BY g.MARINA_LOCATION_ID), 0),
        4
    ) AS RATE_INDEX
FROM grp g
