-- DW_MOLO_DAILY_SLIP_OCCUPANCY_VW: occupancy % per marina per night, from the slip counts.
-- Occupancy = occupied slips / active slips. It can exceed 100% only when boats sit in
-- slips marked inactive, which the view's asset check reports.
SELECT
    sc.CALENDAR_DATE,
    c.YEAR_NUMBER,
    c.MONTH_NUMBER,
    c.ISO_DAY_OF_WEEK,
    c.IS_WEEKEND,
    sc.MARINA_LOCATION_ID,
    sc.MARINA_NAME,
    sc.TOTAL_SLIPS,
    sc.OCCUPIED_SLIPS,
    ROUND(100.0 * sc.OCCUPIED_SLIPS / NULLIF(sc.TOTAL_SLIPS, 0), 2) AS OCCUPANCY_PCT
FROM DW_MOLO_DAILY_SLIP_COUNT_VW sc
JOIN DW_CALENDAR c ON c.CALENDAR_DATE = sc.CALENDAR_DATE
