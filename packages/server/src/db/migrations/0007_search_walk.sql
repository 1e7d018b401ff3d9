-- An index that gives a date parameter's rows in resource id order, for a search page in the
-- default order driven by a date range (src/fhir/search/driven-page.ts): the page walks the
-- parameter's rows in id order and keeps those in range, instead of sorting every id in the
-- range. It holds every column the walk reads, so the walk never reads the table.
CREATE INDEX search_date_walk_idx ON search_date (project_id, resource_type, code, resource_id, low, high);
