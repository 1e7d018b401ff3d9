-- Search index tables: the values of every SearchParameter, extracted on write
-- (src/fhir/search/extract.ts), one table per parameter type
-- (https://hl7.org/fhir/R4/search.html#ptypes).
--
-- Every table leads with project_id, then resource_type and the parameter's code, then the
-- value, so a search is an index range scan inside one tenant. The second index of each table,
-- (project_id, resource_type, resource_id), serves replacing a resource's rows on write and the
-- per-resource lookups of _sort. A resource's rows are replaced on every write and removed on
-- delete, in the transaction that writes the version.
--
-- Text values that searches compare by prefix use COLLATE "C": byte order, so `LIKE 'abc%'` is an
-- index range scan whatever the database's default collation.

CREATE TABLE search_token (
  project_id    uuid NOT NULL,
  resource_type text NOT NULL,
  code          text NOT NULL,
  -- Coding.system, Identifier.system, ContactPoint.system; NULL for a bare code or boolean.
  system        text,
  value         text,
  -- Normalised display text (CodeableConcept.text, Coding.display, Identifier.type.text) for :text.
  text          text COLLATE "C",
  -- Identifier.type's coding, for :of-type.
  type_system   text,
  type_code     text,
  resource_id   text NOT NULL
);
CREATE INDEX search_token_value_idx ON search_token (project_id, resource_type, code, value, system, resource_id);
CREATE INDEX search_token_resource_idx ON search_token (project_id, resource_type, resource_id);

CREATE TABLE search_string (
  project_id    uuid NOT NULL,
  resource_type text NOT NULL,
  code          text NOT NULL,
  -- Lower-case, accents stripped (src/fhir/search/normalize.ts): the default and :contains match on it.
  value         text COLLATE "C" NOT NULL,
  -- The value as written, for :exact.
  exact         text NOT NULL,
  resource_id   text NOT NULL
);
CREATE INDEX search_string_value_idx ON search_string (project_id, resource_type, code, value, resource_id);
CREATE INDEX search_string_resource_idx ON search_string (project_id, resource_type, resource_id);

CREATE TABLE search_reference (
  project_id    uuid NOT NULL,
  resource_type text NOT NULL,
  code          text NOT NULL,
  -- For a reference to a resource on this server: its type and id. For anything else (an
  -- absolute URL elsewhere, a canonical, a urn): target_type is NULL and target_id the whole string.
  target_type   text,
  target_id     text NOT NULL,
  -- The reference as written.
  reference     text NOT NULL,
  resource_id   text NOT NULL
);
CREATE INDEX search_reference_target_idx ON search_reference (project_id, resource_type, code, target_id, target_type, resource_id);
CREATE INDEX search_reference_resource_idx ON search_reference (project_id, resource_type, resource_id);

CREATE TABLE search_date (
  project_id    uuid NOT NULL,
  resource_type text NOT NULL,
  code          text NOT NULL,
  -- The half-open range [low, high) the value covers at its precision: 2020-03 is
  -- [2020-03-01, 2020-04-01). An open Period end is infinity.
  low           timestamptz NOT NULL,
  high          timestamptz NOT NULL,
  resource_id   text NOT NULL
);
CREATE INDEX search_date_range_idx ON search_date (project_id, resource_type, code, low, high, resource_id);
CREATE INDEX search_date_resource_idx ON search_date (project_id, resource_type, resource_id);

CREATE TABLE search_number (
  project_id    uuid NOT NULL,
  resource_type text NOT NULL,
  code          text NOT NULL,
  -- A decimal is low = high; a Range its bounds (an open bound is +-Infinity).
  low           numeric NOT NULL,
  high          numeric NOT NULL,
  resource_id   text NOT NULL
);
CREATE INDEX search_number_range_idx ON search_number (project_id, resource_type, code, low, high, resource_id);
CREATE INDEX search_number_resource_idx ON search_number (project_id, resource_type, resource_id);

CREATE TABLE search_quantity (
  project_id    uuid NOT NULL,
  resource_type text NOT NULL,
  code          text NOT NULL,
  value         numeric NOT NULL,
  system        text,
  -- Quantity.code (a coded unit, e.g. UCUM "mg") and Quantity.unit (the human-readable unit).
  unit_code     text,
  unit          text,
  resource_id   text NOT NULL
);
CREATE INDEX search_quantity_value_idx ON search_quantity (project_id, resource_type, code, value, resource_id);
CREATE INDEX search_quantity_resource_idx ON search_quantity (project_id, resource_type, resource_id);

CREATE TABLE search_uri (
  project_id    uuid NOT NULL,
  resource_type text NOT NULL,
  code          text NOT NULL,
  value         text COLLATE "C" NOT NULL,
  resource_id   text NOT NULL
);
CREATE INDEX search_uri_value_idx ON search_uri (project_id, resource_type, code, value, resource_id);
CREATE INDEX search_uri_resource_idx ON search_uri (project_id, resource_type, resource_id);
