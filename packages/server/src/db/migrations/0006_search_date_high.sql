-- Date searches bound by the end of a stored range: `gt`, `ge` and `eb` compare `high`
-- (src/fhir/search/compile-date.ts), which search_date_range_idx (led by `low`) cannot bound,
-- so each such search read every date row of its parameter.
CREATE INDEX search_date_high_idx ON search_date (project_id, resource_type, code, high, low, resource_id);

-- The date conditions assume no stored range is empty (low < high). Periods that end before
-- they start were stored with low > high (or equal) before src/fhir/search/date-range.ts made
-- such a Period cover both its instants; the swap gives those rows that shape (re-saving the
-- resource writes them exactly). An empty database has no rows to change.
UPDATE search_date SET low = high, high = low WHERE low > high;
UPDATE search_date SET high = low + interval '1 millisecond' WHERE low = high;
