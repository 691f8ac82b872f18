-- DW_MOLO_DAILY_BOAT_LENGTHS_VW: length distribution of the boats in the marina each night.
-- A boat is in the marina on a night when one of its reservations occupies a slip that night
-- (status counts as occupied, ARRIVAL_DATE <= night < DEPARTURE_DATE). Boats are counted once
-- per night and marina (marina of the slip's pier), bucketed by length overall in 10 ft bands.
WITH stay AS (
    SELECT r.BOAT_ID, p.MARINA_LOCATION_ID, r.ARRIVAL_DATE, r.DEPARTURE_DATE
    FROM DW_MOLO_RESERVATIONS r
    JOIN DW_MOLO_RESERVATION_STATUSES rs
        ON rs.ID = r.STATUS_ID AND rs.IS_DELETED = 0 AND rs.COUNTS_AS_OCCUPIED = {TRUE}
    JOIN DW_MOLO_SLIPS s ON s.ID = r.SLIP_ID AND s.IS_DELETED = 0
    JOIN DW_MOLO_PIERS p ON p.ID = s.PIER_ID AND p.IS_DELETED = 0
    WHERE r.IS_DELETED = 0
),
boat_night AS (
    SELECT DISTINCT c.CALENDAR_DATE, st.MARINA_LOCATION_ID, st.BOAT_ID
    FROM DW_CALENDAR c
    JOIN stay st ON st.ARRIVAL_DATE <= c.CALENDAR_DATE AND st.DEPARTURE_DATE > c.CALENDAR_DATE
),
sized AS (
    SELECT
        bn.CALENDAR_DATE,
        bn.MARINA_LOCATION_ID,
        b.LENGTH AS LENGTH_FT,
        CASE
            WHEN b.LENGTH < 20 THEN 1
            WHEN b.LENGTH < 30 THEN 2
            WHEN b.LENGTH < 40 THEN 3
            WHEN b.LENGTH < 50 THEN 4
            WHEN b.LENGTH < 60 THEN 5
            ELSE 6
        END AS LENGTH_BAND_ORDER
    FROM boat_night bn
    JOIN DW_MOLO_BOATS b ON b.ID = bn.BOAT_ID AND b.IS_DELETED = 0
)
SELECT
    z.CALENDAR_DATE,
    z.MARINA_LOCATION_ID,
    m.NAME AS MARINA_NAME,
    z.LENGTH_BAND_ORDER,
    CASE z.LENGTH_BAND_ORDER
        WHEN 1 THEN 'under 20 ft'
        WHEN 2 THEN '20-29 ft'
        WHEN 3 THEN '30-39 ft'
        WHEN 4 THEN '40-49 ft'
        WHEN 5 THEN '50-59 ft'
        ELSE '60 ft and over'
    END AS LENGTH_BAND,
    COUNT(*) AS BOATS,
    SUM(z.LENGTH_FT) AS TOTAL_LENGTH_FT,
    MIN(z.LENGTH_FT) AS MIN_LENGTH_FT,
    MAX(z.LENGTH_FT) AS MAX_LENGTH_FT,
    ROUND(AVG(z.LENGTH_FT), 2) AS AVG_LENGTH_FT
FROM sized z
JOIN DW_MOLO_MARINA_LOCATIONS m ON m.ID = z.MARINA_LOCATION_ID AND m.IS_DELETED = 0
GROUP BY z.CALENDAR_DATE, z.MARINA_LOCATION_ID, m.NAME, z.LENGTH_BAND_ORDER
