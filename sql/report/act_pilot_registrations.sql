-- reads: mart.pilot_agency_registrations
-- writes: nothing: a query whose rows are the result
-- Each agency's pilot registrations as the registration file stands now (the view is not per
-- period), and whether it has fewer than the two procedures the city decision asks of each
-- (Art. 2.3). No params.
SELECT
    agency_code,
    agency_name,
    NOT in_agency_list AS unknown_agency,
    registered_procedures,
    registered_toan_trinh,
    fewer_than_two
FROM mart.pilot_agency_registrations
ORDER BY agency_code;
