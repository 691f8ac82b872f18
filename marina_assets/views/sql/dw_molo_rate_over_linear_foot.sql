-- DW_MOLO_RATE_OVER_LINEAR_FOOT: one row per live reservation of a live boat, with its rate and
-- revenue expressed per linear foot of the boat (length overall). RATE is quoted per RATE_TYPE
-- period; PERIOD_NIGHTS converts it to a nightly rate (Daily 1, Weekly 7, Monthly 30,
-- Seasonal 182, Annual 365 nights).
SELECT
    r.ID AS RESERVATION_ID,
    r.MARINA_LOCATION_ID,
    r.BOAT_ID,
    r.SLIP_ID,
    rs.NAME AS STATUS_NAME,
    CASE WHEN rs.COUNTS_AS_OCCUPIED = {TRUE} THEN 1 ELSE 0 END AS COUNTS_AS_OCCUPIED,
    r.ARRIVAL_DATE,
    r.DEPARTURE_DATE,
    r.DEPARTURE_DATE - r.ARRIVAL_DATE AS NIGHTS,
    b.LENGTH AS BOAT_LENGTH_FT,
    CASE
        WHEN b.LENGTH < 20 THEN 'under 20 ft'
        WHEN b.LENGTH < 30 THEN '20-29 ft'
        WHEN b.LENGTH < 40 THEN '30-39 ft'
        WHEN b.LENGTH < 50 THEN '40-49 ft'
        WHEN b.LENGTH < 60 THEN '50-59 ft'
        ELSE '60 ft and over'
    END AS LENGTH_BAND,
    r.RATE_TYPE,
    r.RATE,
    CASE r.RATE_TYPE
        WHEN 'Daily' THEN 1
        WHEN 'Weekly' THEN 7
        WHEN 'Monthly' THEN 30
        WHEN 'Seasonal' THEN 182
        WHEN 'Annual' THEN 365
    END AS PERIOD_NIGHTS,
    r.TOTAL_AMOUNT,
    ROUND(r.RATE / b.LENGTH, 4) AS RATE_PER_FOOT,
    ROUND(r.TOTAL_AMOUNT / b.LENGTH, 4) AS REVENUE_PER_FOOT
FROM DW_MOLO_RESERVATIONS r
JOIN DW_MOLO_BOATS b ON b.ID = r.BOAT_ID AND b.IS_DELETED = 0 AND b.LENGTH > 0
JOIN DW_MOLO_RESERVATION_STATUSES rs ON rs.ID = r.STATUS_ID AND rs.IS_DELETED = 0
WHERE r.IS_DELETED = 0
